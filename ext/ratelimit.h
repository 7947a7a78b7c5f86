/*
 * Rate limiting shared by every cursor of the process.
 *
 * One limiter per (vendor, credential, host): vendors count requests per API key, and two database
 * connections in one process (a Python app, say) use the same key. The limit is an exact sliding
 * window: never more than N requests arrive at the vendor in any W milliseconds. A token bucket of
 * N refilling at N/W would allow up to 2N in the first window, which a vendor counting a sliding
 * window answers with 429s (docs/engine.md#rate-limits).
 *
 * The vendor counts a request when it arrives, which we cannot see; we can see when it left and
 * when its answer came back, and it arrived in between. So each request holds its slot until it
 * completes, the slot then records the completion time, and a request may start only when the
 * request N before it completed at least W ago. Since requests start in slot order, any N+1 of them
 * then arrive at least W apart, however slow a connection or a client was.
 */
#ifndef IX_RATELIMIT_H
#define IX_RATELIMIT_H

typedef struct rate_limiter rate_limiter;

/* Parses "N/Ws", "N/Wms", "N/Wm" or "N/W" (seconds) into a count and a window. Returns 0 or -1. */
int rate_limit_parse(const char *text, int *max_requests, long long *window_ms);

/* The process-wide limiter for scope, created on first use with this limit; a later call with a
 * different limit for the same scope changes it. scope is hashed, never stored: it may contain
 * credentials. Returns NULL when out of memory. */
rate_limiter *rate_limiter_get(const char *scope, int max_requests, long long window_ms);

/* A started request's claim on its slot, to be given back with rate_limiter_done. */
typedef struct rate_ticket {
  int slot;
  unsigned long long generation;
} rate_ticket;

/* Either records a request starting at now_ms and returns 0, or returns how many milliseconds to
 * wait before trying again. Never blocks, so callers can check for interrupts while they wait.
 * With a ticket, the slot stays pending until rate_limiter_done; without one, the request counts
 * as completed at now_ms. */
long long rate_limiter_reserve(rate_limiter *limiter, long long now_ms, rate_ticket *ticket);

/* The request of ticket completed (answered, failed or cancelled) at now_ms. Every ticket must be
 * given back exactly once, or its slot stays pending. */
void rate_limiter_done(rate_limiter *limiter, const rate_ticket *ticket, long long now_ms);

/* After a 429: no request of this scope starts before until_ms, whichever cursor sends it. */
void rate_limiter_pause(rate_limiter *limiter, long long until_ms);

/* Monotonic milliseconds. */
long long rate_clock_ms(void);

#endif
