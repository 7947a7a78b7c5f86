#!/usr/bin/env python3
"""The sandbox's vendor registry (tests/sandbox/vendors/) agrees with the extension: the same vendors,
each registered setting is one of the table's settings under the variable the registry derives, and
the settings the registry marks secret are exactly those the extension keeps secret (shown only as
set/unset). The leak check in cases.t and the sandbox's log redaction trust these declarations, so a
vendor whose registration is wrong fails here rather than leaking quietly.

It also keeps the vendor list in one place: the registry's tables are the extension's, every
vendor declares its timeline branch, its tests/secrets.t statement for each of its tables and its
tests/stress.t statements, the checked-in sql/timeline.sql is what tools/timeline.py makes of
those declarations, and no test, tool or SQL file outside the vendor modules lists the vendors (a
list there would silently leave out the next vendor). Prints TAP."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import REGISTRY, VENDOR_PREFIXES, private_state_dir  # noqa: E402
from sandbox_process import library, print_tap, run_sqlite  # noqa: E402
from vendors.base import from_table  # noqa: E402  (tests/sandbox/, on the path from cases_env)


def settings_rows(env):
    """{vendor: {key: (value, source)}} from interactions_settings."""
    run = run_sqlite(f".load {library()}\n.mode tabs\n"
                     "SELECT vendor, key, value, source FROM interactions_settings;\n", env)
    rows = {}
    for line in run.stdout.splitlines():
        vendor, key, value, source = (line.split("\t") + ["", "", "", ""])[:4]
        rows.setdefault(vendor, {})[key] = (value, source)
    return rows, run


# Where a vendor list must not be: the tests, the tools, the SQL, the bench and the Makefile.
# Not searched: the vendor modules (tests/sandbox/vendors/, the one list), the cases and
# fixtures (one vendor each), documentation (*.md, README) and generated files below.
SCANNED = ("tests/*.t", "tests/*.py", "tests/differential/*", "sql/*", "bench/*", "tools/*",
           "Makefile")
GENERATED = {"sql/timeline.sql": "tools/timeline.py writes it from the registry (checked above)"}


def scanned_files():
    import glob
    out = []
    for pattern in SCANNED:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            rel = os.path.relpath(path, ROOT)
            if os.path.isfile(path) and not rel.endswith(".md") and rel not in GENERATED:
                out.append(rel)
    return out


def vendors_named(text, names):
    """The registered vendor names `text` mentions (any case, _ and - count as separators:
    CXENGAGE_PAGE_SIZE and cxengage_interactions name cxengage)."""
    return sorted(n for n in names
                  if re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", text, re.IGNORECASE))


def list_checks(names):
    """A file naming more than half of the vendors is a vendor list: a test or tool that is
    about one vendor names that one (memory.t uses Capillary's limits), a list names them all,
    and after a new vendor an old list still names more than half."""
    lists = {}
    for rel in scanned_files():
        with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as f:
            found = vendors_named(f.read(), names)
        if len(found) * 2 > len(names):
            lists[rel] = found
    return [(not lists, f"no vendor list outside tests/sandbox/vendors/ (searched "
             f"{', '.join(SCANNED)})",
             "\n".join(f"{rel} names {', '.join(found)}: read the vendors from the "
                       f"registry (docs/adding-a-vendor.md)" for rel, found in
                       sorted(lists.items())))]


def timeline_checks(table_names):
    results = []
    script = os.path.join(ROOT, "tools", "timeline.py")
    target = os.path.join(ROOT, "sql", "timeline.sql")
    run = subprocess.run(["/usr/bin/python3", script, "--check", target], capture_output=True,
                         text=True, timeout=60)
    results.append((run.returncode == 0, "sql/timeline.sql is what tools/timeline.py generates",
                    run.stderr))
    for registration in REGISTRY.REGISTRATIONS:
        tables = [b.table for b in registration.timeline]
        results.append((tables and all(t in table_names for t in tables),
                        f"{registration.name}: declares its customer_timeline branch, on one of "
                        f"its tables ({', '.join(tables)})",
                        f"declare REGISTRATION.timeline in tests/sandbox/vendors/"
                        f"{registration.name}.py; the extension's tables: {sorted(table_names)}"))
    return results


def query_checks(tables):
    """Each vendor's statements for tests/secrets.t (one per table, reading that table) and
    tests/stress.t (at least one, each on one of its tables, over the CRM ids {a}..{b}): a
    vendor that declares none would be left out of those tests without a word."""
    results = []
    for registration in REGISTRY.REGISTRATIONS:
        name, path = registration.name, f"tests/sandbox/vendors/{registration.name}.py"
        theirs = sorted(t for t, vendor in tables.items() if vendor == name)
        results.append((theirs and sorted(registration.tables()) == theirs,
                        f"{name}: the registry's tables are the extension's ({', '.join(theirs)})",
                        f"registry (REGISTRATION.differential): {sorted(registration.tables())}\n"
                        f"extension (interactions_tables): {theirs}"))
        read = sorted(from_table(q) or "" for q in registration.secrets_queries)
        results.append((read == theirs,
                        f"{name}: declares one tests/secrets.t statement per table",
                        f"REGISTRATION.secrets_queries in {path} reads {read}; "
                        f"its tables: {theirs}"))
        wrong = [q for q in registration.stress_queries
                 if "{a}" not in q or "{b}" not in q
                 or not any(re.search(rf"\b{t}\b", q) for t in theirs)]
        results.append((registration.stress_queries and not wrong,
                        f"{name}: declares its tests/stress.t statements "
                        f"({len(registration.stress_queries)}), each on its tables over "
                        f"{{a}}..{{b}}",
                        f"REGISTRATION.stress_queries in {path}: none declared" if not
                        registration.stress_queries else "\n".join(wrong)))
    return results


def extension_tables(env):
    """{table: vendor} from interactions_tables."""
    run = run_sqlite(f".load {library()}\n.mode tabs\n"
                     "SELECT table_name, vendor FROM interactions_tables;\n", env)
    return dict(line.split("\t")[:2] for line in run.stdout.splitlines() if "\t" in line)


def main():
    results = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    env["INTERACTIONS_STATE_DIR"] = private_state_dir()
    # Every registered variable set, the commented-out alternatives too: each must then be
    # reported as coming from its variable, and each secret as "set".
    env.update(REGISTRY.sandbox_env("http://127.0.0.1:9"))
    rows, run = settings_rows(env)
    results.append((run.returncode == 0 and rows, "interactions_settings lists the settings",
                    run.stderr))
    theirs = sorted(v for v in rows if v != "interactions")
    results.append((theirs == sorted(REGISTRY.NAMES),
                    f"the registry has the extension's {len(theirs)} vendors",
                    f"extension: {theirs}\nregistry:  {sorted(REGISTRY.NAMES)}"))
    for registration in REGISTRY.REGISTRATIONS:
        table = rows.get(registration.name, {})
        wrong = []
        for setting in registration.settings:
            variable = registration.variable(setting.key)
            got = table.get(setting.key)
            if got is None:
                wrong.append(f"{setting.key}: not a setting of the extension's {registration.name}")
            elif got[1] != f"env {variable}":
                wrong.append(f"{setting.key}: source {got[1]!r}, not 'env {variable}'")
        results.append((table and not wrong,
                        f"{registration.name}: every registered setting is the table's, from "
                        f"{registration.env_prefix}_<KEY>", "\n".join(wrong)))
        # limiter_url is shown as set or unset for the Redis password it may carry: the shared
        # limiter's, every table's, not a vendor secret the registry describes.
        secret_there = sorted(k for k, (value, _) in table.items()
                              if value in ("set", "unset") and k != "limiter_url")
        secret_here = sorted(s.key for s in registration.settings if s.secret)
        results.append((table and secret_there == secret_here,
                        f"{registration.name}: the registry marks secret exactly the settings the "
                        f"extension keeps secret ({', '.join(secret_here)})",
                        f"extension: {secret_there}\nregistry:  {secret_here}"))
        basic_users = [s.basic_user for s in registration.settings if s.basic_user]
        results.append((all(u in {s.key for s in registration.settings} for u in basic_users),
                        f"{registration.name}: a Basic secret's user is one of its settings",
                        f"{basic_users}"))
        cases = os.path.join(ROOT, "tests", "cases", registration.name)
        count = len([f for f in os.listdir(cases) if f.endswith(".case")]) if os.path.isdir(cases) else 0
        results.append((count > 0, f"{registration.name}: has its cases in tests/cases/"
                        f"{registration.name}/ ({count})", ""))
    tables = extension_tables(env)
    results += timeline_checks(tables)
    results += query_checks(tables)
    results += list_checks(REGISTRY.NAMES)
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
