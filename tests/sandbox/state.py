"""The sandbox's mutable state: runtime settings, the request log and the statistics.

All of it is shared by the request threads, so every object here guards itself with
a lock, and POST /_sandbox/reset puts each back to its start-up state.
"""

import json
import re
import threading
from urllib.parse import quote, quote_plus

import credentials


class Settings:
    """Switches the control API can flip; reset() restores the command-line values."""

    def __init__(self, latency_ms=0):
        self._lock = threading.Lock()
        self._startup_latency_ms = latency_ms
        self.latency_ms = latency_ms
        self.engagement_format = False  # Optimove's "new format" account flag
        # Lifetime of exchanged tokens (Capillary, CXengage); None = each vendor's default.
        self.token_ttl_seconds = None
        # Answers wait until this many vendor requests have been in flight at once (None: no
        # wait), so a test of the client's concurrency does not depend on how fast it launches.
        self.hold_until_concurrent = None
        self.token_form = "ttlSeconds"  # how Capillary's token answer gives the lifetime
        # Hanging and trickling requests wait on this; reset and shutdown set it so
        # that they end instead of lingering into the next test.
        self._wake = threading.Event()

    @property
    def wake_event(self):
        with self._lock:
            return self._wake

    def wake_all(self):
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()

    def reset(self):
        self.latency_ms = self._startup_latency_ms
        self.engagement_format = False
        self.token_ttl_seconds = None
        self.hold_until_concurrent = None
        self.token_form = "ttlSeconds"
        self.wake_all()


# What a client that says which release it is sends (vendors' support teams ask for it).
_VERSIONED_USER_AGENT = re.compile(r"sqlite-interactions/[0-9]+\.[0-9]+\.[0-9]+\S*")


class Stats:
    """Vendor-request counters for GET /_sandbox/stats.

    Besides the counts of requests and connections: how many requests carried a
    User-Agent naming the client's version (`versioned_user_agent`) and how many asked
    for English (`accept_language_en`, what Capillary integrations send), so a case can
    assert on headers without the log holding them.
    """

    # The longest an answer is held for hold_until_concurrent: a client that never reaches the
    # number then fails the test on max_concurrent, instead of hanging it.
    HOLD_SECONDS = 60

    def __init__(self):
        self._lock = threading.Condition()
        self._in_flight = 0
        self.reset()

    def reset(self):
        with self._lock:
            self._requests = 0
            self._versioned_user_agent = 0
            self._accept_language_en = 0
            self._connections = set()
            # Requests still in flight at a reset (a woken hang) are not re-counted.
            self._max_concurrent = 0
            self._lock.notify_all()

    def enter(self, conn_id, headers=None):
        agent = (headers.get("User-Agent") or "") if headers is not None else ""
        language = (headers.get("Accept-Language") or "") if headers is not None else ""
        with self._lock:
            self._requests += 1
            self._versioned_user_agent += bool(_VERSIONED_USER_AGENT.fullmatch(agent))
            self._accept_language_en += language.strip() == "en"
            self._connections.add(conn_id)
            self._in_flight += 1
            self._max_concurrent = max(self._max_concurrent, self._in_flight)
            self._lock.notify_all()

    def hold_until_concurrent(self, count, wake):
        """Waits until count requests have been in flight at once (or HOLD_SECONDS, or a reset)."""
        if not count:
            return
        with self._lock:
            self._lock.wait_for(lambda: self._max_concurrent >= count or wake.is_set(),
                                self.HOLD_SECONDS)

    def leave(self):
        with self._lock:
            self._in_flight -= 1

    def snapshot(self):
        with self._lock:
            return {"requests": self._requests, "connections": len(self._connections),
                    "versioned_user_agent": self._versioned_user_agent,
                    "accept_language_en": self._accept_language_en,
                    "max_concurrent": self._max_concurrent, "in_flight": self._in_flight}


def _secret_forms():
    forms = set()
    for secret in credentials.SECRETS:
        forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
    # Longest first, so a base64 token is redacted before a secret inside it.
    return sorted(forms, key=len, reverse=True)


class RequestLog:
    """One JSON object per request, in memory and (with --log) as JSON lines on disk.

    Records never hold credentials: the server logs only whether auth was ok, bad or
    missing, and a secret a client wrongly put in a URL is replaced by REDACTED (with
    "secret_in_url": true so tests can flag the client).
    """

    _SECRET_FORMS = _secret_forms()

    def __init__(self, path=None):
        self._lock = threading.Lock()
        self._records = []
        self._seq = 0
        # Bumped by clear(): a request that arrived before a reset and is answered after it (a
        # woken hang, latency or hold) belongs to the previous test, not to the next one's log.
        self._generation = 0
        self._file = open(path, "a", encoding="utf-8") if path else None

    @classmethod
    def redact(cls, text):
        found = False
        for form in cls._SECRET_FORMS:
            if form in text:
                text = text.replace(form, "REDACTED")
                found = True
        return text, found

    def generation(self):
        with self._lock:
            return self._generation

    def append(self, record, generation=None):
        """Number the record, keep it and write it through; returns the seq (None when the request
        arrived in an earlier generation than the log's: it is dropped)."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return None
            self._seq += 1
            record = {"seq": self._seq, **record}
            self._records.append(record)
            if self._file:
                self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._file.flush()
            return self._seq

    def records(self):
        with self._lock:
            return list(self._records)

    def clear(self):
        with self._lock:
            self._records.clear()
            self._seq = 0
            self._generation += 1
            if self._file:
                self._file.seek(0)
                self._file.truncate()

    def close(self):
        with self._lock:
            if self._file:
                self._file.close()
                self._file = None
