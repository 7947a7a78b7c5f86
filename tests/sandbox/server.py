#!/usr/bin/python3
"""The sqlite-interactions sandbox: the vendor APIs on one loopback port.

    /usr/bin/python3 tests/sandbox/server.py [--host 127.0.0.1] [--port 0]
        [--port-file PATH] [--log PATH] [--latency-ms N]

Each vendor lives under /<name> (vendors/ holds one module per vendor and the registry
of them); the control API for tests lives under /_sandbox (see README.md). Python 3
standard library only. Quiet: besides the "listening" line it prints only tracebacks
of its own bugs.

Per vendor request, in this order: split and percent-decode the path (a "." or ".."
segment is a 400), pick the vendor by the first segment, check its credentials (the
log records ok/bad/missing, never the values), take the oldest matching scripted
fault, apply latency, then route (404/405), authenticate (401), rate-limit (429) and
answer; gzip the body if the client accepts it, log the request, send.
"""

import sys

sys.dont_write_bytecode = True  # keep tests/sandbox/ free of __pycache__ litter

import argparse  # noqa: E402
import errno  # noqa: E402
import gzip  # noqa: E402
import ipaddress  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import socketserver  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from urllib.parse import parse_qsl, unquote  # noqa: E402

import faults  # noqa: E402
import vendors  # noqa: E402
from ratelimit import SlidingWindowLimiter  # noqa: E402
from responses import HTML_TYPE, NGINX_404, Response, json_response  # noqa: E402
from state import RequestLog, Settings, Stats  # noqa: E402
from tokens import TOKEN_FORMS, TOKENS  # noqa: E402
from vendors.base import Request  # noqa: E402

CONTROL_PREFIX = "/_sandbox"
IDLE_TIMEOUT_S = 300  # a kept-alive connection with no request for this long is closed


class Sandbox:
    """Everything the request threads share."""

    def __init__(self, log_path=None, latency_ms=0):
        self.settings = Settings(latency_ms)
        self.vendors = vendors.build_vendors(self.settings)
        self.limiter = SlidingWindowLimiter(
            self.vendors, {r.name: r.rate_limit for r in vendors.REGISTRATIONS})
        self.faults = faults.FaultQueue(self.vendors)
        self.log = RequestLog(log_path)
        self.stats = Stats()
        self._conn_ids = itertools.count(1)
        self._conn_lock = threading.Lock()

    def next_conn_id(self):
        with self._conn_lock:
            return next(self._conn_ids)

    def reset(self):
        self.log.clear()
        self.faults.clear()
        self.limiter.reset()
        self.settings.reset()  # also wakes hanging and trickling requests
        TOKENS.clear()
        self.stats.reset()

    def config(self):
        return {"latency_ms": self.settings.latency_ms,
                "rate_limits": self.limiter.rules(),
                "engagement_format": self.settings.engagement_format,
                "token_ttl_seconds": self.settings.token_ttl_seconds,
                "hold_until_concurrent": self.settings.hold_until_concurrent,
                "token_form": self.settings.token_form}

    def configure(self, body):
        """Apply a POST /_sandbox/config body; ValueError before any change if invalid."""
        if not isinstance(body, dict):
            raise ValueError("config is a JSON object")
        unknown = sorted(set(body) - {"latency_ms", "rate_limits", "engagement_format",
                                      "token_ttl_seconds", "hold_until_concurrent",
                                      "token_form"})
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
        latency = body.get("latency_ms", self.settings.latency_ms)
        if isinstance(latency, bool) or not isinstance(latency, (int, float)) or latency < 0:
            raise ValueError("latency_ms must be a non-negative number")
        engagement = body.get("engagement_format", self.settings.engagement_format)
        if not isinstance(engagement, bool):
            raise ValueError("engagement_format must be true or false")
        rules = body.get("rate_limits", {})
        if not isinstance(rules, dict):
            raise ValueError('rate_limits is an object like {"optimove": "50/10s"}')
        ttl = body.get("token_ttl_seconds", self.settings.token_ttl_seconds)
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))
                                or ttl <= 0):
            raise ValueError("token_ttl_seconds must be a positive number (or null)")
        hold = body.get("hold_until_concurrent", self.settings.hold_until_concurrent)
        if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int) or hold < 1):
            raise ValueError("hold_until_concurrent must be a positive integer (or null)")
        form = body.get("token_form", self.settings.token_form)
        if form not in TOKEN_FORMS:
            raise ValueError(f"token_form must be one of {', '.join(TOKEN_FORMS)}")
        self.limiter.configure(rules)  # validates everything before changing anything
        self.settings.hold_until_concurrent = hold
        self.settings.token_ttl_seconds = ttl
        self.settings.token_form = form
        self.settings.latency_ms = latency
        self.settings.engagement_format = engagement


def accepts_gzip(header):
    """True if an Accept-Encoding value allows gzip (q=0 refuses it)."""
    if not header:
        return False
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() not in ("gzip", "x-gzip", "*"):
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


class SandboxHandler(BaseHTTPRequestHandler):
    # Headers and body go out as separate writes: without TCP_NODELAY, Nagle and delayed ACKs hold
    # each kept-alive response back by about 40 ms, which no real API does.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server_version = "interactions-sandbox/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    # --- plumbing -------------------------------------------------------------------

    def setup(self):
        super().setup()
        self.conn_id = self.server.sandbox.next_conn_id()

    def version_string(self):
        return self.server_version  # the base class would append a trailing space

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # quiet: the request log is the record

    def do_GET(self):
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        """The request body (needed for POST, and drained for keep-alive otherwise)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # chunked uploads are not needed here
            return b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def send(self, response, delivery=None, fault=None):
        """Write status, headers and body; `delivery` is a delivery-kind fault or None."""
        if delivery == "cut_headers":
            # The status line and part of the headers, then close: no blank line, no body.
            self.wfile.write(f"HTTP/1.1 {response.status} OK\r\n".encode("ascii"))
            if response.content_type:
                self.wfile.write(f"Content-Type: {response.content_type}\r\n".encode("ascii"))
            self.close_connection = True
            return
        if delivery == "cut_body":
            # No Content-Length: the body ends when the connection closes, so a client cannot
            # tell the cut from the length; only the JSON can.
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            cut = fault.params.get("bytes", len(response.body) // 2)
            self.wfile.write(response.body[:max(0, min(cut, len(response.body) - 1))])
            self.close_connection = True
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        body = response.body
        if delivery is None:
            self.wfile.write(body)
        elif delivery == "trickle":
            self._trickle(body, fault.params["bytes_per_second"])
        elif delivery in ("truncate", "reset"):
            cut = fault.params.get("bytes", len(body) // 2)
            self.wfile.write(body[:max(0, min(cut, len(body) - 1))])
            self.close_connection = True
            if delivery == "reset":
                self._reset_connection()
        else:
            raise AssertionError(delivery)

    def _trickle(self, body, bytes_per_second):
        """Send the body slowly, in small pieces, until done, reset or shutdown."""
        wake = self.server.sandbox.settings.wake_event
        interval = 0.1 if bytes_per_second >= 10 else 1.0 / bytes_per_second
        piece = max(1, int(bytes_per_second * interval))
        for start in range(0, len(body), piece):
            self.wfile.write(body[start:start + piece])
            if start + piece < len(body) and wake.wait(interval):
                self.close_connection = True  # reset or shutdown: give up mid-body
                return

    def _reset_connection(self):
        """Abort with a TCP RST: SO_LINGER 0 then close, after the partial body left."""
        time.sleep(0.05)  # let the kernel put the partial body on the wire first
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drop the makefile() reference, so close() really closes
        self.connection.close()

    def maybe_gzip(self, response):
        if (response.compressible and response.body
                and accepts_gzip(self.headers.get("Accept-Encoding"))):
            response.body = gzip.compress(response.body, compresslevel=6, mtime=0)
            response.headers.append(("Content-Encoding", "gzip"))
            response.headers.append(("Vary", "Accept-Encoding"))
        return response

    # --- dispatch -------------------------------------------------------------------

    def dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        body = self.read_body()
        if raw_path == CONTROL_PREFIX or raw_path.startswith(CONTROL_PREFIX + "/"):
            return self.control(raw_path[len(CONTROL_PREFIX):], body)

        raw_segments = raw_path.split("/")[1:] if raw_path.startswith("/") else None
        if raw_segments is None:
            return self.answer_unrouted(raw_path, raw_query, 400, "request target must be a path")
        vendor = self.server.sandbox.vendors.get(raw_segments[0])
        segments = [unquote(s) for s in raw_segments[1:]]
        dotted = any(s in (".", "..") for s in raw_segments + segments)
        if vendor is None:
            if dotted:
                return self.answer_unrouted(raw_path, raw_query, 400, "dot segments in path")
            # What a real host's front server says for a path it does not serve: nginx's page.
            response = Response(404, NGINX_404, HTML_TYPE)
            self.log_record(None, raw_path, raw_query, None, None, 404)
            return self.send(response)
        request = Request(self.command, raw_path, raw_query, segments,
                          dict(reversed(parse_qsl(raw_query, keep_blank_values=True))),
                          self.headers, body)
        self.answer_vendor(vendor, request, dotted)

    def log_record(self, vendor, request_path, raw_query, auth, fault, status, generation=None):
        app = self.server.sandbox
        path, secret_in_path = app.log.redact(request_path)
        query, secret_in_query = app.log.redact(raw_query)
        return app.log.append({
            "vendor": vendor, "method": self.command, "path": path, "query": query,
            "auth": auth, "status": status, "fault": fault, "conn": self.conn_id,
            "accept": self.headers.get("Accept"),
            "accept_encoding": self.headers.get("Accept-Encoding"),
            "secret_in_url": secret_in_path or secret_in_query,
            # a 429 of the sandbox's own limiter: the ages (ms) of what filled the window
            **({"rate_window_ms": self.rate_window_ms} if getattr(self, "rate_window_ms", None)
               and status == 429 else {}),
        }, generation)

    def answer_unrouted(self, raw_path, raw_query, status, message):
        response = json_response({"error": "not_found" if status == 404 else "bad_request",
                                  "message": message}, status)
        self.log_record(None, raw_path, raw_query, None, None, status)
        self.send(response)

    def answer_vendor(self, vendor, request, dotted):
        app = self.server.sandbox
        generation = app.log.generation()  # a reset while this request waits drops its record
        self.rate_window_ms = None  # this connection's previous request's
        auth = vendor.authenticate_request(request)
        target = request.raw_path + ("?" + request.raw_query if request.raw_query else "")
        fault = app.faults.take(vendor.name, target)
        kind = fault.kind if fault else None
        app.stats.enter(self.conn_id, self.headers)
        try:
            if kind == "hang":
                # Logged on arrival (status null): the point is that no answer comes.
                self.log_record(vendor.name, request.raw_path, request.raw_query,
                                auth.state, kind, None)
                app.settings.wake_event.wait(fault.params["seconds"])
                self.close_connection = True
                return
            app.stats.hold_until_concurrent(app.settings.hold_until_concurrent,
                                            app.settings.wake_event)
            delay_ms = app.settings.latency_ms + (fault.params["ms"] if kind == "latency" else 0)
            if delay_ms > 0:
                app.settings.wake_event.wait(delay_ms / 1000)
            if dotted:
                response = vendor.error(400, "Path segments '.' and '..' are not allowed", request)
            elif kind in faults.REPLACING:
                response = faults.build_response(fault, vendor, request)
            else:
                response = vendor.decorate(self.vendor_response(vendor, request, auth,
                                                                generation))
            self.maybe_gzip(response)
            self.log_record(vendor.name, request.raw_path, request.raw_query, auth.state,
                            kind, response.status, generation)
            delivery = kind if kind in ("trickle", "truncate", "reset", "cut_headers",
                                        "cut_body") else None
            self.send(response, delivery, fault)
        finally:
            app.stats.leave()

    def vendor_response(self, vendor, request, auth, generation=None):
        handler = vendor.route(request.segments)
        if handler is None:
            return vendor.no_route(request)
        methods = getattr(handler, "methods", ("GET",))  # token endpoints take POST
        if request.method not in methods:
            response = vendor.error(405, "The requested resource does not support "
                                         f"http method '{request.method}'.", request)
            response.headers.append(("Allow", ", ".join(methods)))
            return response
        if auth.state != "ok":
            return vendor.unauthorized(auth, request)
        # A request from before a reset (woken from its latency or hold by the reset) belongs to
        # the previous test: it must not take a place in the next test's fresh window, where it
        # would draw that test a 429 its own log does not explain (its record is dropped).
        stale = generation is not None and generation != self.server.sandbox.log.generation()
        if not stale and not self.server.sandbox.limiter.try_acquire(vendor.name, auth.key):
            self.rate_window_ms = self.server.sandbox.limiter.last_refusal()
            return vendor.too_many_requests(request)
        try:
            return handler(request)
        except Exception:  # a sandbox bug: say so loudly, answer like a server would
            traceback.print_exc()
            return vendor.error(500, "sandbox internal error", request)

    # --- control API ----------------------------------------------------------------

    def control(self, route, body):
        app = self.server.sandbox
        routes = {
            ("GET", "/health"): lambda: {"ok": True, "vendors": list(app.vendors)},
            ("GET", "/log"): app.log.records,
            ("GET", "/stats"): app.stats.snapshot,
            ("GET", "/config"): app.config,
            ("GET", "/faults"): app.faults.pending,
            ("POST", "/reset"): self.control_reset,
            ("POST", "/config"): lambda: self.control_config(body),
            ("POST", "/faults"): lambda: self.control_faults(body),
        }
        action = routes.get((self.command, route))
        if action is None:
            if any(path == route for _, path in routes):
                return self.send(json_response({"error": "method not allowed"}, 405))
            return self.send(json_response(
                {"error": f"no control endpoint {CONTROL_PREFIX}{route}"}, 404))
        try:
            result = action()
        except ValueError as e:
            return self.send(json_response({"error": str(e)}, 400))
        self.send(json_response(result))

    def control_reset(self):
        self.server.sandbox.reset()
        return {}

    def control_config(self, body):
        self.server.sandbox.configure(self.json_body(body))
        return self.server.sandbox.config()

    def control_faults(self, body):
        """Queue one fault object, or a list of them (in list order)."""
        spec = self.json_body(body)
        specs = spec if isinstance(spec, list) else [spec]
        return {"queued": [self.server.sandbox.faults.add(s).describe() for s in specs]}

    @staticmethod
    def json_body(body):
        try:
            return json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"request body is not JSON: {e}") from None


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True  # hung requests must never keep the process alive
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address, sandbox):
        self.sandbox = sandbox
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, SandboxHandler)

    def server_bind(self):
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup that can
        # stall start-up; the sandbox has no use for a host name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def write_port_file(path, port):
    """Write atomically (temp file + rename) so a poller never reads a partial number."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Local sandbox for the vendor APIs.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port; 0 lets the OS pick")
    parser.add_argument("--port-file", help="write the bound port number here")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--latency-ms", type=float, default=0,
                        help="delay every vendor answer by this many milliseconds")
    args = parser.parse_args(argv)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        parser.error(f"--host must be a loopback address, not {args.host!r}")
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    args.host = host
    return args


def main(argv):
    args = parse_args(argv)
    latency = int(args.latency_ms) if float(args.latency_ms).is_integer() else args.latency_ms
    sandbox = Sandbox(args.log, latency)
    try:
        server = SandboxServer((args.host, args.port), sandbox)
    except OSError as e:
        hint = ""
        if e.errno == errno.EADDRINUSE:
            hint = (f" (another sandbox may be running there: stop it, or pick another port with"
                    f" `make sandbox SANDBOX_PORT={args.port + 1}` and use that port in SANDBOX_URL)")
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {e.strerror}{hint}",
              file=sys.stderr)
        return 1
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"sandbox listening on http://{host}:{port}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                               name="serve_forever", daemon=True)
    serving.start()
    stop.wait()
    server.shutdown()
    sandbox.settings.wake_all()  # end hangs and trickles
    server.server_close()
    sandbox.log.close()
    if args.port_file:
        try:
            os.unlink(args.port_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
