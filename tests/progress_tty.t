#!/usr/bin/env python3
"""Progress lines only where a person watches (issue 21). A statement the rate limiter keeps busy
past 2 s (60 Optimove customers at 15 a second: at least 3 s on any machine, the limiter's windows
set the pace) runs with stderr on a pseudo-terminal: the progress line is written and rewritten in
place ("\\r"), and the summary ends it. INTERACTIONS_PROGRESS=never keeps the terminal silent;
INTERACTIONS_PROGRESS=always writes the lines to a file, one a line. (stderr a pipe, the default:
tests/cases/progress/rate_limited_join.case.) Prints TAP."""
import os
import pty
import select
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import sandbox_environment  # noqa: E402
from sandbox_process import Sandbox, library, print_tap, private_state_dir, with_preload  # noqa: E402

SQL = """.read {root}/examples/crm.sql
SELECT count(DISTINCT oi.customer_id) FROM optimove_interactions oi
WHERE oi.customer_id IN (SELECT optimove_id FROM crm WHERE crm.id <= 60)
AND oi.occurred_at >= '2025-01-01' AND oi.occurred_at < '2026-11-01';
"""


def command():
    return [os.environ.get("IX_SQLITE3", "sqlite3"), "-bail", "-batch", ":memory:"]


def script():
    return f".load {library()}\n" + SQL.format(root=ROOT)


def prepared(sandbox, extra):
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/config", {"rate_limits": {"optimove": "15/1s"}})
    env = sandbox_environment(sandbox.url)
    env.update(OPTIMOVE_RATE_LIMIT="15/1s", INTERACTIONS_STATE_DIR=private_state_dir(), **extra)
    return with_preload(env)


def run_on_terminal(sandbox, **extra):
    """stdout a pipe, stderr a pseudo-terminal: returns (exit status, stdout, what the terminal got)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=secondary, env=prepared(sandbox, extra), text=True)
    os.close(secondary)
    process.stdin.write(script())
    process.stdin.close()
    terminal = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the other end is closed
                chunk = b""
            if not chunk:
                break
            terminal += chunk
        elif process.poll() is not None:
            break
    os.close(primary)
    stdout = process.stdout.read()
    return process.wait(timeout=600), stdout, terminal.decode("utf-8", "replace")


def run_to_file(sandbox, **extra):
    with tempfile.TemporaryFile("w+") as stderr:
        result = subprocess.run(command(), input=script(), stdout=subprocess.PIPE, stderr=stderr,
                                env=prepared(sandbox, extra), text=True, timeout=600)
        stderr.seek(0)
        return result.returncode, result.stdout, stderr.read()


def main():
    results = []
    with Sandbox() as sandbox:
        code, stdout, terminal = run_on_terminal(sandbox)
        shown = f"exit {code}\nstdout: {stdout!r}\nterminal: {terminal!r}"
        results.append((code == 0 and stdout.strip() == "57", "the statement runs on a terminal",
                        shown))
        results.append(("\roptimove_interactions: " in terminal and " s: " in terminal,
                        "a terminal gets the progress line, rewritten in place", shown))
        results.append(("optimove_interactions: done in " in terminal and terminal.endswith("\n"),
                        "and the summary on a line of its own", shown))

        code, stdout, terminal = run_on_terminal(sandbox, INTERACTIONS_PROGRESS="never")
        shown = f"exit {code}\nstdout: {stdout!r}\nterminal: {terminal!r}"
        results.append((code == 0 and terminal == "", "INTERACTIONS_PROGRESS=never: the terminal "
                        "gets nothing", shown))

        code, stdout, written = run_to_file(sandbox, INTERACTIONS_PROGRESS="always")
        lines = written.splitlines()
        shown = f"exit {code}\nstdout: {stdout!r}\nfile: {written!r}"
        results.append((code == 0 and "\r" not in written and "\033" not in written
                        and any(l.startswith("optimove_interactions: ") and " s: 60 customers"
                                not in l and "done in" not in l for l in lines)
                        and lines[-1].startswith("optimove_interactions: done in "),
                        "INTERACTIONS_PROGRESS=always: a file gets the lines, one a line", shown))

        # A value it does not know is one note, and auto: so a file gets that note and no progress
        # (the default's own behaviour on a file or a pipe, as progress/rate_limited_join.case).
        code, stdout, written = run_to_file(sandbox, INTERACTIONS_PROGRESS="sometimes")
        shown = f"exit {code}\nstdout: {stdout!r}\nfile: {written!r}"
        results.append((code == 0 and written == "interactions: INTERACTIONS_PROGRESS must be auto, "
                        "always or never, got 'sometimes': using auto (INTERACTIONS_QUIET=1 hides "
                        "this)\n", "an unknown value: one note, then auto: no progress in a file",
                        shown))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
