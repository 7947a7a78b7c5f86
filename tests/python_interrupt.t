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
# A timer fires wherever the statement is: in the table's wait (the table names itself), or, under
# a load that slows the first request past the limit, between two of the table's calls, where
# SQLite itself notices the interrupt and says only "interrupted". Either way it stopped.
EXPECTED_TIMER = (EXPECTED, EXPECTED.replace("stopped: slow: interrupted", "stopped: interrupted"))
GRACE_SECONDS = 60


def child_env(sandbox):
    env = sandbox_environment(sandbox.url)
    env["INTERACTIONS_STATE_DIR"] = tempfile.mkdtemp(dir=private_state_dir())
    return with_preload(env, interpreter=True)


def waiting(sandbox, stderr_path):
    """Whether the statement is in its 300 s wait for the second customer: the first customer's
    request is in the sandbox's log and the table said on stderr that it waits for the rate limit
    (the note comes as a wait longer than 3 s begins)."""
    if not [r for r in sandbox.log() if r.get("vendor")]:
        return False
    with open(stderr_path, encoding="utf-8") as handle:
        return "for the rate limit" in handle.read()


def run(sandbox, arguments, send_sigint):
    sandbox.reset()
    with tempfile.TemporaryDirectory(prefix="ix-python-interrupt-") as work:
        stderr_path = os.path.join(work, "stderr")
        with open(stderr_path, "w") as stderr_file:
            process = subprocess.Popen(["/usr/bin/python3", EXAMPLE] + arguments + [library()],
                                       stdout=subprocess.PIPE, stderr=stderr_file, text=True,
                                       env=child_env(sandbox))
            reached = not send_sigint
            if send_sigint:
                # Ctrl-C once the statement is in its wait: the table then says it was
                # interrupted (an interrupt between its calls is SQLite's plain "interrupted").
                for _ in range(2400):
                    reached = waiting(sandbox, stderr_path)
                    if reached or process.poll() is not None:
                        break
                    time.sleep(0.05)
                process.send_signal(signal.SIGINT)
            try:
                stdout, _ = process.communicate(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, _ = process.communicate()
        with open(stderr_path, encoding="utf-8") as handle:
            stderr = handle.read()
    return process.returncode, stdout, stderr, reached


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
        for name, arguments, sigint, expected in (
                ("a time limit (a timer thread)", ["--limit", "1"], False, EXPECTED_TIMER),
                ("Ctrl-C (SIGINT, then the main thread)", [], True, (EXPECTED,))):
            code, stdout, stderr, reached = run(sandbox, arguments, sigint)
            results.append((reached and code == 0 and stdout in expected,
                            f"{name} stops the statement; the connection works after it",
                            f"{'' if reached else 'never shown waiting; '}exit {code}\n"
                            f"--- stdout\n{stdout}--- stderr\n{stderr}"))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
