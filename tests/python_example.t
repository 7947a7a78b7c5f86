#!/usr/bin/env python3
"""examples/python_example.py, run with Debian's /usr/bin/python3 against the sandbox, prints what the
README shows (the same figures the sqlite3 shell prints for the same join). Prints TAP."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, with_preload  # noqa: E402
from cases_env import sandbox_environment  # noqa: E402

EXPECTED = """\
James Lopez            35 messages, latest 2026-09-25 21:37:34
Cooper Walker          15 messages, latest 2026-10-22 16:29:14
Charlotte Campbell     56 messages, latest 2026-10-22 08:45:34
Michael Kim            43 messages, latest 2026-10-27 15:47:01
Amelia Roberts         39 messages, latest 2026-09-21 15:06:01
error: capillary_interactions: a customer identifier is required: add WHERE mobile = '...' (or email, external_id), or call capillary_interactions('mobile', '...')
"""


def main():
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        with_preload(env, interpreter=True)
        result = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "examples", "python_example.py"),
                                 library()], capture_output=True, text=True, env=env, timeout=300)
    passed = result.returncode == 0 and result.stdout == EXPECTED
    print(f"{'ok' if passed else 'not ok'} 1 - the Python example prints the expected report")
    if not passed:
        for line in (result.stdout + result.stderr).splitlines():
            print(f"#   {line}", file=sys.stderr)  # shown by prove without -v
    print("1..1")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
