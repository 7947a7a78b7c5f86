#!/usr/bin/env python3
"""The clients users already have, against the sandbox: examples/sqlite_utils_example.sh through
Debian's sqlite-utils, and examples/node_example.js through Node.js with better-sqlite3 12.x
(installed with npm into the user's cache, ~/.cache/sqlite-interactions/node-<version>, when it is
not there yet, built with g++ when no prebuilt binary can be fetched; skipped only when npm cannot
install it). The cache is outside the clone, so a fresh clone does not spend two minutes of CPU
building it again; IX_NODE_DIR names another directory. Each prints exactly what it printed when
it was written. Prints TAP."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import sandbox_environment  # noqa: E402
from sandbox_process import Sandbox, library, with_preload  # noqa: E402

SQLITE_UTILS_EXPECTED = """\
-- messages per customer (JOIN of the CRM table and capillary_interactions)
+--------------------+------------+---------------------+
| name               |   messages | latest              |
|--------------------+------------+---------------------|
| James Lopez        |         35 | 2026-09-25 21:37:34 |
| Cooper Walker      |         15 | 2026-10-22 16:29:14 |
| Charlotte Campbell |         56 | 2026-10-22 08:45:34 |
+--------------------+------------+---------------------+
-- one contact's Which50 history, as JSON
[{"occurred_at": "2025-01-08 05:16:56.694", "channel": "email", "status": "Delivered"},
 {"occurred_at": "2025-02-01 02:07:12.076", "channel": "email", "status": "Opened"},
 {"occurred_at": "2025-02-14 03:47:21.709", "channel": "email", "status": "Clicked"}]
-- a local copy: a plain table that later queries read without any request
[{"rows_affected": -1}]
crm_id,communications
1,47
2,35
3,40
-- a vendor error
capillary_interactions: a customer identifier is required: add WHERE mobile = '...' (or email, external_id), or call capillary_interactions('mobile', '...')
"""

NODE_EXPECTED = """\
16195550109      43 messages, latest 2026-10-27 15:47:01
447824371047     35 messages, latest 2026-09-25 21:37:34
447985968284     39 messages, latest 2026-09-21 15:06:01
61418086042      15 messages, latest 2026-10-22 16:29:14
61450880111      56 messages, latest 2026-10-22 08:45:34
2026-10-22 07:30:47.664 email Clicked
2026-10-13 01:18:42.340 landingpage Visited
6 requests
SQLITE_ERROR: capillary_interactions: a customer identifier is required: add WHERE mobile = '...' (or email, external_id), or call capillary_interactions('mobile', '...')
"""

def node_dir():
    if os.environ.get("IX_NODE_DIR"):
        return os.environ["IX_NODE_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    except OSError:
        version = ""
    return os.path.join(cache, "sqlite-interactions", "node-" + (version.strip() or "unknown"))


NODE_DIR = node_dir()
FAILED = []


def report(number, passed, name, output):
    if not passed:
        FAILED.append(number)
    print(f"{'ok' if passed else 'not ok'} {number} - {name}")
    if not passed:
        for line in output.splitlines():
            print(f"#   {line}", file=sys.stderr)  # shown by prove without -v


def better_sqlite3():
    """The node_modules directory holding better-sqlite3 12.x, installing it first if needed; or
    (None, why) when npm cannot."""
    modules = os.path.join(NODE_DIR, "node_modules")
    if os.path.exists(os.path.join(modules, "better-sqlite3", "build", "Release",
                                   "better_sqlite3.node")):
        return modules, None
    if not shutil.which("node") or not shutil.which("npm"):
        return None, "node or npm is not installed"
    os.makedirs(NODE_DIR, exist_ok=True)
    with open(os.path.join(NODE_DIR, "package.json"), "w", encoding="utf-8") as handle:
        handle.write('{"private": true}\n')
    result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "better-sqlite3@12"],
                            cwd=NODE_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        said = [line for line in result.stderr.splitlines() if line.strip()]
        return None, "npm could not install better-sqlite3@12: " + (said[0] if said else "")[:200]
    return modules, None


def main():
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        with_preload(env, interpreter=True)
        with tempfile.TemporaryDirectory() as work:
            result = subprocess.run(
                [os.path.join(ROOT, "examples", "sqlite_utils_example.sh"), library(), work],
                capture_output=True, text=True, env=env)
        output = result.stdout + result.stderr
        report(1, result.returncode == 0 and output == SQLITE_UTILS_EXPECTED,
               "the sqlite-utils example prints the expected report", output)

        modules, why = better_sqlite3()
        if modules is None:
            print(f"ok 2 # SKIP {why}")
        else:
            env["NODE_PATH"] = modules
            result = subprocess.run(
                ["node", os.path.join(ROOT, "examples", "node_example.js"), library()],
                capture_output=True, text=True, env=env)
            output = result.stdout + result.stderr
            report(2, result.returncode == 0 and output == NODE_EXPECTED,
                   "the Node.js (better-sqlite3) example prints the expected report", output)
    print("1..2")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
