/*
 * The fetch layer's side of rate limiting (issue 22): which limiter an account uses (limiter_url,
 * limiter_fallback, quota_share), when a request counts for it, and a 429 that asks for a longer
 * wait than the statement may spend. See limiting.c and limit/ratelimit.h.
 */
#ifndef IX_FETCH_LIMITING_H
#define IX_FETCH_LIMITING_H

#include "fetch/account.h"
#include "util/http.h"

/* Opens the account's limiter (quota_share, limiter_url, limiter_fallback): SQLITE_OK, or an
 * error before any request. scope is the account (account.c). */
int limiting_open(fetch_account *account, const char *scope, char **error_out);
/* The limiter's answer for a request starting now: 0 (go), the milliseconds to wait, or -1 with
 * *error_out set (the shared limiter failed and limiter_fallback is fail). */
long long limiting_admit(fetch_account *account, rate_ticket *ticket, long long now,
                         char **error_out);
/* When the answer of a request that just ended began (its first byte; else now), for
 * rate_limiter_done. */
long long limiting_answered_ms(const http_response *response);
/* A 429 whose Retry-After is beyond what the retry budget has left (retry_wait_ms spent):
 * pauses the account and sets *error_out (the vendor's wait in it); returns 1. Else 0. */
int limiting_beyond_budget(fetch_account *account, long long retry_wait_ms,
                           const http_response *response, char **error_out);

#endif
