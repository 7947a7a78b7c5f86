"""Capillary Technologies: GET /v2/customers/interaction (docs/vendors.md#capillary).

The documented page shows two response shapes and both occur in the wild, so the
sandbox answers in both:

* envelope A (v1.1 style): response.customer.interactions.network[].interaction[] with
  messages.message[] (`reciever` misspelt, string campaign_id, "null" strings, and for
  a few customers the XML-to-JSON artefact of a single message as an object);
* envelope B (v2 "Viber" sample): {name, interaction[{count,name,messageList|surveys|
  usedStatus}], warnings} with DD-MM-YYYY sentDate and numeric campaignId (-1 = none).

Customers whose CRM id is a multiple of 3 answer in envelope B, the rest in A.
Sandbox assumption: the sandbox behaves like the EU cluster (the table's default host),
whose zone-less times are UTC; `deliveredTime` in envelope B carries its own `Z`.
"""

import base64
import copy
import datetime as dt
import functools
import hashlib
import itertools
from dataclasses import dataclass

import data
from prng import Rng
from responses import dump_json, json_response
from tokens import TOKENS
from vendors.base import (BAD, MISSING, Fixture, Registration, SelfTest, Setting, TimelineBranch,
                          Vendor, accepted, error_json, json_body, post, split_authorization)

# The sandbox's public test credentials: Basic base64(till_id + ":" + lowercase md5 hex of the
# till password), exactly as docs.capillarytech.com/reference/basic-authentication documents it,
# or the header X-CAP-API-OAUTH-TOKEN, or a key and secret exchanged for short-lived tokens at
# POST /v3/oauth/token/generate (docs/vendors.md#capillary).
TILL = "sandbox.till"
PASSWORD = "sandbox-pass"
OAUTH_TOKEN = "sandbox-cap-oauth-token"
OAUTH_KEY = "sandbox-cap-key"
OAUTH_SECRET = "sandbox-cap-secret"
# The documentation's own worked example, accepted too so it can serve as a test vector.
DOC_TILL = "store.server"
DOC_PASSWORD = "server123"
DOC_BASIC = "c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"
_DOC_MD5 = hashlib.md5(DOC_PASSWORD.encode("utf-8")).hexdigest()
_KEY_AND_SECRET = "Or a key and secret, exchanged for tokens the extension renews:"

REGISTRATION = Registration(
    name="capillary", order=1, env_prefix="CAPILLARY", unknown_offset=0,
    make=lambda settings: Capillary(settings),
    settings=(Setting("base_url", "${SANDBOX_URL}/capillary"),
              Setting("username", TILL),
              Setting("password", PASSWORD, secret=True, basic_user="username", md5=True),
              Setting("oauth_token", OAUTH_TOKEN, secret=True, alternative=(
                  "Alternative to username/password (header X-CAP-API-OAUTH-TOKEN):")),
              Setting("oauth_key", OAUTH_KEY, alternative=_KEY_AND_SECRET),
              Setting("oauth_secret", OAUTH_SECRET, secret=True, alternative=_KEY_AND_SECRET)),
    extra_secrets=(DOC_PASSWORD, _DOC_MD5, DOC_BASIC),
    # No id column of its own: Capillary knows customers by the CRM's mobile, email and
    # external_id.
    timeline=(TimelineBranch("capillary_interactions", "c", "c.mobile = crm.mobile"),),
    differential=(
        dict(name="capillary_interactions",
             keys={"mobile": "mobile", "email": "email", "external_id": "external_id"},
             time="occurred_at", text=("channel", "status", "subject", "sender", "receiver"),
             ints=("campaign_id", "message_id", "user_id"), hidden_eq=("type", "network"),
             # Values the API accepts but no row has (it refuses unknown networks).
             hidden_missing={"network": "facebook", "type": "emailbulk"},
             group=("channel", "status", "campaign_id", "type"), numeric_keys=("mobile",),
             case_keys=("email",), time_pushed=False,
             extras=({"mobile": "919988221100"}, {"mobile": "917385022695"},
                     {"mobile": "440000000001", "email": "nobody@example.invalid",
                      "external_id": "CRM-999999"}),
             unknown={"mobile": "440000000002", "email": "unknown@example.invalid",
                      "external_id": "CRM-999998"},
             # Envelope B answers carry no customer object, so no email (or mobile, which
             # Capillary normalises) to compare.
             echoed=lambda: {k for c in data.CUSTOMERS if uses_envelope_b(c)
                             for k in (c.email, c.mobile)}),
        dict(name="capillary_interaction_summary",
             keys={"mobile": "mobile", "email": "email", "external_id": "external_id"},
             time="last_interaction_at", text=("channel",), ints=("count", "used"),
             hidden_eq=("network",), hidden_missing={"network": "facebook"},
             group=("channel", "used"), numeric_keys=("mobile",), case_keys=("email",),
             time_pushed=False,
             extras=({"mobile": "919988221100"}, {"mobile": "917385022695"},
                     {"mobile": "440000000001", "email": "nobody@example.invalid"})),
    ),
    secrets_queries=("SELECT * FROM capillary_interactions('mobile', '919988221100');",
                     "SELECT * FROM capillary_interaction_summary('mobile', '919988221100');"),
    stress_queries=(
        "SELECT count(*), count(DISTINCT message_id) FROM capillary_interactions "
        "WHERE mobile IN (SELECT mobile FROM crm WHERE id BETWEEN {a} AND {b})",
        "SELECT crm.id, count(ci.message_id) FROM crm JOIN capillary_interactions ci "
        "ON ci.mobile = crm.mobile WHERE crm.id BETWEEN {a} AND {b} "
        "GROUP BY crm.id ORDER BY crm.id",
        "SELECT count(*) FROM (SELECT 1 FROM capillary_interactions "
        "WHERE mobile IN (SELECT mobile FROM crm WHERE id BETWEEN {a} AND {b}) LIMIT 3)"),
)
BASIC_TOKENS = REGISTRATION.basic_tokens() | {
    base64.b64encode(f"{DOC_TILL}:{_DOC_MD5}".encode("utf-8")).decode("ascii")}
assert DOC_BASIC in BASIC_TOKENS  # the recipe above gives the documentation's own answer

IDENTIFIER_NAMES = ("email", "mobile", "external_id")
NETWORKS = ("facebook", "twitter", "foursquare", "capillary")
# The documented `type` enum, plus the types the documented responses themselves
# contain (sandbox assumption: those are accepted as filters as well).
TYPES = ("email", "emailbulk", "checkin", "like", "comment", "mention", "retweet", "tweet",
         "feedback", "whatsapp", "zalo", "line", "viber",
         "sms", "survey", "missed_call", "phone")

# Interaction order as in each documented sample (viber added to A next to line).
ORDER_A = ("survey", "missed_call", "whatsapp", "zalo", "line", "viber", "phone", "sms", "email")
ORDER_B = ("survey", "line", "viber", "email", "whatsapp", "missed_call", "phone", "sms", "zalo")
MESSAGE_TYPES = ("email", "sms", "whatsapp", "viber")

# Capillary's own campaign ids for the shared catalogue (data.CAMPAIGNS), 7 digits.
CAMPAIGN_IDS = tuple(1238104 + 613 * i for i in range(len(data.CAMPAIGNS)))

_STATUSES = {
    "email": (("DELIVERED", 30), ("OPENED", 38), ("SENT", 10), ("SOFT_BOUNCED", 8),
              ("NOT-DELIVERED", 8), ("FAILED", 6)),
    "sms": (("DELIVERED", 66), ("SENT", 10), ("NOT-DELIVERED", 9), ("FAILED", 6),
            ("GTW_NOT_FOUND", 9)),
    "whatsapp": (("DELIVERED", 55), ("OPENED", 15), ("SENT", 15), ("FAILED", 10),
                 ("NOT-DELIVERED", 5)),
    "viber": (("DELIVERED", 50), ("SENT", 15), ("FAILED", 25), ("GTW_NOT_FOUND", 10)),
}
_SENDERS = {"email": "", "sms": "SBXSTR", "whatsapp": "SandboxStore", "viber": "SandboxStore"}
_TRANSACTIONAL = (
    "Your order #{n} has shipped and is on its way",
    "Thanks for shopping with us - your e-receipt for order #{n}",
    "Your loyalty points balance is {p} points",
    "Your return for order #{n} has been processed",
)
_SURVEYS = ("Post-purchase NPS", "Store Experience Survey", "Delivery Feedback")
_STORE_STAFF = ("Anita Desai", "Mark Hughes", "Grace Tan", "Ravi Menon", "Laura Kelly")

TOKEN_ROUTE = ["v3", "oauth", "token", "generate"]
TOKEN_TTL_SECONDS = 300  # the documented default lifetime

NOT_FOUND_STATUS = {"success": "false", "code": 500,
                    "message": "All requests have failed due to errors"}
NOT_FOUND_ITEM = {"success": "false", "code": 1012,
                  "message": "Cannot find customer for provided mobile/external-id/e-mail/id"}


@dataclass(frozen=True)
class Message:
    id: int
    type: str
    sent: dt.datetime
    delivered: dt.datetime | None
    sender: str
    receiver: str
    subject: str
    status: str
    campaign_id: int  # -1 for transactional messages, as envelope B spells "none"


@dataclass(frozen=True)
class Survey:
    name: str
    nps_score: int
    sent_by: str
    response_url: str
    sent: dt.datetime
    completed: dt.datetime


@dataclass(frozen=True)
class History:
    user_id: int
    messages: dict  # type -> tuple of Message, oldest first
    surveys: tuple
    missed_calls: int
    last_missed_call: dt.datetime | None


def _a_time(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _b_time(moment):
    return moment.strftime("%d-%m-%Y %H:%M:%S")


def _b_delivered(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def uses_envelope_b(customer):
    return customer.id % 3 == 0


def has_single_object_artefact(customer):
    """A few envelope-A customers get exactly one WhatsApp message, sent as an object."""
    return customer.id % 10 == 1 and not uses_envelope_b(customer)


@functools.lru_cache(maxsize=512)
def history(customer):
    rng = Rng("capillary", customer.id)
    moments = data.draw_moments(rng, customer, customer.interaction_count(rng))
    type_weights = (("email", 45), ("sms", 30), ("whatsapp", 15), ("viber", 10))
    single_whatsapp = None
    if has_single_object_artefact(customer):
        type_weights = (("email", 50), ("sms", 35), ("viber", 15))
        single_whatsapp = rng.below(len(moments))
    by_type = {t: [] for t in MESSAGE_TYPES}
    for index, (sent, campaign) in enumerate(moments):
        kind = "whatsapp" if index == single_whatsapp else rng.weighted(type_weights)
        if campaign is None:
            subject = rng.choice(_TRANSACTIONAL).format(n=rng.randint(100000, 999999),
                                                         p=rng.randint(120, 9800))
            campaign_id = -1
        else:
            subject = campaign.email_subject if kind == "email" else campaign.short_text
            campaign_id = CAMPAIGN_IDS[campaign.index]
        status = rng.weighted(_STATUSES[kind])
        delivered = None
        if status in ("DELIVERED", "OPENED"):
            delivered = sent + dt.timedelta(seconds=rng.randint(1, 90))
        by_type[kind].append(Message(
            # Large ids (> 2**32) like the samples' 1743467374476, unique per customer.
            id=1741000000000 + customer.id * 100000 + index * 1000 + rng.below(1000),
            type=kind, sent=sent, delivered=delivered, sender=_SENDERS[kind],
            receiver=customer.email if kind == "email" else customer.mobile,
            subject=subject, status=status, campaign_id=campaign_id))

    surveys = []
    for sent, _ in data.draw_moments(rng, customer, rng.weighted(((0, 5), (1, 3), (2, 2), (3, 1))), 0):
        completed = sent + dt.timedelta(minutes=rng.randint(5, 2880))
        surveys.append(Survey(
            name=rng.choice(_SURVEYS),
            nps_score=rng.weighted(tuple((s, 1 + s) for s in range(11))),
            sent_by=rng.choice(_STORE_STAFF),
            response_url="https://survey.sandbox.example/r/" + rng.token_bytes(8).hex(),
            sent=sent, completed=min(completed, data.DATA_END)))

    calls = data.draw_moments(rng, customer, rng.weighted(((0, 6), (1, 2), (2, 1), (3, 1))), 0)
    return History(
        user_id=430000000 + customer.id * 7919,
        messages={t: tuple(v) for t, v in by_type.items()},
        surveys=tuple(surveys),
        missed_calls=len(calls),
        last_missed_call=calls[-1][0] if calls else None)


# --- envelope A ---------------------------------------------------------------------

def _message_a(m):
    return {
        "id": m.id,
        "sender": m.sender,
        "reciever": m.receiver,  # sic: envelope A's spelling
        "subject": m.subject,
        "status": m.status,
        "sent_time": _a_time(m.sent),
        # Sandbox assumption: "" when never delivered, as Capillary's v1.1 code writes it.
        "delivered_time": _a_time(m.delivered) if m.delivered else "",
        # Sandbox assumption: "-1" (a string, like every campaign_id here) when none.
        "campaign_id": str(m.campaign_id),
    }


def _entries_a(customer, h):
    entries = {}
    for kind in ORDER_A:
        msgs = h.messages.get(kind, ())
        entry = {}
        if msgs:
            items = [_message_a(m) for m in msgs]
            single = has_single_object_artefact(customer) and len(items) == 1
            entry["messages"] = {"message": items[0] if single else items}
        entry["last_interaction_time"] = _a_time(msgs[-1].sent) if msgs else "null"
        entry["used_status"] = False
        entry["count"] = len(msgs)
        entry["type"] = kind
        entries[kind] = entry
    if h.surveys:
        latest = h.surveys[-1]
        entries["survey"] = {
            "surveys": {"survey": [{
                "name": s.name, "nps_score": s.nps_score, "sent_by": s.sent_by,
                "response_url": s.response_url, "sent_time": _a_time(s.sent),
                "completion_time": _a_time(s.completed)} for s in h.surveys]},
            "latest_nps_score": latest.nps_score,
            "latest_survey_name": latest.name,
            "latest_survey_interaction_time": _a_time(latest.completed),
            "last_interaction_time": _a_time(latest.completed),
            "used_status": False,
            "count": len(h.surveys),
            "type": "survey",
        }
    entries["missed_call"] = {
        "last_interaction_time": _a_time(h.last_missed_call) if h.last_missed_call else "null",
        "used_status": h.missed_calls > 0,
        "count": h.missed_calls,
        "type": "missed_call",
    }
    return [entries[k] for k in ORDER_A]


def envelope_a(customer, h, network, kind):
    networks = []
    if network == "capillary":
        entries = [e for e in _entries_a(customer, h) if kind is None or e["type"] == kind]
        networks.append({"name": "capillary", "interaction": entries})
    return {"response": {
        "status": {"success": "true", "code": 200, "message": "Success"},
        "customer": {
            "id": str(h.user_id),
            "mobile": customer.mobile,
            "email": customer.email,
            "external_id": customer.external_id,
            "interactions": {"network": networks},
            "item_status": {"success": "true", "code": 1000,
                            "message": "Customer successfully retrieved"},
        },
    }}


# --- envelope B ---------------------------------------------------------------------

def _message_b(m, user_id):
    item = {"id": m.id, "receiver": m.receiver, "subject": m.subject,
            "campaignId": m.campaign_id, "status": m.status, "sentDate": _b_time(m.sent)}
    if m.delivered:
        item["deliveredTime"] = _b_delivered(m.delivered)
    item["userId"] = user_id
    return item


def _entries_b(h):
    def message_entry(kind, msgs):
        return {"count": len(msgs), "name": kind,
                "messageList": [_message_b(m, h.user_id) for m in msgs]}

    entries = {kind: message_entry(kind, h.messages.get(kind, ()))
               for kind in ("line", "viber", "email", "whatsapp", "sms", "zalo")}
    # As in the documented sample, SMS also appear under "phone" with the same ids.
    entries["phone"] = message_entry("phone", h.messages["sms"])
    # Sandbox assumption: envelope B's survey items are undocumented (the sample's
    # list is empty); they carry the v1.1 survey fields in this shape's camelCase.
    entries["survey"] = {"count": len(h.surveys), "name": "survey", "surveys": [
        {"name": s.name, "npsScore": s.nps_score, "sentBy": s.sent_by,
         "responseUrl": s.response_url, "sentDate": _b_time(s.sent),
         "completionDate": _b_time(s.completed)} for s in h.surveys]}
    entries["missed_call"] = {"count": h.missed_calls, "name": "missed_call",
                              "usedStatus": h.missed_calls > 0}
    return [entries[k] for k in ORDER_B]


def envelope_b(h, network, kind):
    entries = []
    if network == "capillary":
        entries = [e for e in _entries_b(h) if kind is None or e["name"] == kind]
    return {"name": network, "interaction": entries, "warnings": []}


def _filter_sample(sample, network, kind):
    """Apply the network/type filters to a documented sample (a deep-copied dict)."""
    obj = copy.deepcopy(sample)
    if "response" in obj:  # envelope A
        nets = obj["response"]["customer"]["interactions"]["network"]
        if network != "capillary":
            nets.clear()
        for net in nets:
            if kind is not None:
                net["interaction"] = [e for e in net["interaction"] if e.get("type") == kind]
    else:  # envelope B
        if network != "capillary":
            obj["name"] = network
            obj["interaction"] = []
        elif kind is not None:
            obj["interaction"] = [e for e in obj["interaction"] if e.get("name") == kind]
    return obj


class Capillary(Vendor):
    name = "capillary"
    auth_challenge = 'Basic realm="Capillary"'

    def __init__(self, settings=None):
        self._settings = settings  # server.Settings: the token lifetime
        self._by = {
            "mobile": data.index_by("mobile"),
            "email": data.index_by("email", fold=True),  # sandbox assumption: case-insensitive
            "external_id": data.index_by("external_id"),
        }
        self._samples = {  # documentation samples, served for identifierName=mobile
            "919988221100": Fixture("capillary_envelope_a.json"),
            "917385022695": Fixture("capillary_envelope_b.json"),
        }
        self._request_ids = itertools.count(1)

    def route(self, segments):
        if segments == ["v2", "customers", "interaction"]:
            return self.get_interactions
        if segments == TOKEN_ROUTE:
            return self.generate_token
        return None

    def authenticate_request(self, request):
        if request.segments != TOKEN_ROUTE:
            return self.authenticate(request.headers)
        body = json_body(request)
        if body is None or "key" not in body or "secret" not in body:
            return MISSING
        ok = (body["key"] == OAUTH_KEY
              and body["secret"] == OAUTH_SECRET)
        return accepted(OAUTH_KEY) if ok else BAD

    @post
    def generate_token(self, request):
        """{"data": {"accessToken", "ttlSeconds"}, "errors": null} (docs/vendors.md#capillary),
        or the lifetime as the sandbox's token_form says: expiresIn, a JWT's exp, or none."""
        ttl = self._settings.token_ttl_seconds if self._settings else None
        ttl = TOKEN_TTL_SECONDS if ttl is None else ttl
        form = self._settings.token_form if self._settings else "ttlSeconds"
        token = TOKENS.issue(self.name, ttl, jwt=form == "jwt")
        data = {"accessToken": token}
        if form in ("ttlSeconds", "expiresIn"):
            data[form] = ttl
        return json_response({"data": data, "errors": None})

    def authenticate(self, headers):
        token = headers.get("X-CAP-API-OAUTH-TOKEN")
        if token is not None:
            token = token.strip()
            if TOKENS.state(self.name, token) == "ok":
                # One rate-limit bucket per key, however many tokens it was given.
                return accepted(OAUTH_KEY)
            ok = token == OAUTH_TOKEN
            return accepted(OAUTH_TOKEN) if ok else BAD
        auth = split_authorization(headers)
        if auth is None:
            return MISSING
        scheme, creds = auth
        if scheme == "basic" and creds in BASIC_TOKENS:
            return accepted(creds)
        return BAD

    def error(self, status, message, request=None):
        # Sandbox assumption: the v2 error pattern other v2 customer GETs document,
        # {"warnings":[],"errors":[{status,code,message}]}, with the HTTP status as code.
        return error_json({"warnings": [], "errors": [
            {"status": False, "code": status, "message": message}]}, status)

    def decorate(self, response):
        # Documented tracing header (CapDocs API overview).
        response.headers.append(("X-Cap-Requestid", f"sandbox-{next(self._request_ids):010d}"))
        return response

    def oversized_parts(self):
        item = {"id": 1741000000000, "receiver": "919800000000", "subject": "x" * 200,
                "campaignId": -1, "status": "SENT", "sentDate": "01-01-2025 00:00:00",
                "userId": 430000000}
        return (b'{"name":"capillary","interaction":[{"count":1,"name":"sms","messageList":[',
                dump_json(item), b']}],"warnings":[]}')

    def get_interactions(self, request):
        name = request.param("identifierName")
        value = request.param("identifierValue")
        network = request.param("network")
        kind = request.param("type")
        if name is None:
            return self.error(400, "At least one customer identifier is required: "
                                   "identifierName (email, mobile or external_id)")
        if name not in IDENTIFIER_NAMES:
            return self.error(400, f"Invalid identifierName '{name}': accepted values are "
                                   "email, mobile and external_id")
        if not value:
            return self.error(400, "identifierValue is required")
        if network is not None and network not in NETWORKS:
            return self.error(400, f"Invalid network '{network}': accepted values are "
                                   "facebook, twitter, foursquare and capillary")
        if kind is not None and kind not in TYPES:
            return self.error(400, f"Invalid type '{kind}'")
        network = network or "capillary"  # "Default network is Capillary"

        if name == "mobile" and value in self._samples:
            sample = self._samples[value]
            return sample.response_for(_filter_sample(sample.parsed, network, kind))

        key = value.lower() if name == "email" else value
        if name == "mobile":
            # Capillary normalises a mobile it is asked for ('+91 99882 21100' finds
            # 919988221100; issue 19): the answer carries the customer's own form.
            key = "".join(ch for ch in value if ch not in "+ -()")
        customer = self._by[name].get(key)
        if customer is None or not customer.known_to(self.name):
            return json_response(self._not_found(name, value))
        h = history(customer)
        if uses_envelope_b(customer):
            return json_response(envelope_b(h, network, kind))
        return json_response(envelope_a(customer, h, network, kind))

    @staticmethod
    def _not_found(name, value):
        # HTTP 200 with item-level failure 1012, as Capillary reports unknown customers.
        return {"response": {
            "status": dict(NOT_FOUND_STATUS),
            "customer": {
                "mobile": value if name == "mobile" else "",
                "email": value if name == "email" else "",
                "external_id": value if name == "external_id" else "",
                "item_status": dict(NOT_FOUND_ITEM),
            },
        }}


# --- the sandbox's self-test (tests/sandbox_selftest.t) ---------------------------------

def _b64(text):
    return base64.b64encode(text.encode()).decode()


# Built from the documented recipe (Basic till:md5(password)), independently of REGISTRATION.
_SELFTEST_MD5 = hashlib.md5(b"sandbox-pass").hexdigest()
_SELFTEST_AUTH = {"Authorization": "Basic " + _b64("sandbox.till:" + _SELFTEST_MD5)}
_SELFTEST_BASE = "/capillary/v2/customers/interaction?"


def _selftest_path(customer):
    return f"{_SELFTEST_BASE}identifierName=mobile&identifierValue={customer.mobile}"


def _check_auth_forms(t, c):
    c.reset()
    path = _selftest_path(data.BY_ID[1])
    t.eq(c.get(path, {"Authorization": "Basic " + DOC_BASIC}).status, 200,
         "capillary: the docs' store.server/server123 test vector is accepted")
    t.eq(c.get(path, {"X-CAP-API-OAUTH-TOKEN": "sandbox-cap-oauth-token"}).status, 200,
         "capillary: X-CAP-API-OAUTH-TOKEN is accepted")
    upper = "Basic " + _b64("sandbox.till:" + _SELFTEST_MD5.upper())
    t.eq(c.get(path, {"Authorization": upper}).status, 401,
         "capillary: an upper-case MD5 is refused (docs: lowercase hex)")


def _check_answers(t, c):
    import re
    from vendors.base import quote_segment as q
    c1, c3 = data.BY_ID[1], data.BY_ID[3]
    base, auth = _SELFTEST_BASE, _SELFTEST_AUTH
    a = c.get(f"{base}identifierName=mobile&identifierValue={c1.mobile}", auth).json()
    interactions = a["response"]["customer"]["interactions"]["network"][0]["interaction"]
    whatsapp = next(i for i in interactions if i["type"] == "whatsapp")
    t.ok(isinstance(whatsapp["messages"]["message"], dict) and whatsapp["count"] == 1,
         "capillary: customer 1's single WhatsApp message is an object (v1.1 artefact)", whatsapp)
    ids = [m["id"] for i in interactions if i["type"] == "email"
           for m in i["messages"]["message"]]
    t.ok(ids and all(i > 2 ** 32 for i in ids), "capillary: message ids exceed 32 bits")
    b = c.get(f"{base}identifierName=external_id&identifierValue={c3.external_id}", auth).json()
    t.ok(b.get("name") == "capillary" and "interaction" in b and b.get("warnings") == [],
         "capillary: crm id % 3 == 0 answers in envelope B", str(b)[:200])
    msgs = [m for i in b["interaction"] for m in i.get("messageList", [])]
    t.ok(msgs and all(re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d", m["sentDate"]) for m in msgs),
         "capillary: envelope B sentDate is DD-MM-YYYY HH:mm:ss")
    plus = c.get(f"{base}identifierName=email&identifierValue={q(c3.email)}", auth)
    t.ok("+" in c3.email and plus.status == 200 and "interaction" in plus.json(),
         "capillary: a percent-encoded '+' email finds the customer", c3.email)
    unknown = c.get(f"{base}identifierName=external_id&identifierValue=CRM-000020", auth)
    body = unknown.json()["response"]
    t.ok(unknown.status == 200 and body["status"]["code"] == 500
         and body["customer"]["item_status"]["code"] == 1012,
         "capillary: unknown customer -> 200 with status 500 / item_status 1012", body)
    t.eq(c.get(f"{base}identifierName=phone&identifierValue=1", auth).status, 400,
         "capillary: identifierName outside email|mobile|external_id -> 400")
    t.eq(c.get(f"{base}identifierName=mobile", auth).status, 400,
         "capillary: missing identifierValue -> 400")
    only = c.get(f"{base}identifierName=mobile&identifierValue={c1.mobile}&type=email", auth).json()
    kinds = [i["type"] for n in only["response"]["customer"]["interactions"]["network"]
             for i in n["interaction"]]
    t.eq(kinds, ["email"], "capillary: type=email keeps only the email interaction")
    other = c.get(f"{base}identifierName=mobile&identifierValue={c1.mobile}&network=twitter", auth)
    t.eq(other.json()["response"]["customer"]["interactions"]["network"], [],
         "capillary: another network has no interactions")


def _check_token_endpoint(t, c):
    c.reset()
    json_type = {"Content-Type": "application/json"}
    cap = c.call("POST", "/capillary/v3/oauth/token/generate", json_type,
                 {"key": OAUTH_KEY, "secret": OAUTH_SECRET})
    data_part = cap.json().get("data") or {}
    t.ok(cap.status == 200 and data_part.get("ttlSeconds") == 300
         and data_part.get("accessToken"),
         "capillary: key and secret -> data.accessToken, ttlSeconds 300", cap.body)
    token = {"X-CAP-API-OAUTH-TOKEN": data_part.get("accessToken", "")}
    t.eq(c.get(_selftest_path(data.BY_ID[1]), token).status, 200,
         "capillary: the issued token is accepted")
    wrong = c.call("POST", "/capillary/v3/oauth/token/generate", json_type,
                   {"key": OAUTH_KEY, "secret": "wrong"})
    t.eq(wrong.status, 401, "capillary: a wrong secret -> 401")
    t.eq(c.get("/capillary/v3/oauth/token/generate").status, 405,
         "capillary: the token endpoint takes POST only")


SELFTEST = SelfTest(
    auth=_SELFTEST_AUTH,
    # The plain password instead of its MD5: exactly the mistake the docs warn about.
    bad_auth={"Authorization": "Basic " + _b64("sandbox.till:sandbox-pass")},
    path=_selftest_path,
    samples=(("capillary envelope A", _SELFTEST_BASE + "identifierName=mobile&identifierValue="
              "919988221100", "capillary_envelope_a.json"),
             ("capillary envelope B", _SELFTEST_BASE + "identifierName=mobile&identifierValue="
              "917385022695", "capillary_envelope_b.json")),
    checks=(_check_auth_forms, _check_answers, _check_token_endpoint),
)
