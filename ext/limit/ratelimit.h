/*
 * Rate limiting shared by every process of the user that uses one vendor account.
 *
 * One limiter per account (vendor, host and port, credential): vendors count requests per API key,
 * and a cron job, a notebook and a shell on one machine use the same key, as do the threads and
 * connections of one Python program. Each limit is an exact sliding window: never more than N
 * requests arrive at the vendor in any W milliseconds. A token bucket of N refilling at N/W would
 * allow up to 2N in the first window, which a vendor counting a sliding window answers with 429s
 * (docs/engine.md#rate-limits). An account may be held to several windows at once ("50/10s,2000/1h").
 *
 * The vendor counts a request when it arrives, which we cannot see; we can see when it left and
 * when its answer came back, and it arrived in between. So each request holds its slot until it
 * completes, the slot then records the completion time, and a request may start only when the
 * request N before it completed at least W ago. Requests start in generation order, so any N+1 of
 * them arrive at least W apart, however slow a connection or a client was.
 *
 * The history of starts lives in a file mapped by every process of the account (see ratelimit.c),
 * so the window is the account's, not the process's. A slot whose request outlives its own time
 * limit (its process was killed, or a bug kept its ticket) counts as completed at that limit.
 */
#ifndef IX_RATELIMIT_H
#define IX_RATELIMIT_H

#include "util/clock.h" /* rate_clock_ms: the limiter's clock */

#define RATE_MAX_WINDOWS 4

typedef struct rate_window {
  int max_requests;
  long long window_ms;
} rate_window;

/* Every window a request must fit in. */
typedef struct rate_limit {
  int count;
  rate_window windows[RATE_MAX_WINDOWS];
} rate_limit;

/* Parses "N/W" windows separated by commas: "50/10s", "50/10s,2000/1h"; W is "Ws", "Wms", "Wm",
 * "Wmin", "Wh" or bare seconds. Returns 0 or -1. */
int rate_limit_parse(const char *text, rate_limit *limit);
/* The shortest window: after a 429 without Retry-After, the least time in which the vendor's
 * window can have cleared. */
long long rate_limit_shortest_ms(const rate_limit *limit);

typedef struct rate_limiter rate_limiter;

/* The limiter of an account, created on first use. scope identifies the account and may contain
 * credentials: it is only ever stored as a keyed hash. label (the vendor) names it in notes. The
 * state is shared through the state directory (rate_state_dir) when that is usable, else kept in
 * the process after one note on stderr. Returns NULL when out of memory. */
rate_limiter *rate_limiter_get(const char *scope, const char *label);
/* 1 when the limiter's state is shared with other processes. */
int rate_limiter_is_shared(const rate_limiter *limiter);

/* The directory for shared state: INTERACTIONS_STATE_DIR, else
 * $XDG_RUNTIME_DIR/sqlite-interactions, else $TMPDIR (or /tmp)/sqlite-interactions-<uid>. Returns
 * size needed, like snprintf. */
int rate_state_dir(char *buffer, unsigned long size);

/* A started request's claim on its slot. Zero-initialised means no claim. */
typedef struct rate_ticket {
  unsigned long long generation;
} rate_ticket;

/* Either records a request starting at now_ms and returns 0, or returns how many milliseconds to
 * wait before trying again. Never blocks (beyond a short lock), so callers can check for
 * interrupts while they wait. The request must fit every window of limit. With a ticket, the slot
 * stays pending until rate_limiter_done, or until deadline_ms (the request's own time limit) has
 * passed; without one, the request counts as completed at now_ms. */
long long rate_limiter_reserve(rate_limiter *limiter, const rate_limit *limit, long long now_ms,
                               long long deadline_ms, rate_ticket *ticket);

/* The request of ticket completed (answered, failed or cancelled) at now_ms; clears the ticket, so
 * giving it back twice is harmless. */
void rate_limiter_done(rate_limiter *limiter, rate_ticket *ticket, long long now_ms);

/* After a 429: no request of this account starts before until_ms, in any process. */
void rate_limiter_pause(rate_limiter *limiter, long long until_ms);

#endif
