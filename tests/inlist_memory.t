#!/usr/bin/env python3
"""An IN list's memory per customer stays small however long the list. Prints TAP.

The extension keeps per customer only its key; a request and its answer exist only while in
flight or waiting to be read, in at most 2 x max_concurrency slots (ext/fetch/inlist.c). Before that a
customer cost about 0.65 KiB held from the start (issue 13's target: at most 0.3 KiB).

Measured as a slope, so fixed costs (connections, libcurl's first request: about 5 MiB) cancel:
the growth of the sqlite3 process's peak memory (VmHWM, read from /proc by a .shell child of the
shell) from an IN list of SMALL to one of LARGE contacts, less the growth of the same shell running
the same IN (SELECT ...) over the same ids table without the virtual table, divided by
LARGE - SMALL. Measured: about 0.41 KiB before ext/fetch/inlist.c; after it the keys fit under the fixed
peak (the slope comes out near or below 0). The response cache is off
(its entries are per customer by design). Under valgrind or the sanitizers (their own memory
dwarfs ours) only the answers are checked."""
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import (Sandbox, library, print_tap, private_state_dir,  # noqa: E402
                             with_preload)
from cases_env import sandbox_environment  # noqa: E402

SMALL, LARGE = 5000, 20000
MAX_KIB_PER_CUSTOMER = 0.3
MEASURED = not os.environ.get("IX_SQLITE3_WRAPPER") and not os.environ.get("IX_PRELOAD")
HWM = ".shell grep VmHWM /proc/$PPID/status"
IDLE = "SELECT count(*) FROM ids WHERE id IN (SELECT id FROM ids);"
QUERY = "SELECT count(*) FROM cxengage_interactions WHERE contact_id IN (SELECT id FROM ids);"


def run(env, n, statement):
    """(stdout, stderr, returncode, peak bytes or None) of one shell over n contacts."""
    script = "\n".join([
        ".load " + library(),
        "CREATE TABLE ids(id TEXT PRIMARY KEY);",
        f"WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n}) "
        "INSERT INTO ids SELECT 'memory-' || i FROM k;",
        statement, HWM, ""])
    command = shlex.split(os.environ.get("IX_SQLITE3_WRAPPER", "")) + [
        os.environ.get("IX_SQLITE3", "sqlite3"), "-bail", "-batch", ":memory:"]
    child_env = dict(env)
    with_preload(child_env)
    result = subprocess.run(command, input=script, capture_output=True, text=True, env=child_env,
                            timeout=900, cwd=tempfile.gettempdir())
    peaks = [int(kb) * 1024 for kb in re.findall(r"VmHWM:\s+(\d+) kB", result.stdout)]
    return result, peaks[-1] if peaks else None


def main():
    results = []
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        env["INTERACTIONS_STATE_DIR"] = private_state_dir()
        env.update(INTERACTIONS_QUIET="1", CXENGAGE_CACHE_TTL="0",
                   CXENGAGE_RATE_LIMIT="100000/1s", CXENGAGE_MAX_CONCURRENCY="8")
        grown = {}
        for n in (SMALL, LARGE):
            result, peak = run(env, n, QUERY)
            answered = result.returncode == 0 and result.stdout.startswith("0\n")
            results.append((answered, f"an IN list of {n} unknown contacts reads no rows",
                            f"exit {result.returncode}\nstdout: {result.stdout[:300]}\n"
                            f"stderr: {result.stderr[:600]}"))
            idle, idle_peak = run(env, n, IDLE)
            if peak is not None and idle_peak is not None:
                grown[n] = (peak, idle_peak)
        if MEASURED:
            if len(grown) == 2:
                (small, small_idle), (large, large_idle) = grown[SMALL], grown[LARGE]
                per_customer = ((large - small) - max(0, large_idle - small_idle)) / (
                    LARGE - SMALL) / 1024
                results.append((per_customer <= MAX_KIB_PER_CUSTOMER,
                                f"an IN list costs at most {MAX_KIB_PER_CUSTOMER} KiB a customer",
                                f"{per_customer:.3f} KiB a customer (peaks {small >> 10} KiB at "
                                f"{SMALL}, {large >> 10} KiB at {LARGE}; without the table "
                                f"{small_idle >> 10} and {large_idle >> 10} KiB)"))
            else:
                results.append((False, "an IN list's peak memory was measured",
                                "no VmHWM line in a shell's output"))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
