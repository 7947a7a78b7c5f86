/*
 * The fetch layer's side of rate limiting (issue 22): which limiter a table uses (the host's own,
 * or one shared through Redis, limiter_url), the part of the vendor's quota it takes
 * (quota_share), what happens when Redis fails (limiter_fallback), when a request counts for the
 * limiter, and a 429 that asks for a longer wait than the statement may spend. See
 * limit/ratelimit.h and docs/reference/rate-limits-and-hosts.md#many-hosts-on-one-account.
 */
#include "fetch/limiting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* quota_share as a number: 0 < share <= 1, else -1. */
static double limiting_quota_share(const char *text) {
  if (!text || !*text) return 1;
  char *end = NULL;
  double share = strtod(text, &end);
  if (end == text || *end || !(share > 0) || share > 1) return -1;
  return share;
}

/* The statement's error when the shared limiter fails: the problem (its URL without the
 * password first), where limiter_url came from, and for an outage the two ways out. */
static char *limiting_error(const limiting_account *account, const char *problem, int refused) {
  return ix_errorf("%s: the shared rate limiter %s (limiter_url from %s)%s", account->table_name,
                   problem, config_origin(account->config, "limiter_url"),
                   refused ? ""
                           : ": start it or fix limiter_url, or set limiter_fallback=local to "
                             "limit this host on its own at quota_share");
}

int limiting_open(limiting_account *account, const char *vendor, const char *scope,
                  char **error_out) {
  const config_engine_settings *engine = config_engine(account->config);
  double share = limiting_quota_share(engine->quota_share);
  if (share < 0) {
    *error_out = ix_errorf(
        "%s: quota_share must be a number above 0 and at most 1 (the part of each vendor window "
        "this installation may use, such as 0.5), got '%s' (from %s)",
        account->table_name, engine->quota_share, config_origin(account->config, "quota_share"));
    return SQLITE_ERROR;
  }
  const char *fallback = engine->limiter_fallback ? engine->limiter_fallback : "fail";
  if (strcmp(fallback, "fail") != 0 && strcmp(fallback, "local") != 0) {
    *error_out = ix_errorf(
        "%s: limiter_fallback must be 'fail' (a statement fails when the shared limiter does) or "
        "'local' (this host limits on its own at quota_share), got '%s' (from %s)",
        account->table_name, fallback, config_origin(account->config, "limiter_fallback"));
    return SQLITE_ERROR;
  }
  rate_limit_share(account->rate_limit, share);
  rate_shared_settings shared = {engine->limiter_url, getenv("INTERACTIONS_LIMITER_PASSWORD"),
                                 strcmp(fallback, "local") == 0};
  char problem[512];
  int refused = 0;
  account->limiter = rate_limiter_open(scope, vendor, &shared, problem, sizeof(problem), &refused);
  if (account->limiter) return SQLITE_OK;
  if (strcmp(problem, "out of memory") == 0) return SQLITE_NOMEM;
  *error_out = limiting_error(account, problem, refused);
  return SQLITE_ERROR;
}

long long limiting_admit(const limiting_account *account, rate_ticket *ticket, long long now,
                         long long deadline, char **error_out) {
  char problem[512];
  long long wait = rate_limiter_admit(account->limiter, account->rate_limit, now, deadline, ticket,
                                      problem, sizeof(problem));
  if (wait >= 0) return wait;
  *error_out = limiting_error(account, problem, wait == -2);
  return -1;
}

long long limiting_answered_ms(const http_response *response, long long completed_ms) {
  return response->answered_at_ms > 0 ? response->answered_at_ms : completed_ms;
}

int limiting_beyond_budget(const limiting_account *account, long long retry_wait_ms,
                           const http_response *response, char **error_out) {
  long long asked = (long long)response->retry_after_seconds * 1000;
  long long left = config_engine(account->config)->retry_budget_ms - retry_wait_ms;
  if (response->status != 429 || asked <= 0 || asked <= left) return 0;
  /* Every process and host holds off too, as long as a pause may last (a longer one would read
   * as damage: ratelimit.h). */
  long long cap = rate_pause_cap_ms(account->rate_limit);
  rate_limiter_pause(account->limiter, clock_ms() + (asked < cap ? asked : cap));
  *error_out = ix_errorf(
      "%s: HTTP 429 from %s: the vendor asks to wait %lld s (Retry-After) before the next "
      "request, more than this statement's retry budget has left (%.1f s of retry_budget_ms, "
      "from %s): run it again after that wait, or raise retry_budget_ms",
      account->table_name, account->host, (long long)response->retry_after_seconds,
      (double)(left > 0 ? left : 0) / 1000.0, config_origin(account->config, "retry_budget_ms"));
  return 1;
}
