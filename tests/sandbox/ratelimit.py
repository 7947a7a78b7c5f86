"""Exact sliding-window rate limits, per vendor and per credential.

A rule "N/Ws" accepts a request at time t only if fewer than N requests were accepted
in the window (t - W, t]. Unlike a token bucket, no burst can ever exceed N in any
window of W seconds, which is what Optimove documents ("50 requests per 10 seconds
per API key, sliding window") and what a client-side limiter must be tested against.
Rejected requests do not count towards the window.
"""

import re
import threading
import time
from collections import deque

_RULE_RE = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}



def parse_rule(text):
    """(limit, window_seconds) from "50/10s", "100/60s", "1000/1m"; ValueError if bad."""
    match = _RULE_RE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"bad rate limit {text!r}: expected N/Ws, e.g. \"50/10s\"")
    limit, window = int(match.group(1)), float(match.group(2)) * _UNIT_SECONDS[match.group(3)]
    if limit < 1 or window <= 0:
        raise ValueError(f"bad rate limit {text!r}: N and W must be positive")
    return limit, window


class SlidingWindowLimiter:
    def __init__(self, vendors, defaults=None, clock=time.monotonic):
        """`defaults`: {vendor: "N/Ws"}, the rules after a reset (the documented limits; a
        vendor that documents none has none)."""
        self._vendors = tuple(vendors)
        self._defaults = {v: text for v, text in (defaults or {}).items() if text is not None}
        self._clock = clock
        self._lock = threading.Lock()
        self._rules = {}  # vendor -> (text, limit, window)
        self._accepted = {}  # (vendor, credential key) -> deque of accept times
        # What the window held when this thread's last request was refused (for the log: a test
        # that draws a 429 it did not expect shows the ages of the requests that filled it).
        self._refusal = threading.local()
        self.reset()

    def reset(self):
        """Back to the default rules with empty windows."""
        with self._lock:
            self._rules.clear()
            self._accepted.clear()
            for vendor, text in self._defaults.items():
                self._rules[vendor] = (text, *parse_rule(text))

    def configure(self, rules):
        """Apply {vendor: "N/Ws" or None}; validates everything before changing anything."""
        parsed = {}
        for vendor, text in rules.items():
            if vendor not in self._vendors:
                raise ValueError(f"unknown vendor {vendor!r} in rate_limits")
            parsed[vendor] = None if text is None else (text, *parse_rule(text))
        with self._lock:
            for vendor, rule in parsed.items():
                if rule is None:
                    self._rules.pop(vendor, None)
                else:
                    self._rules[vendor] = rule
                # A changed rule starts from an empty window.
                for key in [k for k in self._accepted if k[0] == vendor]:
                    del self._accepted[key]

    def rules(self):
        with self._lock:
            return {v: (self._rules[v][0] if v in self._rules else None) for v in self._vendors}

    def last_refusal(self):
        """The ages (ms, oldest first) of the requests in the window that refused this thread's
        last request."""
        return getattr(self._refusal, "ages_ms", None)

    def try_acquire(self, vendor, credential):
        """True if the request may proceed (and is counted); False means answer 429."""
        with self._lock:
            rule = self._rules.get(vendor)
            if rule is None:
                return True
            _, limit, window = rule
            now = self._clock()
            accepted = self._accepted.setdefault((vendor, credential), deque())
            while accepted and now - accepted[0] >= window:
                accepted.popleft()
            if len(accepted) >= limit:
                self._refusal.ages_ms = [round((now - t) * 1000) for t in accepted]
                return False
            accepted.append(now)
            return True
