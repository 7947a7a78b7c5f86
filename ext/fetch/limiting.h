/*
 * The fetch layer's side of rate limiting (issue 22): which limiter an account uses (limiter_url,
 * limiter_fallback, quota_share), when a request counts for it, and a 429 that asks for a longer
 * wait than the statement may spend. See limiting.c and limit/ratelimit.h.
 *
 * It takes the few parts of an account it needs (limiting_account), not fetch_account: account.c
 * opens the limiter through it and transport.c asks it, so it depends on neither (no circle).
 */
#ifndef IX_FETCH_LIMITING_H
#define IX_FETCH_LIMITING_H

#include "limit/ratelimit.h"
#include "provider/provider.h"
#include "util/http.h"

/* What of an account the limiting needs (fetch_account's fields of the same names). */
typedef struct limiting_account {
  const ix_config *config;
  const char *table_name;
  const char *host; /* for messages */
  rate_limiter *limiter;
  rate_limit *rate_limit;
} limiting_account;

/* Opens the account's limiter (quota_share, limiter_url, limiter_fallback) into
 * account->limiter, cutting *account->rate_limit to quota_share: SQLITE_OK, or an error before
 * any request. scope is the account (account.c), vendor names the limiter in notes. */
int limiting_open(limiting_account *account, const char *vendor, const char *scope,
                  char **error_out);
/* The limiter's answer for a request starting now that must be over by deadline: 0 (go), the
 * milliseconds to wait, or -1 with *error_out set (the shared limiter failed and
 * limiter_fallback is fail). */
long long limiting_admit(const limiting_account *account, rate_ticket *ticket, long long now,
                         long long deadline, char **error_out);
/* When the answer of a request that just ended began (its first byte; else completed_ms), for
 * rate_limiter_done. */
long long limiting_answered_ms(const http_response *response, long long completed_ms);
/* A 429 whose Retry-After is beyond what the retry budget has left (retry_wait_ms spent):
 * pauses the account and sets *error_out (the vendor's wait in it); returns 1. Else 0. */
int limiting_beyond_budget(const limiting_account *account, long long retry_wait_ms,
                           const http_response *response, char **error_out);

#endif
