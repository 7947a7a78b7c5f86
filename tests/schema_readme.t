#!/usr/bin/env python3
"""The README's table sections stay in step with interactions_columns and interactions_tables, which
the extension generates from the descriptors its tables run on: every table has a `### name(args)`
section whose arguments are its hidden columns in order, and whose column table lists exactly its
columns, marking the hidden ones `(hidden)` (a section without a column table names every column in
its text). Prints TAP."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import library, print_tap, run_sqlite  # noqa: E402


def query(sql):
    result = run_sqlite(f".load {library()}\n.mode list\n.separator \\t\n{sql}\n", dict(os.environ))
    if result.returncode != 0:
        raise SystemExit(f"Bail out! {result.stderr.strip()}")
    return [line.split("\t") for line in result.stdout.splitlines()]


def sections(readme):
    """{table: (arguments, text)} for every `### table(arguments)` heading, up to the next heading of
    level 2 or 3."""
    found = {}
    for match in re.finditer(r"^### (\w+)\(([^)]*)\)\n(.*?)(?=^##? |^### |\Z)", readme, re.M | re.S):
        arguments = [a.strip() for a in match.group(2).split(",") if a.strip()]
        found[match.group(1)] = (arguments, match.group(3))
    return found


def column_table(text):
    """{column: hidden} from the first `| column | meaning |` table of a section, else None."""
    match = re.search(r"^\| column \| meaning \|\n\|[-|]+\|\n((?:\|.*\n)+)", text, re.M)
    if not match:
        return None
    columns = {}
    for line in match.group(1).splitlines():
        first = line.split("|")[1]
        for name in re.findall(r"`(\w+)`", first):
            columns[name] = "(hidden)" in first
    return columns


def main():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    documented = sections(readme)
    tables = query("SELECT table_name, arguments FROM interactions_tables ORDER BY rowid;")
    columns = query("SELECT table_name, column_name, hidden FROM interactions_columns "
                    "ORDER BY table_name, position;")
    results = [(len(tables) >= 6, f"interactions_tables lists {len(tables)} tables", "")]
    for table, signature in tables:
        own = [(name, hidden == "1") for t, name, hidden in columns if t == table]
        results.append((len(own) > 0, f"interactions_columns lists the columns of {table}", ""))
        if table not in documented:
            results.append((False, f"README has a section ### {signature}", ""))
            continue
        arguments, text = documented[table]
        hidden = [name for name, is_hidden in own if is_hidden]
        results.append((arguments == hidden, f"README's heading of {table} lists its hidden columns",
                        f"README: {arguments}\ninteractions_columns: {hidden}"))
        listed = column_table(text)
        if listed is None:
            # Its heading names the hidden columns (checked above); the text names the others.
            missing = [name for name, is_hidden in own if not is_hidden and f"`{name}`" not in text]
            results.append((not missing, f"README's section on {table} names every column",
                            "missing: " + " ".join(missing)))
            continue
        expected = dict(own)
        results.append((set(listed) == set(expected),
                        f"README's column table of {table} lists exactly its columns",
                        "only in README: " + " ".join(sorted(set(listed) - set(expected))) +
                        "\nonly in interactions_columns: " +
                        " ".join(sorted(set(expected) - set(listed)))))
        wrong = sorted(name for name in set(listed) & set(expected) if listed[name] != expected[name])
        results.append((not wrong, f"README marks the hidden columns of {table} (hidden)",
                        "marked wrongly: " + " ".join(wrong)))
    extra = sorted(set(documented) - {table for table, _ in tables})
    results.append((not extra, "README documents no table interactions_tables lacks", " ".join(extra)))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
