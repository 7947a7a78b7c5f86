#!/usr/bin/env python3
"""The sandbox's vendor registry (tests/sandbox/vendors/) agrees with the extension: the same vendors,
each registered setting is one of the table's settings under the variable the registry derives, and
the settings the registry marks secret are exactly those the extension keeps secret (shown only as
set/unset). The leak check in cases.t and the sandbox's log redaction trust these declarations, so a
vendor whose registration is wrong fails here rather than leaking quietly. Prints TAP."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import REGISTRY, VENDOR_PREFIXES, private_state_dir  # noqa: E402
from sandbox_process import library, print_tap, run_sqlite  # noqa: E402


def settings_rows(env):
    """{vendor: {key: (value, source)}} from interactions_settings."""
    run = run_sqlite(f".load {library()}\n.mode tabs\n"
                     "SELECT vendor, key, value, source FROM interactions_settings;\n", env)
    rows = {}
    for line in run.stdout.splitlines():
        vendor, key, value, source = (line.split("\t") + ["", "", "", ""])[:4]
        rows.setdefault(vendor, {})[key] = (value, source)
    return rows, run


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
        secret_there = sorted(k for k, (value, _) in table.items() if value in ("set", "unset"))
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
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
