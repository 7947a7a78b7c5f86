"""What every sandbox vendor shares: the parsed request, auth results, fixtures, helpers,
and the Registration each vendor module declares.

A vendor is a subclass of Vendor that knows its routes, how it authenticates, the
shape of its error bodies and of its own data. server.py does everything generic
(logging, faults, rate limits, gzip, keep-alive) around it. Its module also declares
REGISTRATION (see Registration): its name, its environment variables and which of
them are secret. vendors/__init__.py finds every module that declares one, and the
sandbox, the tests and the bench read that registry instead of naming vendors.
"""

import base64
import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from responses import HTML_TYPE, NGINX_404, Response, dump_json, json_response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

_INT_RE = re.compile(r"[+-]?[0-9]+")


@dataclass
class Request:
    """One vendor request, already split and percent-decoded by the server."""

    method: str
    raw_path: str  # as received, without the query string
    raw_query: str  # as received, "" when none
    segments: list  # percent-decoded path segments after the vendor prefix
    params: dict  # query parameters (names case-sensitive), first value wins
    headers: object  # http.client.HTTPMessage: case-insensitive .get()
    body: bytes = b""  # the request body (token endpoints' JSON)

    def param(self, name):
        return self.params.get(name)


@dataclass(frozen=True)
class AuthResult:
    state: str  # "ok", "bad" or "missing"
    # Identifies the credential for per-credential rate limits; a hash, never the secret.
    key: str = ""


MISSING = AuthResult("missing")
BAD = AuthResult("bad")


def accepted(secret):
    return AuthResult("ok", hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16])


def split_authorization(headers):
    """('basic', 'dXNlcjpwYXNz') from an Authorization header, or None when absent.

    The scheme is case-insensitive (RFC 9110 section 11.1); the credentials are not.
    """
    value = headers.get("Authorization")
    if value is None:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    return scheme.lower(), credentials.strip()


def check_bearer(headers, expected):
    """Authorization: Bearer <expected>, as Alpharun documents (and Which50, by assumption)."""
    auth = split_authorization(headers)
    if auth is None:
        return MISSING
    scheme, creds = auth
    return accepted(creds) if scheme == "bearer" and creds == expected else BAD


def decode_basic(credentials):
    """'user:password' from Basic credentials, or None if they are not valid base64."""
    try:
        return base64.b64decode(credentials, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def parse_int(text):
    """An int from plain ASCII digits (int() would also take '1_0' or Arabic digits)."""
    if text is None or not _INT_RE.fullmatch(text):
        return None
    return int(text)


class Fixture:
    """A vendor's documentation sample, stored byte for byte under fixtures/."""

    def __init__(self, filename):
        self.raw = (FIXTURES / filename).read_bytes()
        self.parsed = json.loads(self.raw) if filename.endswith(".json") else None

    def response_for(self, obj, status=200):
        """The fixture's own bytes when `obj` is exactly the sample, else fresh JSON.

        Handlers build the answer from the parsed sample (paging, filters); when nothing
        changed, clients get the page's text verbatim, whitespace and all.
        """
        if obj == self.parsed:
            return Response(status, self.raw)
        return json_response(obj, status)


def iso_ms_z(moment):
    """2017-11-02T17:49:19.049Z (CXengage, Alpharun)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def post(handler):
    """Marks a route handler as a POST endpoint (token exchanges)."""
    handler.methods = ("POST",)
    return handler


def json_body(request):
    """The request body as a JSON object, or None."""
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


class Vendor:
    """Base class: subclasses set `name` and implement route() and authenticate()."""

    name = ""
    # WWW-Authenticate value for 401 answers; None for header-key schemes (sandbox
    # assumption: no vendor documents its challenge, RFC 9110 asks for one).
    auth_challenge = None

    def route(self, segments):
        """The bound handler method for these decoded path segments, or None (404)."""
        raise NotImplementedError

    def authenticate(self, headers):
        """An AuthResult for the request headers."""
        raise NotImplementedError

    def authenticate_request(self, request):
        """An AuthResult for the whole request: token endpoints read their body instead."""
        return self.authenticate(request.headers)

    def error(self, status, message, request=None):
        """The vendor's error body for `status`."""
        raise NotImplementedError

    def no_route(self, request):
        """The 404 for a path under the vendor's prefix that is no endpoint: what the host's
        server or framework says, not an API answer (default: nginx's HTML page)."""
        return Response(404, NGINX_404, HTML_TYPE)

    def unauthorized(self, auth, request=None):
        """The 401 answer for missing or wrong credentials (never echoing them)."""
        message = ("Authentication credentials were not provided" if auth.state == "missing"
                   else "Invalid authentication credentials")
        response = self.error(401, message, request)
        if self.auth_challenge:
            response.headers.append(("WWW-Authenticate", self.auth_challenge))
        return response

    def too_many_requests(self, request=None):
        """The vendor's 429 answer when the sandbox's rate limiter rejects a request.

        Sandbox assumption: no Retry-After header from the limiter for any vendor
        (Optimove documents none; the others document no 429 at all). The `429` fault
        kind adds Retry-After when a test wants one.
        """
        return self.error(429, "Too Many Requests", request)

    def oversized_parts(self):
        """(prefix, item, suffix) for an oversized but valid body of the vendor's shape."""
        raise NotImplementedError

    def decorate(self, response):
        """Add headers every response from this vendor carries (default: none)."""
        return response


def error_json(obj, status, headers=None):
    """An error Response; kept separate so vendors read `return error_json(...)`."""
    return Response(status, dump_json(obj), headers=list(headers or ()))


# --- the registration ------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """One variable examples/sandbox.env exports for the vendor: <PREFIX>_<KEY>.

    `key` is the table's setting as interactions_settings names it ("password"). A secret
    is a setting the extension marks IX_SETTING_SECRET: no output may ever hold it, nor
    the forms it travels in, which the flags below declare (tests/registry.t checks them
    against the extension).
    """

    key: str
    value: str  # ${SANDBOX_URL} stands for the sandbox's URL
    secret: bool = False
    basic_user: str = ""  # the secret travels as Basic base64(<that setting>:secret)
    md5: bool = False  # ... as the lowercase MD5 hex of the secret, not the secret itself
    # Not exported but commented out in sandbox.env, after this comment (written once for
    # consecutive settings of one alternative, such as a key and its secret).
    alternative: str = ""


@dataclass(frozen=True)
class CrmColumn:
    """One column the vendor adds to the demo CRM table (examples/crm.sql, data.py): the id
    a customer has at this vendor, which the joins, the timeline and the tests read.

    `draw(rng, customer_id, taken)` returns the customer's value (TEXT) from the customer's
    prng.Rng, after the CRM's own columns and the columns of the vendors registered before
    this one, so adding a vendor changes no existing value; `taken` holds the values drawn
    so far and `reserved`, for a column that must be unique.
    """

    name: str  # the crm column: optimove_id
    draw: Callable
    reserved: tuple = ()  # values no customer may get (the documentation sample's id)


@dataclass(frozen=True)
class TimelineBranch:
    """One UNION ALL branch of the customer_timeline view (sql/timeline.sql, generated by
    tools/timeline.py): `FROM crm JOIN <table> AS <alias> ON <on>`.

    `on` joins the vendor table to a crm column (and may add what the table requires, such
    as a lower date bound); `subject` is the expression for the subject column; `note` is
    a sentence for the file's header when the branch needs explaining.
    """

    table: str
    alias: str
    on: str
    subject: str = ""  # default: <alias>.subject
    note: str = ""


@dataclass(frozen=True)
class Registration:
    """What the sandbox, the tests and the bench need to know about one vendor."""

    name: str  # the path prefix /<name>/, the vendor in interactions_settings, faults, limits
    order: int  # where it is listed (the README's order)
    env_prefix: str  # CAPILLARY: its variables are CAPILLARY_<KEY>
    make: Callable  # make(server Settings) -> the Vendor
    settings: tuple  # Setting, in sandbox.env's order
    unknown_offset: int  # customer n is unknown to it when (n + offset) % 20 == 0 (data.py)
    rate_limit: str = None  # the sandbox's limit after a reset: the documented one, if any
    extra_secrets: tuple = ()  # other secret strings the sandbox accepts (documented test vectors)
    crm: tuple = ()  # CrmColumn: the vendor's id columns in the demo CRM table
    timeline: tuple = ()  # TimelineBranch: the vendor's part of sql/timeline.sql
    # The differential test's description of each of the vendor's tables: keyword arguments
    # of tests/differential/generator.py's Spec (see there); a table without one fails there.
    differential: tuple = ()
    # tests/secrets.t: one statement per table, each sending a request for a known customer
    # (the table name right after its first FROM; the test runs it on a copy of that table
    # with echoing error answers queued, one answer per statement).
    secrets_queries: tuple = ()
    # tests/stress.t: statements over the demo CRM's customers crm.id BETWEEN {a} AND {b} (the
    # test fills in its ranges): IN lists, some cut short by LIMIT, and joins from crm.
    stress_queries: tuple = ()

    def tables(self):
        """The vendor's tables: those its differential specs describe (the differential test
        fails on a table without one; tests/registry.t checks them against the extension)."""
        return tuple(spec["name"] for spec in self.differential)

    def variable(self, key):
        return f"{self.env_prefix}_{key.upper()}"

    def exported(self):
        """The settings sandbox.env exports (not the commented-out alternatives)."""
        return tuple(s for s in self.settings if not s.alternative)

    def basic_tokens(self):
        """The Basic credentials the declared settings make: base64(user:secret), or
        base64(user:md5 hex of secret) when the secret travels as its MD5."""
        env = self.sandbox_env()
        tokens = set()
        for setting in self.settings:
            if setting.secret and setting.basic_user:
                secret = env[self.variable(setting.key)]
                if setting.md5:
                    secret = hashlib.md5(secret.encode("utf-8")).hexdigest()
                user = env[self.variable(setting.basic_user)]
                tokens.add(base64.b64encode(f"{user}:{secret}".encode("utf-8")).decode("ascii"))
        return frozenset(tokens)

    def secret_forms(self, env):
        """Every form of this vendor's secrets in env ({variable: value}) that must never appear
        in an output: the value, its MD5 hex, and for the one that travels as Basic both
        base64(user:value) and base64(user:md5), and the hex of each of those (the scrubber
        knows that form too, ext/auth/scrub.h). More forms than travel, on purpose: a bug
        that sends the wrong one must not leak it either."""
        forms = set()
        for setting in self.settings:
            value = env.get(self.variable(setting.key)) if setting.secret else None
            if not value:
                continue
            md5 = hashlib.md5(value.encode("utf-8")).hexdigest()
            if len(value) >= 4:  # a one-letter test value would be found in any output
                forms.add(value)
            forms.add(md5)
            user = env.get(self.variable(setting.basic_user)) if setting.basic_user else None
            if user:
                for secret in (value, md5):
                    forms.add(base64.b64encode(f"{user}:{secret}".encode("utf-8")).decode("ascii"))
        return forms | {form.encode("utf-8").hex() for form in forms}

    def sandbox_env(self, sandbox_url=None):
        """{variable: value} of every setting, alternatives included, the URL filled in."""
        out = {}
        for setting in self.settings:
            value = setting.value
            if sandbox_url is not None:
                value = value.replace("${SANDBOX_URL}", sandbox_url)
            out[self.variable(setting.key)] = value
        return out


# --- the self-test ---------------------------------------------------------------------

@dataclass(frozen=True)
class SelfTest:
    """What tests/sandbox_selftest.t checks for one vendor, declared as SELFTEST in its module.

    The self-test runs the generic checks (credentials, samples, faults, the log...) on every
    registered vendor with these requests, then the vendor's own `checks`. Credentials here
    are built from the documented recipe, not from the registration, so a registration that
    gets the recipe wrong fails.
    """

    auth: dict  # headers with good credentials
    bad_auth: dict  # headers with wrong ones (the mistake the vendor's docs warn about)
    path: Callable  # path(customer) -> "/<name>/..." a request for that (known) customer
    # (name, path, fixture file name): each served verbatim with `auth`.
    samples: tuple = ()
    headers: dict = field(default_factory=dict)  # sent with every request, credentials or not
    checks: tuple = ()  # check(t, c): the vendor's own assertions (Tap, Client of the .t)

    def good(self):
        return {**self.headers, **self.auth}

    def bad(self):
        return {**self.headers, **self.bad_auth}


def from_table(statement):
    """The table a statement reads first: the name right after its first FROM."""
    match = re.search(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", statement, re.IGNORECASE)
    return match.group(1) if match else None


def quote_segment(text):
    """`text` percent-encoded for one path segment ('/' too)."""
    return urllib.parse.quote(text, safe="")
