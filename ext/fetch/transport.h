/*
 * Sending one request of an account: the limiter's wait, the send, and the retries. Takes the
 * account context (account.h) and a sending of its own (budget, request-log id, parse buffer),
 * never a cursor; what the cursor above must do while a request waits comes down as hooks.
 *
 * Retries (docs/engine.md#retries): connect errors, timeouts, stalls, resets, a 2xx whose body is
 * empty or stops inside its JSON document, 429, 500, 502, 503 and 504 are retried up to
 * max_retries times with exponential backoff and jitter (base retry_base_ms, capped at 30 s); a
 * Retry-After header is a floor, clamped to 60 s. A 429 also pauses the limiter, so every cursor
 * of the account in every process backs off, not just this one: without Retry-After for at least
 * the shortest rate-limit window, and the retries of a 429 never end before one full window has
 * passed since the first. Other 4xx are never retried. A sending stops retrying once it has
 * waited retry_budget_ms in total.
 */
#ifndef IX_FETCH_TRANSPORT_H
#define IX_FETCH_TRANSPORT_H

#include "fetch/account.h"
#include "json/jsonarena.h"
#include "observe/progress.h"

/* A wait longer than this says why on stderr, once per statement (INTERACTIONS_QUIET hides it). */
#define TRANSPORT_WAIT_NOTICE_MS 3000

/* What every request a statement sends shares with it, handed down by the cursor. */
typedef struct transport_hooks {
  progress_state *progress; /* what the statement says on stderr */
  int *told_about_waiting;  /* a "waiting for ..." note is said once per statement */
  /* Keeps the statement's own transfers in flight moving while a request waits, and gives their
   * limiter slots back as they complete (IN lists, inlist.c); returns how many still run. A wait
   * that did not would wait for its own slots for ever (the stall of issue 10). NULL: none. */
  int (*pump)(void *arg);
  void *pump_arg;
} transport_hooks;

/* Whether a wait of waited_ms (so far, or in all) is the statement's first long enough to say
 * why (TRANSPORT_WAIT_NOTICE_MS); then it is marked said. */
int transport_tell_waiting(const transport_hooks *hooks, long long waited_ms);

/* Called in each attempt: with admitted 0 before the limiter is asked (nothing held: it may send
 * requests of its own, such as a token exchange), with admitted 1 once the limiter admitted the
 * attempt (its request is then made ready to leave: authenticated). Returns SQLITE_OK, an error,
 * or TRANSPORT_AGAIN (admitted 1 only) to give the admission back and start the attempt over. */
typedef int (*transport_prepare)(void *arg, int attempt, int admitted, char **error_out);
#define TRANSPORT_AGAIN (-1)

/* One sender's own accounting: a page's, or a token exchange's. */
typedef struct transport_sending {
  transport_hooks hooks;
  transport_prepare prepare; /* NULL: the request is ready as it is */
  void *prepare_arg;
  long long retry_wait_ms; /* time spent waiting to retry, against retry_budget_ms */
  /* Attempts already made for the next request elsewhere (an IN list's concurrent first one):
   * numbered on from there and counted against max_retries. transport_send takes it. */
  int attempts_made;
  sqlite3_int64 last_request_id; /* in the request log, of the last attempt */
  ix_json_parse *parsed;         /* a 2xx body parsed while checked whole, for the page */
} transport_sending;

/* Sends request (a POST of post_json when not NULL) until it succeeds, fails for good, or retries
 * run out. On SQLITE_OK the response is complete and its status is not one worth retrying. */
int transport_send(fetch_account *account, transport_sending *sending, const ix_request *request,
                   const char *post_json, http_response *response, char **error_out);

/* transport_send for a request outside any cursor (a token exchange, a lookup): with a sending of
 * its own, so that it can never change a page's accounting (request-log id, parse buffer). */
int transport_send_alone(fetch_account *account, const transport_hooks *hooks,
                         const ix_request *request, const char *post_json, http_response *response,
                         char **error_out);

/* libcurl's options for request: the account's timeouts, body cap and interrupt. */
http_request transport_http_options(const fetch_account *account, const ix_request *request);
/* A cached answer for url, logged as such (its id in sending); 0 when there is none. */
int transport_from_cache(const fetch_account *account, transport_sending *sending, const char *url,
                         http_response *response);

/* Waits like interrupt_sleep, keeping the hooks' transfers moving; non-zero when interrupted. */
int transport_wait(fetch_account *account, const transport_hooks *hooks, long long milliseconds);
/* Waits wait ms the limiter asked for (transport_wait), saying so: the progress line, and once per
 * statement a note when the wait since started (when the request began waiting) is long. Returns
 * SQLITE_OK, or SQLITE_INTERRUPT with *error_out set. */
int transport_wait_rate_limit(fetch_account *account, const transport_hooks *hooks,
                              long long started, long long wait, char **error_out);
/* When a request that just ended completed, for the limiter (rounded up). */
long long transport_completed_ms(void);
/* When a request started now must be over by: its own time limit. */
long long transport_deadline(const fetch_account *account, long long now);
/* After a 429: pauses every request of the account; returns the delay. */
long long transport_throttle_delay(const fetch_account *account, const http_response *response,
                                   long long backoff);
int transport_status_retryable(long status);
/* A 2xx whose body is empty or stops inside its JSON document. */
int transport_body_incomplete(const http_response *response);

#endif
