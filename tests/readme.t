#!/usr/bin/env python3
"""The README stays true: every module and function the extension registers is documented in it, it
documents none that do not exist, and every ```sql block in it runs against the sandbox (after
examples/crm.sql is loaded). Prints TAP."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import REGISTRY, sandbox_environment  # noqa: E402
from sandbox_process import Sandbox, library, print_tap, run_sqlite  # noqa: E402


def registered(env):
    """The modules and functions .load adds: those listed with it, minus those listed without."""
    listing = ("SELECT 'module', name FROM pragma_module_list UNION "
               "SELECT DISTINCT 'function', name FROM pragma_function_list;\n")
    before = run_sqlite(listing, env).stdout.splitlines()
    after = run_sqlite(f".load {library()}\n" + listing, env).stdout.splitlines()
    return sorted(set(after) - set(before))


def main():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    results = []
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        # The examples are checked for correctness, not pacing: a join over all 300 CRM customers
        # at Capillary's default 100/60s would take three minutes.
        for registration in REGISTRY.REGISTRATIONS:
            env[registration.variable("rate_limit")] = "1000/1s"
        # Several examples join all of the CRM, which says the IN-form hint on stderr by design
        # (README, Performance): quiet, so that any other stderr still fails the example.
        env["INTERACTIONS_QUIET"] = "1"
        names = registered(env)
        results.append((len(names) >= 4, f"the extension registers {len(names)} modules and functions",
                        "\n".join(names)))
        for entry in names:
            kind, name = entry.split("|")
            results.append((f"`{name}" in readme, f"README documents the {kind} {name}", ""))
        documented = set(re.findall(r"^### (\w+)\(", readme, re.M))
        known = {entry.split("|")[1] for entry in names}
        results.append((documented <= known, "README documents no table that does not exist",
                        " ".join(sorted(documented - known))))
        blocks = re.findall(r"```sql\n(.*?)```", readme, re.S)
        results.append((len(blocks) >= 3, f"README has {len(blocks)} SQL examples", ""))
        for number, block in enumerate(blocks, 1):
            script = (f".load {library()}\n.read {os.path.join(ROOT, 'examples', 'crm.sql')}\n"
                      + block + "\n")
            env["EU_CAP_PASSWORD"] = env.get("CAPILLARY_PASSWORD", "")
            env["US_CAP_PASSWORD"] = env.get("CAPILLARY_PASSWORD", "")
            result = run_sqlite(script, env)
            first = block.strip().splitlines()[0][:70]
            results.append((result.returncode == 0 and not result.stderr,
                            f"README SQL example {number} runs: {first}", result.stderr))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
