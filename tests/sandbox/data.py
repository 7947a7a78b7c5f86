#!/usr/bin/python3
"""Deterministic demo data for the sandbox: 300 CRM customers and a campaign catalogue.

Everything here is derived from prng.Rng (SHA-256-seeded SplitMix64), never from the
clock or the `random` module, so the data is identical on every run and machine.

The customers are what examples/crm.sql holds (the user's own CRM in the demo); each
vendor module in vendors/ turns a customer into that vendor's interaction history. The
CRM's own columns (name, email, mobile...) are drawn here; each vendor's id columns are
declared by its REGISTRATION (`crm`, see vendors.base.CrmColumn) and drawn, in registry
order, after them, so a new vendor adds its columns without touching this file.

Command line:
    python3 tests/sandbox/data.py --crm-sql > examples/crm.sql
    python3 tests/sandbox/data.py --check-crm-sql examples/crm.sql   # exit 1 if stale
    python3 tests/sandbox/data.py --json                             # one customer per line
"""

import sys

sys.dont_write_bytecode = True  # keep tests/sandbox/ free of __pycache__ litter

import datetime as dt  # noqa: E402
import json  # noqa: E402
import unicodedata  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402

import generated  # noqa: E402
from prng import Rng  # noqa: E402

CUSTOMER_COUNT = 300

# All generated interactions fall in this fixed window (never relative to "now").
DATA_START = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
DATA_END = dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=dt.timezone.utc)

# About 1 customer in 20 is unknown to each vendor, a different 15 per vendor, so a
# join over the CRM table shows skipped customers. Customer n is unknown to vendor v
# when (n + offset) % 20 == 0, each vendor declaring its offset in its REGISTRATION
# (vendors/): offset 3 makes 17, 37, ... unknown (`data.py --json` lists who knows whom).


def _unknown_offset(vendor):
    # Imported here, not at the top: the vendor modules import this one.
    import vendors
    return vendors.REGISTRY[vendor].unknown_offset

# Interactions per customer and vendor, by segment (always within 5..60).
INTERACTION_RANGE = {"vip": (30, 60), "regular": (10, 45), "lapsed": (5, 20), "new": (5, 25)}

# --- names and places -------------------------------------------------------------

_COUNTRIES = (
    # code, weight, first names, last names, cities
    ("IN", 35,
     ("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rahul",
      "Deepika", "Ishaan", "Meera", "Aditya", "Pooja", "Karthik", "Lakshmi"),
     ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Mehta", "Desai", "Kapoor",
      "Menon", "Rao", "Banerjee", "Singh", "Chatterjee"),
     ("Mumbai", "Bengaluru", "Delhi", "Chennai", "Pune", "Hyderabad", "Kolkata")),
    ("GB", 20,
     ("Oliver", "Amelia", "Harry", "Isla", "George", "Sophie", "Jack", "Chloë", "Thomas",
      "Niamh", "Callum", "Freya", "Siobhán"),
     ("Smith", "Jones", "Taylor", "Brown", "Wilson", "O'Brien", "Evans", "Roberts",
      "MacDonald", "Hughes", "Walsh", "Clarke"),
     ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol")),
    ("AU", 20,
     ("Liam", "Charlotte", "Noah", "Mia", "Lachlan", "Matilda", "Zoë", "Cooper", "Ruby",
      "Mason", "Isabella", "Hamish"),
     ("Nguyen", "Williams", "Kelly", "Murphy", "Anderson", "Walker", "Tran", "Campbell",
      "O'Connor", "Mitchell", "Papadopoulos"),
     ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide")),
    ("US", 15,
     ("James", "Emma", "Michael", "Olivia", "Ethan", "Ava", "Daniel", "Sofia", "Mateo",
      "Harper", "José", "Madison"),
     ("Johnson", "Garcia", "Martinez", "Miller", "Davis", "Rodriguez", "Hernández",
      "Lopez", "Clark", "Lewis", "Young", "Kim"),
     ("New York", "Austin", "Chicago", "Seattle", "San Diego")),
    ("SG", 10,
     ("Wei Ling", "Jun Jie", "Hui Min", "Darren", "Siti", "Muhammad", "Priyanka",
      "Rachel", "Marcus", "Nur Aisyah"),
     ("Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Koh", "Rahman", "Kumar"),
     ("Singapore",)),
)

_US_AREA_CODES = ("212", "512", "312", "206", "619")
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")
_SEGMENTS = (("regular", 60), ("vip", 12), ("lapsed", 18), ("new", 10))

# Mobiles the vendors' own documentation samples use; generated data must not collide
# with them (the sandbox serves the samples verbatim for these). A vendor's own id
# columns declare theirs (CrmColumn.reserved).
_RESERVED_MOBILES = {"919988221100", "917385022695"}


@dataclass(frozen=True)
class Customer:
    """One CRM customer and the ids the vendors know them by."""

    id: int
    first_name: str
    last_name: str
    email: str
    mobile: str  # E.164 digits without '+', as Capillary stores it
    external_id: str
    city: str
    country: str
    segment: str
    lifetime_value: float
    signup_date: str
    # The vendors' id columns ({"optimove_id": "688417", ...}), as their registrations
    # declare them; read them as attributes (customer.optimove_id).
    ids: dict = field(default_factory=dict, hash=False, compare=False)

    def __getattr__(self, name):
        # Only called when normal lookup fails: the vendor id columns.
        ids = self.__dict__.get("ids", {})
        if name in ids:
            return ids[name]
        raise AttributeError(f"Customer has no attribute {name!r}")

    def crm_row(self):
        """{column: value} for every column of examples/crm.sql's crm table."""
        row = {"id": self.id, "name": self.name, "email": self.email, "mobile": self.mobile,
               "external_id": self.external_id, "city": self.city, "segment": self.segment,
               "lifetime_value": self.lifetime_value, "signup_date": self.signup_date}
        row.update(self.ids)
        return row

    @property
    def name(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def e164(self):
        return "+" + self.mobile

    def known_to(self, vendor):
        """False for the ~1 in 20 customers that vendor has never heard of."""
        return (self.id + _unknown_offset(vendor)) % 20 != 0

    def interaction_count(self, rng):
        lo, hi = INTERACTION_RANGE[self.segment]
        return rng.randint(lo, hi)

    def active_since(self):
        """First moment this customer can have interactions (signup or DATA_START)."""
        signup = dt.datetime.fromisoformat(self.signup_date).replace(tzinfo=dt.timezone.utc)
        return max(DATA_START, signup)


def _ascii_fold(text):
    """'Siobhán O'Brien' -> 'siobhanobrien' style local-part material."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _draw_mobile(rng, country):
    if country == "IN":
        return "91" + rng.choice(("98", "99", "97", "96", "88", "70")) + rng.digits(8)
    if country == "GB":
        return "44" + rng.choice(("77", "78", "79", "74")) + rng.digits(8)
    if country == "AU":
        return "614" + rng.digits(8)
    if country == "US":
        # 555-01xx is the range reserved for fictional use.
        return "1" + rng.choice(_US_AREA_CODES) + "55501" + rng.digits(2)
    return "65" + rng.choice(("8", "9")) + rng.digits(7)  # SG


def _draw_email(rng, customer_id, first, last, taken):
    f, l = _ascii_fold(first), _ascii_fold(last)
    local = rng.weighted(((f"{f}.{l}", 5), (f"{f}{l}", 2), (f"{f[0]}.{l}", 2), (f"{f}_{l}", 1)))
    if customer_id % 25 == 3:
        # Plus-addressing: a '+' that must be percent-encoded in a query string.
        local += "+shop"
    domain = rng.choice(_EMAIL_DOMAINS)
    email = f"{local}@{domain}"
    n = 2
    while email in taken:
        email = f"{local}{n}@{domain}"
        n += 1
    return email


def vendor_crm_columns():
    """Every registered vendor's CrmColumn, in registry order (the order they are drawn)."""
    import vendors  # here, not at the top: the vendor modules import this one
    return tuple(column for r in vendors.REGISTRATIONS for column in r.crm)


def _build_customers():
    customers = []
    mobiles, emails = set(_RESERVED_MOBILES), set()
    columns = vendor_crm_columns()
    taken = {column.name: set(column.reserved) for column in columns}
    for cid in range(1, CUSTOMER_COUNT + 1):
        rng = Rng("customer", cid)
        country_row = rng.weighted(tuple((row, row[1]) for row in _COUNTRIES))
        country, _, firsts, lasts, cities = country_row
        # One in ten names comes from another country's pool: real CRMs are mixed.
        name_row = rng.choice(_COUNTRIES) if rng.chance(0.10) else country_row
        first, last = rng.choice(name_row[2]), rng.choice(name_row[3])

        mobile = _draw_mobile(rng, country)
        while mobile in mobiles:
            mobile = _draw_mobile(rng, country)
        mobiles.add(mobile)
        email = _draw_email(rng, cid, first, last, emails)
        emails.add(email)

        segment = rng.weighted(_SEGMENTS)
        if segment == "new":
            signup = dt.date(2025, 1, 1) + dt.timedelta(days=rng.below(546))  # to 2026-06-30
        else:
            signup = dt.date(2016, 1, 1) + dt.timedelta(days=rng.below(3288))  # to 2024-12-31
        ltv_cents = {
            "vip": rng.randint(250_000, 1_500_000),
            "regular": rng.randint(15_000, 250_000),
            "lapsed": rng.randint(5_000, 90_000),
            "new": rng.randint(0, 30_000),
        }[segment]

        # After the CRM's own columns, from the same generator: the vendors' ids. The city
        # comes after the first vendor column: the order the data was first drawn in, kept
        # so that examples/crm.sql (and every case and README row built on it) stays as is.
        ids, city = {}, None
        for n, column in enumerate(columns):
            ids[column.name] = column.draw(rng, cid, taken[column.name])
            taken[column.name].add(ids[column.name])
            if n == 0:
                city = rng.choice(cities)
        if city is None:
            city = rng.choice(cities)

        customers.append(Customer(
            id=cid,
            first_name=first,
            last_name=last,
            email=email,
            mobile=mobile,
            external_id=f"CRM-{cid:06d}",
            city=city,
            country=country,
            segment=segment,
            lifetime_value=ltv_cents / 100,
            signup_date=signup.isoformat(),
            ids=ids,
        ))
    return tuple(customers)


_BUILT = {}


def customers():
    """The CRM customers, built on first use: the vendor modules import this module, and
    the vendors' id columns come from their registrations, so not at import time."""
    if not _BUILT:
        _BUILT["CUSTOMERS"] = _build_customers()
        _BUILT["BY_ID"] = {c.id: c for c in _BUILT["CUSTOMERS"]}
    return _BUILT["CUSTOMERS"]


def __getattr__(name):
    # data.CUSTOMERS and data.BY_ID, built lazily (PEP 562).
    if name in ("CUSTOMERS", "BY_ID"):
        customers()
        return _BUILT[name]
    raise AttributeError(f"module 'data' has no attribute {name!r}")


def index_by(attr, fold=False):
    """A dict from one identifier attribute to its customer (optionally case-folded)."""
    if fold:
        return {getattr(c, attr).lower(): c for c in customers()}
    return {getattr(c, attr): c for c in customers()}


# --- campaigns ----------------------------------------------------------------------

@dataclass(frozen=True)
class Campaign:
    """A marketing campaign; each vendor gives it its own numeric id (see vendors/)."""

    index: int
    name: str
    start: dt.date
    end: dt.date
    triggered: bool  # lifecycle campaign (Optimove "triggered"), else a scheduled blast
    email_subject: str
    short_text: str  # SMS / WhatsApp / Viber body


def _c(index, name, start, end, triggered, subject, text):
    return Campaign(index, name, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                    triggered, subject, text)


CAMPAIGNS = (
    _c(0, "Welcome Series", "2025-01-01", "2026-10-31", True,
       "Welcome to the club, here's 10% off your first order",
       "Welcome! Use code HELLO10 for 10% off your first order."),
    _c(1, "New Year Clearance 2025", "2025-01-02", "2025-01-20", False,
       "New Year Clearance: up to 50% off ends Sunday",
       "New Year Clearance is on: up to 50% off in store and online."),
    _c(2, "Valentine's Day Gifts", "2025-02-01", "2025-02-14", False,
       "Gifts they'll love \u2764\ufe0f order by 11 Feb",
       "Valentine's gifts sorted - order by 11 Feb for delivery."),
    _c(3, "Spring Collection Launch", "2025-03-10", "2025-04-10", False,
       "Just landed: the Spring Collection",
       "The Spring Collection has landed. Shop now before it's gone."),
    _c(4, "Loyalty Points Expiry Reminder", "2025-01-01", "2026-10-31", True,
       "Your points expire soon - use them before the end of the month",
       "Reminder: some of your loyalty points expire this month."),
    _c(5, "Mid-Year Sale 2025", "2025-06-15", "2025-07-15", False,
       "Mid-Year Sale: extra 20% off for members",
       "Mid-Year Sale! Members get an extra 20% off this week."),
    _c(6, "Back to School", "2025-08-01", "2025-08-31", False,
       "Back to school essentials, sorted",
       "Back to school? Bags, shoes and stationery from $9."),
    _c(7, "Diwali Festive Offers", "2025-10-05", "2025-10-25", False,
       "Celebrate Diwali with festive offers \u2728",
       "Happy Diwali! Festive offers up to 40% off, this week only."),
    _c(8, "Black Friday 2025", "2025-11-20", "2025-12-01", False,
       "Black Friday starts now: 30% off almost everything",
       "BLACK FRIDAY: 30% off almost everything. Ends Monday."),
    _c(9, "Holiday Gift Guide", "2025-12-02", "2025-12-24", False,
       "The Holiday Gift Guide: 50 ideas under $50",
       "Stuck for gift ideas? Our Holiday Gift Guide has 50 under $50."),
    _c(10, "Win-back: We Miss You", "2025-01-01", "2026-10-31", True,
       "We miss you - here's 15% off to come back",
       "It's been a while! Here's 15% off your next visit: MISSYOU15"),
    _c(11, "Spring Sale 2026", "2026-03-01", "2026-03-31", False,
       "Spring Sale: fresh styles, fresh prices",
       "Spring Sale is live - fresh styles from $19."),
    _c(12, "Summer Styles 2026", "2026-05-15", "2026-06-30", False,
       "Summer Styles 2026: the edit",
       "Summer Styles 2026 are in. See the edit online."),
    _c(13, "Members' Early Access", "2026-09-01", "2026-10-31", False,
       "Members' Early Access: shop the new season first",
       "Members' Early Access starts today - shop the new season first."),
)


def draw_moments(rng, customer, count, campaign_share=0.8):
    """`count` (moment, campaign-or-None) pairs in ascending time order.

    About `campaign_share` of them belong to a campaign active at that moment; the rest
    are transactional (order updates, receipts) with campaign None.
    """
    since = customer.active_since()
    moments = []
    for _ in range(count):
        campaign = None
        if rng.chance(campaign_share):
            eligible = [c for c in CAMPAIGNS if c.end >= since.date()
                        and (c.index != 10 or customer.segment == "lapsed")]
            campaign = rng.choice(eligible)
            first = max(campaign.start, since.date())
            span = (campaign.end - first).days
            day = first + dt.timedelta(days=rng.below(span + 1))
        else:
            span = (DATA_END.date() - since.date()).days
            day = since.date() + dt.timedelta(days=rng.below(span + 1))
        # Mostly during the working day, with a tail into the evening.
        hour = rng.weighted(tuple((h, 3 if 8 <= h <= 18 else 1) for h in range(6, 23)))
        moment = dt.datetime(day.year, day.month, day.day, hour, rng.below(60), rng.below(60),
                             tzinfo=dt.timezone.utc)
        moments.append((max(moment, since), campaign))
    moments.sort(key=lambda pair: pair[0])
    return moments


# --- examples/crm.sql ------------------------------------------------------------------

# The CRM's own columns and their types; the vendors' id columns (TEXT) follow.
_CRM_OWN_COLUMNS = (("id", "INTEGER PRIMARY KEY"), ("name", "TEXT"), ("email", "TEXT"),
                    ("mobile", "TEXT"), ("external_id", "TEXT"), ("city", "TEXT"),
                    ("segment", "TEXT"), ("lifetime_value", "REAL"), ("signup_date", "TEXT"))


def crm_columns():
    """The crm table's column names, in order."""
    return tuple(n for n, _ in _CRM_OWN_COLUMNS) + tuple(c.name for c in vendor_crm_columns())


def _sql_text(value):
    return "'" + value.replace("'", "''") + "'"


def crm_sql():
    """The text of examples/crm.sql."""
    lines = [
        "-- examples/crm.sql: a demo CRM of 300 customers for the sqlite-interactions sandbox.",
        "-- GENERATED by tests/sandbox/data.py; do not edit by hand. Regenerate with:",
        "--   python3 tests/sandbox/data.py --crm-sql > examples/crm.sql",
        "-- and verify with:",
        "--   python3 tests/sandbox/data.py --check-crm-sql examples/crm.sql",
        "-- The sandbox (tests/sandbox/server.py) serves interaction histories for these",
        "-- customers; about 1 in 20 is unknown to each vendor, so joins skip them.",
        "BEGIN;",
        "CREATE TABLE IF NOT EXISTS crm("
        + ", ".join([f"{n} {t}" for n, t in _CRM_OWN_COLUMNS]
                    + [f"{c.name} TEXT" for c in vendor_crm_columns()]) + ");",
    ]
    for c in customers():
        values = [str(c.id), _sql_text(c.name), _sql_text(c.email), _sql_text(c.mobile),
                  _sql_text(c.external_id), _sql_text(c.city), _sql_text(c.segment),
                  f"{c.lifetime_value:.2f}", _sql_text(c.signup_date)]
        values += [_sql_text(c.ids[column.name]) for column in vendor_crm_columns()]
        lines.append(f"INSERT OR REPLACE INTO crm VALUES({','.join(values)});")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def main(argv):
    if argv == ["--crm-sql"]:
        sys.stdout.write(crm_sql())
        return 0
    if len(argv) == 2 and argv[0] == "--check-crm-sql":
        return generated.check(argv[1], crm_sql(), "data.py",
                               "python3 tests/sandbox/data.py --crm-sql")
    if argv == ["--json"]:
        for c in customers():
            row = asdict(c)
            row.update(row.pop("ids"))
            import vendors
            row["known_to"] = [v for v in vendors.NAMES if c.known_to(v)]
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(__doc__.strip().split("Command line:")[1].rstrip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
