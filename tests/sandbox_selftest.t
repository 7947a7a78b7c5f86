#!/usr/bin/python3
"""TAP self-test of the sandbox (tests/sandbox/server.py); run with `prove -v tests/sandbox_selftest.t`.

Starts the sandbox on a free port with a port file and a request log in a temporary
directory, drives it with urllib / http.client (a timeout on every request), and always
stops it again. Checks auth per vendor, the verbatim documentation samples, faults, gzip,
keep-alive counting, the log (and that no credential ever reaches it), reset, and the
generated examples/ files, on every registered vendor; then each vendor's own checks
(paging, limits, token endpoints...). The vendors and what to ask them are the registry's:
each vendor module declares SELFTEST (vendors.base.SelfTest), so no vendor is named here.
"""

import sys

sys.dont_write_bytecode = True

import concurrent.futures  # noqa: E402
import gzip  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
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
TIMEOUT = 30  # a ceiling for a hung server, not a speed requirement

sys.path.insert(0, str(SANDBOX))
import credentials  # noqa: E402
import data  # noqa: E402
import vendors  # noqa: E402


# After a reset: each vendor's documented limit, or none (the registry's declarations).
DEFAULT_LIMITS = {r.name: r.rate_limit for r in vendors.REGISTRATIONS}

C1, C2 = data.BY_ID[1], data.BY_ID[2]


class Declared:
    """One registered vendor and what its SELFTEST says to ask it."""

    def __init__(self, registration, selftest):
        self.name = registration.name
        self.registration = registration
        self.selftest = selftest
        self.auth = selftest.good()
        self.bad_auth = selftest.bad()
        self.headers = dict(selftest.headers)
        self.path = selftest.path(C1)  # a known customer's request


def declared():
    """(every vendor with a SELFTEST, the names of those without one)."""
    found, missing = [], []
    for registration in vendors.REGISTRATIONS:
        selftest = vendors.selftest(registration.name)
        if selftest is None:
            missing.append(registration.name)
        else:
            found.append(Declared(registration, selftest))
    return found, missing


VENDORS, UNDECLARED = declared()


def pick(n):
    """The n-th vendor (modulo the count): the generic checks spread over the registry."""
    return VENDORS[n % len(VENDORS)]


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
                    print(f"#   {line}", file=sys.stderr)  # shown by prove without -v
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
        if proc.poll() is not None or time.monotonic() - started > 60:
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
    # How fast it starts is the machine's business (it failed under load): that it starts is checked
    # by start_server, which waits for the port file.
    t.ok(port > 0, f"writes its port to the port file ({startup_s * 1000:.0f} ms)")


def check_port_taken(t, port):
    """A second sandbox on a taken port says how to pick another (make sandbox SANDBOX_PORT=...)."""
    second = subprocess.run([PYTHON, str(SANDBOX / "server.py"), "--port", str(port)],
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    t.ok(second.returncode == 1 and f"make sandbox SANDBOX_PORT={port + 1}" in second.stderr,
         "a taken port: the error names SANDBOX_PORT", second.stderr)


def check_auth(t, c):
    t.eq(UNDECLARED, [], "every registered vendor declares SELFTEST in its module")
    for v in VENDORS:
        c.reset()
        ok = c.get(v.path, v.auth)
        t.eq(ok.status, 200, f"{v.name}: good credentials -> 200")
        bad = c.get(v.path, v.bad_auth)
        t.ok(bad.status == 401 and bad.headers.get("Content-Type", "").startswith(
            "application/json"), f"{v.name}: wrong credentials -> 401 with a JSON body",
            (bad.status, bad.body))
        missing = c.get(v.path, v.headers)
        t.eq(missing.status, 401, f"{v.name}: no credentials -> 401")
        t.eq([r["auth"] for r in c.control("GET", "/log")], ["ok", "bad", "missing"],
             f"{v.name}: log records auth ok/bad/missing")


def check_samples(t, c):
    for v in VENDORS:
        for name, path, fixture_name in v.selftest.samples:
            reply = c.get(path, v.auth)
            raw = fixture(fixture_name)
            t.ok(reply.status == 200 and reply.json() == json.loads(raw) and reply.body == raw,
                 f"{name}: documentation sample served verbatim", (reply.status, reply.body[:300]))


def check_vendors_own(t, c):
    """Each vendor's own checks, each from a fresh reset."""
    for v in VENDORS:
        for check in v.selftest.checks:
            c.reset()
            check(t, c)
    c.reset()


def check_routing(t, c):
    first, last = pick(0), pick(-1)
    t.eq(c.get(first.path.split("?")[0] + "z", first.auth).status, 404,
         "unknown path under a vendor prefix -> 404")
    t.eq(c.get("/nowhere", {}).status, 404, "path outside every vendor -> 404")
    segments = last.path.split("?")[0].split("/")
    segments[-2] = ".."  # a customer's segment
    with socket.create_connection(("127.0.0.1", c.port), timeout=TIMEOUT) as s:
        s.sendall(f"GET {'/'.join(segments)} HTTP/1.1\r\n".encode()
                  + b"Host: x\r\nConnection: close\r\n\r\n")
        head = s.recv(100)
    t.ok(head.startswith(b"HTTP/1.1 400"), "a literal '..' path segment -> 400", head)


def check_faults(t, c):
    c.reset()
    a, b, x, y = pick(0), pick(1), pick(2), pick(3)
    c.fault(vendor=a.name, kind="status", status=503, count=2)
    statuses = [c.get(a.path, a.auth).status for _ in range(3)]
    t.eq(statuses, [503, 503, 200], "fault status 503 x2, then normal service")
    c.fault(vendor=y.name, kind="redirect")
    r = c.get(y.path, y.auth)
    t.ok(r.status == 302 and r.headers.get("Location") == "http://evil.example/steal",
         "fault redirect -> 302 to another host (not followed)")
    other_path = a.selftest.path(C2)
    c.fault(vendor=a.name, kind="status", status=500, match=other_path)
    t.eq((c.get(a.path, a.auth).status, c.get(other_path, a.auth).status), (200, 500),
         "a fault's match selects only requests containing it")

    c.fault(vendor=x.name, kind="truncate")
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=TIMEOUT)
    conn.request("GET", x.path, headers=x.auth)
    resp = conn.getresponse()
    try:
        resp.read()
        truncated = False
    except http.client.IncompleteRead as e:
        truncated = len(e.partial) < int(resp.headers["Content-Length"])
    conn.close()
    t.ok(truncated, "fault truncate: fewer bytes than Content-Length, then close")

    c.fault(vendor=x.name, kind="reset")
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=TIMEOUT)
    try:
        conn.request("GET", x.path, headers=x.auth)
        conn.getresponse().read()
        broken = False
    except (ConnectionResetError, http.client.IncompleteRead):
        broken = True
    conn.close()
    t.ok(broken, "fault reset: the connection breaks mid-body")

    z = pick(-1)
    c.fault(vendor=z.name, kind="invalid_json")
    r = c.get(z.path, z.auth)
    t.eq((r.status, r.body), (200, b'{"truncated": '), "fault invalid_json")
    c.fault(vendor=z.name, kind="html", status=502)
    r = c.get(z.path, z.auth)
    t.ok(r.status == 502 and r.headers["Content-Type"].startswith("text/html"), "fault html 502")
    c.fault(vendor=z.name, kind="body", body='{"unexpected": [1, 2]}')
    t.eq(c.get(z.path, z.auth).json(), {"unexpected": [1, 2]}, "fault body")
    shape = type(c.get(b.path, b.auth).json())
    c.fault(vendor=b.name, kind="oversized", bytes=100_000)
    r = c.get(b.path, b.auth, timeout=20)
    t.ok(len(r.body) == 100_000 and isinstance(json.loads(r.body), shape),
         "fault oversized: exactly the size asked, still valid JSON of the vendor's shape")
    c.fault(vendor=y.name, kind="gzip_bomb", inflated_bytes=1 << 20)
    r = c.get(y.path, y.auth)
    t.ok(r.headers.get("Content-Encoding") == "gzip" and len(r.body) < 10_000
         and len(gzip.decompress(r.body)) == 1 << 20, "fault gzip_bomb inflates ~1000:1")
    c.fault(vendor=y.name, kind="latency", ms=300)
    r = c.get(y.path, y.auth)
    t.ok(r.status == 200 and r.elapsed >= 0.3, f"fault latency ({r.elapsed:.2f} s)")
    whole = c.get(y.path, y.auth).json()
    c.fault(vendor=y.name, kind="trickle", bytes_per_second=20000)
    r = c.get(y.path, y.auth)
    t.ok(r.status == 200 and r.json() == whole, "fault trickle still delivers a valid body")

    # The hang outlasts any client timeout here, so the other request being answered at all proves
    # it was served beside the hang, not after it, however slow the machine.
    c.fault(vendor=a.name, kind="hang", seconds=3600)
    try:
        c.get(a.path, a.auth, timeout=0.5)
        hung = False
    except (TimeoutError, socket.timeout, urllib.error.URLError):
        hung = True
    other = c.get(b.path, b.auth)
    t.ok(hung and other.status == 200, "fault hang: no answer, other requests still served")
    kinds = [r["fault"] for r in c.control("GET", "/log")]
    t.ok(kinds.count("status") == 3 and "hang" in kinds and "truncate" in kinds,
         "the log names each request's fault kind", kinds)
    t.eq(c.control("GET", "/faults"), [], "every queued fault was consumed")


def check_gzip(t, c):
    for v in VENDORS:
        plain = c.get(v.path, v.auth)
        zipped = c.get(v.path, {**v.auth, "Accept-Encoding": "gzip"})
        t.ok(zipped.headers.get("Content-Encoding") == "gzip"
             and json.loads(gzip.decompress(zipped.body)) == plain.json()
             and plain.headers.get("Content-Encoding") is None,
             f"{v.name}: gzip only when asked, and it decodes to the same JSON")


def check_keepalive_and_stats(t, c):
    c.reset()
    v = pick(3)
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=TIMEOUT)
    for _ in range(2):
        conn.request("GET", v.path, headers=v.auth)
        conn.getresponse().read()
    conn.close()
    stats = c.control("GET", "/stats")
    t.eq((stats["requests"], stats["connections"]), (2, 1),
         "two requests on one kept-alive connection count as 1 connection")
    conns = {r["conn"] for r in c.control("GET", "/log")}
    t.eq(len(conns), 1, "the log gives both requests the same conn id")
    c.reset()
    c.control("POST", "/config", {"latency_ms": 300})
    w = pick(-1)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: c.get(w.path, w.auth), range(3)))
    stats = c.control("GET", "/stats")
    t.ok(all(r.status == 200 and r.elapsed >= 0.3 for r in replies)
         and stats["max_concurrent"] == 3 and stats["connections"] == 3,
         "latency_ms applies; 3 parallel requests -> max_concurrent 3", stats)
    c.reset()
    # hold_until_concurrent: no answer before 3 requests are in flight at once. The third is sent
    # only after the first two are in flight (in_flight says so), so none can have been answered
    # early, whatever the machine's speed.
    c.control("POST", "/config", {"hold_until_concurrent": 3})
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first = [pool.submit(c.get, w.path, w.auth) for _ in range(2)]
        while c.control("GET", "/stats")["in_flight"] < 2 and not all(f.done() for f in first):
            time.sleep(0.01)
        held = not any(f.done() for f in first)
        replies = [f.result() for f in first + [pool.submit(c.get, w.path, w.auth)]]
    stats = c.control("GET", "/stats")
    t.ok(held and all(r.status == 200 for r in replies) and stats["max_concurrent"] == 3,
         "hold_until_concurrent 3: two requests wait for the third, then all three are answered",
         (held, [r.status for r in replies], stats))
    c.reset()


def check_log_and_reset(t, c, log_file):
    c.reset()
    for v in VENDORS:
        c.get(v.path, v.auth)
        c.get(v.path, v.bad_auth)
    # A client that wrongly puts a secret in the URL must not get it written down.
    v = pick(3)
    secret = next(s.value for s in v.registration.settings if s.secret)
    c.get(v.path + ("&" if "?" in v.path else "?") + "token=" + urllib.parse.quote(secret),
          v.auth)
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    memory = c.control("GET", "/log")
    count = 2 * len(VENDORS) + 1
    t.ok(lines == memory and [r["seq"] for r in lines] == list(range(1, count + 1)),
         f"log file and /_sandbox/log hold the same {count} records, seq 1..{count}")
    keys = {"seq", "vendor", "method", "path", "query", "auth", "status", "fault", "conn",
            "accept", "accept_encoding"}
    t.ok(all(keys <= set(r) for r in lines), "every record has the documented fields")
    logged = {r["path"] for r in lines}
    t.ok(all(v.path.split("?")[0] in logged for v in VENDORS) and any("%" in p for p in logged),
         "paths are logged with their percent-encoding", sorted(logged))
    t.ok(lines[-1]["secret_in_url"] and "REDACTED" in lines[-1]["query"],
         "a secret in a URL is redacted and flagged", lines[-1])
    text = log_file.read_text()
    leaked = [s for s in credentials.SECRETS if s in text]
    t.eq(leaked, [], "no credential string appears in the log file")
    a = pick(0)
    c.fault(vendor=a.name, kind="status", status=500)
    c.control("POST", "/config", {"latency_ms": 50, "engagement_format": True,
                                  "token_ttl_seconds": 5, "hold_until_concurrent": 4,
                                  "token_form": "jwt"})
    c.reset()
    stats = c.control("GET", "/stats")
    t.ok(log_file.read_text() == "" and c.control("GET", "/log") == []
         and c.control("GET", "/faults") == [] and stats["requests"] == 0
         and c.control("GET", "/config") == {"latency_ms": 0, "engagement_format": False,
                                              "token_ttl_seconds": None,
                                              "hold_until_concurrent": None,
                                              "token_form": "ttlSeconds",
                                              "rate_limits": DEFAULT_LIMITS},
         "reset empties the log (file too), faults and stats, and restores config")
    # A request that arrived before a reset and is answered after it (here: held by a latency the
    # reset wakes) is the previous test's: it never shows in the new log, and takes no place in
    # the new rate-limit window (a vendor with a documented limit, filled to it after the reset).
    limited = next((v for v in VENDORS if DEFAULT_LIMITS.get(v.name)), a)
    c.control("POST", "/config", {"latency_ms": 600000})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        late = pool.submit(c.get, limited.path, limited.auth)
        while c.control("GET", "/stats")["in_flight"] < 1 and not late.done():
            time.sleep(0.01)
        c.reset()
        answered = late.result()
    t.ok(answered.status == 200 and c.control("GET", "/log") == [],
         "a request from before a reset is answered but not logged after it",
         (answered.status, c.control("GET", "/log")))
    allowed = int(DEFAULT_LIMITS.get(limited.name, "0/1s").split("/")[0])
    statuses = [c.get(limited.path, limited.auth).status for _ in range(allowed)]
    t.ok(allowed > 0 and statuses == [200] * allowed,
         f"nor a place in the new window: {allowed} requests of {limited.name}'s "
         f"{DEFAULT_LIMITS.get(limited.name)} all answered",
         sorted(set(statuses)))
    c.reset()


def check_generated_files(t):
    crm = ROOT / "examples" / "crm.sql"
    r = subprocess.run([PYTHON, str(SANDBOX / "data.py"), "--check-crm-sql", str(crm)],
                       capture_output=True, text=True, timeout=30)
    t.ok(r.returncode == 0, "examples/crm.sql is what data.py generates", r.stderr)
    env = ROOT / "examples" / "sandbox.env"
    t.ok(env.exists() and env.read_text() == credentials.env_file_text(),
         "examples/sandbox.env is what credentials.py --env generates")


def check_shutdown(t, c, proc):
    a = pick(0)
    c.fault(vendor=a.name, kind="hang")
    try:
        c.get(a.path, a.auth, timeout=0.3)
    except (TimeoutError, socket.timeout, urllib.error.URLError):
        pass
    # The hang has no end: a server that waited for it would never exit, whatever the machine.
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        code = None
    t.ok(code == 0, f"SIGTERM stops it cleanly even with a request hanging (exit {code})")


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
            check_vendors_own(t, c)
            check_routing(t, c)
            check_gzip(t, c)
            check_keepalive_and_stats(t, c)
            check_faults(t, c)
            check_log_and_reset(t, c, log_file)
            check_generated_files(t)
            check_port_taken(t, port)
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
