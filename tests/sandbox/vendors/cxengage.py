"""CXengage: GET /v1/tenants/{tenantId}/contacts/{contactId}/interactions (seed 002, vendors.md section 3).

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
from vendors.base import (BAD, MISSING, Fixture, Registration, Setting, Vendor, accepted,
                          error_json, iso_ms_z, parse_int, split_authorization)

# The sandbox's public test credentials: Basic user:password, or "Authorization: Token <token>".
USERNAME = "sandbox-cx-user"
PASSWORD = "sandbox-cx-pass"
TOKEN = "sandbox-cx-token"
TENANT_ID = "5c1b2f4e-0c4a-4a8e-9d5e-3f2b7a9c1d01"

REGISTRATION = Registration(
    name="cxengage", order=3, env_prefix="CXENGAGE", unknown_offset=7,
    make=lambda settings: CXengage(),
    settings=(Setting("base_url", "${SANDBOX_URL}/cxengage"),
              Setting("username", USERNAME),
              Setting("password", PASSWORD, secret=True, basic_user="username"),
              Setting("tenant_id", TENANT_ID),
              Setting("token", TOKEN, secret=True, alternative=(
                  'Alternative to username/password (header "Authorization: Token ..."):'))),
)
BASIC_TOKENS = REGISTRATION.basic_tokens()

SAMPLE_CONTACT_ID = "0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01"
BENCH_CONTACT_ID = "bench-100k"
BENCH_TOTAL = 100_000
DEFAULT_LIMIT, MAX_LIMIT = 10, 100

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


class CXengage(Vendor):
    name = "cxengage"
    auth_challenge = 'Basic realm="CxEngage"'

    def __init__(self):
        self._by_id = data.index_by("cxengage_contact_id")
        self._sample = Fixture("cxengage_sample.json")

    def route(self, segments):
        if (len(segments) == 6 and segments[0] == "v1" and segments[1] == "tenants"
                and segments[3] == "contacts" and segments[5] == "interactions"):
            return self.get_interactions
        return None

    def authenticate(self, headers):
        auth = split_authorization(headers)
        if auth is None:
            return MISSING
        scheme, creds = auth
        if scheme == "basic":
            if creds in BASIC_TOKENS:
                return accepted(USERNAME)
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

    @staticmethod
    def _envelope(page, limit, offset, total, items):
        return {"page": page, "limit": limit, "offset": offset, "total": total,
                "results": items}
