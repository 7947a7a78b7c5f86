"""Short-lived tokens the sandbox's token endpoints hand out (Capillary, CXengage).

Apart from state.py, which imports credentials.py and so the vendor registry: the vendor
modules use this one while the registry is being built.
"""

import base64
import json
import secrets
import threading
import time

# How a token answer gives the token's lifetime (Capillary: docs/vendors.md#capillary): the
# documented `ttlSeconds`, a connector's `expiresIn`, only the JWT's own `exp`, or not at all.
TOKEN_FORMS = ("ttlSeconds", "expiresIn", "jwt", "none")


def _b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


class TokenIssuer:
    """Short-lived tokens handed out by the token endpoints, each with its expiry.

    Tokens are random (the sandbox's secrets stay out of them) and carry the vendor's
    name so a Capillary token is no CXengage credential. Time is time.monotonic().
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._expiry = {}

    def issue(self, vendor, ttl_seconds, jwt=False):
        """A token; with jwt, a JWT whose only claim of time is `exp` (unsigned: alg none),
        its signature part the random token, so it still names the vendor."""
        token = f"sbx-{vendor}-{secrets.token_hex(16)}"
        if jwt:
            claims = {"iss": f"sandbox-{vendor}", "exp": int(time.time() + ttl_seconds)}
            token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.{token}"
        with self._lock:
            now = time.monotonic()
            # Expired tokens are forgotten as new ones are issued: memory stays bounded.
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + ttl_seconds
        return token

    def state(self, vendor, token):
        """'ok', 'expired' or 'unknown'."""
        if not token.rpartition(".")[2].startswith(f"sbx-{vendor}-"):
            return "unknown"
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return "unknown"
        return "ok" if time.monotonic() < expiry else "expired"

    def clear(self):
        with self._lock:
            self._expiry.clear()


TOKENS = TokenIssuer()
