"""The Response value that vendor handlers return and the server sends."""

import json
from dataclasses import dataclass, field

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: list = field(default_factory=list)  # extra (name, value) pairs
    # False for bodies that must go out exactly as built (a gzip bomb is already
    # gzip-encoded; an oversized body must be that many bytes on the wire).
    compressible: bool = True


def dump_json(obj):
    """Compact UTF-8 JSON, as the vendors' servers send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(obj, status=200, headers=None):
    return Response(status, dump_json(obj), JSON_TYPE, list(headers or ()))
