"""Query generator for the differential test (tests/differential.t).

Every query is built from a small predicate tree, so the generator knows, without asking the
extension, what the right outcome is:

- rows: the query names its customers in every OR branch (and, for a table that needs one, bounds
  occurred_at from below): its rows must be exactly the rows of the same query over the local copy;
- error: the query names no customer (or has no lower date bound where one is needed): it must
  fail with the table's documented "... is required: add WHERE ..." error, never look empty;
- either: both are honest answers (a plan SQLite forces to scan the vendor table first, a lower
  bound SQLite derives from LIKE/GLOB or one that is not a date): rows equal to the local copy's,
  or the documented error.

Each query also carries tags naming the features it uses; run.py groups the queries by the first
known-bug tag (see CLASSES) so each class is one TAP test point.

The tables and what the generator needs to know about each (Spec) come from the vendors' sandbox
modules (REGISTRATION.differential in tests/sandbox/vendors/), in registry order; run.py fails
when a table of the extension has none.

Everything is drawn from random.Random seeded with "<seed>:<query number>", so one query can be
regenerated alone (IX_DIFF_ONLY) and a run is the same on every machine.
"""
import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "sandbox"))
import vendors  # noqa: E402  (tests/sandbox/vendors: the registry)

# Classes, in the order a query is assigned to them (its first tag in this list), with what they
# exercise. "plain" is everything else.
CLASSES = (
    ("generator", "queries the local copy itself rejects (a bug in this generator)"),
    ("blank", "blank and unusable keys (empty, '.', '..', control characters, NUL, > 256 bytes)"),
    ("case", "keys in another case than the vendor's (vendor matching vs SQLite's collation)"),
    ("affinity", "REAL and BLOB keys, and keys from columns without affinity"),
    ("bounds", "occurred_at bounds that are not plain dates (LIKE, GLOB, BLOB, numbers, 'T')"),
    ("is", "IS on keys (IS 'value', IS NULL)"),
    ("or", "OR combinations"),
    ("rowid", "rowids: one per row within a statement"),
    ("nokey", "no customer named, or no lower date bound where one is needed: the documented "
              "error"),
    ("plain", "=, IN with duplicates and NULLs, ranges, joins, LIMIT/OFFSET, ORDER BY, aggregates"),
)

# The CRM customers every table's local copy holds (examples/crm.sql ids). Chosen to cover the
# sandbox's answer shapes (both envelopes of one vendor by id % 3, the single-object artefact of
# 1 and 11), a '+' in the email (3) and customers unknown to each vendor ((n + offset) % 20 == 0
# for each REGISTRATION.unknown_offset: 20, 40; 17, 37; 13, 33; 9; 5, 25).
POOL_IDS = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 15, 17, 20, 25, 33, 37, 40)

# Key values the vendor matches ignoring case but whose answer carries no value for the key (an
# answer shape without the customer object): the table can only echo the spelling asked for, so a
# case variant of one has no single right answer over a local copy, and none is generated.
# Filled by run.py from the specs' `echoed`.
ECHOED_KEYS = set()


class Spec:
    """What the generator knows about one vendor table (declared in the vendor's sandbox module,
    REGISTRATION.differential, as keyword arguments of this class)."""

    def __init__(self, name, keys, time, text=(), ints=(), hidden_eq=(), group=(),
                 numeric_keys=(), case_keys=(), needs_lower=False, time_pushed=True, extras=(),
                 unknown=None, hidden_missing=None, hidden_fixed=None, asked_keys=(),
                 json_column=None, json_filters=(), echoed=None, page_size=None):
        self.name = name
        self.keys = dict(keys)  # vendor-table column -> CRM column
        self.time = time
        self.text = list(text)
        self.ints = list(ints)
        self.hidden_eq = list(hidden_eq)
        self.group = list(group)
        self.numeric_keys = set(numeric_keys)
        self.case_keys = set(case_keys)  # the vendor matches these ignoring case (the sandbox)
        self.needs_lower = needs_lower
        self.time_pushed = time_pushed  # bounds on `time` go to the API
        self.extras = list(extras)  # customers beyond the CRM: vendor samples, unknown keys
        self.unknown = dict(unknown or {})  # key column -> a value the vendor does not know
        # Hidden equality columns: a value the API accepts but no row has, or the one value
        # the table takes (an account id the sandbox has).
        self.hidden_missing = dict(hidden_missing or {})
        self.hidden_fixed = dict(hidden_fixed or {})
        self.asked_keys = set(asked_keys)  # key columns a row echoes as the query spelled them
        self.json_column = json_column  # a JSON column json_extract filters read ...
        self.json_filters = tuple(json_filters)  # ... (field, operator, SQL value) triples
        self.echoed = echoed  # echoed() -> the key values for ECHOED_KEYS
        self.page_size = page_size  # the table's page size in the test (tests/differential.t)


def _specs():
    specs = tuple(Spec(**declared) for r in vendors.REGISTRATIONS for declared in r.differential)
    names = [spec.name for spec in specs]
    assert len(set(names)) == len(names), f"a table has two differential specs: {names}"
    return specs


def _unique(values):
    return tuple(dict.fromkeys(values))




SPECS = _specs()
# The CRM columns the specs join on, and those holding numbers (stored as REAL, INTEGER, ...).
KEY_COLUMNS = _unique(crm for spec in SPECS for crm in spec.keys.values())
NUMERIC_COLUMNS = _unique(spec.keys[k] for spec in SPECS for k in spec.keys
                          if k in spec.numeric_keys)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}

# Keys no vendor can look up: each one must give no rows (like NULL), never abort a statement.
BLANK_KEYS = ("", ".", "..", " ", "a\x01b", "x" * 300, "a\x00b")


def customers_of(spec, crm_customers):
    """Every customer the local copy of spec's table holds: dicts of vendor column -> key."""
    result = []
    for customer in crm_customers:
        result.append({column: customer[crm] for column, crm in spec.keys.items()})
    return result + [dict(extra) for extra in spec.extras]


# --- CRM tables -------------------------------------------------------------------------------

# The CRM tables the joins read: the pool customers, one of them twice, a row without keys and a
# row with keys no vendor knows; each variant changes how the keys are stored.
CRM_TABLES = ("crm", "crm_blank", "crm_real", "crm_int", "crm_nocase", "crm_any")


def _sql_value(value):
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "x'" + value.hex() + "'"
    if isinstance(value, (int, float)):
        return repr(value)
    if "\x00" in value:
        return "(" + " || char(0) || ".join(_sql_value(p) for p in value.split("\x00")) + ")"
    return "'" + value.replace("'", "''") + "'"


def crm_sql(crm_customers):
    """SQL creating the CRM tables from data.py's customers (as dicts of examples/crm.sql's
    columns)."""
    base = []
    for c in crm_customers:
        base.append(dict(c))
    base.append(dict(crm_customers[0], name="duplicate of " + crm_customers[0]["name"]))
    base.append({"id": 900, "name": "no keys", "segment": "new", "signup_date": None,
                 **{k: None for k in KEY_COLUMNS}})
    unknown = {spec.keys[k]: v for spec in SPECS for k, v in spec.unknown.items()}
    base.append({"id": 901, "name": "unknown everywhere", "segment": "new",
                 "signup_date": "2025-02-01", **unknown})
    columns = ("id", "name", "segment", "signup_date") + KEY_COLUMNS
    statements = []

    def table(name, types, rows):
        decl = ", ".join(f"{c} {types.get(c, 'TEXT')}".rstrip() for c in columns)
        statements.append(f"CREATE TABLE {name}({decl});")
        for row in rows:
            values = ", ".join(_sql_value(row.get(c)) for c in columns)
            statements.append(f"INSERT INTO {name} VALUES({values});")

    types = {"id": "INTEGER", "signup_date": "TEXT"}
    table("crm", types, base)
    blank = list(base)
    for offset, key in enumerate(BLANK_KEYS):
        blank.append({"id": 910 + offset, "name": f"blank key {offset}", "segment": "new",
                      "signup_date": "2025-03-01", **{k: key for k in KEY_COLUMNS}})
    table("crm_blank", types, blank)

    def numeric(rows, convert):
        out = []
        for row in rows:
            row = dict(row)
            for column in NUMERIC_COLUMNS:
                if row.get(column) is not None:
                    row[column] = convert(row[column], row["id"])
            out.append(row)
        return out

    table("crm_real", dict(types, **{k: "REAL" for k in NUMERIC_COLUMNS}),
          numeric(base, lambda v, i: float(v)))
    table("crm_int", dict(types, **{k: "INTEGER" for k in NUMERIC_COLUMNS}),
          numeric(base, lambda v, i: int(v)))
    # NOCASE keys; the keys the vendor matches ignoring case are in upper case on even ids.
    upper = _unique(spec.keys[k] for spec in SPECS for k in spec.keys if k in spec.case_keys)
    nocase = []
    for row in base:
        row = dict(row)
        if row["id"] % 2 == 0 and row["id"] < 900:
            for column in upper:
                if row[column] not in ECHOED_KEYS:
                    row[column] = row[column].upper()
        nocase.append(row)
    table("crm_nocase", dict(types, **{k: "TEXT COLLATE NOCASE" for k in KEY_COLUMNS}), nocase)
    # No affinity: the values keep the type they were inserted with (INTEGER, REAL, TEXT, BLOB).
    kinds = (lambda v: int(v), lambda v: float(v), lambda v: v, lambda v: v.encode())
    table("crm_any", dict(types, **{k: "" for k in NUMERIC_COLUMNS}),
          numeric(base, lambda v, i: kinds[i % 4](v)))
    return "\n".join(statements)


def crm_key_tags(crm, spec, column):
    """Tags a join from CRM table crm on vendor column `column` brings."""
    tags = set()
    if crm == "crm_blank":
        tags.add("blank")
    if crm in ("crm_real", "crm_any") and column in spec.numeric_keys:
        tags.add("affinity")
    if crm == "crm_nocase" and column in spec.case_keys:
        tags.add("case")
    return tags


# --- predicate trees --------------------------------------------------------------------------

class Atom:
    def __init__(self, sql, key=False, lower="no", tags=(), params=(), eq_column=None,
                 local_sql=None, const_eq=False, collation_refusable=False):
        self.sql = sql
        # A key compared under NOCASE where the vendor matches it exactly: the table may refuse
        # it before any request (issue 19), when a value it is given holds letters.
        self.collation_refusable = collation_refusable
        # The same condition over the local copy, where it must read differently (IS NULL).
        self.local_sql = local_sql or sql
        # `column = constant`: SQLite propagates the constant into the other terms and may prove
        # the WHERE false without scanning the table (then no xFilter, no error).
        self.const_eq = const_eq
        # For `column = value` on a key: SQLite turns an OR of these on one column into an IN.
        self.eq_column = eq_column
        self.params = list(params)  # values of the ?s in sql, in order
        self.key = key  # an equality, IN or IS on a customer key: names its customers
        self.lower = lower  # a lower bound on occurred_at: "yes", "maybe" (SQLite derives it), "no"
        self.tags = set(tags)


class And:
    def __init__(self, *children):
        self.children = [c for c in children if c is not None]


class Or:
    def __init__(self, *children):
        self.children = [c for c in children if c is not None]


class Not:
    def __init__(self, child):
        self.child = child


_RANK = {"no": 0, "maybe": 1, "yes": 2}


def render(node, top=True):
    """The SQL of a predicate tree (the copy's side swaps in each atom's local_sql)."""
    if isinstance(node, Atom):
        return node.sql
    if isinstance(node, Not):
        return f"NOT ({render(node.child, False)})"
    parts = [render(c, False) for c in node.children]
    if len(parts) == 1:
        return parts[0]
    text = (" AND " if isinstance(node, And) else " OR ").join(parts)
    return text if top else f"({text})"


def params_of(node):
    """The bound values of render(node)'s ?s, in the order render writes them."""
    if isinstance(node, Atom):
        return list(node.params)
    if isinstance(node, Not):
        return params_of(node.child)
    return [p for child in node.children for p in params_of(child)]


def atoms_of(node):
    if isinstance(node, Atom):
        return [node]
    if isinstance(node, Not):
        return atoms_of(node.child)
    return [a for child in node.children for a in atoms_of(child)]


def lower_bound(node):
    if isinstance(node, Atom):
        return node.lower
    if isinstance(node, Not):
        return "no"
    ranks = [_RANK[lower_bound(c)] for c in node.children] or [0]
    best = max(ranks) if isinstance(node, And) else min(ranks)
    return [k for k, v in _RANK.items() if v == best][0]


def conjuncts(node):
    """The terms SQLite's WHERE analysis sees at this level: nested ANDs flattened."""
    if isinstance(node, And):
        return [t for child in node.children for t in conjuncts(child)]
    return [node]


def _in_list(node):
    """An OR of `key = value` on one column: SQLite makes it `key IN (...)`."""
    columns = {c.eq_column if isinstance(c, Atom) else None for c in node.children}
    return len(columns) == 1 and None not in columns


def plan_outcome(where, needs_lower):
    """What a vendor table can be asked, as SQLite offers constraints to xBestIndex: either the
    top-level terms together, or, for an OR term, each branch's own terms alone (the multi-index
    OR plan; the terms around the OR are not offered with a branch). Returns "rows", "either",
    "start" (a customer but no lower date bound) or "customer" (no customer in any plan)."""
    terms = conjuncts(where)

    def key_and_lower(nodes):
        key = any((isinstance(n, Atom) and n.key) or (isinstance(n, Or) and _in_list(n))
                  for n in nodes)
        lower = max([_RANK[n.lower] for n in nodes if isinstance(n, Atom)] or [0])
        return key, lower

    plans = []
    key, lower = key_and_lower(terms)
    if key:
        plans.append(lower)
    for term in terms:
        if isinstance(term, Or) and not _in_list(term):
            branches = [key_and_lower(conjuncts(b)) for b in term.children]
            if branches and all(k for k, _ in branches):
                plans.append(min(low for _, low in branches))
    if not plans:
        return "customer"
    if not needs_lower or max(plans) == _RANK["yes"]:
        return "rows"
    if max(plans) == _RANK["maybe"] or lower_bound(where) != "no":
        return "either"  # a bound SQLite derives, or one inside an OR it may not offer
    return "start"


def tags_of(node):
    if isinstance(node, Atom):
        return set(node.tags)
    if isinstance(node, Not):
        return tags_of(node.child)
    tags = set()
    for child in node.children:
        tags |= tags_of(child)
    if isinstance(node, Or) and len(node.children) > 1:
        tags.add("or")
    return tags


# --- queries ------------------------------------------------------------------------------------

class Query:
    def __init__(self, number, table, sql, params, expect, error_kinds, tags, check,
                 base_sql=None, limit=None, offset=0):
        self.number = number
        self.table = table
        self.sql = sql
        self.params = params
        self.expect = expect  # "rows", "error" or "either"
        self.error_kinds = error_kinds  # which documented errors are right: "customer", "start"
        self.tags = tags
        self.check = check  # "multiset", "ordered" or "limit"
        self.base_sql = base_sql  # for "limit": the query without LIMIT/OFFSET
        self.limit = limit
        self.offset = offset
        self.cls = next(name for name, _ in CLASSES if name in tags or name == "plain")


def quote(value):
    return _sql_value(value)


class Generator:
    def __init__(self, seed, values, customers, crm_rows, today="9999-12-31"):
        self.seed = seed
        # A range with no end given ends today (a vendor's default) when no end is given: no date after today is drawn, so a
        # machine whose clock is inside the sandbox's data window still compares like for like.
        self.today = today
        self.values = values  # table -> column -> sorted distinct non-NULL values in the local copy
        self.customers = customers  # table -> list of key dicts
        self.crm_rows = crm_rows  # CRM customers (dicts), for CRM filters
        self.rng = None

    # -- values --
    def pick(self, table, column, missing=None):
        pool = self.values[table].get(column) or []
        if not pool or (missing is not None and self.rng.random() < 0.1):
            return missing
        return self.rng.choice(pool)

    def date_text(self):
        rng = self.rng
        year = rng.choice((2024, 2025, 2025, 2026, 2026))
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        if year == 2024 and rng.random() < 0.5:
            month = 12
        text = f"{year:04d}-{month:02d}-{day:02d}"
        if rng.random() < 0.3:
            text += f" {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        return min(text, self.today)

    # -- keys --
    def customer(self, spec):
        rng = self.rng
        pool = self.customers[spec.name]
        crm_part = pool[: len(pool) - len(spec.extras)]
        return dict(rng.choice(pool) if rng.random() < 0.15 else rng.choice(crm_part))

    def key_value(self, spec, column, value):
        """The key as SQL text (or a ?), the tags its form brings, and the bound values."""
        rng = self.rng
        roll = rng.random()
        if column in spec.numeric_keys and value.isdigit():
            if roll < 0.15:
                return value, set(), []  # an INTEGER literal: SQLite compares it as text
            if roll < 0.20:
                return value + ".0", {"affinity"}, []
            if roll < 0.26:
                return "?", set(), [int(value)]
            if roll < 0.29:
                return "?", {"affinity"}, [float(value)]
        if roll > 0.88:
            return "?", set(), [value]
        return quote(value), set(), []

    def key_atom(self, spec, alias, customer=None, in_or=False):
        """One predicate naming one customer (or none, for NULL and blank keys)."""
        rng = self.rng
        customer = customer or self.customer(spec)
        column = rng.choice(sorted(customer))
        value = customer[column]
        ref = f"{alias}.{column}"
        roll = rng.random()
        if roll < 0.04:
            return Atom(f"{ref} = {quote(rng.choice(BLANK_KEYS))}", key=True, tags={"blank"},
                        eq_column=column)
        if roll < 0.07 and column in spec.case_keys and value not in ECHOED_KEYS:
            variant = value.upper() if value != value.upper() else value.lower()
            collate = " COLLATE NOCASE" if rng.random() < 0.5 else ""
            return Atom(f"{ref} = {quote(variant)}{collate}", key=True, tags={"case"})
        if (roll < 0.08 and column == "mobile" and isinstance(value, str) and value.isdigit()
                and value not in ECHOED_KEYS):
            # A normalised phone number (issue 19): the vendor finds the customer, whose rows
            # carry its own form, and SQLite's = drops them all, as over a local copy.
            spelled = rng.choice(("+" + value, "+" + value[:2] + " " + value[2:]))
            return Atom(f"{ref} = {quote(spelled)}", key=True, tags={"case"})
        # Not inside an OR: SQLite rewrites `k = 'a' OR k = 'B' COLLATE NOCASE` into `k IN (...)`
        # under k's own collation, so the table never learns of the NOCASE
        # (docs/sqlite-virtual-tables.md#collation): no table can refuse what it is not told.
        if (roll < 0.09 and not in_or and isinstance(value, str)
                and value.lower() != value.upper() and value not in ECHOED_KEYS):
            # A key the vendor matches exactly, in other case under NOCASE: refused before any
            # request (the rows of other customers SQLite would also keep cannot be fetched).
            variant = value.upper() if value != value.upper() else value.lower()
            return Atom(f"{ref} = {quote(variant)} COLLATE NOCASE", key=True, tags={"case"},
                        collation_refusable=column not in spec.case_keys)
        if roll < 0.13:
            if rng.random() < 0.25:
                # A NULL names no customer: no rows (issue 9), although the copy holds rows
                # whose key column is NULL (an answer shape without the customer object).
                return Atom(f"{ref} IS NULL", key=True, tags={"is"},
                            local_sql=f"({ref} IS NULL AND 0)")
            text, tags, params = self.key_value(spec, column, value)
            return Atom(f"{ref} IS {text}", key=True, tags=tags | {"is"}, params=params)
        if roll < 0.15:
            return Atom(f"{ref} = NULL", key=True, eq_column=column)
        if roll < 0.35:
            # IN with duplicates and NULLs, maybe of other customers too.
            items, tags, params = [], set(), []
            others = [customer] + [self.customer(spec) for _ in range(rng.randint(0, 2))]
            for other in others:
                if column not in other:
                    continue
                for _ in range(2 if rng.random() < 0.3 else 1):
                    text, extra, bound = self.key_value(spec, column, other[column])
                    items.append(text)
                    tags |= extra
                    params += bound
                key = other[column]
                if (column in spec.case_keys and key not in ECHOED_KEYS and isinstance(key, str)
                        and key.upper() != key and rng.random() < 0.25):
                    # The same customer in other case: the vendor answers it twice, and IN is
                    # set membership (issue 19).
                    items.append(quote(key.upper()))
                    tags.add("case")
                if (column == "mobile" and isinstance(key, str) and key.isdigit()
                        and key not in ECHOED_KEYS and rng.random() < 0.25):
                    items.append(quote("+" + key))  # the same customer, normalised by the vendor
                    tags.add("case")
            if rng.random() < 0.3:
                items.append("NULL")
            if rng.random() < 0.05:
                items.append(quote(rng.choice(BLANK_KEYS)))
                tags.add("blank")
            return Atom(f"{ref} IN ({', '.join(items)})", key=True, tags=tags, params=params)
        if roll < 0.42:
            crm, where = self.crm_choice()
            return Atom(f"{ref} IN (SELECT c2.{spec.keys[column]} FROM {crm} c2{where})",
                        key=True, tags=crm_key_tags(crm, spec, column))
        text, tags, params = self.key_value(spec, column, value)
        return Atom(f"{ref} = {text}", key=True, tags=tags, params=params, eq_column=column)

    def key_part(self, spec, alias):
        """Naming customers: one key, or an OR of keys (each maybe with a filter)."""
        rng = self.rng
        if rng.random() < 0.78:
            return self.key_atom(spec, alias)
        branches = []
        for _ in range(rng.randint(2, 3)):
            atom = self.key_atom(spec, alias, in_or=True)
            branches.append(And(atom, self.filter_atom(spec, alias)) if rng.random() < 0.5
                            else atom)
        return Or(*branches)

    # -- filters --
    def time_atom(self, spec, alias, lower_wanted=False):
        rng = self.rng
        column = f"{alias}.{spec.time}"
        pushed = spec.time_pushed
        odd = {"bounds"} if pushed else set()  # only bounds that go to the API are suspects
        roll = rng.random()
        if lower_wanted:
            roll = rng.choice((0.05, 0.15, 0.4, 0.47, 0.52, 0.6, 0.67, 0.72, 0.77, 0.87))
        if roll < 0.1:
            return Atom(f"{column} >= {quote(self.date_text())}", lower="yes")
        if roll < 0.2:
            return Atom(f"{column} > {quote(self.date_text())}", lower="yes")
        if roll < 0.28:
            return Atom(f"{column} < {quote(self.date_text())}")
        if roll < 0.33:
            return Atom(f"{column} <= {quote(self.date_text())}")
        if roll < 0.45:
            low, high = sorted((self.date_text(), self.date_text()))
            return Atom(f"{column} BETWEEN {quote(low)} AND {quote(high)}", lower="yes")
        if roll < 0.5:
            value = self.pick(spec.name, spec.time, missing="2025-05-05")
            return Atom(f"{column} = {quote(value)}", lower="yes", const_eq=True)
        if roll < 0.55:
            value = self.date_text()[:10]
            return Atom(f"{column} >= datetime({quote(value)})", lower="yes")
        if roll < 0.65:
            prefix = self.date_text()[: rng.choice((4, 7, 7, 9, 10))]
            pattern = (f"LIKE {quote(prefix + '%')}" if rng.random() < 0.5
                       else f"GLOB {quote(prefix + '*')}")
            return Atom(f"{column} {pattern}", lower="maybe" if pushed else "no", tags=odd)
        if roll < 0.7:
            op = rng.choice((">=", ">", "<", "<="))
            return Atom(f"{column} {op} x'00'", lower="maybe" if op[0] == ">" else "no", tags=odd)
        if roll < 0.75:
            op = rng.choice((">=", "<"))
            return Atom(f"{column} {op} {rng.choice((2025, 2026))}",
                        lower="maybe" if op == ">=" else "no", tags=odd)
        if roll < 0.8:
            value = self.date_text()[:10] + "T" + f"{rng.randint(0, 23):02d}:00:00"
            return Atom(f"{column} >= {quote(value)}", lower="yes", tags=odd)
        if roll < 0.82:
            return Atom(f"{column} IS NOT NULL")
        if roll < 0.85:
            # Text bounds the column's format cannot hold (issue 19): before every date, no lower
            # bound at all; a date with '/' sorts after every date of its year.
            op = rng.choice((">=", ">"))
            date = self.date_text()[:10]
            if rng.random() < 0.5:
                value = rng.choice((" ", "-", "0000", "0", " " + date))
                return Atom(f"{column} {op} {quote(value)}", tags=odd)
            return Atom(f"{column} {op} {quote(date.replace('-', '/'))}", lower="yes", tags=odd)
        if roll < 0.9:
            low = self.date_text()
            return And(Atom(f"{column} >= {quote(low)}", lower="yes"),
                       Atom(f"{column} < {quote(low[:4] + '-12-31')}"))
        return Atom(f"date({column}) = {quote(self.date_text()[:10])}")

    def filter_atom(self, spec, alias):
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return self.time_atom(spec, alias)
        if roll < 0.6 and spec.text:
            column = rng.choice(spec.text)
            value = self.pick(spec.name, column, missing="none-such")
            ref = f"{alias}.{column}"
            kind = rng.random()
            if value is None or kind < 0.1:
                return Atom(f"{ref} IS NULL")
            if kind < 0.4:
                return Atom(f"{ref} = {quote(value)}", const_eq=True)
            if kind < 0.55:
                other = self.pick(spec.name, column, missing="none-such") or "x"
                items = [quote(value), quote(other), quote(value)]
                if rng.random() < 0.4:
                    items.append("NULL")
                return Atom(f"{ref} IN ({', '.join(items)})")
            if kind < 0.7:
                start = rng.randint(0, max(0, len(value) - 3))
                return Atom(f"{ref} LIKE {quote('%' + value[start:start + 3] + '%')}")
            if kind < 0.8:
                return Atom(f"{ref} GLOB {quote(value[:2] + '*')}")
            if kind < 0.9:
                return Not(Atom(f"{ref} = {quote(value)}"))
            return Atom(f"{ref} = ?", params=[value], const_eq=True)
        if roll < 0.75 and spec.ints:
            column = rng.choice(spec.ints)
            value = self.pick(spec.name, column)
            ref = f"{alias}.{column}"
            kind = rng.random()
            if value is None or kind < 0.1:
                return Atom(f"{ref} IS NULL")
            if kind < 0.4:
                return Atom(f"{ref} = {value}", const_eq=True)
            if kind < 0.6:
                return Atom(f"{ref} >= {value}")
            if kind < 0.7:
                return Atom(f"{ref} = '{value}'", const_eq=True)
            if kind < 0.8:
                return Atom(f"{ref} IS NOT NULL")
            return Atom(f"{ref} IN ({value}, {value}, NULL)")
        if roll < 0.85 and spec.hidden_eq:
            column = rng.choice(spec.hidden_eq)
            if column in spec.hidden_fixed:
                return Atom(f"{alias}.{column} = {quote(spec.hidden_fixed[column])}",
                            const_eq=True)
            value = self.pick(spec.name, column,
                              missing=spec.hidden_missing.get(column))
            return Atom(f"{alias}.{column} = {quote(value)}", const_eq=True)
        if spec.json_filters and roll < 0.95:
            field, op, value = rng.choice(spec.json_filters)
            return Atom(f"json_extract({alias}.{spec.json_column}, '$.{field}') {op} {value}")
        return self.time_atom(spec, alias)

    def filters(self, spec, alias, most=3):
        rng = self.rng
        parts = []
        for _ in range(rng.choice((0, 1, 1, 2, 2, most))):
            if rng.random() < 0.12:
                parts.append(Or(self.filter_atom(spec, alias), self.filter_atom(spec, alias)))
            else:
                parts.append(self.filter_atom(spec, alias))
        return parts

    def lower_atom(self, spec, alias):
        """A table that needs a lower bound on occurred_at: most queries give one."""
        if not spec.needs_lower or self.rng.random() < 0.08:
            return None
        while True:
            atom = self.time_atom(spec, alias, lower_wanted=True)
            if lower_bound(atom) == "yes" or self.rng.random() < 0.15:
                return atom

    # -- CRM --
    def crm_choice(self):
        rng = self.rng
        crm = rng.choice(("crm", "crm", "crm", "crm_blank", "crm_real", "crm_int", "crm_nocase",
                          "crm_any"))
        ids = sorted({c["id"] for c in self.crm_rows})
        roll = rng.random()
        if roll < 0.3:
            where = ""
        elif roll < 0.55:
            where = f" WHERE c2.id <= {rng.choice(ids)}"
        elif roll < 0.8:
            chosen = sorted(rng.sample(ids, rng.randint(1, 4)))
            where = f" WHERE c2.id IN ({', '.join(map(str, chosen))})"
        else:
            where = f" WHERE c2.segment = {quote(rng.choice(('vip', 'regular', 'lapsed', 'new')))}"
        if crm == "crm_blank" and where and rng.random() < 0.7:
            where += " OR c2.id >= 910"
        return crm, where

    # -- select lists --
    def select_list(self, spec, alias):
        rng = self.rng
        columns = self.values[spec.name]["__visible__"]
        if rng.random() < 0.35:
            chosen = columns
        else:
            chosen = rng.sample(columns, rng.randint(1, min(5, len(columns))))
        return [f"{alias}.{c}" for c in chosen]

    def order_limit(self, count):
        """ORDER BY every output column (a total order), maybe LIMIT/OFFSET."""
        rng = self.rng
        total = rng.random() < 0.4
        tail = ""
        if total:
            tail = " ORDER BY " + ", ".join(
                f"{i}{rng.choice(('', '', ' DESC'))}" for i in range(1, count + 1))
        limit = offset = None
        if rng.random() < 0.3:
            limit = rng.choice((0, 1, 2, 3, 5, 10, 50))
            if rng.random() < 0.4:
                offset = rng.choice((0, 1, 3, 7))
            tail += f" LIMIT {limit}" + (f" OFFSET {offset}" if offset is not None else "")
        return tail, total, limit, offset or 0

    # -- expectations --
    def expect_for(self, spec, where):
        outcome = plan_outcome(where, spec.needs_lower)
        if outcome == "customer":
            return "error", ("customer",)
        if outcome == "start":
            return "error", ("start",)
        if outcome == "either":
            return "either", ("start",)
        return "rows", ()

    def finish(self, number, spec, trees, base, tail="", total=True, limit=None, offset=0,
               tags=(), expect=None):
        """trees: the predicate trees in the order the SQL writes them (for the ? values)."""
        if expect is None:
            expect = self.expect_for(spec, trees[0])
        if any(a.collation_refusable for tree in trees for a in atoms_of(tree)):
            expect = ("either" if expect[0] == "rows" else expect[0],
                      tuple(expect[1]) + ("collation",))
        all_tags = set(tags)
        params = []
        for tree in trees:
            all_tags |= tags_of(tree)
            params += params_of(tree)
        if expect[0] == "error":
            all_tags.add("nokey")
        check = "ordered" if total else ("limit" if limit is not None else "multiset")
        query = Query(number, spec.name, base + tail, params, expect[0], expect[1], all_tags,
                      check, base_sql=base, limit=limit, offset=offset)
        query.local_sql, query.local_base_sql = query.sql, query.base_sql
        for atom in {a for tree in trees for a in atoms_of(tree) if a.local_sql != a.sql}:
            query.local_sql = query.local_sql.replace(atom.sql, atom.local_sql)
            query.local_base_sql = query.local_base_sql.replace(atom.sql, atom.local_sql)
        # SQLite may prove such a statement empty without scanning the vendor table (LIMIT 0, a
        # constant propagated into a contradiction): no rows is then as right as the error.
        query.may_be_empty = limit == 0 or any(
            isinstance(t, Atom) and t.const_eq for tree in trees for t in conjuncts(tree))
        return query

    # -- shapes --
    def q_select(self, number, spec):
        rng = self.rng
        key = self.key_part(spec, "t")
        parts = self.filters(spec, "t")
        where = And(key, self.lower_atom(spec, "t"), *parts)
        if rng.random() < 0.1:
            # Name no customer: only filters, or a key OR-ed with a filter.
            filt = self.filter_atom(spec, "t")
            where = And(Or(key, filt), *parts) if rng.random() < 0.5 else And(*parts, filt)
        items = self.select_list(spec, "t")
        tail, total, limit, offset = self.order_limit(len(items))
        base = f"SELECT {', '.join(items)} FROM {spec.name} t WHERE {render(where)}"
        return self.finish(number, spec, [where], base, tail, total, limit, offset)

    def q_aggregate(self, number, spec):
        rng = self.rng
        where = And(self.key_part(spec, "t"), self.lower_atom(spec, "t"),
                    *self.filters(spec, "t", most=2))
        aggregates = ["count(*)", f"min(t.{spec.time})", f"max(t.{spec.time})"]
        if spec.text:
            aggregates.append(f"count(DISTINCT t.{rng.choice(spec.text)})")
        if spec.ints:
            aggregates.append(f"sum(t.{rng.choice(spec.ints)})")
        aggregates = rng.sample(aggregates, rng.randint(1, len(aggregates)))
        total = True
        if rng.random() < 0.6:
            group = rng.choice(spec.group)
            sql = (f"SELECT t.{group}, {', '.join(aggregates)} FROM {spec.name} t "
                   f"WHERE {render(where)} GROUP BY 1")
            if rng.random() < 0.2:
                sql += " HAVING count(*) > 1"
            if rng.random() < 0.5:
                sql += " ORDER BY 1"
            else:
                total = False
        else:
            sql = f"SELECT {', '.join(aggregates)} FROM {spec.name} t WHERE {render(where)}"
        return self.finish(number, spec, [where], sql, total=total)

    def join_key(self, spec, crm):
        column = self.rng.choice(sorted(spec.keys))
        crm_left = self.rng.random() >= 0.6
        text = (f"c.{spec.keys[column]} = t.{column}" if crm_left
                else f"t.{column} = c.{spec.keys[column]}")
        # SQLite compares with the left operand's collation: a NOCASE CRM column on the left of
        # a key the vendor matches exactly may be refused (issue 19).
        refusable = crm_left and crm == "crm_nocase" and column not in spec.case_keys
        return Atom(text, key=True, tags=crm_key_tags(crm, spec, column),
                    collation_refusable=refusable)

    def q_join(self, number, spec):
        rng = self.rng
        crm, crm_where = self.crm_choice()
        lower = self.lower_atom(spec, "t")
        if lower is not None and rng.random() < 0.2:
            lower = Atom("t.occurred_at >= c.signup_date", lower="yes")
        parts = self.filters(spec, "t", most=2)
        if rng.random() < 0.15:
            parts.append(Or(self.filter_atom(spec, "t"), self.filter_atom(spec, "t")))
        on = And(self.join_key(spec, crm), lower, *parts)
        left = rng.random() < 0.5
        items = ["c.id", "c.name"] + self.select_list(spec, "t")
        crm_filter = crm_where.replace("c2.", "c.")
        tail, total, limit, offset = self.order_limit(len(items))
        if not left and rng.random() < 0.08:
            # The vendor table first, forced: no customer reaches it, so the documented error is
            # as right as the rows.
            base = (f"SELECT {', '.join(items)} FROM {spec.name} t CROSS JOIN {crm} c "
                    f"ON {render(on)}{crm_filter}")
            return self.finish(number, spec, [on], base, tail, total, limit, offset,
                               expect=("either", ("customer", "start")))
        if not left and rng.random() < 0.2:
            base = (f"SELECT {', '.join(items)} FROM {spec.name} t JOIN {crm} c "
                    f"ON {render(on)}{crm_filter}")
        else:
            join = "LEFT JOIN" if left else "JOIN"
            base = (f"SELECT {', '.join(items)} FROM {crm} c {join} {spec.name} t "
                    f"ON {render(on)}{crm_filter}")
        return self.finish(number, spec, [on], base, tail, total, limit, offset)

    def q_join_aggregate(self, number, spec):
        rng = self.rng
        crm, crm_where = self.crm_choice()
        on = And(self.join_key(spec, crm), self.lower_atom(spec, "t"),
                 *self.filters(spec, "t", most=2))
        crm_filter = crm_where.replace("c2.", "c.")
        shape = rng.random()
        if shape < 0.4:
            sql = (f"SELECT c.rowid, c.id, count(t.{spec.time}), max(t.{spec.time}) "
                   f"FROM {crm} c LEFT JOIN {spec.name} t ON {render(on)}{crm_filter} "
                   f"GROUP BY c.rowid ORDER BY c.rowid")
        elif shape < 0.6:
            exists = rng.choice(("EXISTS", "NOT EXISTS"))
            crm_part = f"({crm_where[7:].replace('c2.', 'c.')}) AND " if crm_where else ""
            sql = (f"SELECT c.rowid, c.id FROM {crm} c WHERE {crm_part}"
                   f"{exists} (SELECT 1 FROM {spec.name} t WHERE {render(on)}) ORDER BY c.rowid")
        elif shape < 0.8:
            sql = (f"SELECT c.rowid, (SELECT count(*) FROM {spec.name} t WHERE {render(on)}) "
                   f"FROM {crm} c{crm_filter} ORDER BY c.rowid")
        else:
            group = rng.choice(spec.group)
            sql = (f"SELECT t.{group}, count(*), count(DISTINCT c.id) FROM {crm} c JOIN "
                   f"{spec.name} t ON {render(on)}{crm_filter} GROUP BY 1 ORDER BY 1")
        return self.finish(number, spec, [on], sql)

    def q_rowid(self, number, spec):
        rng = self.rng
        if rng.random() < 0.5:
            where = And(self.key_part(spec, "t"), self.lower_atom(spec, "t"))
            sql = (f"SELECT count(*), count(DISTINCT t.rowid) FROM {spec.name} t "
                   f"WHERE {render(where)}")
        else:
            crm, crm_where = self.crm_choice()
            where = And(self.join_key(spec, crm), self.lower_atom(spec, "t"))
            sql = (f"SELECT count(*), count(DISTINCT t.rowid) FROM {crm} c JOIN {spec.name} t "
                   f"ON {render(where)}{crm_where.replace('c2.', 'c.')}")
        return self.finish(number, spec, [where], sql, tags={"rowid"})

    def q_union(self, number, spec):
        """Two vendor tables in one statement (as the customer_timeline view does)."""
        rng = self.rng
        other = rng.choice([s for s in SPECS if s.name != spec.name])
        arms, trees, expects = [], [], []
        for arm, (s, alias) in enumerate(((spec, "t"), (other, "u")), 1):
            where = And(self.key_atom(s, alias), self.lower_atom(s, alias))
            trees.append(where)
            expects.append(self.expect_for(s, where))
            arms.append(f"SELECT 'arm {arm}', {alias}.{s.time}, {alias}.channel "
                        f"FROM {s.name} {alias} WHERE {render(where)}")
        sql = " UNION ALL ".join(arms) + " ORDER BY 1, 2, 3"
        kinds = tuple(k for e in expects for k in e[1])
        if any(e[0] == "error" for e in expects):
            expect = ("error", kinds)
        elif any(e[0] == "either" for e in expects):
            expect = ("either", kinds)
        else:
            expect = ("rows", ())
        return self.finish(number, spec, trees, sql, expect=expect)

    def query(self, number):
        """Query `number` of this seed, alone (its own random stream)."""
        self.rng = random.Random(f"{self.seed}:{number}")
        spec = SPECS[number % len(SPECS)]
        shape = self.rng.random()
        if shape < 0.4:
            return self.q_select(number, spec)
        if shape < 0.55:
            return self.q_aggregate(number, spec)
        if shape < 0.77:
            return self.q_join(number, spec)
        if shape < 0.9:
            return self.q_join_aggregate(number, spec)
        if shape < 0.95:
            return self.q_rowid(number, spec)
        return self.q_union(number, spec)
