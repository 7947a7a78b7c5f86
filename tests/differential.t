#!/usr/bin/env python3
"""The differential test (issue 9): generated queries over all six vendor tables, each compared
with the same query over a local copy of the customers' rows fetched through the tables. Starts
one sandbox and runs tests/differential/run.py (which prints the TAP) in Debian's Python against
it. Settings: tests/differential/README.md (IX_DIFF_QUERIES, IX_DIFF_SEED, IX_DIFF_STRICT, ...).
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, run_sqlite, with_preload  # noqa: E402
from cases_env import REGISTRY, sandbox_environment  # noqa: E402


def vendors(env):
    """The vendors the extension has settings for (its own registry, not a list kept here)."""
    result = run_sqlite(f".load {library()}\nSELECT DISTINCT vendor FROM interactions_settings "
                        "WHERE vendor <> 'interactions' ORDER BY 1;\n", env)
    names = result.stdout.split()
    if result.returncode != 0 or not names:
        raise RuntimeError("cannot list the extension's vendors: " + result.stderr)
    return names


def main():
    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="ix-diff-") as state:
        # No rate limit on either side: the test is about rows, and thousands of requests must
        # take seconds, not a vendor's 100 a minute.
        env = sandbox_environment(sandbox.url)
        env.update(INTERACTIONS_STATE_DIR=state, INTERACTIONS_QUIET="1")
        names = vendors(env)
        sandbox.control("POST", "/_sandbox/config", {"rate_limits": {v: None for v in names}})
        env.update({f"{v.upper()}_RATE_LIMIT": "100000/1s" for v in names})
        # Small pages, so paging, LIMIT as a page size and the newest-first early stop are in play.
        # Each spec says which (REGISTRATION.differential's page_size).
        for registration in REGISTRY.REGISTRATIONS:
            for spec in registration.differential:
                if spec.get("page_size"):
                    env[registration.variable("page_size")] = str(spec["page_size"])
        if os.environ.get("IX_DIFF_CACHE_TTL"):
            env.update({f"{v.upper()}_CACHE_TTL": os.environ["IX_DIFF_CACHE_TTL"] for v in names})
        with_preload(env, interpreter=True)
        result = subprocess.run(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "differential", "run.py"), library()],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode in (0, 1) and "Traceback" not in result.stderr:
        sys.stdout.write(result.stdout)
        # Notes the extension wrote (a warning, a wait) are shown, not a failure.
        for line in result.stderr.splitlines():
            print(f"# stderr: {line}")
        return result.returncode
    # A crash or a traceback: what ran, then one failing test point that shows it.
    lines = [l for l in result.stdout.splitlines() if not l.startswith("1..")]
    count = sum(1 for l in lines if l.startswith(("ok ", "not ok ")))
    print("\n".join(lines))
    print(f"not ok {count + 1} - the differential worker ran cleanly")
    for line in (result.stderr or f"exit status {result.returncode}").splitlines():
        print(f"#   {line}", file=sys.stderr)  # shown by prove without -v
    print(f"1..{count + 1}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
