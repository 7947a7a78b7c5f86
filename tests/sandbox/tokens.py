"""Short-lived tokens the sandbox's token endpoints hand out (Capillary, CXengage).

Apart from state.py, which imports credentials.py and so the vendor registry: the vendor
modules use this one while the registry is being built.
"""

import secrets
import threading
import time


class TokenIssuer:
    """Short-lived tokens handed out by the token endpoints, each with its expiry.

    Tokens are random (the sandbox's secrets stay out of them) and carry the vendor's
    name so a Capillary token is no CXengage credential. Time is time.monotonic().
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._expiry = {}

    def issue(self, vendor, ttl_seconds):
        token = f"sbx-{vendor}-{secrets.token_hex(16)}"
        with self._lock:
            now = time.monotonic()
            # Expired tokens are forgotten as new ones are issued: memory stays bounded.
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + ttl_seconds
        return token

    def state(self, vendor, token):
        """'ok', 'expired' or 'unknown'."""
        if not token.startswith(f"sbx-{vendor}-"):
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
