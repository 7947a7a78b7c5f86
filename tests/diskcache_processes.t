#!/usr/bin/env python3
"""Several processes share one disk cache at once (INTERACTIONS_CACHE_DIR, WAL): four sqlite3
processes started together over the same twelve customers all return every row, none reports a
problem with the cache, and a fifth process started afterwards, within cache_ttl, makes no request
at all. Prints TAP."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import sandbox_environment  # noqa: E402
from sandbox_process import Sandbox, library, print_tap, with_preload  # noqa: E402

PROCESSES = 4


def command():
    return [os.environ.get("IX_SQLITE3", "sqlite3"), "-bail", "-batch", ":memory:"]


def main():
    script = (f".load {library()}\n.read {os.path.join(ROOT, 'examples', 'crm.sql')}\n"
              "SELECT crm.id, count(ci.message_id) FROM crm JOIN capillary_interactions ci "
              "ON ci.mobile = crm.mobile WHERE crm.id <= 12 GROUP BY crm.id ORDER BY crm.id;\n"
              "SELECT 'requests', count(*) FROM interactions_requests WHERE cache_level IS NULL;\n")
    results = []
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as work:
        env = sandbox_environment(sandbox.url)
        env["INTERACTIONS_CACHE_DIR"] = os.path.join(work, "cache")
        env["CAPILLARY_RATE_LIMIT"] = "1000/1s"
        with_preload(env)
        children = [subprocess.Popen(command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
                    for _ in range(PROCESSES)]
        outputs = [child.communicate(script) + (child.returncode,) for child in children]
        rows = [out.splitlines()[:-1] for out, _, _ in outputs]
        results.append((all(code == 0 for _, _, code in outputs),
                        f"{PROCESSES} processes at once on one cache succeed",
                        "\n".join(err for _, err, _ in outputs)))
        results.append((all(err == "" for _, err, _ in outputs), "none reports a cache problem",
                        "\n".join(err for _, err, _ in outputs)))
        results.append((len(rows[0]) == 12 and all(r == rows[0] for r in rows),
                        "they all return the same twelve customers", "\n".join(map(str, rows))))
        sandbox.reset()
        late = subprocess.run(command(), input=script, capture_output=True, text=True, env=env)
        results.append((late.returncode == 0 and late.stdout.splitlines()[:-1] == rows[0],
                        "a later process returns the same rows", late.stdout + late.stderr))
        results.append((late.stdout.splitlines()[-1:] == ["requests|0"] and not sandbox.log(),
                        "and makes no request", late.stdout))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
