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


# nginx's stock page for a path it does not serve (sandbox assumption: every vendor's API sits
# behind such a front server, which answers paths outside the API itself).
NGINX_404 = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
             b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
             b"</body>\r\n</html>\r\n")


def dump_json(obj):
    """Compact UTF-8 JSON, as the vendors' servers send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(obj, status=200, headers=None):
    return Response(status, dump_json(obj), JSON_TYPE, list(headers or ()))
