/*
 * fetch.c's steps that the IN-list code (inlist.c) shares: building a request, the cache, the
 * limiter's clock and deadlines, what counts as a usable answer, and accepting a page. Engine
 * internals: providers never include this.
 */
#ifndef IX_FETCH_INTERNAL_H
#define IX_FETCH_INTERNAL_H

#include "fetch/fetch.h"

/* Builds the request for one page of the customer in args (authentication, path, query). */
int ix_build(ix_fetch *fetch, const ix_args *args, const char *page_token, ix_request *request,
             char **error_out);
void ix_request_clear(ix_request *request);
http_request ix_http_options(const ix_fetch *fetch, const ix_request *request);
/* A cached answer for the request, logged as such; 0 when there is none. */
int ix_from_cache(ix_fetch *fetch, const char *url, http_response *response);

/* When a request that just ended completed, for the limiter (rounded up). */
long long ix_completed_ms(void);
/* When a request started now must be over by: its own time limit. */
long long ix_request_deadline(const ix_fetch *fetch, long long now);
/* After a 429: pauses every request of the account; returns the delay. */
long long ix_throttle_delay(const ix_fetch *fetch, const http_response *response,
                            long long backoff);

/* The note on a long wait for the rate limit (fetch.c), where the limit came from. */
void ix_say_rate_limit_wait(const ix_fetch *fetch, double seconds);

/* in limiting.c */
/* Opens the table's limiter (quota_share, limiter_url, limiter_fallback): SQLITE_OK, or an error
 * before any request. scope is the account (ix_account_scope). */
int ix_limiter_open(ix_fetch *fetch, const char *scope, char **error_out);
/* The limiter's answer for a request starting now: 0 (go), the milliseconds to wait, or -1 with
 * *error_out set (the shared limiter failed and limiter_fallback is fail). */
long long ix_limiter_admit(ix_fetch *fetch, rate_ticket *ticket, long long now, char **error_out);
/* An IN list waiting wait_ms for the limiter: the note on a long wait, once per statement, as
 * the ordinary path says it. */
void ix_limiter_wait_note(ix_fetch *fetch, long long wait_ms);
/* When the answer of a request that just ended began (its first byte; else now), for
 * rate_limiter_done. */
long long ix_answered_ms(const http_response *response);
/* A 429 whose Retry-After is beyond what the retry budget has left: pauses the account and sets
 * *error_out (the vendor's wait in it); returns 1. Else 0. */
int ix_throttle_beyond_budget(ix_fetch *fetch, const http_response *response, char **error_out);

int ix_status_is_retryable(long status);
/* A 2xx whose body is empty or stops inside its JSON document. */
int ix_body_incomplete(const http_response *response);
/* A 401 to a request that carried an exchanged token. */
int ix_token_refused(const ix_fetch *fetch, const http_response *response,
                     const ix_request *request);
/* Turns a final response into the current page (fresh: it came from the wire, cache it). */
int ix_accept(ix_fetch *fetch, http_response *response, const ix_request *request, int fresh,
              char **error_out);

#endif
