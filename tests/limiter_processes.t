#!/usr/bin/env python3
"""One rate limit per account across processes (issue 10), through real sqlite3 processes sharing
one state directory against the sandbox, which enforces Optimove's sliding window per API key.

1. Two processes at once, 45 customers each joined from the CRM table: both finish, the rows are
   the single-process answer, and the sandbox answered not one 429 (90 requests, 50 per window).
2. A process started right after another one used the window: it waits instead of drawing 429s.
3. A process killed while its request was in flight: the next process is not held by its slot for
   longer than that request's own time limit, and says so on stderr.

The window is Optimove's 50 per 10 s scaled to 50 per 1 s (the same bursts, ten times faster);
IX_LIMITER_REAL_WINDOW=1 uses the real 10 s. No durations are asserted: rows, exit codes and what
the sandbox saw. Prints TAP.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import (Sandbox, library, print_tap, with_preload,  # noqa: E402
                            start_sqlite as start, finish_sqlite as finish,
                            status_counts as statuses)
from cases_env import sandbox_environment  # noqa: E402

WINDOW = "50/10s" if os.environ.get("IX_LIMITER_REAL_WINDOW") else "50/1s"
# A generous bound on each sqlite3 run: reaching it is a failure report, not a timing assertion.

JOIN = """.read {root}/examples/crm.sql
SELECT crm.id, count(*) FROM crm JOIN optimove_interactions oi ON oi.customer_id = crm.optimove_id
WHERE crm.id BETWEEN {first} AND {last} AND oi.occurred_at >= '2025-01-01' AND oi.occurred_at < '2026-11-01'
GROUP BY crm.id ORDER BY crm.id;
"""



def main():
    results = []
    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="ix-limiter-") as tmp:
        env = sandbox_environment(sandbox.url)
        env["OPTIMOVE_RATE_LIMIT"] = WINDOW
        env["OPTIMOVE_CACHE_TTL"] = "0"
        env["INTERACTIONS_STATE_DIR"] = os.path.join(tmp, "state")
        halves = [JOIN.format(root=ROOT, first=1, last=45), JOIN.format(root=ROOT, first=46, last=90)]

        # The answer one process gets with no limit at the sandbox.
        sandbox.reset()
        sandbox.control("POST", "/_sandbox/config", {"rate_limits": {"optimove": None}})
        reference = [finish(start(half, dict(env, INTERACTIONS_STATE_DIR=os.path.join(tmp, "ref"))))
                     for half in halves]
        results.append((all(r[0] == 0 and r[1] for r in reference),
                        "reference: each half runs alone", repr(reference)))

        # 1. Two processes at once on one key.
        sandbox.reset()
        sandbox.control("POST", "/_sandbox/config", {"rate_limits": {"optimove": WINDOW}})
        running = [start(half, env) for half in halves]
        outcomes = [finish(process) for process in running]
        seen = statuses(sandbox)
        for number, (outcome, want) in enumerate(zip(outcomes, reference), 1):
            code, stdout, stderr = outcome
            results.append((code == 0 and stdout == want[1],
                            f"two at once: process {number} finishes with the single-process rows",
                            f"exit {code}\nstderr: {stderr}"))
        results.append((seen.get(429, 0) == 0, "two at once: no 429 at the sandbox", repr(seen)))
        results.append((seen.get(200, 0) == 90, "two at once: 90 requests answered 200", repr(seen)))

        # 2. One right after the other: the second finds the window used by the first.
        sandbox.reset()
        sandbox.control("POST", "/_sandbox/config", {"rate_limits": {"optimove": WINDOW}})
        first = finish(start(halves[0], env))
        second = finish(start(halves[1], env))
        seen = statuses(sandbox)
        results.append((first[0] == 0 and first[1] == reference[0][1] and
                        second[0] == 0 and second[1] == reference[1][1],
                        "one after the other: both finish with the right rows",
                        f"{first}\n{second}"))
        results.append((seen.get(429, 0) == 0, "one after the other: no 429 at the sandbox",
                        repr(seen)))

        # 3. A process killed mid-request does not hold the account.
        sandbox.reset()
        sandbox.control("POST", "/_sandbox/config", {"rate_limits": {"optimove": None}})
        sandbox.control("POST", "/_sandbox/faults", {"vendor": "optimove", "kind": "hang"})
        short = dict(env, OPTIMOVE_RATE_LIMIT="1/1s", OPTIMOVE_TIMEOUT_MS="1500",
                     OPTIMOVE_CONNECT_TIMEOUT_MS="500")
        one = "SELECT count(*) FROM optimove_interactions('688417', '2025-01-01');\n"
        victim = start(one, short)
        for _ in range(600):  # bounded: until the sandbox holds the victim's request
            if sandbox.log() or victim.poll() is not None:
                break
            time.sleep(0.05)
        victim.kill()
        victim.wait()
        victim.stdout.close()
        victim.stderr.close()
        code, stdout, stderr = finish(start(one, short))
        results.append((code == 0 and stdout.strip().isdigit(),
                        "after a process was killed mid-request, the next one runs",
                        f"exit {code}\nstdout: {stdout}\nstderr: {stderr}"))
        results.append(("held its rate-limit slot past its time limit" in stderr,
                        "and says the killed process's slot was released",
                        f"stderr: {stderr}"))
        state = env["INTERACTIONS_STATE_DIR"]
        files = os.listdir(state) if os.path.isdir(state) else []
        modes = {name: oct(os.stat(os.path.join(state, name)).st_mode & 0o777) for name in files}
        results.append((bool(files) and all(n == "key" or n.endswith(".limit") for n in files) and
                        set(modes.values()) == {"0o600"} and
                        oct(os.stat(state).st_mode & 0o777) == "0o700",
                        "the state directory is 0700 and holds only the key and 0600 account files",
                        repr(modes)))
        contents = b"".join(open(os.path.join(state, name), "rb").read() for name in files)
        secret = env["OPTIMOVE_API_KEY"]
        results.append((secret not in " ".join(files) and secret.encode() not in contents,
                        "no credential in a state file's name or content", repr(files)))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
