#!/usr/bin/env python3
"""Threads x connections x IN lists under 429s and resets, with the library loaded into Debian's
/usr/bin/python3 (its sqlite3 module, SQLite 3.40), against the sandbox (issue 10's stall).

Every vendor, IN lists (some cut short by LIMIT, so cursors are reset while customers are in
flight) and joins, each thread on its own connection, reopened every few queries. The sandbox
answers a fixed pattern: every 5th request 429 with Retry-After 0, every 7th a reset mid-body,
and it enforces the same short windows the tables are given. Asserts: every query finished with
the single-thread rows or a clear error naming its table, no thread stalled (a bounded join with a
generous timeout reports a stall instead of hanging), and no 429 came from the sandbox's own
limiter (only the scripted ones).

IX_STRESS_SCALE=N (default 1) runs N times the threads (up to 16) and queries; `make asan` sets
it. IX_STRESS_THREADS and IX_STRESS_QUERIES set them exactly (the issue's run: 16 and 150).
Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, print_tap, with_preload  # noqa: E402
from cases_env import REGISTRY, sandbox_environment  # noqa: E402

WINDOW = os.environ.get("IX_STRESS_WINDOW", "20/100ms")
SCALE = max(1, int(os.environ.get("IX_STRESS_SCALE", "1")))
THREADS = int(os.environ.get("IX_STRESS_THREADS", min(16, 6 * SCALE)))
QUERIES = int(os.environ.get("IX_STRESS_QUERIES", 12 * SCALE))
RECONNECT = 5
# Generous bounds: reaching one is reported as a stall, never asserted as a duration.
JOIN_TIMEOUT = 240 * SCALE

RANGES = [(1, 4), (5, 9), (10, 12), (13, 18)]
# (vendor, statement): each vendor's statement shapes (REGISTRATION.stress_queries, declared in
# its module) over each range of CRM ids, in registry order.
WORKLOAD = [(r.name, shape.format(a=a, b=b)) for r in REGISTRY.REGISTRATIONS
            for shape in r.stress_queries for a, b in RANGES]
QUERY_LIST = [query for _, query in WORKLOAD]
# A failed query's error starts with one of its vendor's table names.
ERROR_PREFIXES = {r.name: tuple(f"{table}: " for table in r.tables())
                  for r in REGISTRY.REGISTRATIONS}

# Runs under /usr/bin/python3: the queries of a plan on threads, one connection each.
CHILD = r'''
import json, os, sqlite3, sys, threading, time
library, plan_path = sys.argv[1], sys.argv[2]
with open(plan_path) as handle:
    plan = json.load(handle)
crm = open(plan["crm"]).read()
results = {}

def connect():
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.enable_load_extension(True)
    connection.load_extension(library)
    connection.executescript(crm)
    return connection

def worker(number):
    out, connection = [], None
    for i, index in enumerate(plan["work"][number]):
        if i % plan["reconnect"] == 0:
            if connection is not None:
                connection.close()
            connection = connect()
        try:
            out.append([index, "rows", connection.execute(plan["queries"][index]).fetchall()])
        except sqlite3.Error as error:
            out.append([index, "error", str(error)])
    if connection is not None:
        connection.close()
    results[number] = out

threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(len(plan["work"]))]
for thread in threads:
    thread.start()
deadline = time.monotonic() + plan["join_timeout"]
for thread in threads:
    thread.join(max(0.0, deadline - time.monotonic()))
stalled = [n for n, thread in enumerate(threads) if thread.is_alive()]
print(json.dumps({"results": {str(k): v for k, v in results.items()}, "stalled": stalled}))
sys.stdout.flush()
os._exit(0)  # threads stuck in the extension must not keep the process alive
'''


def run_child(env, work, tmp, name):
    plan_path = os.path.join(tmp, name + ".json")
    with open(plan_path, "w") as handle:
        json.dump({"queries": QUERY_LIST, "work": work, "reconnect": RECONNECT,
                   "crm": os.path.join(ROOT, "examples", "crm.sql"),
                   "join_timeout": JOIN_TIMEOUT}, handle)
    child_env = dict(env)
    with_preload(child_env, interpreter=True)
    try:
        result = subprocess.run(["/usr/bin/python3", "-c", CHILD, library(), plan_path],
                                capture_output=True, text=True, env=child_env,
                                timeout=JOIN_TIMEOUT + 120)
    except subprocess.TimeoutExpired as expired:
        return None, f"the child did not exit: {expired.stderr}"
    try:
        return json.loads(result.stdout), result.stderr
    except ValueError:
        return None, f"exit {result.returncode}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-4000:]}"


def configure(sandbox):
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/config",
                    {"rate_limits": {r.name: WINDOW for r in REGISTRY.REGISTRATIONS}})


def main():
    results = []
    env = sandbox_environment("")
    with Sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="ix-stress-") as tmp:
        env = sandbox_environment(sandbox.url)
        env["INTERACTIONS_STATE_DIR"] = os.path.join(tmp, "state")
        env["INTERACTIONS_QUIET"] = "1"
        for registration in REGISTRY.REGISTRATIONS:
            env.update({registration.variable(key): value for key, value in (
                ("rate_limit", WINDOW), ("cache_ttl", "0"), ("retry_base_ms", "20"),
                ("max_retries", "8"), ("max_concurrency", "4"))})

        configure(sandbox)
        reference, stderr = run_child(env, [list(range(len(QUERY_LIST)))], tmp, "reference")
        expected = {}
        if reference:
            for index, kind, value in reference["results"].get("0", []):
                expected[index] = (kind, value)
        clean = len(expected) == len(QUERY_LIST) and all(k == "rows" for k, _ in expected.values())
        results.append((clean, f"reference: {len(QUERY_LIST)} queries on one thread, no faults",
                        f"{stderr}\n{[v for v in expected.values() if v[0] != 'rows'][:5]}"))

        configure(sandbox)
        pattern = []
        for number in range(1, max(4000, 6 * THREADS * QUERIES) + 1):
            if number % 7 == 0:
                pattern.append({"kind": "reset"})
            elif number % 5 == 0:
                pattern.append({"kind": "429", "retry_after": "0"})
            else:
                pattern.append({"kind": "latency", "ms": 0})
        sandbox.control("POST", "/_sandbox/faults", pattern)
        work = [[(t * 7 + i) % len(QUERY_LIST) for i in range(QUERIES)] for t in range(THREADS)]
        outcome, stderr = run_child(env, work, tmp, "stress")
        log = sandbox.log()
        results.append((outcome is not None, f"stress: {THREADS} threads x {QUERIES} queries ran",
                        stderr))
        outcome = outcome or {"results": {}, "stalled": list(range(THREADS))}
        results.append((not outcome["stalled"], "no thread stalled",
                        f"stalled threads: {outcome['stalled']}\n{stderr[-3000:]}"))
        wrong, errors, answered = [], [], 0
        for number, out in outcome["results"].items():
            for index, kind, value in out:
                answered += 1
                if kind == "rows":
                    if expected.get(index) != ("rows", value):
                        wrong.append((QUERY_LIST[index], value, expected.get(index)))
                else:
                    errors.append(value)
                    vendor = WORKLOAD[index][0]
                    if not value.startswith(ERROR_PREFIXES[vendor]) or "interrupted" in value:
                        wrong.append((QUERY_LIST[index], value, ERROR_PREFIXES[vendor]))
        results.append((answered == THREADS * QUERIES, "every query finished",
                        f"{answered} of {THREADS * QUERIES}"))
        results.append((not wrong, "each with the single-thread rows or a clear error naming its table",
                        "\n".join(repr(w) for w in wrong[:10])))
        scripted = {"429": 0, "reset": 0}
        limiter_429 = []
        for record in log:
            if record.get("fault") in scripted:
                scripted[record["fault"]] += 1
            elif record.get("status") == 429:
                limiter_429.append(record)
        results.append((scripted["429"] > 0 and scripted["reset"] > 0,
                        "the sandbox served scripted 429s and resets", repr(scripted)))
        results.append((not limiter_429, "no 429 from the sandbox's own limiter",
                        f"{len(limiter_429)} of {len(log)} requests:\n" +
                        "\n".join(json.dumps(r) for r in limiter_429[:10])))
        if errors:
            print(f"# {len(errors)} queries failed with a clear error, e.g. {errors[0][:200]}")
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
