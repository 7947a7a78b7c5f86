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
 * What the window counts from. The vendor counts a request when it arrives, which we cannot see.
 * Let s(g) be when request g was admitted (it leaves after), a(g) when it arrived at the vendor
 * and b(g) when its answer's first byte came back (util/http.h's answered_at_ms); whatever the
 * network and the vendor's queues do, s(g) <= a(g) <= b(g). The rule: request g (the account's
 * g-th admission, over every process and host) is admitted only when s(g) >= b(g-N) + W for every
 * window N/W, a request not answered yet counting as answered at its own time limit (libcurl
 * gives up on it then; one cancelled on the wire gets a second more, fetch/inlist.c).
 * Admissions are numbered in the order they happen, so for any h <= g-N,
 * s(g) >= s(h+N) >= b(h) + W, hence a(g) - a(h) >= W. Of any N+1 requests the latest admitted, g,
 * and the earliest, h, have h <= g-N: their arrivals are at least W apart, so no W ever holds
 * more than N arrivals. Redis (limit/redis.c) admits g when the N-th latest recorded score is at
 * least W before s(g), a score being b (or later), or the time limit while pending: of the N
 * requests admitted before g in any N+1, one then had a score, so a b, so an a, at most s(g) - W.
 * It wastes b(h) - a(h) per window, the vendor's work on the request plus the answer's way back:
 * one answer time L per window, W + L instead of W, x1.05 at 50/1s with 50 ms answers, x1.01 at
 * 50/10s with 100 ms (docs/scale.md#what-the-window-counts-from, bench/README.md). Counting from
 * s(h) plus a margin m would waste less, but is safe only if a(h) <= s(h) + m for every request,
 * and nothing bounds a(h) - s(h) in advance (a new TCP and TLS connection, a retransmission, a
 * proxy, the vendor's gateway queue); the only bound the client ever learns is b(h), when the
 * answer comes, and then it is the tightest one. A margin learned from past answer times fails
 * on exactly the requests that matter: the first window has no past, and the first request on a
 * new connection takes longest (counted from the start, 1 x 429 in 90 requests, two processes at
 * 50/1s; with an expected answer time, Redis opened the second window 34 ms early).
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
