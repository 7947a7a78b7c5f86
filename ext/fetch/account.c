/*
 * The account context: settings, timezone, limiter and the account's fingerprint. See account.h.
 */
#include "fetch/account.h"
#include "fetch/limiting.h"

#include "observe/envcheck.h"
#include "util/hash.h"
#include "util/notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* scheme://host:port of the base URL in its one canonical spelling (url_canonical_origin): the
 * same account, window and cache entries however the URL is written. */
static void account_origin(sqlite3_str *scope, const char *base_url) {
  char origin[512];
  int length = url_canonical_origin(base_url, origin, sizeof(origin));
  sqlite3_str_appendall(scope, length >= 0 && length < (int)sizeof(origin) ? origin : base_url);
}

/* The account is what the vendor counts: vendor, host and port, and credentials (which only ever
 * leave this function as a keyed hash: see ratelimit.c). The text is measured first and written
 * into one buffer of that size, so no reallocation leaves a copy of a credential behind unwiped. */
static char *account_scope(const fetch_account *account) {
  sqlite3_str *origin = sqlite3_str_new(NULL);
  sqlite3_str_appendf(origin, "%s|", account->provider->vendor);
  account_origin(origin, config_engine(account->config)->base_url);
  /* A vendor that limits each API group apart (Optimove) names the group: (host, key, group). */
  const char *group = config_api_group(account->config);
  if (group) sqlite3_str_appendf(origin, "|group=%s", group);
  char *head = sqlite3_str_finish(origin); /* no secret in it */
  if (!head) return NULL;
  size_t length = strlen(head);
  for (int i = 0; i < config_count(account->config); i++) {
    config_setting_view setting;
    config_at(account->config, i, &setting);
    /* The limiter's own URL is where the account's state lives, not part of the account. */
    if ((setting.flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL)) && setting.value &&
        strcmp(setting.key, "limiter_url") != 0) {
      length += 2 + strlen(setting.key) + strlen(setting.value);
    }
  }
  char *scope = sqlite3_malloc64(length + 1);
  if (scope) {
    size_t used = strlen(head);
    memcpy(scope, head, used + 1);
    for (int i = 0; i < config_count(account->config); i++) {
      config_setting_view setting;
      config_at(account->config, i, &setting);
      /* The limiter's own URL is where the account's state lives, not part of the account. */
      if ((setting.flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL)) && setting.value &&
          strcmp(setting.key, "limiter_url") != 0) {
        used +=
            (size_t)snprintf(scope + used, length + 1 - used, "|%s=%s", setting.key, setting.value);
      }
    }
  }
  sqlite3_free(head);
  return scope;
}

int account_configure(fetch_account *account, const config_options *options, char **error_out) {
  account->interrupt.db = account->db;
  if (account->config) return SQLITE_OK;
  const ix_provider *provider = account->provider;
  /* Settings are read now: a misspelt variable would fall back to a default silently, so the
   * warning about one comes first (settings/ is a leaf: it does not know who warns). */
  envcheck_warn_once();
  int rc = config_resolve(account->table_name, provider->vendor, provider->settings.list,
                          provider->default_base_url, options, &account->config, error_out);
  if (rc == SQLITE_OK) {
    rc = config_apply_region(account->config, account->table_name, provider->settings.regions, 0,
                             error_out);
  }
  if (rc == SQLITE_OK && config_base_url_defaulted(account->config)) {
    /* The production host, by default: not while the environment says a test host was meant. */
    char *reason =
        envcheck_production_guard(provider->vendor, config_engine(account->config)->base_url);
    if (reason) {
      *error_out = ix_errorf("%s: %s", account->table_name, reason);
      sqlite3_free(reason);
      rc = SQLITE_ERROR;
    }
  }
  if (rc != SQLITE_OK) {
    config_free(account->config);
    account->config = NULL;
    return rc;
  }
  const char *problem = NULL;
  url_check_base(config_engine(account->config)->base_url, account->host, sizeof(account->host),
                 &account->is_https, &problem);
  char *zone_error = NULL;
  account->zone = timefmt_zone_load(config_engine(account->config)->timezone, &zone_error);
  if (!account->zone) {
    *error_out = ix_errorf("%s: %s (from %s)", account->table_name,
                           zone_error ? zone_error : "out of memory",
                           config_origin(account->config, "timezone"));
    free(zone_error);
    rc = SQLITE_ERROR;
  }
  const char *rate_limit = config_engine(account->config)->rate_limit;
  if (rc == SQLITE_OK && rate_limit_parse(rate_limit, &account->rate_limit) != 0) {
    *error_out = ix_errorf(
        "%s: rate_limit must be N requests per window such as '50/10s' or '5/1s', or several "
        "separated by commas such as '50/10s,2000/1h', got '%s' (from %s)",
        account->table_name, rate_limit ? rate_limit : "",
        config_origin(account->config, "rate_limit"));
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) {
    char *scope = account_scope(account);
    limiting_account limiting = account_limiting(account);
    rc = scope ? limiting_open(&limiting, account->provider->vendor, scope, error_out)
               : SQLITE_NOMEM;
    account->limiter = limiting.limiter;
    if (scope) {
      account->account = hash64(scope);
      memset(scope, 0, strlen(scope)); /* it held credentials */
      sqlite3_free(scope);
    }
  }
  if (rc != SQLITE_OK) {
    config_free(account->config);
    account->config = NULL;
    timefmt_zone_free(account->zone);
    account->zone = NULL;
    return rc;
  }
  account->random_state = (uint64_t)clock_ms() ^ (uint64_t)(uintptr_t)account;
  return SQLITE_OK;
}

void account_free(fetch_account *account) {
  config_free(account->config);
  account->config = NULL;
  timefmt_zone_free(account->zone);
  account->zone = NULL;
  interrupt_free(&account->interrupt);
}

/* A provider's note (ix_note) goes through the stderr channel, as the engine's own do. */
void account_note(const char *table_name, const char *text) {
  notes_say(NOTES_NOTE, table_name, "%s", text);
}

limiting_account account_limiting(fetch_account *account) {
  return (limiting_account){account->config, account->table_name, account->host, account->limiter,
                            &account->rate_limit};
}

void account_request_init(const fetch_account *account, ix_request *request) {
  memset(request, 0, sizeof(*request));
  url_init(&request->url);
  url_append_raw(&request->url, config_engine(account->config)->base_url);
}

void account_request_clear(ix_request *request) {
  url_free(&request->url);
  http_headers_clear(&request->headers);
}

ix_call account_call(const fetch_account *account) {
  ix_call call = {
      account->provider, account->table_name, NULL, account->config, account->zone, NULL, 0, NULL,
      account_note};
  return call;
}
