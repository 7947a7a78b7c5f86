"""CXengage: GET /v1/tenants/{tenantId}/contacts/{contactId}/interactions (docs/vendors.md#cxengage).

Page-numbered (`page` from 0, `limit` 1..100, default 10), newest first, with
{page, limit, offset, total, results}. `page` echoes null when the request gave none.
Auth is Basic user:password or "Authorization: Token <token>" (not Bearer).

The contact `bench-100k` has 100,000 interactions for benchmarks; any page of it is
computed on demand from the item index, so no request builds more than one page.
"""

import datetime as dt
import functools

import data
from prng import Rng
from responses import Response, dump_json, json_response
from tokens import TOKENS
from vendors.base import (BAD, MISSING, CrmColumn, Fixture, Registration, SelfTest, Setting,
                          TimelineBranch, Vendor, accepted, error_json, iso_ms_z, json_body,
                          parse_int, post, split_authorization)

# The sandbox's public test credentials: Basic user:password, or "Authorization: Token <token>".
USERNAME = "sandbox-cx-user"
PASSWORD = "sandbox-cx-pass"
TOKEN = "sandbox-cx-token"
TENANT_ID = "5c1b2f4e-0c4a-4a8e-9d5e-3f2b7a9c1d01"
# Exchanged for short-lived tokens at POST /v1/tokens (docs/vendors.md#cxengage).
API_KEY = "sandbox-cx-api-key"
API_SECRET = "sandbox-cx-api-secret"
_KEY_AND_SECRET = "Or an API key and secret, exchanged for tokens the extension renews:"

REGISTRATION = Registration(
    name="cxengage", order=3, env_prefix="CXENGAGE", unknown_offset=7,
    make=lambda settings: CXengage(settings),
    settings=(Setting("base_url", "${SANDBOX_URL}/cxengage"),
              Setting("username", USERNAME),
              Setting("password", PASSWORD, secret=True, basic_user="username"),
              Setting("tenant_id", TENANT_ID),
              Setting("token", TOKEN, secret=True, alternative=(
                  'Alternative to username/password (header "Authorization: Token ..."):')),
              # The extension keeps the API key secret too, though it works as a user name.
              Setting("api_key", API_KEY, secret=True, alternative=_KEY_AND_SECRET),
              Setting("api_secret", API_SECRET, secret=True, alternative=_KEY_AND_SECRET)),
    crm=(CrmColumn("cxengage_contact_id", lambda rng, customer_id, taken: rng.uuid4()),),
    timeline=(TimelineBranch("cxengage_interactions", "x",
                             "x.contact_id = crm.cxengage_contact_id"),),
    differential=(dict(
        name="cxengage_interactions", keys={"contact_id": "cxengage_contact_id"},
        time="occurred_at",
        text=("channel", "status", "direction", "channel_name", "customer", "last_agent_name",
              "last_queue_name"),
        hidden_eq=("tenant_id",), hidden_fixed={"tenant_id": TENANT_ID},
        group=("channel", "direction", "last_queue_name", "status"),
        extras=({"contact_id": "0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01"},
                {"contact_id": "00000000-0000-4000-8000-000000000000"}),
        unknown={"contact_id": "00000000-0000-4000-8000-000000000002"},
        page_size=7),),  # small pages, so paging is in play
    secrets_queries=("SELECT interaction_id FROM cxengage_interactions "
                     "WHERE contact_id = '0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01';",),
    stress_queries=(
        "SELECT count(*) FROM cxengage_interactions "
        "WHERE contact_id IN (SELECT cxengage_contact_id FROM crm WHERE id BETWEEN {a} AND {b})",
        "SELECT count(*) FROM (SELECT 1 FROM cxengage_interactions "
        "WHERE contact_id IN (SELECT cxengage_contact_id FROM crm WHERE id BETWEEN {a} AND {b}) "
        "LIMIT 2)"),
)
BASIC_TOKENS = REGISTRATION.basic_tokens()

SAMPLE_CONTACT_ID = "0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01"
BENCH_CONTACT_ID = "bench-100k"
BENCH_TOTAL = 100_000
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
# The search route: up to 1000 a page (docs/vendors.md#cxengage). Sandbox assumption: its paging
# (page from 0, limit, the same {page, limit, offset, total, results} envelope, default
# limit 1000) and inclusive start/end are undocumented and copied from the contact route.
SEARCH_DEFAULT_LIMIT = SEARCH_MAX_LIMIT = 1000
TOKEN_ROUTE = ["v1", "tokens"]
# Sandbox assumption: the token lifetime is undocumented (the answer gives none).
TOKEN_TTL_SECONDS = 3600

_CHANNELS = (("voice", "Voice", 35), ("email", "Email", 20), ("sms", "SMS", 15),
             ("messaging", "Messaging", 20), ("work_item", "Work Item", 10))
_DIRECTIONS = (("inbound", "Inbound", 65), ("outbound", "Outbound", 30),
               ("agent-initiated", "Agent Initiated", 5))
_DURATION = {"voice": (45, 1800), "email": (300, 86400), "sms": (60, 3600),
             "messaging": (120, 3600), "work_item": (600, 172800)}


def _roster(kind, names):
    rng = Rng("cxengage", kind)
    return tuple((rng.uuid4(), name) for name in names)


AGENTS = _roster("agents", ("Don Smith", "Priya Nair", "Sam Okafor", "Lucy Chen",
                            "Tom Walsh", "Aisha Rahman", "Ben Carter", "Elena Petrova"))
QUEUES = _roster("queues", ("Support", "Sales", "Billing", "Retention", "Priority Support"))
DISPOSITIONS = _roster("dispositions", ("Resolved", "Callback Requested", "Escalated",
                                        "Sale Made", "No Answer"))


def _interaction(rng, start, phone, email):
    """One result object, keys in the documented sample's order."""
    channel, channel_name = rng.weighted(tuple(((c, n), w) for c, n, w in _CHANNELS))
    direction, direction_name = rng.weighted(tuple(((d, n), w) for d, n, w in _DIRECTIONS))
    lo, hi = _DURATION[channel]
    end = start + dt.timedelta(seconds=rng.randint(lo, hi), milliseconds=rng.below(1000))
    agent = rng.choice(AGENTS)
    if channel == "voice" and direction == "inbound" and rng.chance(0.1):
        agent = (None, None)  # abandoned in queue before reaching an agent
    queue = rng.choice(QUEUES)
    disposition = rng.choice(DISPOSITIONS) if rng.chance(0.45) else (None, None)
    # Sandbox assumption: recording/transcript values are undocumented (null in the
    # sample); when present they are artifact ids (UUID strings).
    recording = rng.uuid4() if channel == "voice" and agent[0] and rng.chance(0.4) else None
    transcript = (rng.uuid4() if channel in ("messaging", "sms") and rng.chance(0.3)
                  else None)
    return {
        "directionName": direction_name,
        "recording": recording,
        "endTimestamp": iso_ms_z(end),
        "interactionId": rng.uuid4(),
        "customer": email if channel in ("email", "work_item") else phone,
        "note": rng.weighted(((0, 8), (1, 2))),
        "lastAgentId": agent[0],
        "lastQueueId": queue[0],
        "channelName": channel_name,
        "lastAgentName": agent[1],
        "csat": rng.randint(1, 5) if rng.chance(0.3) else None,
        "lastDispositionName": disposition[1],
        "startTimestamp": iso_ms_z(start),
        "transcript": transcript,
        "lastDispositionId": disposition[0],
        "channelType": channel,
        "directionType": direction,
        "lastQueueName": queue[1],
    }


@functools.lru_cache(maxsize=512)
def results(customer):
    """The customer's interactions, newest first (a tuple of dicts: do not mutate)."""
    rng = Rng("cxengage", customer.id)
    moments = data.draw_moments(rng, customer, customer.interaction_count(rng), 0)
    items = [_interaction(rng, moment + dt.timedelta(milliseconds=rng.below(1000)),
                          customer.e164, customer.email) for moment, _ in moments]
    return tuple(reversed(items))


_BENCH_END = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.timezone.utc)


def bench_result(index):
    """Interaction `index` (0 = newest) of the 100k benchmark contact, in O(1).

    Starts are 560 s apart minus up to 299 s of jitter, so they strictly decrease.
    """
    rng = Rng("cxengage-bench", index)
    start = _BENCH_END - dt.timedelta(seconds=560 * index + rng.below(300),
                                      milliseconds=rng.below(1000))
    return _interaction(rng, start, "+61290000000", "bench@sandbox.example")


def _parse_iso(text):
    """A UTC datetime from 2025-06-01T00:00:00Z or 2017-11-02T17:49:19.049Z."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def _bench_slice(start, end):
    """(first, stop): the indexes of the benchmark contact's interactions within the bounds.

    Starts strictly decrease with the index, so each bound is a binary search.
    """
    def first_index(keep):  # the first index i for which keep(i) is true (keep is monotone)
        low, high = 0, BENCH_TOTAL
        while low < high:
            middle = (low + high) // 2
            if keep(middle):
                high = middle
            else:
                low = middle + 1
        return low

    def moment(i):
        return _parse_iso(bench_result(i)["startTimestamp"])

    first = 0 if end is None else first_index(lambda i: moment(i) <= end)
    stop = BENCH_TOTAL if start is None else first_index(lambda i: moment(i) < start)
    return first, max(first, stop)


class CXengage(Vendor):
    name = "cxengage"
    auth_challenge = 'Basic realm="CxEngage"'

    def __init__(self, settings=None):
        self._settings = settings  # server.Settings: the token lifetime
        self._by_id = data.index_by("cxengage_contact_id")
        self._sample = Fixture("cxengage_sample.json")
        self._index = None  # interactionId -> (contact, item), built on first use

    def route(self, segments):
        if (len(segments) == 6 and segments[0] == "v1" and segments[1] == "tenants"
                and segments[3] == "contacts" and segments[5] == "interactions"):
            return self.get_interactions
        if (len(segments) == 4 and segments[0] == "v1" and segments[1] == "tenants"
                and segments[3] == "interactions"):
            return self.search_interactions
        if (len(segments) == 5 and segments[0] == "v1" and segments[1] == "tenants"
                and segments[3] == "interactions"):
            return self.get_interaction
        if segments == TOKEN_ROUTE:
            return self.create_token
        return None

    def authenticate_request(self, request):
        if request.segments != TOKEN_ROUTE:
            return self.authenticate(request.headers)
        body = json_body(request)
        if body is None or "username" not in body or "password" not in body:
            return MISSING
        ok = (body["username"] == API_KEY
              and body["password"] == API_SECRET
              and body.get("tenantId") == TENANT_ID)
        return accepted(API_KEY) if ok else BAD

    @post
    def create_token(self, request):
        """{"token": "..."} (docs/vendors.md#cxengage)."""
        ttl = self._settings.token_ttl_seconds if self._settings else None
        return json_response({"token": TOKENS.issue(
            self.name, TOKEN_TTL_SECONDS if ttl is None else ttl)})

    def authenticate(self, headers):
        auth = split_authorization(headers)
        if auth is None:
            return MISSING
        scheme, creds = auth
        if scheme == "basic":
            if creds in BASIC_TOKENS:
                return accepted(USERNAME)
        elif scheme == "token" and TOKENS.state(self.name, creds) == "ok":
            return accepted(API_KEY)  # one rate-limit bucket per key
        elif scheme == "token" and creds == TOKEN:
            return accepted(creds)
        return BAD

    def error(self, status, message, request=None):
        # Sandbox assumption: the error body is undocumented ("standard HTTP codes").
        reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                   404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests"}
        return error_json({"status": status, "error": reasons.get(status, "Error"),
                           "message": message}, status)

    def no_route(self, request):
        # Sandbox assumption: the API gateway's plain-text answer for a path it does not route.
        return Response(404, b"Not Found", "text/plain; charset=utf-8")

    def oversized_parts(self):
        return (b'{"page":0,"limit":100,"offset":0,"total":100000,"results":[',
                dump_json(bench_result(0)), b"]}")

    def get_interactions(self, request):
        tenant_id, contact_id = request.segments[2], request.segments[4]
        limit_text, page_text = request.param("limit"), request.param("page")
        limit = DEFAULT_LIMIT if limit_text is None else parse_int(limit_text)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            return self.error(400, f"limit must be an integer between 1 and {MAX_LIMIT}")
        page = None if page_text is None else parse_int(page_text)
        if page_text is not None and (page is None or page < 0):
            return self.error(400, "page must be a non-negative integer")
        if tenant_id != TENANT_ID:
            return self.error(404, "Tenant not found")
        offset = (page or 0) * limit

        if contact_id == SAMPLE_CONTACT_ID:
            sample = self._sample.parsed
            return self._sample.response_for(self._envelope(
                page, limit, offset, sample["total"], sample["results"][offset:offset + limit]))
        if contact_id == BENCH_CONTACT_ID:
            stop = min(offset + limit, BENCH_TOTAL)
            items = [bench_result(i) for i in range(offset, stop)]
            return json_response(self._envelope(page, limit, offset, BENCH_TOTAL, items))
        customer = self._by_id.get(contact_id)
        if customer is None or not customer.known_to(self.name):
            return self.error(404, "Contact not found")
        items = results(customer)
        return json_response(self._envelope(page, limit, offset, len(items),
                                            list(items[offset:offset + limit])))

    def search_interactions(self, request):
        """GET /v1/tenants/{tenant}/interactions?contactId=&start=&end=&limit=&page=."""
        tenant_id = request.segments[2]
        contact_id = request.param("contactId")
        limit_text, page_text = request.param("limit"), request.param("page")
        limit = SEARCH_DEFAULT_LIMIT if limit_text is None else parse_int(limit_text)
        if limit is None or not 1 <= limit <= SEARCH_MAX_LIMIT:
            return self.error(400, f"limit must be an integer between 1 and {SEARCH_MAX_LIMIT}")
        page = None if page_text is None else parse_int(page_text)
        if page_text is not None and (page is None or page < 0):
            return self.error(400, "page must be a non-negative integer")
        bounds = []
        for name in ("start", "end"):
            text = request.param(name)
            try:
                bounds.append(None if text is None else _parse_iso(text))
            except ValueError:
                return self.error(400, f"{name} must be an ISO 8601 time such as "
                                       "2025-06-01T00:00:00Z")
        start, end = bounds
        if tenant_id != TENANT_ID:
            return self.error(404, "Tenant not found")
        if not contact_id:
            return self.error(400, "contactId is required")
        offset = (page or 0) * limit

        def within(item):
            moment = _parse_iso(item["startTimestamp"])
            return (start is None or moment >= start) and (end is None or moment <= end)

        if contact_id == BENCH_CONTACT_ID:
            first, stop = _bench_slice(start, end)
            chosen = range(first + offset, min(first + offset + limit, stop))
            return json_response(self._envelope(page, limit, offset, stop - first,
                                                [bench_result(i) for i in chosen]))
        if contact_id == SAMPLE_CONTACT_ID:
            items = [item for item in self._sample.parsed["results"] if within(item)]
        else:
            customer = self._by_id.get(contact_id)
            known = customer is not None and customer.known_to(self.name)
            # Sandbox assumption: a search for a contact with no interactions finds none.
            items = [item for item in results(customer) if within(item)] if known else []
        return json_response(self._envelope(page, limit, offset, len(items),
                                            items[offset:offset + limit]))

    def _interaction_index(self):
        """interactionId -> (contact id, list item) for every contact but the benchmark one."""
        if self._index is None:
            index = {item["interactionId"]: (SAMPLE_CONTACT_ID, item)
                     for item in self._sample.parsed["results"]}
            for contact_id, customer in self._by_id.items():
                if customer.known_to(self.name):
                    index.update((item["interactionId"], (contact_id, item))
                                 for item in results(customer))
            self._index = index
        return self._index

    def get_interaction(self, request):
        """GET /v1/tenants/{tenant}/interactions/{interactionId}: Get a Specific Interaction.

        One object (docs/vendors.md#cxengage): tenantId, interactionId, startTimestamp,
        endTimestamp, customer, segments[], queues[], details{contactId, direction,
        channelType}. Sandbox assumptions: the members of segments[] and queues[] and the
        rest of details (undocumented), and a 404 for an id the tenant does not have.
        """
        tenant_id, interaction_id = request.segments[2], request.segments[4]
        if tenant_id != TENANT_ID:
            return self.error(404, "Tenant not found")
        found = self._interaction_index().get(interaction_id)
        if found is None:
            return self.error(404, "Interaction not found")
        contact_id, item = found
        segments = ([{"resourceId": item["lastAgentId"], "resourceName": item["lastAgentName"]}]
                    if item["lastAgentId"] else [])
        return json_response({
            "tenantId": TENANT_ID,
            "interactionId": item["interactionId"],
            "startTimestamp": item["startTimestamp"],
            "endTimestamp": item["endTimestamp"],
            "customer": item["customer"],
            "segments": segments,
            "queues": [{"queueId": item["lastQueueId"], "queueName": item["lastQueueName"]}],
            "details": {"contactId": contact_id, "direction": item["directionType"],
                        "channelType": item["channelType"],
                        "channelName": item["channelName"]},
        })

    @staticmethod
    def _envelope(page, limit, offset, total, items):
        return {"page": page, "limit": limit, "offset": offset, "total": total,
                "results": items}


# --- the sandbox's self-test (tests/sandbox_selftest.t) ---------------------------------

def _selftest_basic(user, password):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


_SELFTEST_AUTH = {"Authorization": _selftest_basic("sandbox-cx-user", "sandbox-cx-pass")}


def _selftest_path(customer):
    return f"/cxengage/v1/tenants/{TENANT_ID}/contacts/{customer.cxengage_contact_id}/interactions"


def _check_token_header(t, c):
    t.eq(c.get(_selftest_path(data.BY_ID[1]), {"Authorization": "Token sandbox-cx-token"}).status,
         200, "cxengage: 'Authorization: Token' is accepted")


def _check_answers(t, c):
    auth, c1 = _SELFTEST_AUTH, data.BY_ID[1]
    base = _selftest_path(c1)
    first = c.get(base, auth).json()
    t.ok(first["page"] is None and first["limit"] == 10 and first["offset"] == 0,
         "cxengage: defaults page null, limit 10, offset 0", {k: first[k] for k in
                                                              ("page", "limit", "offset")})
    seen, page, echoed = [], 0, True
    while page < 20:
        body = c.get(f"{base}?limit=10&page={page}", auth).json()
        echoed = echoed and body["page"] == page and body["offset"] == page * 10
        if not body["results"]:
            break
        seen.extend(body["results"])
        page += 1
    t.ok(echoed, "cxengage: page and offset are echoed on every page")
    starts = [r["startTimestamp"] for r in seen]
    t.ok(len(seen) == first["total"] and len({r["interactionId"] for r in seen}) == len(seen)
         and starts == sorted(starts, reverse=True),
         f"cxengage: {page} pages give all {first['total']} results once, newest first")
    for bad in ("limit=101", "limit=0", "limit=ten", "page=-1"):
        t.eq(c.get(f"{base}?{bad}", auth).status, 400, f"cxengage: {bad} -> 400")
    other_tenant = base.replace(TENANT_ID, "00000000-0000-4000-8000-000000000000")
    t.eq(c.get(other_tenant, auth).status, 404, "cxengage: another tenant -> 404")
    t.eq(c.get(base.replace(c1.cxengage_contact_id, data.BY_ID[13].cxengage_contact_id),
               auth).status, 404, "cxengage: a contact unknown to CXengage -> 404")
    bench = f"/cxengage/v1/tenants/{TENANT_ID}/contacts/bench-100k/interactions"
    last = c.get(f"{bench}?limit=100&page=999", auth).json()
    t.ok(last["total"] == 100000 and len(last["results"]) == 100
         and c.get(f"{bench}?limit=100&page=1000", auth).json()["results"] == [],
         "cxengage: bench-100k has exactly 1000 pages of 100")


def _check_tokens(t, c):
    import time
    c.reset()
    json_type = {"Content-Type": "application/json"}
    c.control("POST", "/config", {"token_ttl_seconds": 0.2})
    short = c.call("POST", "/cxengage/v1/tokens", json_type,
                   {"username": API_KEY, "password": API_SECRET, "tenantId": TENANT_ID}).json()
    cx_token = {"Authorization": "Token " + short.get("token", "")}
    path = _selftest_path(data.BY_ID[1])
    fresh = c.get(path, cx_token).status
    time.sleep(0.3)
    t.eq((fresh, c.get(path, cx_token).status), (200, 401),
         "cxengage: an issued token works until token_ttl_seconds, then 401")
    c.reset()


def _check_search(t, c):
    c.reset()
    search = f"/cxengage/v1/tenants/{TENANT_ID}/interactions?contactId=bench-100k"
    window = "&start=2026-10-20T00:00:00Z&end=2026-10-31T00:00:00Z"
    first = c.get(search + window, _SELFTEST_AUTH).json()
    starts = [r["startTimestamp"] for r in first["results"]]
    t.ok(first["limit"] == 1000 and len(starts) == 1000 and first["total"] > 1000
         and all("2026-10-20" <= s < "2026-10-31" for s in starts)
         and starts == sorted(starts, reverse=True),
         "cxengage: the search route filters start/end and pages 1000 newest first",
         {k: first[k] for k in ("page", "limit", "offset", "total")})


SELFTEST = SelfTest(
    auth=_SELFTEST_AUTH,
    bad_auth={"Authorization": "Bearer sandbox-cx-token"},  # scheme must be Token
    path=_selftest_path,
    samples=(("cxengage", f"/cxengage/v1/tenants/{TENANT_ID}/contacts/"
              "0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01/interactions", "cxengage_sample.json"),),
    checks=(_check_token_header, _check_answers, _check_tokens, _check_search),
)
