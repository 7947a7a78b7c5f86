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
