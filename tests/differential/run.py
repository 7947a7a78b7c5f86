#!/usr/bin/python3
"""The differential test's worker: run by tests/differential.t with the sandbox running and the
environment pointed at it; loads the extension into Debian's Python sqlite3, prints TAP.

1. A local copy of each vendor table: for every pool customer (generator.POOL_IDS, plus the
   vendors' documentation samples and keys nobody knows), one plain SELECT of every column with
   only the key, stored in a TEMP table local_<table> with the same declared columns and types.
   A table with several key forms (mobile, email and external_id, say) is asked by each, because
   a row shows only what the form asked for carries (an answer shape without the customer
   object); a row two forms return alike is kept once (the multiset union). The
   argument columns that only echo the request (identifier_name/value, start_date/end_date) are
   NULL in the copy and no query reads them.
2. IX_DIFF_QUERIES generated queries (generator.py), each run on the vendor tables and, with
   every vendor table name replaced by its local copy, on the copies; compared as multisets, in
   order where the query has a total ORDER BY, and as a sub-multiset of the right size where a
   LIMIT has no total ORDER BY.
3. One TAP test point per table and class (generator.CLASSES); the classes in KNOWN_BUGS are TODO
   under IX_DIFF_STRICT=0 (by default every difference fails).

usage: run.py LIBRARY   (environment: see tests/differential/README.md)
"""
import base64
import collections
import hashlib
import os
import re
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "sandbox"))
sys.dont_write_bytecode = True
import generator  # noqa: E402
import data  # noqa: E402  (tests/sandbox/data.py: the CRM customers)

# Keys an answer does not carry, so no spelling to compare (generator.ECHOED_KEYS).
for _spec in generator.SPECS:
    if _spec.echoed is not None:
        generator.ECHOED_KEYS.update(_spec.echoed())

# Classes a build is known to get wrong, reported as TODO (with the reason) under IX_DIFF_STRICT=0,
# so a bug can be recorded before its fix lands. Empty: issue 9's classes are all fixed, and by
# default every difference fails.
KNOWN_BUGS = {}

STRICT = os.environ.get("IX_DIFF_STRICT", "1") != "0"
# Several seeds by default (issue 19), fewer queries each; IX_DIFF_SEED runs one seed as before.
if os.environ.get("IX_DIFF_SEED"):
    SEEDS = [os.environ["IX_DIFF_SEED"]]
else:
    SEEDS = [s.strip() for s in os.environ.get("IX_DIFF_SEEDS", "1,2,3").split(",") if s.strip()]
SEED = SEEDS[0]
COUNT = int(os.environ.get("IX_DIFF_QUERIES", "2400" if len(SEEDS) == 1 else "1000"))
SHOW = int(os.environ.get("IX_DIFF_SHOW", "1000000"))  # differences printed per test point
ONLY = [int(n) for n in os.environ.get("IX_DIFF_ONLY", "").split(",") if n.strip()]

COPY_FROM = "2000-01-01"  # the local copy's lower date bound (for a table that needs one)
# Columns of the copy that only echo what a request asked for: NULL in the copy, never read.
ECHO_COLUMNS = {"identifier_name", "identifier_value", "start_date", "end_date"}
TABLE_WORD = re.compile(r"\b(" + "|".join(s.name for s in generator.SPECS) + r")\b")
ERRORS = {
    "customer": r"a (?!start date)[a-z ]+ is required: add WHERE ",
    # A statement bounding the range only outside an OR: SQLite gives the branches no bound.
    # A lower bound that is no date (a number, text before every date) is quoted.
    "start": r"(a start date is required: add WHERE occurred_at >= |SQLite does not pass the date "
             r"range written outside an OR into the OR's branches|occurred_at [<>=]+ .* is no start "
             r"date: the API needs one as text in the form YYYY-MM-DD)",
    "collation": r"[a-z_]+ = '[^']*' is compared under COLLATE NOCASE \(from a COLLATE clause",
}


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, passed, name, diagnostics="", todo=None):
        self.count += 1
        if not passed and not todo:
            self.failed += 1
        directive = f" # TODO {todo}" if todo else ""
        print(f"{'ok' if passed else 'not ok'} {self.count} - {name}{directive}")
        if not passed and diagnostics:
            for line in diagnostics.rstrip("\n").split("\n"):
                print(f"#   {line}")
        sys.stdout.flush()

    def note(self, text):
        print(f"# {text}")

    def finish(self):
        print(f"1..{self.count}")
        return 1 if self.failed else 0


def typed(row):
    """A row as a tuple SQLite's own equality would tell apart: 1 and 1.0 and '1' differ."""
    return tuple((type(v).__name__, v) for v in row)


def run(connection, sql, params=()):
    try:
        return "rows", [typed(r) for r in connection.execute(sql, params).fetchall()]
    except sqlite3.Error as error:
        return "error", str(error)


def short(value, width=70):
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def show_rows(rows, most=3):
    lines = [f"{len(rows)} row(s)"]
    for row in rows[:most]:
        lines.append("  (" + ", ".join(short(v) for _, v in row) + ")")
    if len(rows) > most:
        lines.append(f"  ... {len(rows) - most} more")
    return lines


def secrets_of(connection):
    """Every credential of the run and the forms it travels in (MD5, Basic user:secret), from the
    settings interactions_settings shows only as set/unset."""
    found = set()
    rows = connection.execute("SELECT vendor, key, value, source FROM interactions_settings")
    settings = collections.defaultdict(dict)
    for vendor, key, value, source in rows.fetchall():
        settings[vendor][key] = (value, source)
    for vendor, keys in settings.items():
        users = [v for k, (v, _) in keys.items() if "user" in k and v]
        for key, (value, source) in keys.items():
            name = source[4:] if source and source.startswith("env ") else None
            secret = os.environ.get(name) if name and value == "set" else None
            if not secret or len(secret) < 4:
                continue
            md5 = hashlib.md5(secret.encode()).hexdigest()
            found |= {secret, md5}
            for user in users:
                for form in (secret, md5):
                    found.add(base64.b64encode(f"{user}:{form}".encode()).decode())
    return found


def vendor_tables(connection):
    """The extension's vendor tables: its modules named after a vendor it has settings for."""
    vendors = [r[0] for r in connection.execute(
        "SELECT DISTINCT vendor FROM interactions_settings WHERE vendor <> 'interactions'")]
    return sorted(r[0] for r in connection.execute("SELECT name FROM pragma_module_list")
                  if any(r[0].startswith(v + "_") for v in vendors))


def crm_customers():
    customers = []
    for cid in generator.POOL_IDS:
        c = data.BY_ID[cid]
        customers.append({"id": c.id, "name": c.name, "segment": c.segment,
                          "signup_date": c.signup_date,
                          **{k: getattr(c, k) for k in generator.KEY_COLUMNS}})
    return customers


def build_copy(connection, spec, customers, tap):
    """Fills temp.local_<table>; returns (rows stored, customers with rows) or None on failure."""
    columns = connection.execute(
        "SELECT name, type, hidden FROM pragma_table_xinfo(?) ORDER BY cid", (spec.name,)).fetchall()
    names = [c[0] for c in columns]
    decl = ", ".join(f'"{n}" {t}'.rstrip() for n, t, _ in columns)
    connection.execute(f"CREATE TEMP TABLE local_{spec.name}({decl})")
    select = ", ".join(f'"{n}"' for n in names)
    stored = with_rows = 0
    for customer in customers:
        union = collections.Counter()
        for column in sorted(customer):
            bound = f" AND occurred_at >= '{COPY_FROM}'" if spec.needs_lower else ""
            sql = f"SELECT {select} FROM {spec.name} WHERE {column} = ?{bound}"
            try:
                rows = connection.execute(sql, (customer[column],)).fetchall()
            except sqlite3.Error as error:
                tap.ok(False, f"{spec.name}: local copy", f"{sql} [{customer[column]!r}]\n{error}")
                return None
            form = collections.Counter()
            for row in rows:
                row = list(row)
                for i, name in enumerate(names):
                    if name in ECHO_COLUMNS:
                        row[i] = None
                    elif name in spec.asked_keys and name in customer:
                        row[i] = customer[name]
                form[tuple(row)] += 1
            union |= form  # the multiset union: a row two forms return alike counts once
        placeholders = ", ".join("?" for _ in names)
        connection.executemany(f"INSERT INTO local_{spec.name} VALUES({placeholders})",
                               list(union.elements()))
        stored += sum(union.values())
        with_rows += 1 if union else 0
    return stored, with_rows


def value_pools(connection, spec):
    columns = connection.execute(
        "SELECT name, hidden FROM pragma_table_xinfo(?) ORDER BY cid", (spec.name,)).fetchall()
    pools = {"__visible__": [n for n, hidden in columns if not hidden]}
    for name, _ in columns:
        if name in ECHO_COLUMNS or name == "raw":
            continue
        values = [r[0] for r in connection.execute(
            f'SELECT DISTINCT "{name}" FROM local_{spec.name} WHERE "{name}" IS NOT NULL')]
        pools[name] = sorted(values, key=lambda v: (type(v).__name__, v))
    return pools


def compare(query, vendor, local, local_base):
    """(passed, explanation)."""
    got_kind, got = vendor
    tables = sorted(set(TABLE_WORD.findall(query.sql)))
    if got_kind == "error":
        for kind in query.error_kinds:
            if re.match(rf"^({'|'.join(tables)}): {ERRORS[kind]}", got):
                return query.expect in ("error", "either"), (
                    "failed with the documented error, but the query names its customers")
        return False, "failed"
    if query.expect == "error" and "customer" in query.error_kinds:
        if query.may_be_empty and not got and not local[1]:
            return True, ""
        return False, "returned rows where the query names no customer (an error is right)"
    # Without a lower date bound where one is needed the error is right, and so are the copy's own rows (a
    # LIMIT 0, a NULL key: SQLite or the table may answer without asking).
    want = local[1]
    if query.check == "ordered":
        return got == want, "rows differ (in order)"
    if query.check == "multiset":
        return collections.Counter(got) == collections.Counter(want), "rows differ (as multisets)"
    extra = collections.Counter(got) - collections.Counter(local_base[1])
    return len(got) == len(want) and not extra, (
        f"LIMIT without a total ORDER BY: want {len(want)} of the unlimited rows")


def outcome_kind(query, vendor):
    """How a right answer came: "same" rows, a "clear error" (the documented error naming what to
    add), or a "refusal" (a comparison the vendor cannot serve, refused before any request)."""
    if vendor[0] != "error":
        return "same"
    tables = sorted(set(TABLE_WORD.findall(query.sql)))
    if re.match(rf"^({'|'.join(tables)}): {ERRORS['collation']}", vendor[1]):
        return "refusal"
    return "clear error"


def diagnostics(query, vendor, local, local_base, why):
    lines = [f"query {query.number} (seed {SEED}), {query.expect} expected, features "
             f"{','.join(sorted(query.tags)) or 'plain'}: {why}",
             query.sql]
    if query.params:
        lines.append(f"parameters: {query.params!r}")
    if vendor[0] == "error":
        lines.append(f"vendor table: error: {vendor[1]}")
    else:
        lines += ["vendor table: " + s for s in show_rows(vendor[1])[:1]] + show_rows(vendor[1])[1:]
    lines += ["local copy:   " + s for s in show_rows(local[1])[:1]] + show_rows(local[1])[1:]
    if vendor[0] == "rows" and query.check != "ordered":
        base = local_base[1] if query.check == "limit" else local[1]
        only_vendor = list((collections.Counter(vendor[1]) - collections.Counter(base)).elements())
        only_local = list((collections.Counter(base) - collections.Counter(vendor[1])).elements())
        if only_vendor:
            lines += ["only in the vendor table: " + s for s in show_rows(only_vendor, 2)[:1]]
            lines += show_rows(only_vendor, 2)[1:]
        if only_local and query.check == "multiset":
            lines += ["only in the local copy: " + s for s in show_rows(only_local, 2)[:1]]
            lines += show_rows(only_local, 2)[1:]
    lines.append(f"rerun: IX_DIFF_SEED={SEED} IX_DIFF_ONLY={query.number} prove -v "
                 f"tests/differential.t")
    return "\n".join(lines)


def main():
    tap = Tap()
    library = sys.argv[1]
    connection = sqlite3.connect(":memory:")
    connection.enable_load_extension(True)
    connection.load_extension(library)
    connection.enable_load_extension(False)
    missing = sorted(set(vendor_tables(connection)) - set(generator.SPEC_BY_NAME))
    tap.ok(not missing, "every vendor table of the extension has a generator spec",
           "no differential spec for: " + ", ".join(missing) + "; declare one in the vendor's "
           "REGISTRATION.differential (tests/sandbox/vendors/<vendor>.py, see generator.Spec)")
    crm = crm_customers()
    connection.executescript(generator.crm_sql(crm))

    customers, values = {}, {}
    for spec in generator.SPECS:
        customers[spec.name] = generator.customers_of(spec, crm)
        built = build_copy(connection, spec, customers[spec.name], tap)
        if built is None:
            return tap.finish()
        stored, with_rows = built
        tap.ok(stored > 0 and with_rows >= len(crm) // 2,
               f"{spec.name}: local copy of {stored} rows from {with_rows} of "
               f"{len(customers[spec.name])} customers",
               "the copy must hold most pool customers' rows")
        values[spec.name] = value_pools(connection, spec)

    today = connection.execute("SELECT date('now')").fetchone()[0]
    results = collections.defaultdict(list)  # (table, class) -> [(passed, diagnostics)]
    errors = []
    figures = []
    for seed in SEEDS:
        figures.append(run_seed(connection, seed, values, customers, crm, today, results, errors))
    report(tap, connection, results, errors, figures)
    return tap.finish()


def run_seed(connection, seed, values, customers, crm, today, results, errors):
    """Runs one seed's queries into results; returns its figures."""
    global SEED
    SEED = seed
    gen = generator.Generator(seed, values, customers, crm, today=today)
    numbers = ONLY or range(COUNT)
    counts = collections.Counter()
    for number in numbers:
        query = gen.query(number)
        local_sql = TABLE_WORD.sub(r"local_\1", query.local_sql)
        local = run(connection, local_sql, query.params)
        if local[0] == "error":
            results[(query.table, "generator")].append(
                (False, f"query {query.number}: the local copy rejects it: {local[1]}\n"
                        f"{local_sql}\nparameters: {query.params!r}", "rows"))
            continue
        local_base = local
        if query.check == "limit":
            local_base = run(connection, TABLE_WORD.sub(r"local_\1", query.local_base_sql),
                             query.params)
        vendor = run(connection, query.sql, query.params)
        if vendor[0] == "error":
            errors.append(vendor[1])
        passed, why = compare(query, vendor, local, local_base)
        counts["statements"] += 1
        counts[outcome_kind(query, vendor) if passed else ("different" if vendor[0] == "rows"
                                                           else "unclear error")] += 1
        results[(query.table, query.cls)].append(
            (passed, "" if passed else diagnostics(query, vendor, local, local_base, why),
             vendor[0]))
    return seed, counts


def report(tap, connection, results, errors, figures):
    total = sum(len(v) for v in results.values())
    differing = 0
    for spec in generator.SPECS:
        for cls, _ in generator.CLASSES:
            outcomes = results.get((spec.name, cls))
            if not outcomes:
                continue
            failures = [d for passed, d, _ in outcomes if not passed]
            differing += len(failures)
            todo = None if STRICT else KNOWN_BUGS.get(cls)
            errors_right = sum(1 for passed, _, kind in outcomes if passed and kind == "error")
            name = (f"{spec.name}, {cls}: {len(outcomes) - len(failures)} of {len(outcomes)} "
                    f"queries right ({errors_right} by the documented error)")
            shown = failures[:SHOW]
            more = f"\n... and {len(failures) - SHOW} more (IX_DIFF_SHOW=n shows n)" \
                if len(failures) > SHOW else ""
            tap.ok(not failures, name, "\n\n".join(shown) + more, todo=todo if failures else None)
    secrets = secrets_of(connection)
    leaked = sorted({s for s in secrets for e in errors if s in e})
    tap.ok(bool(secrets) and not leaked,
           f"no credential ({len(secrets)} forms) in any of the {len(errors)} error messages",
           f"{len(leaked)} secret(s) found in error messages")
    if not ONLY:
        tap.ok(total >= min(COUNT * len(SEEDS), 2000),
               f"{total} queries compared (seeds {', '.join(SEEDS)})")
    todo = "" if STRICT or not KNOWN_BUGS else " (known-bug classes are TODO: IX_DIFF_STRICT=0)"
    for seed, counts in figures:
        tap.note(f"seed {seed}: {counts['statements']} statements, {counts['same']} same, "
                 f"{counts['different']} different, {counts['clear error']} clear errors, "
                 f"{counts['refusal']} refusals, {counts['unclear error']} other errors")
    tap.note(f"seeds {', '.join(SEEDS)}: {total} queries, {differing} differences{todo}")


if __name__ == "__main__":
    sys.exit(main())
