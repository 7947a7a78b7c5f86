"""Optimove: GET /current/customers/GetCustomerChannelInteractions (docs/vendors.md#optimove).

Returns a JSON array of {Date, CampaignID, RecipientGroupID, ActionID, ChannelID,
TemplateID, EventID} for one customer between StartDate and EndDate inclusive.
The documented rate limit (50 requests per 10 s per API key, sliding window, 429 with a
fixed body and no Retry-After) is enforced by server.py with this vendor's 429 body.

The page also says a per-account flag makes this endpoint answer in the newer
GetCampaignEngagementMetrics format; the control API's `engagement_format` switch
turns that on. That format is undocumented: see engagement_row() for the invented shape.
"""

import datetime as dt
import functools
import re
from dataclasses import dataclass

import data
from prng import Rng
from responses import dump_json, json_response
from vendors.base import (BAD, MISSING, CrmColumn, Fixture, Registration, SelfTest, Setting,
                          TimelineBranch, Vendor, accepted, error_json, parse_int)

# The sandbox's public test credential (header X-API-KEY).
API_KEY = "sandbox-optimove-key"
SAMPLE_CUSTOMER_ID = "841231"


def _draw_customer_id(rng, customer_id, taken):
    # Six digits like the documentation's own; unique, and never the sample's id.
    value = str(rng.randint(600_000, 899_999))
    while value in taken:
        value = str(rng.randint(600_000, 899_999))
    return value


REGISTRATION = Registration(
    name="optimove", order=2, env_prefix="OPTIMOVE", unknown_offset=3,
    make=lambda settings: Optimove(settings),
    settings=(Setting("base_url", "${SANDBOX_URL}/optimove"),
              Setting("api_key", API_KEY, secret=True)),
    rate_limit="50/10s",  # documented: 50 requests per 10 s per API key, sliding window
    crm=(CrmColumn("optimove_id", _draw_customer_id, reserved=(SAMPLE_CUSTOMER_ID,)),),
    timeline=(TimelineBranch(
        "optimove_interactions", "o",
        "o.customer_id = crm.optimove_id AND o.occurred_at >= date('now', '-3 years')",
        note="Optimove requires a start date; the view asks for the last three years."),),
    differential=(dict(
        name="optimove_interactions", keys={"customer_id": "optimove_id"}, time="occurred_at",
        text=("channel", "status"),
        ints=("campaign_id", "recipient_group_id", "action_id", "channel_id", "template_id",
              "event_id"),
        group=("channel", "channel_id", "campaign_id", "event_id"), numeric_keys=("customer_id",),
        needs_lower=True, extras=({"customer_id": SAMPLE_CUSTOMER_ID}, {"customer_id": "999999"}),
        unknown={"customer_id": "999998"}),),
    secrets_queries=("SELECT * FROM optimove_interactions('688417', '2025-01-05');",),
    stress_queries=(
        "SELECT count(*) FROM optimove_interactions "
        "WHERE customer_id IN (SELECT optimove_id FROM crm WHERE id BETWEEN {a} AND {b}) "
        "AND occurred_at >= '2025-01-01' AND occurred_at < '2026-11-01'",),
)
# Customer functions answer at most 10,000 records; $top/$skip page through the rest
# (public clients, docs/vendors.md#optimove). Sandbox assumption: $top above the cap is the
# cap, and rows come in a stable order (date, campaign, event) so pages do not overlap.
MAX_RECORDS = 10_000
# A customer with 25,000 events in 2025, one event every 21 minutes, for paging tests.
BULK_CUSTOMER_ID = "bulk-25000"
BULK_EVENTS = 25_000

# Optimove's ids for the shared campaign catalogue: (CampaignID, ActionID, ChannelID,
# TemplateID). Channels are the documented generic sandbox ids (502 call centre,
# 504 email, 505 SMS, 506 push, 510 web push, 511 in-app) plus 7, which the
# documentation's own sample uses without saying what it is (unmapped on purpose).
_CHANNELS = (504, 505, 504, 506, 510, 504, 511, 505, 504, 502, 504, 7, 506, 504)
CAMPAIGNS = tuple((431 + 3 * c.index, 20 + c.index, _CHANNELS[c.index], 101 + 2 * c.index)
                  for c in data.CAMPAIGNS)

# EventID meanings are undocumented (the sample only shows 2). One production integration maps
# 2 Opened, 3 Clicked, 4 Unsubscribed, 5 Dropped, 6 SpamReport, 7 Bounced (observed, not
# Optimove's documentation; docs/vendors.md#optimove): 2-4 here mean the same. Sandbox
# assumption: 1 = delivered, an id that mapping does not name (the extension's event is NULL).
EVENT_DELIVERED, EVENT_OPENED, EVENT_CLICKED, EVENT_UNSUBSCRIBED = 1, 2, 3, 4

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# GetExecutionChannels: the account's channel ids and names ({ChannelId, ChannelName}, field
# names from public client code). The names are those of Optimove's sandbox accounts' generic
# ids; 7, which the documentation's sample uses unexplained, stays unnamed.
EXECUTION_CHANNELS = ({"ChannelId": 502, "ChannelName": "Call Center"},
                      {"ChannelId": 504, "ChannelName": "Email"},
                      {"ChannelId": 505, "ChannelName": "SMS"},
                      {"ChannelId": 506, "ChannelName": "Push Notification"},
                      {"ChannelId": 510, "ChannelName": "Web Push"},
                      {"ChannelId": 511, "ChannelName": "In-Platform"})

RATE_LIMIT_BODY = {"status": 429, "error": "Too Many Requests",
                   "message": "You have exceeded the rate limit for this API group. "
                              "Please retry later."}


@dataclass(frozen=True)
class Send:
    """One campaign execution to one customer and what the customer did with it."""

    sent: dt.datetime
    campaign: data.Campaign
    recipient_group: int
    events: tuple  # ((EventID, date), ...) in order


@functools.lru_cache(maxsize=512)
def sends(customer):
    rng = Rng("optimove", customer.id)
    count = customer.interaction_count(rng) // 2 + 3
    out = []
    for sent, campaign in data.draw_moments(rng, customer, count, campaign_share=1.0):
        channel = CAMPAIGNS[campaign.index][2]
        events = [(EVENT_DELIVERED, sent.date())]
        if channel in (504, 506, 510, 511) and rng.chance(0.45):
            opened = min(sent.date() + dt.timedelta(days=rng.weighted(((0, 6), (1, 3), (2, 1)))),
                         data.DATA_END.date())
            events.append((EVENT_OPENED, opened))
            if rng.chance(0.3):
                events.append((EVENT_CLICKED, opened))
        if rng.chance(0.02):
            events.append((EVENT_UNSUBSCRIBED, events[-1][1]))
        out.append(Send(sent, campaign, 1 if rng.chance(0.85) else 2, tuple(events)))
    return tuple(out)


def legacy_rows(customer):
    rows = []
    for s in sends(customer):
        campaign_id, action_id, channel_id, template_id = CAMPAIGNS[s.campaign.index]
        for event_id, day in s.events:
            rows.append({"Date": day.isoformat(), "CampaignID": campaign_id,
                         "RecipientGroupID": s.recipient_group, "ActionID": action_id,
                         "ChannelID": channel_id, "TemplateID": template_id,
                         "EventID": event_id})
    rows.sort(key=lambda r: (r["Date"], r["CampaignID"], r["EventID"]))
    return rows


def engagement_row(customer_id, campaign_id, action_id, channel_id, template_id,
                   recipient_group, sent_at, events, triggered):
    """Sandbox assumption: the undocumented GetCampaignEngagementMetrics shape.

    One object per campaign send with the legacy ids, a UTC send time and one boolean
    per engagement event instead of one row per event.
    """
    return {
        "CustomerID": customer_id,
        "CampaignID": campaign_id,
        "CampaignType": "Triggered" if triggered else "Scheduled",
        "ActionID": action_id,
        "RecipientGroupID": recipient_group,
        "ChannelID": channel_id,
        "TemplateID": template_id,
        "SentDateTime": sent_at,
        "Delivered": EVENT_DELIVERED in events,
        "Opened": EVENT_OPENED in events,
        "Clicked": EVENT_CLICKED in events,
        "Unsubscribed": EVENT_UNSUBSCRIBED in events,
    }


def engagement_rows(customer):
    rows = []
    for s in sends(customer):
        campaign_id, action_id, channel_id, template_id = CAMPAIGNS[s.campaign.index]
        rows.append(engagement_row(
            customer.optimove_id, campaign_id, action_id, channel_id, template_id,
            s.recipient_group, s.sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
            {e for e, _ in s.events}, s.campaign.triggered))
    return rows


@functools.lru_cache(maxsize=1)
def bulk_rows():
    """The bulk customer's events: computed, not drawn, so other customers' data is untouched."""
    rows = []
    start = dt.datetime(2025, 1, 1)
    for i in range(BULK_EVENTS):
        day = (start + dt.timedelta(minutes=21 * i)).date().isoformat()
        campaign_id, action_id, channel_id, template_id = CAMPAIGNS[i % len(CAMPAIGNS)]
        rows.append({"Date": day, "CampaignID": campaign_id, "RecipientGroupID": 1,
                     "ActionID": action_id, "ChannelID": channel_id, "TemplateID": template_id,
                     "EventID": EVENT_DELIVERED})
    return tuple(rows)


def _parse_date(text):
    if text is None or not _DATE_RE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


class Optimove(Vendor):
    name = "optimove"

    def __init__(self, settings):
        self._settings = settings  # server.Settings: the engagement_format switch
        self._by_id = data.index_by("optimove_id")
        self._sample = Fixture("optimove_sample.json")

    def route(self, segments):
        if segments == ["current", "customers", "GetCustomerChannelInteractions"]:
            return self.get_channel_interactions
        if segments == ["current", "actions", "GetExecutionChannels"]:
            return self.get_execution_channels
        return None

    def get_execution_channels(self, request):
        return json_response(list(EXECUTION_CHANNELS))

    def authenticate(self, headers):
        key = headers.get("X-API-KEY")
        if key is None:
            return MISSING
        return accepted(key) if key == API_KEY else BAD

    def error(self, status, message, request=None):
        if status == 429:
            return error_json(RATE_LIMIT_BODY, 429)  # documented, byte for byte
        # Sandbox assumption: other error bodies are undocumented; they follow the
        # documented 429 body's {status, error, message} shape.
        reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                   404: "Not Found", 405: "Method Not Allowed"}
        return error_json({"status": status, "error": reasons.get(status, "Error"),
                           "message": message}, status)

    def oversized_parts(self):
        row = {"Date": "2025-01-01", "CampaignID": 431, "RecipientGroupID": 1, "ActionID": 20,
               "ChannelID": 504, "TemplateID": 101, "EventID": 1}
        return b"[", dump_json(row), b"]"

    def get_channel_interactions(self, request):
        missing = [p for p in ("CustomerID", "StartDate", "EndDate") if not request.param(p)]
        if missing:
            return self.error(400, "Missing required parameter(s): " + ", ".join(missing))
        start, end = _parse_date(request.param("StartDate")), _parse_date(request.param("EndDate"))
        if start is None or end is None:
            return self.error(400, "StartDate and EndDate must be dates in YYYY-MM-DD format")
        if start > end:
            # Sandbox assumption: an inverted range is rejected rather than empty.
            return self.error(400, "StartDate must not be later than EndDate")
        customer_id = request.param("CustomerID")
        engagement = self._settings.engagement_format
        top, skip = request.param("$top"), request.param("$skip")
        top = MAX_RECORDS if top is None else parse_int(top)
        skip = 0 if skip is None else parse_int(skip)
        if top is None or skip is None or top < 1 or skip < 0:
            return self.error(400, "$top must be a positive and $skip a non-negative integer")
        top = min(top, MAX_RECORDS)
        # ChannelID filters one channel, as a public client sends it (docs/vendors.md#optimove);
        # sandbox assumption: anything but a whole number is a 400.
        channel_text = request.param("ChannelID")
        channel = None if channel_text is None else parse_int(channel_text)
        if channel_text is not None and channel is None:
            return self.error(400, "ChannelID must be an integer")

        def page(rows):
            if channel is not None:
                rows = [r for r in rows if r.get("ChannelID") == channel]
            return json_response(rows[skip:skip + top])

        if customer_id == BULK_CUSTOMER_ID:
            return page([r for r in bulk_rows()
                         if start.isoformat() <= r["Date"] <= end.isoformat()])
        if customer_id == SAMPLE_CUSTOMER_ID:
            if (top, skip) != (MAX_RECORDS, 0) or channel is not None:
                return page(self._sample_response(start, end, engagement, raw=False))
            return self._sample_response(start, end, engagement)
        customer = self._by_id.get(customer_id)
        if customer is None or not customer.known_to(self.name):
            return json_response([])  # unknown customers simply have no interactions
        if engagement:
            return page([r for r in engagement_rows(customer)
                         if start.isoformat() <= r["SentDateTime"][:10] <= end.isoformat()])
        return page([r for r in legacy_rows(customer)
                     if start.isoformat() <= r["Date"] <= end.isoformat()])

    def _sample_response(self, start, end, engagement, raw=True):
        """The sample's rows in the range: a Response, or the list when raw is false."""
        rows = [r for r in self._sample.parsed
                if start.isoformat() <= r["Date"] <= end.isoformat()]
        if engagement:
            rows = [engagement_row(
                SAMPLE_CUSTOMER_ID, r["CampaignID"], r["ActionID"], r["ChannelID"],
                r["TemplateID"], r["RecipientGroupID"], r["Date"] + "T00:00:00Z",
                {EVENT_DELIVERED, r["EventID"]}, False) for r in rows]
            return rows if not raw else json_response(rows)
        return rows if not raw else self._sample.response_for(rows)



# --- the sandbox's self-test (tests/sandbox_selftest.t) ---------------------------------

_SELFTEST_AUTH = {"X-API-KEY": "sandbox-optimove-key"}
_SELFTEST_BASE = "/optimove/current/customers/GetCustomerChannelInteractions?"
# The documented 429 body, written out here rather than read from RATE_LIMIT_BODY.
_SELFTEST_429 = {"status": 429, "error": "Too Many Requests",
                 "message": "You have exceeded the rate limit for this API group. "
                            "Please retry later."}


def _selftest_path(customer):
    return (f"{_SELFTEST_BASE}CustomerID={customer.optimove_id}"
            "&StartDate=2025-01-01&EndDate=2026-10-31")


def _check_sample_range(t, c):
    narrow = c.get(f"{_SELFTEST_BASE}CustomerID=841231&StartDate=2018-08-21&EndDate=2018-08-31",
                   _SELFTEST_AUTH).json()
    t.eq(narrow, Fixture("optimove_sample.json").parsed[1:],
         "optimove: sample rows are filtered by the date range")


def _check_answers(t, c):
    base, auth, c1 = _SELFTEST_BASE, _SELFTEST_AUTH, data.BY_ID[1]
    rows = c.get(f"{base}CustomerID={c1.optimove_id}&StartDate=2025-01-01&EndDate=2025-06-30",
                 auth).json()
    t.ok(rows and all("2025-01-01" <= r["Date"] <= "2025-06-30" for r in rows)
         and set(rows[0]) == {"Date", "CampaignID", "RecipientGroupID", "ActionID",
                              "ChannelID", "TemplateID", "EventID"},
         "optimove: rows in the inclusive date range with the documented fields")
    t.eq(c.get(f"{base}CustomerID={c1.optimove_id}&StartDate=2025-01-01", auth).status, 400,
         "optimove: missing EndDate -> 400")
    t.eq(c.get(f"{base}customerid={c1.optimove_id}&StartDate=2025-01-01&EndDate=2025-02-01",
               auth).status, 400, "optimove: parameter names are case-sensitive")
    t.eq(c.get(f"{base}CustomerID=999999&StartDate=2025-01-01&EndDate=2026-10-31", auth).json(),
         [], "optimove: unknown customer -> []")
    c.control("POST", "/config", {"engagement_format": True})
    new = c.get(f"{base}CustomerID={c1.optimove_id}&StartDate=2025-01-01&EndDate=2026-10-31",
                auth).json()
    t.ok(new and "SentDateTime" in new[0] and "Opened" in new[0],
         "optimove: engagement_format switches to the engagement-metrics shape", new[:1])
    c.control("POST", "/config", {"engagement_format": False})


def _check_window(t, c):
    import time
    c.reset()
    path, auth = _selftest_path(data.BY_ID[1]), _SELFTEST_AUTH
    statuses = [c.get(path, auth).status for _ in range(50)]
    t.eq(statuses, [200] * 50, "optimove: 50 requests in a 10 s window are accepted")
    limited = c.get(path, auth)
    t.ok(limited.status == 429 and limited.json() == _SELFTEST_429
         and limited.headers.get("Retry-After") is None,
         "optimove: the 51st -> 429 with the documented body and no Retry-After",
         (limited.status, limited.body, dict(limited.headers)))
    c.control("POST", "/config", {"rate_limits": {"optimove": "3/1s"}})
    first = [c.get(path, auth).status for _ in range(4)]
    time.sleep(1.05)
    after = c.get(path, auth).status
    t.eq((first, after), ([200, 200, 200, 429], 200),
         "rate limit 3/1s: the 4th is refused, the window slides after 1 s")
    c.reset()
    t.eq(c.control("GET", "/config")["rate_limits"]["optimove"], "50/10s",
         "reset restores Optimove's documented 50/10s")


def _check_faults(t, c):
    c.reset()
    c.fault(vendor="optimove", kind="429", retry_after="2")
    r = c.get(_selftest_path(data.BY_ID[1]), _SELFTEST_AUTH)
    t.ok(r.status == 429 and r.headers.get("Retry-After") == "2" and r.json() == _SELFTEST_429,
         "fault 429 carries Retry-After and the vendor's 429 body", (r.status, dict(r.headers)))


def _check_paging(t, c):
    c.reset()
    bulk = f"{_SELFTEST_BASE}CustomerID=bulk-25000&StartDate=2025-01-01&EndDate=2025-12-31"
    sizes = [len(c.get(bulk + extra, _SELFTEST_AUTH).json())
             for extra in ("", "&$top=10000&$skip=10000", "&%24top=10000&%24skip=20000",
                           "&$top=50000")]
    t.eq(sizes, [10000, 10000, 5000, 10000],
         "optimove: at most 10,000 records an answer; $top/$skip page through 25,000")


SELFTEST = SelfTest(
    auth=_SELFTEST_AUTH,
    bad_auth={"X-API-KEY": "wrong-key"},
    path=_selftest_path,
    samples=(("optimove", f"{_SELFTEST_BASE}CustomerID=841231&StartDate=2018-08-19"
              "&EndDate=2018-09-19", "optimove_sample.json"),),
    checks=(_check_sample_range, _check_answers, _check_window, _check_faults, _check_paging),
)
