"""Which50: GET ~/contacts/{contactId}/communications (docs/vendors.md#which50).

An ASP.NET Web API: `~` is the application root, so with WHICH50_BASE_URL =
http://HOST/which50/Which50API the request is /which50/Which50API/contacts/{id}/communications.
`contactId` is an "encrypted" id (standard base64 here, so '/', '+' and '=' arrive
percent-encoded). No paging: all communications in one array.

`Occurred` is a .NET DateTimeOffset: 7 fractional digits and a numeric offset. Which50
is Australian, so most rows are in Sydney time (+10:00, or +11:00 in daylight saving);
sandbox assumption: a tenth of rows come from systems that store UTC (+00:00).
"""

import base64
import datetime as dt
import functools
from dataclasses import dataclass
from xml.sax.saxutils import escape

import data
from prng import Rng
from responses import XML_TYPE, Response, dump_json, json_response
from vendors.base import (CrmColumn, Fixture, Registration, SelfTest, Setting, TimelineBranch,
                          Vendor, check_bearer)

# The sandbox's public test credential (Bearer, a sandbox assumption: see check_bearer).
API_KEY = "sandbox-which50-key"


def _draw_contact_id(rng, customer_id, taken):
    # Which50 ids are "encrypted" opaque strings; standard base64 of random bytes gives
    # the '/', '+' and '=' that clients must percent-encode in a path segment.
    size = 30 if customer_id % 4 == 0 else 32  # 40 chars unpadded, or 44 with '='
    while True:
        text = base64.b64encode(rng.token_bytes(size)).decode("ascii")
        if customer_id % 4 != 1 or ("/" in text and "+" in text):
            return text


REGISTRATION = Registration(
    name="which50", order=5, env_prefix="WHICH50", unknown_offset=15,
    make=lambda settings: Which50(),
    settings=(Setting("base_url", "${SANDBOX_URL}/which50/Which50API"),
              Setting("api_key", API_KEY, secret=True)),
    crm=(CrmColumn("which50_contact_id", _draw_contact_id),),  # often with / + =
    timeline=(TimelineBranch("which50_interactions", "w",
                             "w.contact_id = crm.which50_contact_id"),),
    differential=(dict(
        name="which50_interactions", keys={"contact_id": "which50_contact_id"},
        time="occurred_at", text=("channel", "status", "subject", "interaction", "campaign_name"),
        ints=("campaign_id", "communication_id"), group=("channel", "status", "campaign_id"),
        time_pushed=False,
        extras=({"contact_id": "sample"}, {"contact_id": "bm9ib2R5IGF0IGFsbA=="}),
        unknown={"contact_id": "dW5rbm93bg=="}),),
    secrets_queries=("SELECT * FROM which50_interactions('sample');",),
    stress_queries=(
        "SELECT count(*) FROM which50_interactions "
        "WHERE contact_id IN (SELECT which50_contact_id FROM crm WHERE id BETWEEN {a} AND {b})",
        "SELECT crm.id, count(w.contact_id) FROM crm JOIN which50_interactions w "
        "ON w.contact_id = crm.which50_contact_id WHERE crm.id BETWEEN {a} AND {b} "
        "GROUP BY crm.id"),
)

SAMPLE_CONTACT_ID = "sample"

CAMPAIGN_IDS = tuple(2041 + 17 * c.index for c in data.CAMPAIGNS)

_CAMPAIGN_KINDS = (("Email", 50), ("SMS", 25), ("LandingPage", 12), ("Event", 6),
                   ("Competition", 7))
_STATUSES = {
    "Email": (("Sent", 10), ("Delivered", 30), ("Opened", 35), ("Clicked", 15),
              ("Bounced", 5), ("Unsubscribed", 5)),
    "SMS": (("Sent", 15), ("Delivered", 75), ("Failed", 10)),
    "LandingPage": (("Visited", 1),),
    "Event": (("Registered", 50), ("Attended", 35), ("Cancelled", 15)),
    "WebForm": (("Submitted", 1),),
    "Competition": (("Entered", 9), ("Won", 1)),
}
_FORMS = ("Newsletter Sign-up", "Update Your Preferences", "Contact Us")
_PAGES = ("Store Locator", "Gift Card Balance", "Loyalty Program Overview")

_XML_NS = ('xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
           'xmlns="http://schemas.datacontract.org/2004/07/W50API.Models.DTO.Contacts"')
_XML_SYSTEM_NS = "http://schemas.datacontract.org/2004/07/System"


def _first_sunday(year, month):
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7)


def sydney_offset_minutes(moment):
    """Australia/Sydney's UTC offset at a UTC moment: +11:00 (AEDT) from the first
    Sunday of October 02:00 AEST to the first Sunday of April 03:00 AEDT, else +10:00."""
    year = moment.year
    dst_end = dt.datetime.combine(_first_sunday(year, 4), dt.time(3),
                                  dt.timezone.utc) - dt.timedelta(hours=11)
    dst_start = dt.datetime.combine(_first_sunday(year, 10), dt.time(2),
                                    dt.timezone.utc) - dt.timedelta(hours=10)
    return 660 if moment < dst_end or moment >= dst_start else 600


@dataclass(frozen=True)
class Communication:
    id: int
    interaction: str
    name: str
    occurred_utc: dt.datetime  # with the 7th-digit ticks in `ticks`
    ticks: int  # 100 ns units within the second, 0..9999999
    offset_minutes: int
    status: str
    campaign_id: int  # 0 when not part of a campaign
    campaign_name: str | None  # None (JSON null) when not part of a campaign

    def occurred_json(self):
        """.NET DateTimeOffset in JSON: local time, 7 fractional digits, offset."""
        local = self.occurred_utc + dt.timedelta(minutes=self.offset_minutes)
        sign = "+" if self.offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(self.offset_minutes), 60)
        return (local.strftime("%Y-%m-%dT%H:%M:%S") + f".{self.ticks:07d}"
                + f"{sign}{hours:02d}:{minutes:02d}")

    def occurred_xml_utc(self):
        """DataContract form: the UTC instant with Z, the offset in a sibling element."""
        return self.occurred_utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{self.ticks:07d}Z"

    def as_json(self):
        return {"Id": self.id, "Interaction": self.interaction, "Name": self.name,
                "Occurred": self.occurred_json(), "Status": self.status,
                "CampaignId": self.campaign_id, "CampaignName": self.campaign_name}

    def as_xml(self):
        # DataContractSerializer writes members in alphabetical order.
        name = (f"<CampaignName>{escape(self.campaign_name)}</CampaignName>"
                if self.campaign_name is not None else '<CampaignName i:nil="true"/>')
        return ("<ContactInteraction>"
                f"<CampaignId>{self.campaign_id}</CampaignId>{name}"
                f"<Id>{self.id}</Id>"
                f"<Interaction>{escape(self.interaction)}</Interaction>"
                f"<Name>{escape(self.name)}</Name>"
                f'<Occurred xmlns:d3p1="{_XML_SYSTEM_NS}">'
                f"<d3p1:DateTime>{self.occurred_xml_utc()}</d3p1:DateTime>"
                f"<d3p1:OffsetMinutes>{self.offset_minutes}</d3p1:OffsetMinutes>"
                "</Occurred>"
                f"<Status>{escape(self.status)}</Status>"
                "</ContactInteraction>")


@functools.lru_cache(maxsize=512)
def communications(customer):
    """All of the contact's communications, oldest first (ids increase with time)."""
    rng = Rng("which50", customer.id)
    # The shared generator draws daytime wall-clock hours; read them as Sydney time.
    since = customer.active_since()
    moments = sorted(
        ((max(since, moment - dt.timedelta(
            minutes=sydney_offset_minutes(moment - dt.timedelta(hours=10)))), campaign)
         for moment, campaign in data.draw_moments(rng, customer,
                                                   customer.interaction_count(rng))),
        key=lambda pair: pair[0])
    out = []
    for index, (moment, campaign) in enumerate(moments):
        if campaign is not None:
            kind = rng.weighted(_CAMPAIGN_KINDS)
            name = {
                "Email": campaign.email_subject,
                "SMS": f"{campaign.name} - SMS",
                "LandingPage": f"{campaign.name} - Landing Page",
                "Event": f"{campaign.name}: VIP Preview Night",
                "Competition": f"{campaign.name}: Win a $500 Gift Card",
            }[kind]
            campaign_id, campaign_name = CAMPAIGN_IDS[campaign.index], campaign.name
        else:
            kind = rng.weighted((("WebForm", 6), ("LandingPage", 4)))
            name = rng.choice(_FORMS if kind == "WebForm" else _PAGES)
            # Sandbox assumption: CampaignId is a non-nullable int (0 = none) while
            # CampaignName, a .NET string, is null.
            campaign_id, campaign_name = 0, None
        offset = 0 if rng.chance(0.1) else sydney_offset_minutes(moment)
        out.append(Communication(
            id=3100000 + customer.id * 100 + index, interaction=kind, name=name,
            occurred_utc=moment, ticks=rng.below(10_000_000), offset_minutes=offset,
            status=rng.weighted(_STATUSES[kind]), campaign_id=campaign_id,
            campaign_name=campaign_name))
    return tuple(out)


def wants_json(request):
    """Sandbox assumption: JSON only when Accept names a JSON type, else XML.

    ASP.NET's own negotiation would also pick JSON for a missing Accept or */*; the
    sandbox is stricter so that a client which forgets `Accept: application/json`
    (the documented way to ask for JSON) is caught by its tests.
    """
    accept = request.headers.get("Accept") if request is not None else None
    return accept is not None and "json" in accept.lower()


def xml_response(text, status=200):
    return Response(status, text.encode("utf-8"), XML_TYPE)


class Which50(Vendor):
    name = "which50"
    auth_challenge = "Bearer"

    def __init__(self):
        self._by_id = data.index_by("which50_contact_id")
        self._sample_json = Fixture("which50_sample.json")
        self._sample_xml = Fixture("which50_sample.xml")

    def route(self, segments):
        # ASP.NET routing ignores case in the literal parts of a route.
        if (len(segments) == 4 and segments[0].lower() == "which50api"
                and segments[1].lower() == "contacts"
                and segments[3].lower() == "communications"):
            return self.get_communications
        return None

    def authenticate(self, headers):
        # Sandbox assumption: Which50 does not document its scheme; Bearer it is.
        return check_bearer(headers, API_KEY)

    def error(self, status, message, request=None):
        # Sandbox assumption: ASP.NET Web API's default HttpError body, in the
        # negotiated format.
        if request is not None and not wants_json(request):
            return xml_response(f"<Error><Message>{escape(message)}</Message></Error>", status)
        return json_response({"Message": message}, status)

    def no_route(self, request):
        # ASP.NET Web API's stock answer for a URI no controller matches.
        return self.error(404, "No HTTP resource was found that matches the request URI "
                               f"'https://app.which50.com{request.raw_path}'.", request)

    def unauthorized(self, auth, request=None):
        # ASP.NET Web API's stock message for a request its [Authorize] filter refuses.
        response = self.error(401, "Authorization has been denied for this request.", request)
        response.headers.append(("WWW-Authenticate", self.auth_challenge))
        return response

    def oversized_parts(self):
        return b"[", dump_json(self._sample_json.parsed[0]), b"]"

    def get_communications(self, request):
        contact_id = request.segments[2]
        as_json = wants_json(request)
        if contact_id == SAMPLE_CONTACT_ID:
            if as_json:
                return Response(200, self._sample_json.raw)
            return xml_response(self._sample_xml.raw.decode("utf-8"))
        customer = self._by_id.get(contact_id)
        if customer is None or not customer.known_to(self.name):
            return self.error(404, "The specified Contact was not found.", request)
        items = communications(customer)
        if as_json:
            return json_response([c.as_json() for c in items])
        return xml_response(f"<ArrayOfContactInteraction {_XML_NS}>"
                            + "".join(c.as_xml() for c in items)
                            + "</ArrayOfContactInteraction>")


# --- the sandbox's self-test (tests/sandbox_selftest.t) ---------------------------------

_SELFTEST_AUTH = {"Authorization": "Bearer sandbox-which50-key"}


def _selftest_path(customer):
    from vendors.base import quote_segment as q
    return f"/which50/Which50API/contacts/{q(customer.which50_contact_id)}/communications"


def _check_xml_sample(t, c):
    xml = c.get("/which50/Which50API/contacts/sample/communications",
                {**_SELFTEST_AUTH, "Accept": "application/xml"})
    t.ok(xml.status == 200 and xml.body == Fixture("which50_sample.xml").raw
         and xml.headers["Content-Type"].startswith("application/xml"),
         "which50: Accept: application/xml gets the documented XML sample", xml.body[:200])


def _check_answers(t, c):
    import re
    auth = {**_SELFTEST_AUTH, "Accept": "application/json"}
    slashy = next(customer for customer in data.CUSTOMERS if customer.known_to("which50")
                  and all(ch in customer.which50_contact_id for ch in "/+="))
    reply = c.get(_selftest_path(slashy), auth)
    rows = reply.json() if reply.status == 200 else []
    t.ok(rows and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d",
                                   r["Occurred"]) for r in rows),
         f"which50: id with '/', '+', '=' percent-encoded works ({slashy.which50_contact_id})",
         (reply.status, reply.body[:200]))
    t.ok(sum(not r["Occurred"].endswith("+00:00") for r in rows) > len(rows) / 2,
         "which50: most Occurred values carry an Australian offset")
    t.eq(c.get(_selftest_path(data.BY_ID[5]), auth).status, 404,
         "which50: unknown contact -> 404")


SELFTEST = SelfTest(
    auth=_SELFTEST_AUTH,
    bad_auth={"Authorization": "Bearer nope"},
    headers={"Accept": "application/json"},
    path=_selftest_path,
    samples=(("which50", "/which50/Which50API/contacts/sample/communications",
              "which50_sample.json"),),
    checks=(_check_xml_sample, _check_answers),
)
