#!/usr/bin/env python3
"""The README and the pages under docs/ stay true: every module and function the extension
registers is named in the README, no page documents a table that does not exist, every ```sql block
of README.md and docs/ runs against the sandbox (after examples/crm.sql is loaded), and every
example on a table's page (docs/tables/) returns rows. Prints TAP."""
import glob
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


def pages():
    """README.md, then every Markdown page under docs/, as (path relative to ROOT, text)."""
    paths = ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    found = []
    for path in paths:
        full = path if os.path.isabs(path) else os.path.join(ROOT, path)
        with open(full, encoding="utf-8") as handle:
            found.append((os.path.relpath(full, ROOT), handle.read()))
    return found


MARK = "-- end of statement --"


def empty_selects(block, env):
    """The SELECTs of a block that return no rows. A table's examples show rows: the sandbox's data
    is fixed (2025-01-01 to 2026-10-31), so an example relative to today would print nothing."""
    statements = [s.strip() for s in re.split(r";\s*\n", block.strip() + "\n") if s.strip()]
    script = (f".load {library()}\n.read {os.path.join(ROOT, 'examples', 'crm.sql')}\n" +
              "".join(f"{s};\n.print {MARK}\n" for s in statements))
    outputs = run_sqlite(script, env, cwd=ROOT).stdout.split(MARK + "\n")
    return [s for s, out in zip(statements, outputs)
            if re.match(r"(SELECT|WITH)\b", s, re.I) and not out.strip()]


def main():
    documents = pages()
    readme = documents[0][1]
    results = []
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        # The examples are checked for correctness, not pacing: a join over all 300 CRM customers
        # at Capillary's default 100/60s would take two minutes.
        for registration in REGISTRY.REGISTRATIONS:
            env[registration.variable("rate_limit")] = "1000/1s"
        # Several examples join all of the CRM, which says the IN-form hint on stderr by design
        # (docs/reference/performance.md): quiet, so that any other stderr still fails the example.
        env["INTERACTIONS_QUIET"] = "1"
        names = registered(env)
        results.append((len(names) >= 4, f"the extension registers {len(names)} modules and functions",
                        "\n".join(names)))
        for entry in names:
            kind, name = entry.split("|")
            results.append((f"`{name}" in readme, f"README documents the {kind} {name}", ""))
        # A table is documented by its page's title (docs/tables/<table>.md: `# table(arguments)`).
        documented = set()
        for path, text in documents:
            documented |= set(re.findall(r"^#{1,3} (\w+)\(", text, re.M))
        known = {entry.split("|")[1] for entry in names}
        results.append((documented <= known, "no page documents a table that does not exist",
                        " ".join(sorted(documented - known))))
        blocks = [(path, block) for path, text in documents
                  for block in re.findall(r"```sql\n(.*?)```", text, re.S)]
        results.append((len(blocks) >= 3, f"README and docs/ have {len(blocks)} SQL examples", ""))
        for number, (path, block) in enumerate(blocks, 1):
            script = (f".load {library()}\n.read {os.path.join(ROOT, 'examples', 'crm.sql')}\n"
                      + block + "\n")
            env["EU_CAP_PASSWORD"] = env.get("CAPILLARY_PASSWORD", "")
            env["US_CAP_PASSWORD"] = env.get("CAPILLARY_PASSWORD", "")
            result = run_sqlite(script, env, cwd=ROOT)
            first = block.strip().splitlines()[0][:60]
            results.append((result.returncode == 0 and not result.stderr,
                            f"{path} SQL example {number} runs: {first}", result.stderr))
            if path.startswith(os.path.join("docs", "tables")):
                empty = empty_selects(block, env)
                results.append((not empty, f"{path} SQL example {number}: every SELECT returns rows",
                                "no rows: " + "\n".join(empty)))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
