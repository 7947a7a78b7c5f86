#!/usr/bin/python3
"""TAP self-test of the sandbox (tests/sandbox/server.py); run with `prove -v tests/sandbox_selftest.t`.

Starts the sandbox on a free port with a port file and a request log in a temporary
directory, drives it with urllib / http.client (a timeout on every request), and always
stops it again. Checks auth per vendor, the verbatim documentation samples, paging,
limits, Optimove's sliding window, faults, gzip, keep-alive counting, the log (and
that no credential ever reaches it), reset, and the generated examples/ files.
"""

import sys

sys.dont_write_bytecode = True

import base64  # noqa: E402
import concurrent.futures  # noqa: E402
import gzip  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "tests" / "sandbox"
FIXTURES = SANDBOX / "fixtures"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TIMEOUT = 5

sys.path.insert(0, str(SANDBOX))
import credentials  # noqa: E402
import data  # noqa: E402
import vendors  # noqa: E402
from vendors import capillary, cxengage  # noqa: E402

TENANT = cxengage.TENANT_ID
OPTIMOVE_429 = {"status": 429, "error": "Too Many Requests",
                "message": "You have exceeded the rate limit for this API group. Please retry later."}


# After a reset: each vendor's documented limit, or none (the registry's declarations).
DEFAULT_LIMITS = {r.name: r.rate_limit for r in vendors.REGISTRATIONS}


def b64(text):
    return base64.b64encode(text.encode()).decode()


# Built here from the documented recipe, independently of credentials.py.
CAP_MD5 = hashlib.md5(b"sandbox-pass").hexdigest()
AUTH = {
    "capillary": {"Authorization": "Basic " + b64("sandbox.till:" + CAP_MD5)},
    "optimove": {"X-API-KEY": "sandbox-optimove-key"},
    "cxengage": {"Authorization": "Basic " + b64("sandbox-cx-user:sandbox-cx-pass")},
    "alpharun": {"Authorization": "Bearer sandbox-alpharun-token"},
    "which50": {"Authorization": "Bearer sandbox-which50-key", "Accept": "application/json"},
}
BAD_AUTH = {
    # The plain password instead of its MD5: exactly the mistake the docs warn about.
    "capillary": {"Authorization": "Basic " + b64("sandbox.till:sandbox-pass")},
    "optimove": {"X-API-KEY": "wrong-key"},
    "cxengage": {"Authorization": "Bearer sandbox-cx-token"},  # scheme must be Token
    "alpharun": {"Authorization": "Bearer nope"},
    "which50": {"Authorization": "Bearer nope", "Accept": "application/json"},
}

C1, C2, C3 = data.BY_ID[1], data.BY_ID[2], data.BY_ID[3]
W50_SLASHY = next(c for c in data.CUSTOMERS if c.known_to("which50")
                  and all(ch in c.which50_contact_id for ch in "/+="))


def q(text):
    return urllib.parse.quote(text, safe="")


PATHS = {  # a known customer's request per vendor
    "capillary": f"/capillary/v2/customers/interaction?identifierName=mobile&identifierValue={C1.mobile}",
    "optimove": ("/optimove/current/customers/GetCustomerChannelInteractions"
                 f"?CustomerID={C1.optimove_id}&StartDate=2025-01-01&EndDate=2026-10-31"),
    "cxengage": f"/cxengage/v1/tenants/{TENANT}/contacts/{C1.cxengage_contact_id}/interactions",
    "alpharun": f"/alpharun/api/v1/contacts/{C1.alpharun_contact_id}/customer-interactions",
    "which50": f"/which50/Which50API/contacts/{q(C1.which50_contact_id)}/communications",
}


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, condition, name, diag=None):
        self.count += 1
        print(f"{'ok' if condition else 'not ok'} {self.count} - {name}", flush=True)
        if not condition:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print(f"#   {line}")
        return condition

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}")


class Reply:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is a fault under test, never something to follow


class Client:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(_NoRedirect)

    def call(self, method, path, headers=None, body=None, timeout=TIMEOUT):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers=dict(headers or {}))
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=timeout) as r:
                return Reply(r.status, r.headers, r.read(), time.monotonic() - started)
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.headers, e.read(), time.monotonic() - started)

    def get(self, path, headers=None, **kw):
        return self.call("GET", path, headers, **kw)

    def control(self, method, route, body=None):
        reply = self.call(method, "/_sandbox" + route, {"Content-Type": "application/json"}, body)
        assert reply.status == 200, (route, reply.status, reply.body)
        return reply.json()

    def fault(self, **spec):
        return self.control("POST", "/faults", spec)

    def reset(self):
        return self.control("POST", "/reset", {})


def fixture(name):
    return (FIXTURES / name).read_bytes()


def start_server(tmp):
    port_file, log_file = tmp / "port", tmp / "requests.jsonl"
    out = open(tmp / "stdout", "wb")
    err = open(tmp / "stderr", "wb")
    started = time.monotonic()
    proc = subprocess.Popen([PYTHON, str(SANDBOX / "server.py"), "--port", "0",
                             "--port-file", str(port_file), "--log", str(log_file)],
                            stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() - started > 10:
            raise RuntimeError("sandbox did not start: " + (tmp / "stderr").read_text())
        time.sleep(0.01)
    return proc, int(port_file.read_text()), time.monotonic() - started, log_file


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# --- the checks --------------------------------------------------------------------------

def check_start(t, tmp, startup_s, port):
    out = (tmp / "stdout").read_text()
    t.ok(f"sandbox listening on http://127.0.0.1:{port}" in out, "prints the listening line", out)
    t.ok(startup_s < 1.5, f"starts quickly ({startup_s * 1000:.0f} ms to the port file)")


def check_auth(t, c):
    for vendor, path in PATHS.items():
        c.reset()
        ok = c.get(path, AUTH[vendor])
        t.eq(ok.status, 200, f"{vendor}: good credentials -> 200")
        bad = c.get(path, BAD_AUTH[vendor])
        t.ok(bad.status == 401 and bad.headers.get("Content-Type", "").startswith(
            "application/json"), f"{vendor}: wrong credentials -> 401 with a JSON body",
            (bad.status, bad.body))
        accept = {"Accept": "application/json"} if vendor == "which50" else {}
        missing = c.get(path, accept)
        t.eq(missing.status, 401, f"{vendor}: no credentials -> 401")
        t.eq([r["auth"] for r in c.control("GET", "/log")], ["ok", "bad", "missing"],
             f"{vendor}: log records auth ok/bad/missing")
    path = PATHS["capillary"]
    t.eq(c.get(path, {"Authorization": "Basic " + capillary.DOC_BASIC}).status, 200,
         "capillary: the docs' store.server/server123 test vector is accepted")
    t.eq(c.get(path, {"X-CAP-API-OAUTH-TOKEN": "sandbox-cap-oauth-token"}).status, 200,
         "capillary: X-CAP-API-OAUTH-TOKEN is accepted")
    upper = "Basic " + b64("sandbox.till:" + CAP_MD5.upper())
    t.eq(c.get(path, {"Authorization": upper}).status, 401,
         "capillary: an upper-case MD5 is refused (docs: lowercase hex)")
    t.eq(c.get(PATHS["cxengage"], {"Authorization": "Token sandbox-cx-token"}).status, 200,
         "cxengage: 'Authorization: Token' is accepted")


def check_samples(t, c):
    cap = "/capillary/v2/customers/interaction?identifierName=mobile&identifierValue="
    cases = [
        ("capillary envelope A", cap + "919988221100", AUTH["capillary"],
         "capillary_envelope_a.json"),
        ("capillary envelope B", cap + "917385022695", AUTH["capillary"],
         "capillary_envelope_b.json"),
        ("optimove", "/optimove/current/customers/GetCustomerChannelInteractions"
                     "?CustomerID=841231&StartDate=2018-08-19&EndDate=2018-09-19",
         AUTH["optimove"], "optimove_sample.json"),
        ("cxengage", f"/cxengage/v1/tenants/{TENANT}/contacts/"
                     "0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01/interactions",
         AUTH["cxengage"], "cxengage_sample.json"),
        ("alpharun", "/alpharun/api/v1/contacts/alt%3Aext_id%3Asample/customer-interactions",
         AUTH["alpharun"], "alpharun_sample.json"),
        ("which50", "/which50/Which50API/contacts/sample/communications", AUTH["which50"],
         "which50_sample.json"),
    ]
    for name, path, headers, fixture_name in cases:
        reply = c.get(path, headers)
        raw = fixture(fixture_name)
        t.ok(reply.status == 200 and reply.json() == json.loads(raw) and reply.body == raw,
             f"{name}: documentation sample served verbatim", (reply.status, reply.body[:300]))
    narrow = c.get("/optimove/current/customers/GetCustomerChannelInteractions"
                   "?CustomerID=841231&StartDate=2018-08-21&EndDate=2018-08-31",
                   AUTH["optimove"]).json()
    t.eq(narrow, json.loads(fixture("optimove_sample.json"))[1:],
         "optimove: sample rows are filtered by the date range")
    xml = c.get("/which50/Which50API/contacts/sample/communications",
                {"Authorization": AUTH["which50"]["Authorization"], "Accept": "application/xml"})
    t.ok(xml.status == 200 and xml.body == fixture("which50_sample.xml")
         and xml.headers["Content-Type"].startswith("application/xml"),
         "which50: Accept: application/xml gets the documented XML sample", xml.body[:200])


def check_capillary(t, c):
    base = "/capillary/v2/customers/interaction?"
    auth = AUTH["capillary"]
    a = c.get(f"{base}identifierName=mobile&identifierValue={C1.mobile}", auth).json()
    interactions = a["response"]["customer"]["interactions"]["network"][0]["interaction"]
    whatsapp = next(i for i in interactions if i["type"] == "whatsapp")
    t.ok(isinstance(whatsapp["messages"]["message"], dict) and whatsapp["count"] == 1,
         "capillary: customer 1's single WhatsApp message is an object (v1.1 artefact)", whatsapp)
    ids = [m["id"] for i in interactions if i["type"] == "email"
           for m in i["messages"]["message"]]
    t.ok(ids and all(i > 2 ** 32 for i in ids), "capillary: message ids exceed 32 bits")
    b = c.get(f"{base}identifierName=external_id&identifierValue={C3.external_id}", auth).json()
    t.ok(b.get("name") == "capillary" and "interaction" in b and b.get("warnings") == [],
         "capillary: crm id % 3 == 0 answers in envelope B", str(b)[:200])
    msgs = [m for i in b["interaction"] for m in i.get("messageList", [])]
    t.ok(msgs and all(re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d", m["sentDate"]) for m in msgs),
         "capillary: envelope B sentDate is DD-MM-YYYY HH:mm:ss")
    plus = c.get(f"{base}identifierName=email&identifierValue={q(C3.email)}", auth)
    t.ok("+" in C3.email and plus.status == 200 and "interaction" in plus.json(),
         "capillary: a percent-encoded '+' email finds the customer", C3.email)
    unknown = c.get(f"{base}identifierName=external_id&identifierValue=CRM-000020", auth)
    body = unknown.json()["response"]
    t.ok(unknown.status == 200 and body["status"]["code"] == 500
         and body["customer"]["item_status"]["code"] == 1012,
         "capillary: unknown customer -> 200 with status 500 / item_status 1012", body)
    t.eq(c.get(f"{base}identifierName=phone&identifierValue=1", auth).status, 400,
         "capillary: identifierName outside email|mobile|external_id -> 400")
    t.eq(c.get(f"{base}identifierName=mobile", auth).status, 400,
         "capillary: missing identifierValue -> 400")
    only = c.get(f"{base}identifierName=mobile&identifierValue={C1.mobile}&type=email", auth).json()
    kinds = [i["type"] for n in only["response"]["customer"]["interactions"]["network"]
             for i in n["interaction"]]
    t.eq(kinds, ["email"], "capillary: type=email keeps only the email interaction")
    other = c.get(f"{base}identifierName=mobile&identifierValue={C1.mobile}&network=twitter", auth)
    t.eq(other.json()["response"]["customer"]["interactions"]["network"], [],
         "capillary: another network has no interactions")


def check_optimove(t, c):
    base = "/optimove/current/customers/GetCustomerChannelInteractions?"
    auth = AUTH["optimove"]
    rows = c.get(f"{base}CustomerID={C1.optimove_id}&StartDate=2025-01-01&EndDate=2025-06-30",
                 auth).json()
    t.ok(rows and all("2025-01-01" <= r["Date"] <= "2025-06-30" for r in rows)
         and set(rows[0]) == {"Date", "CampaignID", "RecipientGroupID", "ActionID",
                              "ChannelID", "TemplateID", "EventID"},
         "optimove: rows in the inclusive date range with the documented fields")
    t.eq(c.get(f"{base}CustomerID={C1.optimove_id}&StartDate=2025-01-01", auth).status, 400,
         "optimove: missing EndDate -> 400")
    t.eq(c.get(f"{base}customerid={C1.optimove_id}&StartDate=2025-01-01&EndDate=2025-02-01",
               auth).status, 400, "optimove: parameter names are case-sensitive")
    t.eq(c.get(f"{base}CustomerID=999999&StartDate=2025-01-01&EndDate=2026-10-31", auth).json(),
         [], "optimove: unknown customer -> []")
    c.control("POST", "/config", {"engagement_format": True})
    new = c.get(f"{base}CustomerID={C1.optimove_id}&StartDate=2025-01-01&EndDate=2026-10-31",
                auth).json()
    t.ok(new and "SentDateTime" in new[0] and "Opened" in new[0],
         "optimove: engagement_format switches to the engagement-metrics shape", new[:1])
    c.control("POST", "/config", {"engagement_format": False})


def check_optimove_window(t, c):
    c.reset()
    path = PATHS["optimove"]
    statuses = [c.get(path, AUTH["optimove"]).status for _ in range(50)]
    t.eq(statuses, [200] * 50, "optimove: 50 requests in a 10 s window are accepted")
    limited = c.get(path, AUTH["optimove"])
    t.ok(limited.status == 429 and limited.json() == OPTIMOVE_429
         and limited.headers.get("Retry-After") is None,
         "optimove: the 51st -> 429 with the documented body and no Retry-After",
         (limited.status, limited.body, dict(limited.headers)))
    c.control("POST", "/config", {"rate_limits": {"optimove": "3/1s"}})
    first = [c.get(path, AUTH["optimove"]).status for _ in range(4)]
    time.sleep(1.05)
    after = c.get(path, AUTH["optimove"]).status
    t.eq((first, after), ([200, 200, 200, 429], 200),
         "rate limit 3/1s: the 4th is refused, the window slides after 1 s")
    c.reset()
    t.eq(c.control("GET", "/config")["rate_limits"]["optimove"], "50/10s",
         "reset restores Optimove's documented 50/10s")


def check_cxengage(t, c):
    auth = AUTH["cxengage"]
    base = f"/cxengage/v1/tenants/{TENANT}/contacts/{C1.cxengage_contact_id}/interactions"
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
    other_tenant = base.replace(TENANT, "00000000-0000-4000-8000-000000000000")
    t.eq(c.get(other_tenant, auth).status, 404, "cxengage: another tenant -> 404")
    t.eq(c.get(base.replace(C1.cxengage_contact_id, data.BY_ID[13].cxengage_contact_id),
               auth).status, 404, "cxengage: a contact unknown to CXengage -> 404")
    bench = f"/cxengage/v1/tenants/{TENANT}/contacts/bench-100k/interactions"
    last = c.get(f"{bench}?limit=100&page=999", auth).json()
    t.ok(last["total"] == 100000 and len(last["results"]) == 100
         and c.get(f"{bench}?limit=100&page=1000", auth).json()["results"] == [],
         "cxengage: bench-100k has exactly 1000 pages of 100")


def check_alpharun(t, c):
    auth = AUTH["alpharun"]
    base = f"/alpharun/api/v1/contacts/alt%3Aext_id%3A{C2.alpharun_ext_id}/customer-interactions"
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
    by_uuid = c.get(f"/alpharun/api/v1/contacts/{C2.alpharun_contact_id}/customer-interactions"
                    "?limit=100", auth).json()
    t.eq(by_uuid, whole, "alpharun: the UUID and alt:ext_id: address the same contact")
    t.eq(c.get("/alpharun/api/v1/contacts/alt%3Aext_id%3Acust-9/customer-interactions",
               auth).status, 404, "alpharun: a contact unknown to Alpharun -> 404")


def check_which50(t, c):
    auth = AUTH["which50"]
    reply = c.get(f"/which50/Which50API/contacts/{q(W50_SLASHY.which50_contact_id)}/communications",
                  auth)
    rows = reply.json() if reply.status == 200 else []
    t.ok(rows and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d",
                                   r["Occurred"]) for r in rows),
         f"which50: id with '/', '+', '=' percent-encoded works ({W50_SLASHY.which50_contact_id})",
         (reply.status, reply.body[:200]))
    t.ok(sum(not r["Occurred"].endswith("+00:00") for r in rows) > len(rows) / 2,
         "which50: most Occurred values carry an Australian offset")
    t.eq(c.get(f"/which50/Which50API/contacts/{q(data.BY_ID[5].which50_contact_id)}"
               "/communications", auth).status, 404, "which50: unknown contact -> 404")


def check_routing(t, c):
    t.eq(c.get("/capillary/v2/customers/interactionz", AUTH["capillary"]).status, 404,
         "unknown path under a vendor prefix -> 404")
    t.eq(c.get("/nowhere", {}).status, 404, "path outside every vendor -> 404")
    with socket.create_connection(("127.0.0.1", c.port), timeout=TIMEOUT) as s:
        s.sendall(b"GET /which50/Which50API/contacts/../communications HTTP/1.1\r\n"
                  b"Host: x\r\nConnection: close\r\n\r\n")
        head = s.recv(100)
    t.ok(head.startswith(b"HTTP/1.1 400"), "a literal '..' path segment -> 400", head)


def check_faults(t, c):
    c.reset()
    path = PATHS["capillary"]
    auth = AUTH["capillary"]
    c.fault(vendor="capillary", kind="status", status=503, count=2)
    statuses = [c.get(path, auth).status for _ in range(3)]
    t.eq(statuses, [503, 503, 200], "fault status 503 x2, then normal service")
    c.fault(vendor="optimove", kind="429", retry_after="2")
    r = c.get(PATHS["optimove"], AUTH["optimove"])
    t.ok(r.status == 429 and r.headers.get("Retry-After") == "2" and r.json() == OPTIMOVE_429,
         "fault 429 carries Retry-After and the vendor's 429 body", (r.status, dict(r.headers)))
    c.fault(vendor="alpharun", kind="redirect")
    r = c.get(PATHS["alpharun"], AUTH["alpharun"])
    t.ok(r.status == 302 and r.headers.get("Location") == "http://evil.example/steal",
         "fault redirect -> 302 to another host (not followed)")
    c.fault(vendor="capillary", kind="status", status=500, match=C2.mobile)
    t.eq((c.get(path, auth).status,
          c.get(path.replace(C1.mobile, C2.mobile), auth).status), (200, 500),
         "a fault's match selects only requests containing it")

    c.fault(vendor="cxengage", kind="truncate")
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=TIMEOUT)
    conn.request("GET", PATHS["cxengage"], headers=AUTH["cxengage"])
    resp = conn.getresponse()
    try:
        resp.read()
        truncated = False
    except http.client.IncompleteRead as e:
        truncated = len(e.partial) < int(resp.headers["Content-Length"])
    conn.close()
    t.ok(truncated, "fault truncate: fewer bytes than Content-Length, then close")

    c.fault(vendor="cxengage", kind="reset")
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=TIMEOUT)
    try:
        conn.request("GET", PATHS["cxengage"], headers=AUTH["cxengage"])
        conn.getresponse().read()
        broken = False
    except (ConnectionResetError, http.client.IncompleteRead):
        broken = True
    conn.close()
    t.ok(broken, "fault reset: the connection breaks mid-body")

    c.fault(vendor="which50", kind="invalid_json")
    r = c.get(PATHS["which50"], AUTH["which50"])
    t.eq((r.status, r.body), (200, b'{"truncated": '), "fault invalid_json")
    c.fault(vendor="which50", kind="html", status=502)
    r = c.get(PATHS["which50"], AUTH["which50"])
    t.ok(r.status == 502 and r.headers["Content-Type"].startswith("text/html"), "fault html 502")
    c.fault(vendor="which50", kind="body", body='{"unexpected": [1, 2]}')
    t.eq(c.get(PATHS["which50"], AUTH["which50"]).json(), {"unexpected": [1, 2]}, "fault body")
    c.fault(vendor="optimove", kind="oversized", bytes=100_000)
    r = c.get(PATHS["optimove"], AUTH["optimove"], timeout=20)
    t.ok(len(r.body) == 100_000 and isinstance(json.loads(r.body), list),
         "fault oversized: exactly the size asked, still valid JSON of the vendor's shape")
    c.fault(vendor="alpharun", kind="gzip_bomb", inflated_bytes=1 << 20)
    r = c.get(PATHS["alpharun"], AUTH["alpharun"])
    t.ok(r.headers.get("Content-Encoding") == "gzip" and len(r.body) < 10_000
         and len(gzip.decompress(r.body)) == 1 << 20, "fault gzip_bomb inflates ~1000:1")
    c.fault(vendor="alpharun", kind="latency", ms=300)
    r = c.get(PATHS["alpharun"], AUTH["alpharun"])
    t.ok(r.status == 200 and r.elapsed >= 0.3, f"fault latency ({r.elapsed:.2f} s)")
    c.fault(vendor="alpharun", kind="trickle", bytes_per_second=20000)
    r = c.get(PATHS["alpharun"], AUTH["alpharun"])
    t.ok(r.status == 200 and r.json()["data"], "fault trickle still delivers a valid body")

    c.fault(vendor="capillary", kind="hang", seconds=30)
    started = time.monotonic()
    try:
        c.get(path, auth, timeout=0.5)
        hung = False
    except (TimeoutError, socket.timeout, urllib.error.URLError):
        hung = True
    other = c.get(PATHS["optimove"], AUTH["optimove"])
    t.ok(hung and other.status == 200 and time.monotonic() - started < 3,
         "fault hang: no answer, other requests still served")
    kinds = [r["fault"] for r in c.control("GET", "/log")]
    t.ok(kinds.count("status") == 3 and "hang" in kinds and "truncate" in kinds,
         "the log names each request's fault kind", kinds)
    t.eq(c.control("GET", "/faults"), [], "every queued fault was consumed")


def check_gzip(t, c):
    plain = c.get(PATHS["cxengage"], AUTH["cxengage"])
    zipped = c.get(PATHS["cxengage"], {**AUTH["cxengage"], "Accept-Encoding": "gzip"})
    t.ok(zipped.headers.get("Content-Encoding") == "gzip"
         and json.loads(gzip.decompress(zipped.body)) == plain.json()
         and plain.headers.get("Content-Encoding") is None,
         "gzip only when asked, and it decodes to the same JSON")


def check_keepalive_and_stats(t, c):
    c.reset()
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=TIMEOUT)
    for _ in range(2):
        conn.request("GET", PATHS["alpharun"], headers=AUTH["alpharun"])
        conn.getresponse().read()
    conn.close()
    stats = c.control("GET", "/stats")
    t.eq((stats["requests"], stats["connections"]), (2, 1),
         "two requests on one kept-alive connection count as 1 connection")
    conns = {r["conn"] for r in c.control("GET", "/log")}
    t.eq(len(conns), 1, "the log gives both requests the same conn id")
    c.reset()
    c.control("POST", "/config", {"latency_ms": 300})
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: c.get(PATHS["which50"], AUTH["which50"]), range(3)))
    stats = c.control("GET", "/stats")
    t.ok(all(r.status == 200 and r.elapsed >= 0.3 for r in replies)
         and stats["max_concurrent"] == 3 and stats["connections"] == 3,
         "latency_ms applies; 3 parallel requests -> max_concurrent 3", stats)
    c.reset()


def check_log_and_reset(t, c, log_file):
    c.reset()
    for vendor, path in PATHS.items():
        c.get(path, AUTH[vendor])
        c.get(path, BAD_AUTH[vendor])
    # A client that wrongly puts a secret in the URL must not get it written down.
    c.get(PATHS["alpharun"] + "?token=sandbox-alpharun-token", AUTH["alpharun"])
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    memory = c.control("GET", "/log")
    t.ok(lines == memory and [r["seq"] for r in lines] == list(range(1, 12)),
         "log file and /_sandbox/log hold the same 11 records, seq 1..11")
    keys = {"seq", "vendor", "method", "path", "query", "auth", "status", "fault", "conn",
            "accept", "accept_encoding"}
    t.ok(all(keys <= set(r) for r in lines), "every record has the documented fields")
    wanted = "/which50/Which50API/contacts/" + q(C1.which50_contact_id) + "/communications"
    t.ok(any(r["path"] == wanted for r in lines), "paths are logged with their percent-encoding")
    t.ok(lines[-1]["secret_in_url"] and "REDACTED" in lines[-1]["query"],
         "a secret in a URL is redacted and flagged", lines[-1])
    text = log_file.read_text()
    leaked = [s for s in credentials.SECRETS + ("sandbox-pass", CAP_MD5) if s in text]
    t.eq(leaked, [], "no credential string appears in the log file")
    c.fault(vendor="capillary", kind="status", status=500)
    c.control("POST", "/config", {"latency_ms": 50, "engagement_format": True,
                                  "token_ttl_seconds": 5})
    c.reset()
    stats = c.control("GET", "/stats")
    t.ok(log_file.read_text() == "" and c.control("GET", "/log") == []
         and c.control("GET", "/faults") == [] and stats["requests"] == 0
         and c.control("GET", "/config") == {"latency_ms": 0, "engagement_format": False,
                                              "token_ttl_seconds": None,
                                              "rate_limits": DEFAULT_LIMITS},
         "reset empties the log (file too), faults and stats, and restores config")


def check_generated_files(t):
    crm = ROOT / "examples" / "crm.sql"
    r = subprocess.run([PYTHON, str(SANDBOX / "data.py"), "--check-crm-sql", str(crm)],
                       capture_output=True, text=True, timeout=30)
    t.ok(r.returncode == 0, "examples/crm.sql is what data.py generates", r.stderr)
    env = ROOT / "examples" / "sandbox.env"
    t.ok(env.exists() and env.read_text() == credentials.env_file_text(),
         "examples/sandbox.env is what credentials.py --env generates")


def check_shutdown(t, c, proc):
    c.fault(vendor="capillary", kind="hang")
    try:
        c.get(PATHS["capillary"], AUTH["capillary"], timeout=0.3)
    except (TimeoutError, socket.timeout, urllib.error.URLError):
        pass
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = None
    t.ok(code == 0 and time.monotonic() - started < 3,
         f"SIGTERM stops it cleanly even with a request hanging (exit {code})")


def check_tokens_and_paging(t, c):
    """Token endpoints, Optimove's 10,000-record cap and CXengage's search route."""
    json_type = {"Content-Type": "application/json"}
    cap = c.call("POST", "/capillary/v3/oauth/token/generate", json_type,
                 {"key": capillary.OAUTH_KEY,
                  "secret": capillary.OAUTH_SECRET})
    data_part = cap.json().get("data") or {}
    t.ok(cap.status == 200 and data_part.get("ttlSeconds") == 300
         and data_part.get("accessToken"),
         "capillary: key and secret -> data.accessToken, ttlSeconds 300", cap.body)
    token = {"X-CAP-API-OAUTH-TOKEN": data_part.get("accessToken", "")}
    t.eq(c.get(PATHS["capillary"], token).status, 200, "capillary: the issued token is accepted")
    wrong = c.call("POST", "/capillary/v3/oauth/token/generate", json_type,
                   {"key": capillary.OAUTH_KEY, "secret": "wrong"})
    t.eq(wrong.status, 401, "capillary: a wrong secret -> 401")
    t.eq(c.get("/capillary/v3/oauth/token/generate").status, 405,
         "capillary: the token endpoint takes POST only")
    c.control("POST", "/config", {"token_ttl_seconds": 0.2})
    short = c.call("POST", "/cxengage/v1/tokens", json_type,
                   {"username": cxengage.API_KEY,
                    "password": cxengage.API_SECRET, "tenantId": TENANT}).json()
    cx_token = {"Authorization": "Token " + short.get("token", "")}
    fresh = c.get(PATHS["cxengage"], cx_token).status
    time.sleep(0.3)
    t.eq((fresh, c.get(PATHS["cxengage"], cx_token).status), (200, 401),
         "cxengage: an issued token works until token_ttl_seconds, then 401")
    c.reset()
    base = "/optimove/current/customers/GetCustomerChannelInteractions?"
    bulk = f"{base}CustomerID=bulk-25000&StartDate=2025-01-01&EndDate=2025-12-31"
    sizes = [len(c.get(bulk + extra, AUTH["optimove"]).json())
             for extra in ("", "&$top=10000&$skip=10000", "&%24top=10000&%24skip=20000",
                           "&$top=50000")]
    t.eq(sizes, [10000, 10000, 5000, 10000],
         "optimove: at most 10,000 records an answer; $top/$skip page through 25,000")
    search = f"/cxengage/v1/tenants/{TENANT}/interactions?contactId=bench-100k"
    window = "&start=2026-10-20T00:00:00Z&end=2026-10-31T00:00:00Z"
    first = c.get(search + window, AUTH["cxengage"]).json()
    starts = [r["startTimestamp"] for r in first["results"]]
    t.ok(first["limit"] == 1000 and len(starts) == 1000 and first["total"] > 1000
         and all("2026-10-20" <= s < "2026-10-31" for s in starts)
         and starts == sorted(starts, reverse=True),
         "cxengage: the search route filters start/end and pages 1000 newest first",
         {k: first[k] for k in ("page", "limit", "offset", "total")})
    c.reset()


def main():
    t = Tap()
    proc = None
    with tempfile.TemporaryDirectory(prefix="sandbox-selftest-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            proc, port, startup_s, log_file = start_server(tmp)
            c = Client(f"http://127.0.0.1:{port}")
            c.port = port
            check_start(t, tmp, startup_s, port)
            t.eq(c.control("GET", "/health")["vendors"], list(vendors.NAMES), "health")
            check_auth(t, c)
            check_samples(t, c)
            check_capillary(t, c)
            check_optimove(t, c)
            check_cxengage(t, c)
            check_alpharun(t, c)
            check_which50(t, c)
            check_routing(t, c)
            check_gzip(t, c)
            check_keepalive_and_stats(t, c)
            check_faults(t, c)
            check_log_and_reset(t, c, log_file)
            check_optimove_window(t, c)
            check_tokens_and_paging(t, c)
            check_generated_files(t)
            check_shutdown(t, c, proc)
            err = (tmp / "stderr").read_text()
            t.ok(err == "", "the server wrote nothing to stderr", err)
        except Exception:
            t.ok(False, "self-test ran to the end", traceback.format_exc())
        finally:
            if proc is not None:
                stop_server(proc)
    print(f"1..{t.count}")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
