#!/usr/bin/env python3
"""Each table's page (docs/tables/<table>.md) stays in step with interactions_columns and
interactions_tables, which the extension generates from the descriptors its tables run on: every
table has its page, titled `# name(args)` with its hidden columns in order as the arguments, with the
same headings in the same order as every other table's page, and a column table (under Columns)
listing exactly its columns, the hidden ones marked `(hidden)` (a page without a column table names
every column in its Columns section). Prints TAP."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import library, print_tap, run_sqlite  # noqa: E402

TABLES_DIR = os.path.join(ROOT, "docs", "tables")
# The headings of every table's page, in this order (docs/tables/README.md names them).
HEADINGS = ["Request", "Examples", "Columns", "What goes to the API and what SQLite filters",
            "Paging and limits", "Authentication", "Settings", "Errors and what to do",
            "Confirmed vs our assumption"]


def query(sql):
    result = run_sqlite(f".load {library()}\n.mode list\n.separator \\t\n{sql}\n", dict(os.environ))
    if result.returncode != 0:
        raise SystemExit(f"Bail out! {result.stderr.strip()}")
    return [line.split("\t") for line in result.stdout.splitlines()]


def headings(text):
    """The level-2 headings of a page, outside code fences."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            found.append(line[3:].strip())
    return found


def columns_section(text):
    match = re.search(r"^## Columns\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def pages():
    """{table: (arguments, page text)} from each page's title `# table(arguments)`."""
    found = {}
    for path in sorted(glob.glob(os.path.join(TABLES_DIR, "*.md"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        match = re.match(r"# (\w+)\(([^)]*)\)\n", text)
        if match:
            arguments = [a.strip() for a in match.group(2).split(",") if a.strip()]
            found[match.group(1)] = (arguments, text, os.path.basename(path))
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
    documented = pages()
    tables = query("SELECT table_name, arguments FROM interactions_tables ORDER BY rowid;")
    columns = query("SELECT table_name, column_name, hidden FROM interactions_columns "
                    "ORDER BY table_name, position;")
    results = [(len(tables) >= 6, f"interactions_tables lists {len(tables)} tables", "")]
    for table, signature in tables:
        own = [(name, hidden == "1") for t, name, hidden in columns if t == table]
        results.append((len(own) > 0, f"interactions_columns lists the columns of {table}", ""))
        if table not in documented:
            results.append((False, f"docs/tables/{table}.md is titled # {signature}", ""))
            continue
        arguments, text, filename = documented[table]
        results.append((filename == f"{table}.md", f"{table}'s page is docs/tables/{table}.md",
                        filename))
        results.append((headings(text) == HEADINGS, f"{table}'s page has the tables' headings",
                        f"got:  {headings(text)}\nwant: {HEADINGS}"))
        hidden = [name for name, is_hidden in own if is_hidden]
        results.append((arguments == hidden, f"{table}'s page title lists its hidden columns",
                        f"page: {arguments}\ninteractions_columns: {hidden}"))
        section = columns_section(text)
        listed = column_table(section)
        if listed is None:
            # Its title names the hidden columns (checked above); the Columns section the others.
            missing = [name for name, is_hidden in own if not is_hidden and f"`{name}`" not in section]
            results.append((not missing, f"{table}'s page names every column",
                            "missing: " + " ".join(missing)))
            continue
        expected = dict(own)
        results.append((set(listed) == set(expected),
                        f"{table}'s column table lists exactly its columns",
                        "only on the page: " + " ".join(sorted(set(listed) - set(expected))) +
                        "\nonly in interactions_columns: " +
                        " ".join(sorted(set(expected) - set(listed)))))
        wrong = sorted(name for name in set(listed) & set(expected) if listed[name] != expected[name])
        results.append((not wrong, f"{table}'s page marks its hidden columns (hidden)",
                        "marked wrongly: " + " ".join(wrong)))
    extra = sorted(set(documented) - {table for table, _ in tables})
    results.append((not extra, "no table page for a table interactions_tables lacks", " ".join(extra)))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())
