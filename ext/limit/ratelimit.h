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
 * The vendor counts a request when it arrives, which we cannot see: we see when it left and when
 * its answer began to arrive, and it arrived in between. Only the later bound holds whatever the
 * network or the vendor's own queue did, so each request holds its slot until its answer begins
 * (the first byte, util/http.h's answered_at_ms: a large page still downloading does not hold it),
 * the slot then records that time, and a request may start only when the request N before it
 * was answered at least W ago. Any N+1 requests then arrive at least W apart. Counting from the
 * start instead is faster by one round trip per window but not safe: a request whose stamp at
 * the vendor is late (a new TLS connection, a queue at the vendor's gateway) lands inside the
 * window of the next; measured here, 1 x 429 in 90 requests with two processes at 50/1s. The
 * price is one answer time per window: W + L instead of W (bench/README.md).
 *
 * The history of starts lives in a file mapped by every process of the account (ratelimit.c, local.c),
 * so the window is the account's, not the process's. A slot whose request outlives its own time
 * limit (its process was killed, or a bug kept its ticket) counts as answered at that limit. With
 * limiter_url the same windows live in Redis instead, shared by every host (limit/redis.h).
 */
#ifndef IX_RATELIMIT_H
#define IX_RATELIMIT_H

#include <stddef.h>

#include "limit/local.h"  /* rate_state_dir: where the state file lives */
#include "limit/window.h" /* rate_limit, rate_ticket */
#include "util/clock.h"   /* clock_ms: the limiter's clock */

typedef struct rate_limiter rate_limiter;

/* Where an account's limiter keeps its state beyond this host (limiter_url and friends). */
typedef struct rate_shared_settings {
  const char *url;      /* redis://... or unix://...; NULL or "": the host's own state directory */
  const char *password; /* INTERACTIONS_LIMITER_PASSWORD, used when the URL has none */
  int fallback_local;   /* limiter_fallback=local: on a Redis failure, this host's own limiter */
} rate_shared_settings;

/* The limiter of an account in the place shared says, created on first use (one per account and
 * place). NULL with problem filled (the URL without its password, what went wrong, never a
 * secret) when Redis cannot be used and fallback_local is off; with it on, the host's own limiter
 * after one note. *refused is set when the fallback does not apply: the URL does not parse, or
 * Redis refused the password (problem then says the fix). */
rate_limiter *rate_limiter_open(const char *scope, const char *label,
                                const rate_shared_settings *shared, char *problem,
                                size_t problem_size, int *refused);
/* Where the limiter keeps its state, for messages: the Redis URL without its password, or NULL
 * for the state directory. */
const char *rate_limiter_where(const rate_limiter *limiter);
/* rate_limiter_reserve that can fail: -1 with problem filled when Redis failed and the fallback
 * is fail (a Redis that fails with fallback local: the host's own limiter, after one note); -2
 * when Redis refuses this host whatever the fallback (the password, or other windows stored for
 * the account), problem saying the fix. */
long long rate_limiter_admit(rate_limiter *limiter, const rate_limit *limit, long long now_ms,
                             long long deadline_ms, rate_ticket *ticket, char *problem,
                             size_t problem_size);

/* The limiter of an account on this host (rate_limiter_open without Redis), created on first use. scope identifies the account and may contain
 * credentials: it is only ever stored as a keyed hash. label (the vendor) names it in notes. The
 * state is shared through the state directory (rate_state_dir) when that is usable, else kept in
 * the process after one note on stderr. Returns NULL when out of memory. */
rate_limiter *rate_limiter_get(const char *scope, const char *label);
/* 1 when the limiter's state is shared with other processes. */
int rate_limiter_is_shared(const rate_limiter *limiter);

/* Either records a request starting at now_ms and returns 0, or returns how many milliseconds to
 * wait before trying again. Never blocks (beyond a short lock), so callers can check for
 * interrupts while they wait. The request must fit every window of limit. With a ticket, the slot
 * stays pending until rate_limiter_done, or until deadline_ms (the request's own time limit) has
 * passed; without one, the request counts as answered at now_ms. A damaged pause (longer than
 * rate_pause_cap_ms) is reset with a note naming the file. */
long long rate_limiter_reserve(rate_limiter *limiter, const rate_limit *limit, long long now_ms,
                               long long deadline_ms, rate_ticket *ticket);

/* The request of ticket was answered (its first byte arrived; or it failed or was cancelled) at
 * now_ms; clears the ticket, so giving it back twice is harmless. */
void rate_limiter_done(rate_limiter *limiter, rate_ticket *ticket, long long now_ms);

/* After a 429: no request of this account starts before until_ms, in any process (and with Redis
 * on any host: there capped at rate_pause_cap_ms of the windows last admitted under). */
void rate_limiter_pause(rate_limiter *limiter, long long until_ms);

#endif
