"""Scripted faults: what tests queue with POST /_sandbox/faults.

A fault names a vendor (or none: any vendor), an optional `match` substring of the
request's raw "path?query", a `count` and a `kind`. Each vendor request takes the
oldest queued fault that matches it (FIFO) and uses up one of its count.

Two families of kinds:
* replacing kinds answer instead of the vendor (status, 429, redirect, html,
  invalid_json, gzip_bomb, oversized, body, echo): build_response() makes that answer;
* delivery kinds change how the normal answer travels (hang, trickle, truncate,
  reset, cut_headers, cut_body, latency): server.py applies them while sending.
"""

import base64
import itertools
import threading
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import quote, unquote

from responses import HTML_TYPE, JSON_TYPE, Response

MIB = 1024 * 1024

# kind -> {parameter: (type check, default)}; a default of None means optional.
_PARAMS = {
    "status": {"status": (int, 500), "body": (str, None), "headers": (dict, None)},
    "429": {"retry_after": (str, None)},
    "hang": {"seconds": ((int, float), 3600)},
    "trickle": {"bytes_per_second": ((int, float), 1)},
    "truncate": {"bytes": (int, None)},
    "reset": {"bytes": (int, None)},
    "cut_headers": {},
    "cut_body": {"bytes": (int, None)},
    "redirect": {"location": (str, "http://evil.example/steal"), "status": (int, 302)},
    "html": {"status": (int, 200)},
    "invalid_json": {"status": (int, 200)},
    "gzip_bomb": {"inflated_bytes": (int, 64 * MIB)},
    "oversized": {"bytes": (int, 20 * MIB)},
    "body": {"body": (str, None), "content_type": (str, JSON_TYPE), "status": (int, 200)},
    "latency": {"ms": ((int, float), 1000)},
    "echo": {"status": (int, 401), "form": (str, "plain"), "pad": (int, 0),
             "format": (str, "vendor")},
}
ECHO_FORMS = ("plain", "upper", "percent", "hex", "hex_pairs", "references", "groups")
ECHO_FORMATS = ("vendor", "text")
KINDS = tuple(_PARAMS)
REPLACING = frozenset({"status", "429", "redirect", "html", "invalid_json", "gzip_bomb",
                       "oversized", "body", "echo"})
_COMMON = ("vendor", "match", "count", "kind")


@dataclass
class Fault:
    id: int
    kind: str
    vendor: str | None
    match: str | None
    remaining: int
    params: dict = field(default_factory=dict)

    def describe(self):
        return {"id": self.id, "kind": self.kind, "vendor": self.vendor, "match": self.match,
                "remaining": self.remaining, **self.params}


def _check(value, expected, name):
    # bool is an int subclass in Python; never accept true/false as a number.
    if isinstance(value, bool) or not isinstance(value, expected):
        raise ValueError(f"fault parameter {name!r} has the wrong type")
    return value


class FaultQueue:
    def __init__(self, vendors):
        self._vendors = tuple(vendors)
        self._lock = threading.Lock()
        self._queue = []
        self._ids = itertools.count(1)

    def add(self, spec):
        """Validate a JSON fault spec and queue it; ValueError describes what is wrong."""
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        kind = spec.get("kind")
        if isinstance(kind, int) and not isinstance(kind, bool):
            kind = str(kind)  # accept "kind": 429 as well as "429"
        if kind not in _PARAMS:
            raise ValueError(f"unknown fault kind {kind!r}; kinds: {', '.join(KINDS)}")
        allowed = _PARAMS[kind]
        unknown = sorted(set(spec) - set(allowed) - set(_COMMON))
        if unknown:
            raise ValueError(f"unknown parameter(s) for kind {kind!r}: {', '.join(unknown)}")
        vendor = spec.get("vendor")
        if vendor is not None and vendor not in self._vendors:
            raise ValueError(f"unknown vendor {vendor!r}")
        match = spec.get("match")
        if match is not None:
            _check(match, str, "match")
        count = _check(spec.get("count", 1), int, "count")
        if count < 1:
            raise ValueError("count must be at least 1")
        params = {}
        for name, (expected, default) in allowed.items():
            if name in spec and spec[name] is not None:
                params[name] = _check(spec[name], expected, name)
            elif default is not None:
                params[name] = default
        if kind == "body" and "body" not in params:
            raise ValueError("kind 'body' needs a 'body' string")
        if kind == "trickle" and params["bytes_per_second"] <= 0:
            raise ValueError("bytes_per_second must be positive")
        if kind == "echo" and (params["form"] not in ECHO_FORMS
                               or params["format"] not in ECHO_FORMATS or params["pad"] < 0):
            raise ValueError(f"echo takes form in {ECHO_FORMS}, format in {ECHO_FORMATS}, pad >= 0")
        if "status" in params and not 100 <= params["status"] <= 599:
            raise ValueError("status must be an HTTP status code")
        fault = Fault(next(self._ids), kind, vendor, match, count, params)
        with self._lock:
            self._queue.append(fault)
        return fault

    def take(self, vendor, target):
        """The oldest fault for this vendor whose `match` occurs in `target`, or None."""
        with self._lock:
            for fault in self._queue:
                if fault.vendor not in (None, vendor):
                    continue
                if fault.match is not None and fault.match not in target:
                    continue
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._queue.remove(fault)
                return fault
        return None

    def pending(self):
        with self._lock:
            return [f.describe() for f in self._queue]

    def clear(self):
        with self._lock:
            self._queue.clear()


# --- replacing kinds ---------------------------------------------------------------------

def _reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _html_page(status):
    reason = _reason(status) if status != 200 else "Service Temporarily Unavailable"
    title = f"{status} {reason}" if status != 200 else reason
    return (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n"
            f"<body><h1>{title}</h1>\n<p>The server is temporarily unable to service your "
            "request. Please try again later.</p>\n<hr><address>nginx</address></body></html>\n"
            ).encode("utf-8")


_cache_lock = threading.Lock()
_gzip_bombs = {}
_oversized = {}


def gzip_bomb(inflated_bytes):
    """A gzip stream of `inflated_bytes` spaces, built once per size (~1000:1)."""
    with _cache_lock:
        if inflated_bytes not in _gzip_bombs:
            # wbits 31 = gzip container; zlib writes mtime 0, so the bytes are stable.
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)
            chunk = b" " * min(MIB, max(inflated_bytes, 1))
            parts, left = [], inflated_bytes
            while left > 0:
                piece = chunk if left >= len(chunk) else chunk[:left]
                parts.append(packer.compress(piece))
                left -= len(piece)
            parts.append(packer.flush())
            _gzip_bombs[inflated_bytes] = b"".join(parts)
        return _gzip_bombs[inflated_bytes]


def oversized_body(vendor, size):
    """Valid JSON of the vendor's own shape, padded with whitespace to exactly `size` bytes
    (or the smallest such document if `size` is smaller than that)."""
    key = (vendor.name, size)
    with _cache_lock:
        if key not in _oversized:
            prefix, item, suffix = vendor.oversized_parts()
            fixed = len(prefix) + len(suffix)
            count = max(1, (size - fixed + 1) // (len(item) + 1))
            body = prefix + b",".join(itertools.repeat(item, count))
            body += b" " * max(0, size - len(body) - len(suffix)) + suffix
            _oversized[key] = body
        return _oversized[key]


# Headers every request carries: the others are the ones that may hold a credential.
_PLAIN_HEADERS = frozenset({"host", "user-agent", "accept", "accept-encoding", "content-type",
                            "content-length", "connection", "expect"})


def echo_text(request, pad, form):
    """What a careless server says back: every header it received (a Basic credential decoded
    too), the path, and the query, raw and decoded; `pad` dots first move it across a client's
    cut. The encoded forms (hex, hex_pairs, references, groups) are longer, so they put the
    credentials first (each credential header's value after its scheme, a Basic password alone),
    then those headers and the query, right after the dots, where the client's 200-character
    excerpt would show them."""
    credentials, values, plain, received = [], [], [], []
    for name, value in request.headers.items():
        parts = [f"{name}: {value}"]
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                parts.append(base64.b64decode(credential).decode("utf-8", "replace"))
                values.append(parts[-1].partition(":")[2])  # the password alone
            except ValueError:
                pass
        if name.lower() not in _PLAIN_HEADERS:
            values.append(credential or value)
        (plain if name.lower() in _PLAIN_HEADERS else credentials).extend(parts)
        received.extend(parts)
    query = ["query " + request.raw_query, unquote(request.raw_query)]
    if form in _ECHO_ENCODERS:
        echoed = " ".join(values + credentials + query + plain + ["path " + request.raw_path])
        return "invalid credentials " + "." * pad + _ECHO_ENCODERS[form](echoed)
    text = " ".join(["invalid credentials", "." * pad] + received + ["path " + request.raw_path]
                    + query)
    if form == "upper":
        return text.upper()
    if form == "percent":
        return quote(text, safe="")
    return text


def _echo_hex(text):
    return text.encode("utf-8").hex()


def _echo_hex_pairs(text):
    """Upper-case hex, the bytes joined by ':' (as fingerprints and MACs are shown)."""
    return ":".join("%02X" % b for b in text.encode("utf-8"))


def _echo_references(text):
    """Every character as an HTML numeric reference, in turn decimal, hex, upper-case hex and
    with leading zeros, one in three without its ';' (browsers read those too: the next one
    starts with '&', which ends the number)."""
    shapes = ("&#%d;", "&#x%x;", "&#X%X", "&#00%d;", "&#x%X", "&#%d")
    return "".join(shapes[i % len(shapes)] % ord(c) for i, c in enumerate(text))


def _echo_groups(text):
    """The characters in groups of irregular sizes, separated by ' ', '-', '.', ':', '_' or a
    line break in turn."""
    sizes, separators = (4, 3, 5, 1, 2, 6, 4), (" ", "-", ".", ":", "_", "\n", "\r\n")
    out, at, turn = [], 0, 0
    while at < len(text):
        size = sizes[turn % len(sizes)]
        out.append(text[at:at + size])
        out.append(separators[turn % len(separators)])
        at, turn = at + size, turn + 1
    return "".join(out)


_ECHO_ENCODERS = {"hex": _echo_hex, "hex_pairs": _echo_hex_pairs,
                  "references": _echo_references, "groups": _echo_groups}


def build_response(fault, vendor, request):
    """The answer a replacing fault sends instead of the vendor's."""
    p = fault.params
    kind = fault.kind
    if kind == "status":
        if "body" in p:
            response = Response(p["status"], p["body"].encode("utf-8"))
        else:
            response = vendor.error(p["status"], _reason(p["status"]), request)
        response.headers.extend((str(k), str(v)) for k, v in (p.get("headers") or {}).items())
        return response
    if kind == "429":
        response = vendor.error(429, "Too Many Requests", request)
        if "retry_after" in p:
            response.headers.append(("Retry-After", p["retry_after"]))
        return response
    if kind == "redirect":
        location = p["location"]
        body = f'<html><body>Moved: <a href="{location}">{location}</a></body></html>\n'
        return Response(p["status"], body.encode("utf-8"), HTML_TYPE, [("Location", location)])
    if kind == "html":
        return Response(p["status"], _html_page(p["status"]), HTML_TYPE)
    if kind == "invalid_json":
        return Response(p["status"], b'{"truncated": ')
    if kind == "gzip_bomb":
        # Sent gzip-encoded whether or not the client asked: a hostile server would.
        return Response(200, gzip_bomb(p["inflated_bytes"]), JSON_TYPE,
                        [("Content-Encoding", "gzip")], compressible=False)
    if kind == "oversized":
        # Identity-encoded so the byte count on the wire is the size asked for.
        return Response(200, oversized_body(vendor, p["bytes"]), compressible=False)
    if kind == "body":
        return Response(p["status"], p["body"].encode("utf-8"), p["content_type"])
    if kind == "echo":
        text = echo_text(request, p["pad"], p["form"])
        if p["format"] == "text":
            return Response(p["status"], text.encode("utf-8"), "text/plain; charset=utf-8")
        return vendor.error(p["status"], text, request)
    raise AssertionError(f"{kind} is not a replacing fault")
