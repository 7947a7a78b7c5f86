"""Alpharun: GET /api/v1/contacts/{CONTACT_ID}/customer-interactions (docs/vendors.md#alpharun).

CONTACT_ID is the contact's UUID or `alt:ext_id:<ext_id>`. Cursor paging: `limit`
1..100 (default 20, outside the range 400 as documented), `cursor` from the previous
`next_cursor`, which is null on the last page.

Sandbox assumptions, all marked where they are made: the cursor format (opaque to
clients), error bodies, newest-first order, and `created_at`, `teammate` and `summary`
on generated items (the single-item schema shows teammate and summary; the list most
likely shares it; no timestamp is documented at all).
"""

import base64
import binascii
import datetime as dt
import functools
import re

import data
from prng import Rng
from responses import HTML_TYPE, Response, dump_json, json_response
from vendors.base import (CrmColumn, Fixture, Registration, SelfTest, Setting, TimelineBranch,
                          Vendor, check_bearer, error_json, iso_ms_z, parse_int)

# The sandbox's public test credential (Bearer).
API_TOKEN = "sandbox-alpharun-token"

REGISTRATION = Registration(
    name="alpharun", order=4, env_prefix="ALPHARUN", unknown_offset=11,
    make=lambda settings: Alpharun(),
    settings=(Setting("base_url", "${SANDBOX_URL}/alpharun"),
              Setting("api_token", API_TOKEN, secret=True)),
    crm=(CrmColumn("alpharun_contact_id", lambda rng, customer_id, taken: rng.uuid4()),
         CrmColumn("alpharun_ext_id", lambda rng, customer_id, taken: f"cust-{customer_id}")),
    timeline=(TimelineBranch("alpharun_interactions", "a",
                             "a.contact_id = crm.alpharun_contact_id",
                             subject="coalesce(a.subject, a.summary)",
                             note="Alpharun has no subject: its summary stands in."),),
    differential=(dict(
        name="alpharun_interactions",
        keys={"contact_id": "alpharun_contact_id", "contact_ext_id": "alpharun_ext_id"},
        time="occurred_at",
        text=("account_ext_id", "teammate_email", "summary", "interaction_id", "channel"),
        group=("account_ext_id", "teammate_email", "channel"), case_keys=("contact_id",),
        time_pushed=False,
        extras=({"contact_ext_id": "sample"},
                {"contact_id": "00000000-0000-4000-8000-000000000001",
                 "contact_ext_id": "cust-99999"}),
        unknown={"contact_id": "00000000-0000-4000-8000-000000000003",
                 "contact_ext_id": "cust-99998"},
        # The row's contact_id is the spelling the query asked for (any case).
        asked_keys=("contact_id",),
        json_column="fields",
        json_filters=(("issue_resolved", "=", "1"), ("churn_risk", "=", "'medium'"),
                      ("customer_satisfaction_score", ">=", "3")),
        page_size=5),),  # small pages, so paging is in play
    secrets_queries=("SELECT interaction_id FROM alpharun_interactions "
                     "WHERE contact_ext_id = 'sample';",),
    stress_queries=(
        "SELECT count(*) FROM alpharun_interactions "
        "WHERE contact_id IN (SELECT alpharun_contact_id FROM crm WHERE id BETWEEN {a} AND {b})",),
)

EXT_ID_PREFIX = "alt:ext_id:"
SAMPLE_CONTACT_ID = EXT_ID_PREFIX + "sample"
DEFAULT_LIMIT, MAX_LIMIT = 20, 100

_CURSOR_RE = re.compile(r"o:([0-9]{1,9})")

_TEAMMATES = tuple((Rng("alpharun", "teammate", n).uuid4(), f"{n}@support.sandbox.example")
                   for n in ("alex.morgan", "sam.lee", "jordan.patel", "casey.nguyen"))
_TOPICS = {
    "billing": ("asked about a duplicate charge on their latest statement",
                "the pending authorisation was explained and will drop off in 3 days"),
    "delivery": ("chased a late delivery",
                 "the parcel was traced and a new delivery slot booked"),
    "returns": ("wanted to return an item bought online to a store",
                "the in-store return steps were confirmed by email"),
    "product_question": ("asked whether a product comes in other sizes",
                         "the size guide and restock dates were shared"),
    "loyalty_program": ("asked why their points balance had not updated",
                        "the missing points were credited manually"),
    "cancellation": ("asked to cancel their membership",
                     "a retention offer was made and the membership kept"),
}
_HOUSEHOLD = ("Alex", "Sam", "Jordan", "Taylor", "Robin")


def encode_cursor(offset):
    # Sandbox assumption: an opaque cursor; here url-safe base64 of "o:<offset>".
    return base64.urlsafe_b64encode(f"o:{offset}".encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor):
    """The offset inside a cursor this sandbox issued, or None if it is not one."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    match = _CURSOR_RE.fullmatch(text)
    return int(match.group(1)) if match else None


def _field(key, name, kind, value):
    return {"key": key, "name": name, "type": kind, "value": value}


@functools.lru_cache(maxsize=512)
def interactions(customer):
    """The contact's account interactions, newest first (a tuple of dicts: do not mutate)."""
    rng = Rng("alpharun", customer.id)
    account = {"id": rng.uuid4(), "ext_id": f"acct-{customer.id}"}
    preferred = rng.choice(("email", "sms", "phone"))
    contact = {
        "id": customer.alpharun_contact_id,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone_number": customer.e164,
        "ext_id": customer.alpharun_ext_id,
        "custom_fields": [
            _field("preferred_contact_method", "Preferred Contact Method", "text", preferred),
            _field("crm_segment", "CRM Segment", "text", customer.segment),
        ],
    }
    household = {"id": rng.uuid4(), "first_name": rng.choice(_HOUSEHOLD),
                 "last_name": customer.last_name, "email": None, "phone_number": None,
                 "ext_id": None, "custom_fields": []}
    items = []
    for moment, _ in data.draw_moments(rng, customer, customer.interaction_count(rng), 0):
        topic = rng.choice(tuple(_TOPICS))
        asked, outcome = _TOPICS[topic]
        resolved = rng.chance(0.75)
        score = None if rng.chance(0.1) else round(1 + rng.below(41) / 10, 1)
        teammate = rng.choice(_TEAMMATES) if rng.chance(0.9) else None
        summary = f"{customer.first_name} {asked}; " + (
            outcome + "." if resolved else "not resolved on the call, follow-up needed.")
        items.append({
            "id": rng.uuid4(),
            "created_at": iso_ms_z(moment + dt.timedelta(milliseconds=rng.below(1000))),
            "data_extraction_fields": [
                _field("customer_satisfaction_score", "Customer Satisfaction Score",
                       "number", score),
                _field("issue_resolved", "Issue Resolved", "boolean", resolved),
                _field("primary_topic", "Primary Topic", "text", topic),
                _field("churn_risk", "Churn Risk", "text",
                       rng.weighted((("low", 6), ("medium", 3), ("high", 1), (None, 2)))),
                _field("follow_up_required", "Follow-up Required", "boolean", not resolved),
            ],
            "account": account,
            # "customer interactions for the contact's account": sometimes another
            # member of the household took part as well.
            "contacts": [contact, household] if rng.chance(0.08) else [contact],
            "teammate": {"id": teammate[0], "email": teammate[1]} if teammate else None,
            "summary": summary,
        })
    return tuple(reversed(items))  # sandbox assumption: newest first


class Alpharun(Vendor):
    name = "alpharun"
    auth_challenge = "Bearer"

    def __init__(self):
        self._by_uuid = data.index_by("alpharun_contact_id", fold=True)
        self._by_ext_id = data.index_by("alpharun_ext_id")
        self._sample = Fixture("alpharun_sample.json")

    def route(self, segments):
        if (len(segments) == 5 and segments[:3] == ["api", "v1", "contacts"]
                and segments[4] == "customer-interactions"):
            return self.list_interactions
        return None

    def authenticate(self, headers):
        return check_bearer(headers, API_TOKEN)

    def no_route(self, request):
        # Sandbox assumption: a Node (Express) server's stock page for an unknown route.
        body = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>Error</title>\n</head>\n<body>\n"
                f"<pre>Cannot GET {request.raw_path}</pre>\n</body>\n</html>\n")
        return Response(404, body.encode("utf-8"), HTML_TYPE)

    def error(self, status, message, request=None):
        # Sandbox assumption: error bodies are undocumented.
        codes = {400: "invalid_request", 401: "unauthorized", 403: "forbidden",
                 404: "not_found", 405: "method_not_allowed", 429: "rate_limited"}
        return error_json({"error": {"code": codes.get(status, "error"), "message": message}},
                          status)

    def oversized_parts(self):
        item = self._sample.parsed["data"]["customer_interactions"][0]
        return (b'{"data":{"customer_interactions":[', dump_json(item),
                b']},"next_cursor":null}')

    def list_interactions(self, request):
        contact_id = request.segments[3]
        limit_text, cursor = request.param("limit"), request.param("cursor")
        limit = DEFAULT_LIMIT if limit_text is None else parse_int(limit_text)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            return self.error(400, f"limit must be between 1 and {MAX_LIMIT}")
        offset = 0
        if cursor is not None:
            offset = decode_cursor(cursor)
            if offset is None:
                return self.error(400, "invalid cursor")

        if contact_id == SAMPLE_CONTACT_ID:
            sample_items = self._sample.parsed["data"]["customer_interactions"]
            return self._sample.response_for(self._page(sample_items, offset, limit))
        if contact_id.startswith(EXT_ID_PREFIX):
            customer = self._by_ext_id.get(contact_id[len(EXT_ID_PREFIX):])
        else:
            customer = self._by_uuid.get(contact_id.lower())
        if customer is None or not customer.known_to(self.name):
            return self.error(404, "Contact not found")
        return json_response(self._page(interactions(customer), offset, limit))

    @staticmethod
    def _page(items, offset, limit):
        stop = offset + limit
        return {"data": {"customer_interactions": list(items[offset:stop])},
                "next_cursor": encode_cursor(stop) if stop < len(items) else None}


# --- the sandbox's self-test (tests/sandbox_selftest.t) ---------------------------------

_SELFTEST_AUTH = {"Authorization": "Bearer sandbox-alpharun-token"}


def _selftest_path(customer):
    return f"/alpharun/api/v1/contacts/{customer.alpharun_contact_id}/customer-interactions"


def _check_answers(t, c):
    from vendors.base import quote_segment as q
    auth, c2 = _SELFTEST_AUTH, data.BY_ID[2]
    base = f"/alpharun/api/v1/contacts/alt%3Aext_id%3A{c2.alpharun_ext_id}/customer-interactions"
    whole = c.get(f"{base}?limit=100", auth).json()
    t.ok(whole["next_cursor"] is None, "alpharun: one page of 100 holds everything")
    items, cursor, pages = [], None, 0
    while True:
        path = f"{base}?limit=7" + (f"&cursor={q(cursor)}" if cursor else "")
        body = c.get(path, auth).json()
        items.extend(body["data"]["customer_interactions"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None or pages > 50:
            break
    t.eq([i["id"] for i in items], [i["id"] for i in whole["data"]["customer_interactions"]],
         f"alpharun: {pages} cursor pages of 7 give the same items in order")
    for bad in ("limit=0", "limit=101", "cursor=not-a-cursor"):
        t.eq(c.get(f"{base}?{bad}", auth).status, 400, f"alpharun: {bad} -> 400")
    by_uuid = c.get(f"/alpharun/api/v1/contacts/{c2.alpharun_contact_id}/customer-interactions"
                    "?limit=100", auth).json()
    t.eq(by_uuid, whole, "alpharun: the UUID and alt:ext_id: address the same contact")
    t.eq(c.get("/alpharun/api/v1/contacts/alt%3Aext_id%3Acust-9/customer-interactions",
               auth).status, 404, "alpharun: a contact unknown to Alpharun -> 404")


SELFTEST = SelfTest(
    auth=_SELFTEST_AUTH,
    bad_auth={"Authorization": "Bearer nope"},
    path=_selftest_path,
    samples=(("alpharun", "/alpharun/api/v1/contacts/alt%3Aext_id%3Asample/customer-interactions",
              "alpharun_sample.json"),),
    checks=(_check_answers,),
)
