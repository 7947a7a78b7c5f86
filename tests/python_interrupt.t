#!/usr/bin/env python3
"""examples/python_interrupt.py, the README's recipe for stopping a statement from Python, run with
Debian's /usr/bin/python3 against the sandbox: once with a time limit (a timer thread calls
connection.interrupt()), once with Ctrl-C (SIGINT to the process while the statement waits: the
main thread's KeyboardInterrupt calls connection.interrupt()). The statement waits 300 s for its
rate limit, far beyond the harness's patience, so it ends "interrupted" only because of the
interrupt; no clock decides a pass. Both runs then use the same connection again. Prints TAP."""
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, print_tap, private_state_dir, with_preload  # noqa: E402
from cases_env import sandbox_environment  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "python_interrupt.py")
EXPECTED = ("running (Ctrl-C stops it)\nstopped: slow: interrupted\n"
            "the connection still works: 42\n")
GRACE_SECONDS = 60


def child_env(sandbox):
    env = sandbox_environment(sandbox.url)
    env["INTERACTIONS_STATE_DIR"] = tempfile.mkdtemp(dir=private_state_dir())
    return with_preload(env, interpreter=True)


def run(sandbox, arguments, send_sigint):
    sandbox.reset()
    process = subprocess.Popen(["/usr/bin/python3", EXAMPLE] + arguments + [library()],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=child_env(sandbox))
    if send_sigint:
        # The first customer's request is in the sandbox's log: the statement now waits 300 s for
        # the second one's turn.
        for _ in range(2400):
            if [r for r in sandbox.log() if r.get("vendor")] or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    return process.returncode, stdout, stderr


def documented():
    """Whether the README (or a page under docs/) shows run_interruptible exactly as the example
    has it."""
    with open(EXAMPLE, encoding="utf-8") as handle:
        example = handle.read()
    recipe = example[example.index("def run_interruptible"):example.index("\n\n\ndef main")]
    pages = [os.path.join(ROOT, "README.md")]
    for directory, _, files in os.walk(os.path.join(ROOT, "docs")):
        pages += [os.path.join(directory, name) for name in files if name.endswith(".md")]
    for page in pages:
        with open(page, encoding="utf-8") as handle:
            if recipe in handle.read():
                return True
    return False


def main():
    results = [(documented(), "the README shows the recipe as examples/python_interrupt.py has it",
                "")]
    with Sandbox() as sandbox:
        for name, arguments, sigint in (("a time limit (a timer thread)", ["--limit", "1"], False),
                                        ("Ctrl-C (SIGINT, then the main thread)", [], True)):
            code, stdout, stderr = run(sandbox, arguments, sigint)
            results.append((code == 0 and stdout == EXPECTED,
                            f"{name} stops the statement; the connection works after it",
                            f"exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
