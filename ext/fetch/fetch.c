/*
 * Fetching a page: settings, rate limit, retries and error texts. See fetch.h.
 *
 * Retries (docs/engine.md#retries): connect errors, timeouts, stalls, resets, a 2xx whose body is
 * empty or stops inside its JSON document, 429, 500, 502, 503 and 504 are retried up to
 * max_retries times with exponential backoff and jitter (base retry_base_ms, capped at 30 s); a
 * Retry-After header is a floor, clamped to 60 s. A 429 also pauses the limiter, so every cursor
 * of the account in every process backs off, not just this one: without Retry-After for at least
 * the shortest rate-limit window, and the retries of a 429 never end before one full window has
 * passed since the first (ix_send). A page is
 * retried before any of its rows are returned, so no row is ever returned twice; when retries run
 * out the statement fails, naming the status, the attempts and the time spent. Other 4xx are
 * never retried. A statement stops retrying once it has waited retry_budget_ms in total.
 */
#include "fetch/fetch.h"
#include "fetch/fetch_internal.h"

#include "auth/scrub.h"
#include "cache/cache.h"
#include "fetch/inlist.h"
#include "fetch/token.h"
#include "json/jsonarena.h"
#include "json/memlimits.h"
#include "observe/requestlog.h"
#include "provider/columns.h"
#include "provider/jsonspan.h"
#include "provider/notfound.h"
#include "util/hash.h"
#include "util/interrupt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

SQLITE_EXTENSION_INIT3

#define IX_MAX_EXCERPT 200
#define IX_BACKOFF_CAP_MS 30000
#define IX_RETRY_AFTER_CAP_MS 60000
/* A wait for the limiter longer than this is explained on stderr (once per table in a statement).
 */
#define IX_WAIT_NOTICE_MS 3000

/* ---- Configuration ---- */

/* scheme://host:port of the base URL, the port explicit: the same account however it is written. */
static void ix_account_origin(sqlite3_str *scope, const char *base_url) {
  const char *rest = strstr(base_url, "://");
  if (!rest) {
    sqlite3_str_appendall(scope, base_url);
    return;
  }
  rest += 3;
  size_t authority = strcspn(rest, "/?#");
  const char *last_colon = NULL, *close = NULL;
  for (size_t i = 0; i < authority; i++) {
    if (rest[i] == ':') last_colon = rest + i;
    if (rest[i] == ']') close = rest + i;
  }
  int has_port = last_colon && (!close || last_colon > close);
  sqlite3_str_appendf(scope, "%.*s%s", (int)(rest - base_url + (long)authority), base_url,
                      has_port                             ? ""
                      : strncmp(base_url, "https", 5) == 0 ? ":443"
                                                           : ":80");
}

static char *ix_account_scope(const ix_fetch *fetch) {
  /* The account is what the vendor counts: vendor, host and port, and credentials (which only
   * ever leave this function as a keyed hash: see ratelimit.c). */
  sqlite3_str *scope = sqlite3_str_new(NULL);
  sqlite3_str_appendf(scope, "%s|", fetch->provider->vendor);
  ix_account_origin(scope, config_engine(fetch->config)->base_url);
  for (int i = 0; i < config_count(fetch->config); i++) {
    ix_setting_view setting;
    config_at(fetch->config, i, &setting);
    if ((setting.flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL)) && setting.value) {
      sqlite3_str_appendf(scope, "|%s=%s", setting.key, setting.value);
    }
  }
  return sqlite3_str_finish(scope);
}

int ix_fetch_configure(ix_fetch *fetch, const ix_options *options, char **error_out) {
  fetch->interrupt.db = fetch->db;
  if (fetch->config) return SQLITE_OK;
  const ix_provider *provider = fetch->provider;
  int rc = config_resolve(fetch->table_name, provider->vendor, provider->settings,
                          provider->default_base_url, options, &fetch->config, error_out);
  if (rc != SQLITE_OK) return rc;
  const char *problem = NULL;
  url_check_base(config_engine(fetch->config)->base_url, fetch->host, sizeof(fetch->host),
                 &fetch->is_https, &problem);
  char *zone_error = NULL;
  fetch->zone = timefmt_zone_load(config_engine(fetch->config)->timezone, &zone_error);
  if (!fetch->zone) {
    *error_out =
        ix_errorf("%s: %s (from %s)", fetch->table_name, zone_error ? zone_error : "out of memory",
                  config_origin(fetch->config, "timezone"));
    free(zone_error);
    rc = SQLITE_ERROR;
  }
  const char *rate_limit = config_engine(fetch->config)->rate_limit;
  if (rc == SQLITE_OK && rate_limit_parse(rate_limit, &fetch->rate_limit) != 0) {
    *error_out = ix_errorf(
        "%s: rate_limit must be N requests per window such as '50/10s' or '5/1s', or several "
        "separated by commas such as '50/10s,2000/1h', got '%s' (from %s)",
        fetch->table_name, rate_limit ? rate_limit : "",
        config_origin(fetch->config, "rate_limit"));
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) {
    char *scope = ix_account_scope(fetch);
    fetch->limiter = scope ? rate_limiter_get(scope, provider->vendor) : NULL;
    if (scope) {
      fetch->account = ix_hash64(scope);
      memset(scope, 0, strlen(scope)); /* it held credentials */
      sqlite3_free(scope);
    }
    if (!fetch->limiter) rc = SQLITE_NOMEM;
  }
  if (rc != SQLITE_OK) {
    config_free(fetch->config);
    fetch->config = NULL;
    timefmt_zone_free(fetch->zone);
    fetch->zone = NULL;
    return rc;
  }
  fetch->random_state = (uint64_t)rate_clock_ms() ^ (uint64_t)(uintptr_t)fetch;
  return SQLITE_OK;
}

ix_call ix_fetch_call(const ix_fetch *fetch) {
  ix_call call = {fetch->provider, fetch->table_name, &fetch->args,         fetch->config,
                  fetch->zone,     &fetch->page,      fetch->pages_fetched, NULL};
  return call;
}

void ix_fetch_init(ix_fetch *fetch) {
  memset(fetch, 0, sizeof(*fetch));
  fetch->args.row_hint = -1;
  fetch->in_column = -1;
}

void ix_fetch_reset(ix_fetch *fetch) {
  ix_json_parse_clear(&fetch->parsed);
  ix_fetch_in_clear(fetch);
  ix_args_clear(&fetch->args);
  ix_page_reset(&fetch->page);
  if (fetch->page.customer_state && fetch->page.free_customer_state) {
    fetch->page.free_customer_state(fetch->page.customer_state);
  }
  fetch->page.customer_state = NULL;
  fetch->page.free_customer_state = NULL;
  fetch->pages_fetched = 0;
}

void ix_fetch_free(ix_fetch *fetch) {
  ix_fetch_reset(fetch);
  sqlite3_free(fetch->page.rows);
  fetch->page.rows = NULL;
  sqlite3_free(fetch->tokens_seen);
  fetch->tokens_seen = NULL;
  fetch->tokens_seen_count = fetch->tokens_seen_capacity = 0;
  config_free(fetch->config);
  fetch->config = NULL;
  timefmt_zone_free(fetch->zone);
  fetch->zone = NULL;
  ix_interrupt_free(&fetch->interrupt);
}

/* ---- Error texts ---- */

/* Vendor text longer than this is cut before it is scrubbed (a fragment it leaves at the cut is
 * still scrubbed, down to 7 bytes) and cut again to IX_MAX_EXCERPT after. */
#define IX_MAX_SCRUBBED 65536

/* A short, printable excerpt of the vendor's own explanation in an error body, or NULL. Vendor
 * bodies may echo what we sent (headers, the query), so the whole explanation is scrubbed of
 * secrets and header values before it is cut: a cut first would keep the part of a secret that
 * straddles it. */
static char *ix_vendor_message(const char *body, size_t body_len, const char *content_type,
                               const ix_config *config, const http_headers *headers) {
  if (!body || body_len == 0) return NULL;
  if (strstr(content_type, "html")) return sqlite3_mprintf("an HTML page, not JSON");
  /* A body too costly to parse (memlimits.h) is read as text. */
  size_t budget = (size_t)config_engine(config)->max_response_bytes * IX_PARSE_BUDGET_FACTOR;
  cJSON *root =
      memlimits_json_within(body, body_len, budget) ? cJSON_ParseWithLength(body, body_len) : NULL;
  const char *found = NULL;
  if (root) {
    static const char *const paths[][4] = {
        {"message", NULL},
        {"Message", NULL},
        {"error_description", NULL},
        {"error", "message", NULL},
        {"error", NULL},
        {"response", "customer", "item_status", "message"},
        {"response", "status", "message", NULL},
        {"errors", NULL},
    };
    for (size_t p = 0; !found && p < sizeof(paths) / sizeof(paths[0]); p++) {
      const cJSON *node = root;
      for (int k = 0; k < 4 && paths[p][k] && node; k++) {
        node = cJSON_GetObjectItemCaseSensitive(node, paths[p][k]);
      }
      if (cJSON_IsArray(node)) node = cJSON_GetObjectItemCaseSensitive(node->child, "message");
      if (cJSON_IsString(node) && *node->valuestring) found = node->valuestring;
    }
  } else {
    found = body;
  }
  char *excerpt = NULL;
  if (found) {
    size_t length = root ? strlen(found) : body_len;
    char *whole =
        sqlite3_mprintf("%.*s", (int)(length > IX_MAX_SCRUBBED ? IX_MAX_SCRUBBED : length), found);
    whole = scrub_text(config, headers, whole);
    size_t clean_length = whole ? strlen(whole) : 0;
    if (whole) {
      size_t keep = clean_length > IX_MAX_EXCERPT ? IX_MAX_EXCERPT : clean_length;
      /* A "***" the cut would split is kept whole. */
      while (keep > 0 && keep < clean_length && whole[keep] == '*' && whole[keep - 1] == '*') {
        keep++;
      }
      int cut = keep < clean_length || length > IX_MAX_SCRUBBED;
      excerpt = sqlite3_mprintf("%.*s%s", (int)keep, whole, cut ? "..." : "");
    }
    sqlite3_free(whole);
    for (char *p = excerpt; p && *p; p++) {
      if ((unsigned char)*p < 0x20) *p = ' ';
    }
  }
  cJSON_Delete(root);
  return excerpt;
}

/* A provider's error text ("table: ... vendor text ..."), without secrets or anything we sent in a
 * header. The leading table name is ours, and is kept: a credential may share 8 letters with it
 * (the key "sandbox-alpharun-token" with the table alpharun_interactions). */
static char *ix_scrub(const ix_config *config, const http_headers *headers, char *text) {
  if (!text) return NULL;
  size_t name = strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$");
  if (name == 0 || strncmp(text + name, ": ", 2) != 0) return scrub_text(config, headers, text);
  char *rest = scrub_text(config, headers, sqlite3_mprintf("%s", text + name + 2));
  char *whole = rest ? sqlite3_mprintf("%.*s: %s", (int)name, text, rest) : NULL;
  sqlite3_free(rest);
  sqlite3_free(text);
  return whole;
}

/* Names of the settings that hold this table's credentials, for "check ..." hints. */
static char *ix_credential_hint(const ix_provider *provider, const ix_config *config) {
  sqlite3_str *hint = sqlite3_str_new(NULL);
  int named = 0;
  for (const ix_setting_def *def = provider->settings; def && def->key; def++) {
    if (!(def->flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL))) continue;
    if (!config_get(config, def->key)) continue;
    sqlite3_str_appendf(hint, "%s%s", named++ ? " and " : "", config_origin(config, def->key));
  }
  if (!named) sqlite3_str_appendall(hint, "the credentials");
  return sqlite3_str_finish(hint);
}

static char *ix_status_error(const ix_fetch *fetch, const http_response *response,
                             const http_headers *headers) {
  const char *table = fetch->table_name;
  const char *host = fetch->host;
  char *vendor = ix_vendor_message(response->body, response->body_len, response->content_type,
                                   fetch->config, headers);
  char *said = vendor ? sqlite3_mprintf(" (the API said: %s)", vendor) : sqlite3_mprintf("%s", "");
  sqlite3_free(vendor);
  char *message;
  long status = response->status;
  char *special = NULL;
  ix_call call = ix_fetch_call(fetch);
  if ((status == 401 || status == 403) && fetch->provider->status_hint) {
    char *plain = ix_vendor_message(response->body, response->body_len, response->content_type,
                                    fetch->config, headers);
    special = fetch->provider->status_hint(&call, status, plain ? plain : "");
    sqlite3_free(plain);
  }
  if (special) {
    message =
        ix_errorf("%s: HTTP %ld from %s%s: %s", table, status, host, said ? said : "", special);
    sqlite3_free(special);
  } else if (status == 401 || status == 403) {
    char *hint = ix_credential_hint(fetch->provider, fetch->config);
    message = ix_errorf("%s: HTTP %ld from %s%s: check %s", table, status, host, said ? said : "",
                        hint ? hint : "the credentials");
    sqlite3_free(hint);
  } else if (status >= 300 && status < 400) {
    message = ix_errorf(
        "%s: HTTP %ld from %s: the API redirected the request, and redirects are "
        "not followed because they would carry credentials to another host: "
        "check the base URL (%s)",
        table, status, host, config_origin(fetch->config, "base_url"));
  } else if (status == 429) {
    message = ix_errorf(
        "%s: HTTP 429 from %s%s: the vendor's rate limit was exceeded: lower "
        "rate_limit (%s)",
        table, host, said ? said : "", config_origin(fetch->config, "rate_limit"));
  } else {
    message = ix_errorf("%s: HTTP %ld from %s%s", table, status, host, said ? said : "");
  }
  sqlite3_free(said);
  return message;
}

static char *ix_transport_error(const ix_fetch *fetch, http_outcome outcome,
                                const http_response *response, int attempts) {
  if (outcome == HTTP_FAILED && response->unreachable) {
    /* A host that does not resolve or refuses connections is almost always a wrong base URL:
     * more retries would not help, so the error names the setting instead. */
    char *tries = attempts > 1 ? sqlite3_mprintf(" after %d attempts", attempts) : NULL;
    char *error = ix_errorf("%s: cannot reach %s (%s)%s: check the base URL (%s)",
                            fetch->table_name, fetch->host, response->error, tries ? tries : "",
                            config_origin(fetch->config, "base_url"));
    sqlite3_free(tries);
    return error;
  }
  if (outcome == HTTP_OK) { /* a complete exchange whose body was cut (ix_body_incomplete) */
    return ix_errorf(
        "%s: the response from %s ended early (HTTP %ld, %lld bytes%s): the connection closed "
        "before the whole JSON document arrived",
        fetch->table_name, fetch->host, response->status, (long long)response->body_len,
        response->body_len ? " of a document cut short" : "");
  }
  if (outcome == HTTP_TOO_LARGE) {
    return ix_errorf(
        "%s: the response from %s was larger than %lld bytes and was not read: "
        "raise max_response_bytes (%s) if that is expected",
        fetch->table_name, fetch->host, config_engine(fetch->config)->max_response_bytes,
        config_origin(fetch->config, "max_response_bytes"));
  }
  return ix_errorf("%s: request to %s failed: %s%s", fetch->table_name, fetch->host,
                   response->error,
                   response->timed_out ? " (raise timeout_ms if the API is that slow)" : "");
}

/* ---- Sending ---- */

int ix_status_is_retryable(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* A 2xx whose body is empty or stops inside its JSON document: the connection closed early (a
 * close inside the headers reaches us as a 200 with no body). Retried like a transport failure;
 * 204 No Content is an answer, not a cut. */
int ix_body_incomplete(const http_response *response) {
  return response->status >= 200 && response->status < 300 && response->status != 204 &&
         ix_json_ends_early(response->body, response->body_len);
}

/* ix_body_incomplete for the response ix_send is about to accept, parsing it once on the way: a
 * body the parser takes is whole, and its tree waits in fetch->parsed for the page (ix_accept), so
 * the provider does not parse it again; only a body that does not parse is scanned for where it
 * stops. A body too costly to parse is left to ix_accept to refuse. */
static int ix_body_cut(ix_fetch *fetch, const http_response *response) {
  ix_json_parse_forget(&fetch->parsed);
  if (response->status < 200 || response->status >= 300 || response->status == 204) return 0;
  const char *body = response->body ? response->body : "";
  size_t budget = (size_t)config_engine(fetch->config)->max_response_bytes * IX_PARSE_BUDGET_FACTOR;
  if (!memlimits_json_within(body, response->body_len, budget)) return 0;
  if (ix_json_parse_body(&fetch->parsed, body, response->body_len)) return 0;
  return ix_json_ends_early(body, response->body_len);
}

/* The wait before the next attempt, within ceiling = min(cap, base * 2^(attempt-1)) (xorshift64*).
 * Full jitter, uniform in [0, ceiling], spreads retries of failing servers best. A throttled client
 * (429) needs a minimum wait to fall out of the vendor's window, so there the jitter only adds:
 * uniform in [ceiling/2, ceiling]. */
static long long ix_backoff_ms(ix_fetch *fetch, int attempt, int throttled) {
  long long base = config_engine(fetch->config)->retry_base_ms;
  long long ceiling = base;
  for (int i = 1; i < attempt && ceiling < IX_BACKOFF_CAP_MS; i++) ceiling *= 2;
  if (ceiling > IX_BACKOFF_CAP_MS) ceiling = IX_BACKOFF_CAP_MS;
  uint64_t x = fetch->random_state ? fetch->random_state : 0x9E3779B97F4A7C15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  fetch->random_state = x;
  long long floor = throttled ? ceiling / 2 : 0;
  uint64_t spread = (uint64_t)(ceiling - floor) + 1;
  return floor + (long long)((x * 0x2545F4914F6CDD1DULL) % spread);
}

/* Waits like ix_interrupt_sleep, but keeps the cursor's own IN-list transfers moving and gives
 * their slots in the limiter back as they complete. A cursor that waits for the limiter (or backs
 * off) while its concurrent first attempts are on the wire may be waiting for one of its own slots:
 * if nothing moved those transfers, that slot would never be given back and every cursor of the
 * account would wait for it for ever (the stall of issue 10). */
static int ix_wait_serving(ix_fetch *fetch, long long milliseconds) {
  long long until = rate_clock_ms() + milliseconds;
  for (;;) {
    if (!ix_fetch_in_collect(fetch)) {
      /* In slices, so a long wait still says its progress (what it waits for, and how long). */
      long long slice = until - rate_clock_ms();
      if (slice <= 0) return 0;
      if (ix_interrupt_sleep(&fetch->interrupt, slice < 250 ? slice : 250)) return 1;
      progress_tick(&fetch->progress);
      continue;
    }
    long long left = until - rate_clock_ms();
    if (left <= 0) return 0;
    http_client_run(fetch->http, (int)(left < IX_INTERRUPT_POLL_MS ? left : IX_INTERRUPT_POLL_MS));
    if (ix_interrupted(&fetch->interrupt)) return 1;
  }
}

/* When a request that just ended completed, for the limiter: the clock reads whole milliseconds
 * rounded down, so the completion is rounded up, or a start one window later could arrive up to
 * a millisecond inside the vendor's window. */
long long ix_completed_ms(void) {
  return rate_clock_ms() + 1;
}

/* When a request started now must be over by: its own time limit. A slot still held after that
 * (a killed process, a bug) stops counting as pending (ratelimit.h). */
long long ix_request_deadline(const ix_fetch *fetch, long long now) {
  return now + config_engine(fetch->config)->timeout_ms +
         config_engine(fetch->config)->connect_timeout_ms;
}

/* Waits until the limiter lets a request start; the ticket goes back with rate_limiter_done. */
static int ix_wait_for_limiter(ix_fetch *fetch, rate_ticket *ticket, char **error_out) {
  long long started = rate_clock_ms();
  for (;;) {
    long long now = rate_clock_ms();
    long long wait = rate_limiter_reserve(fetch->limiter, &fetch->rate_limit, now,
                                          ix_request_deadline(fetch, now), ticket);
    if (wait == 0) return SQLITE_OK;
    if (!fetch->told_about_waiting && now + wait - started > IX_WAIT_NOTICE_MS &&
        !config_env_flag("INTERACTIONS_QUIET")) {
      fetch->told_about_waiting = 1;
      fprintf(stderr,
              "%s: waiting %.1f s for the rate limit of %s (rate_limit from %s; "
              "INTERACTIONS_QUIET=1 hides this)\n",
              fetch->table_name, (double)(now + wait - started) / 1000.0,
              config_engine(fetch->config)->rate_limit, config_origin(fetch->config, "rate_limit"));
    }
    progress_waiting(&fetch->progress, "the rate limit", wait);
    if (ix_wait_serving(fetch, wait)) {
      *error_out = ix_errorf("%s: interrupted", fetch->table_name);
      return SQLITE_INTERRUPT;
    }
  }
}

/* After a 429: how long every request of the account holds off, in every process. The vendor
 * sends no Retry-After (Optimove documents none), or one that is a floor; either way the
 * vendor's window can only have cleared once its shortest window has passed since the 429, so
 * that is the least wait when Retry-After is absent. */
long long ix_throttle_delay(const ix_fetch *fetch, const http_response *response,
                            long long backoff) {
  long long delay = backoff;
  if (response->retry_after_seconds > 0) {
    long long floor = response->retry_after_seconds * 1000;
    if (floor > IX_RETRY_AFTER_CAP_MS) floor = IX_RETRY_AFTER_CAP_MS;
    if (delay < floor) delay = floor;
  } else {
    long long window = rate_limit_shortest_ms(&fetch->rate_limit);
    if (delay < window) delay = window;
  }
  rate_limiter_pause(fetch->limiter, rate_clock_ms() + delay);
  return delay;
}

/* The wait before the next attempt: jittered backoff, at least the Retry-After the server sent
 * (clamped), and after a 429 at least what the account's windows need (ix_throttle_delay). */
static long long ix_retry_delay(ix_fetch *fetch, const http_response *response, int attempt,
                                int throttled) {
  long long delay = ix_backoff_ms(fetch, attempt, throttled);
  if (throttled) return ix_throttle_delay(fetch, response, delay);
  if (response->retry_after_seconds > 0) {
    long long floor = response->retry_after_seconds * 1000;
    if (floor > IX_RETRY_AFTER_CAP_MS) floor = IX_RETRY_AFTER_CAP_MS;
    if (delay < floor) delay = floor;
  }
  return delay;
}

/* The error of a request that failed for good: what happened, and after retries how many and
 * which limit ended them (max_retries, or retry_budget_ms when attempts were left). */
static char *ix_give_up_error(const ix_fetch *fetch, http_outcome outcome,
                              const http_response *response, const http_headers *headers,
                              int attempt, long long first_start, int budget_ended) {
  int retry_status = outcome == HTTP_OK && ix_status_is_retryable(response->status);
  char *what = retry_status ? ix_status_error(fetch, response, headers)
                            : ix_transport_error(fetch, outcome, response, attempt);
  if (attempt <= 1 || !what || (outcome == HTTP_FAILED && response->unreachable)) return what;
  const char *setting = budget_ended ? "retry_budget_ms" : "max_retries";
  char *error = ix_errorf(
      "%s (gave up after %d attempts in %.1f s: raise %s (%s) to keep trying "
      "longer)",
      what, attempt, (double)(rate_clock_ms() - first_start) / 1000.0, setting,
      config_origin(fetch->config, setting));
  sqlite3_free(what);
  return error;
}

/* Sends the request until it succeeds, fails for good, or retries run out. On SQLITE_OK the
 * response is complete and its status is not one worth retrying. Retries after a 429 never end
 * before one full window has passed since the first 429: giving up inside the window would fail a
 * statement that only had to wait. */
static int ix_send(ix_fetch *fetch, const http_request *request, const http_headers *headers,
                   http_response *response, char **error_out) {
  long long max_retries = config_engine(fetch->config)->max_retries;
  long long budget = config_engine(fetch->config)->retry_budget_ms;
  long long first_start = rate_clock_ms();
  long long first_throttled = -1;
  for (int attempt = 1;; attempt++) {
    rate_ticket ticket = {0};
    int rc = ix_wait_for_limiter(fetch, &ticket, error_out);
    if (rc != SQLITE_OK) return rc;
    http_outcome outcome = http_client_get(fetch->http, request, response);
    rate_limiter_done(fetch->limiter, &ticket, ix_completed_ms());
    progress_request_done(&fetch->progress);
    fetch->last_request_id = requestlog_add(
        response->started_unix_ms, fetch->provider->vendor, request->url,
        outcome == HTTP_OK ? response->status : 0, attempt, response->elapsed_ms,
        (sqlite3_int64)response->body_len, 0, outcome == HTTP_OK ? NULL : response->error);
    if (request->post_json) requestlog_set_method(fetch->last_request_id, "POST");
    if (outcome == HTTP_ABORTED) {
      *error_out = ix_errorf("%s: interrupted", fetch->table_name);
      return SQLITE_INTERRUPT;
    }
    if (outcome == HTTP_NO_MEMORY) return SQLITE_NOMEM;
    int transient = (outcome == HTTP_FAILED && response->retryable) ||
                    (outcome == HTTP_OK && ix_body_cut(fetch, response));
    int retry_status = outcome == HTTP_OK && ix_status_is_retryable(response->status);
    if (outcome == HTTP_OK && !retry_status && !transient) return SQLITE_OK;

    int throttled = retry_status && response->status == 429;
    long long delay = ix_retry_delay(fetch, response, attempt, throttled);
    if (throttled && first_throttled < 0) first_throttled = rate_clock_ms();
    fetch->retry_wait_ms += (long long)response->elapsed_ms; /* a 1 byte/s server is bounded too */
    int inside_window = first_throttled >= 0 && rate_clock_ms() - first_throttled <
                                                    rate_limit_shortest_ms(&fetch->rate_limit);
    int out_of_retries =
        (attempt > max_retries || fetch->retry_wait_ms + delay > budget) && !inside_window;
    if (!(transient || retry_status) || out_of_retries) {
      *error_out = ix_give_up_error(fetch, outcome, response, headers, attempt, first_start,
                                    out_of_retries && attempt <= max_retries);
      return SQLITE_ERROR;
    }
    http_response_clear(response);
    fetch->retry_wait_ms += delay;
    progress_waiting(&fetch->progress, "a retry", delay);
    if (ix_wait_serving(fetch, delay)) {
      *error_out = ix_errorf("%s: interrupted", fetch->table_name);
      return SQLITE_INTERRUPT;
    }
  }
}

/* The page size to ask for: the setting (or the API's maximum), lowered to a LIMIT hint. */
static sqlite3_int64 ix_page_size(const ix_fetch *fetch) {
  const ix_provider *provider = fetch->provider;
  sqlite3_int64 page_size = config_engine(fetch->config)->page_size >= 0
                                ? config_engine(fetch->config)->page_size
                                : provider->max_page_size;
  if (provider->max_page_size > 0 && (page_size <= 0 || page_size > provider->max_page_size)) {
    page_size = provider->max_page_size;
  }
  if (fetch->args.row_hint > 0 && fetch->args.row_hint < page_size) {
    page_size = fetch->args.row_hint;
  }
  return page_size;
}

/* Builds the request for one page of the customer in args (authentication, path, query). */
int ix_build(ix_fetch *fetch, const ix_args *args, const char *page_token, ix_request *request,
             char **error_out) {
  ix_call call = ix_fetch_call(fetch);
  call.args = args;
  memset(request, 0, sizeof(*request));
  int rc = SQLITE_OK;
  char *token = NULL;
  const ix_token_exchange *exchange = fetch->provider->token_exchange;
  if (exchange && exchange->wanted(fetch->config)) {
    rc = ix_token_acquire(fetch, &token, &request->token_generation, error_out);
    call.token = token;
  }
  url_init(&request->url);
  url_append_raw(&request->url, config_engine(fetch->config)->base_url);
  if (rc == SQLITE_OK) rc = fetch->provider->authenticate(&call, &request->headers, error_out);
  ix_token_free_copy(token);
  if (rc == SQLITE_OK) {
    rc = fetch->provider->build_request(&call, page_token, ix_page_size(fetch), request, error_out);
  }
  if (rc == SQLITE_OK && request->url.out_of_memory) rc = SQLITE_NOMEM;
  return rc;
}

void ix_request_clear(ix_request *request) {
  url_free(&request->url);
  http_headers_clear(&request->headers);
}

/* A 401 to a request that carried an exchanged token: the token is dropped (expired early, or
 * revoked), and the request is worth sending once more with a new one. */
int ix_token_refused(const ix_fetch *fetch, const http_response *response,
                     const ix_request *request) {
  if (response->outcome != HTTP_OK || response->status != 401 || !request->token_generation) {
    return 0;
  }
  ix_token_invalidate(fetch->account, request->token_generation);
  return 1;
}

http_request ix_http_options(const ix_fetch *fetch, const ix_request *request) {
  const ix_config *config = fetch->config;
  http_request http = {
      .url = request->url.text,
      .headers = &request->headers,
      .connect_timeout_ms = (long)config_engine(config)->connect_timeout_ms,
      .timeout_ms = (long)config_engine(config)->timeout_ms,
      .stall_seconds = (long)((config_engine(config)->stall_timeout_ms + 999) / 1000),
      .max_body = (size_t)config_engine(config)->max_response_bytes,
      .allow_plain_http = !fetch->is_https,
      .ca_bundle = getenv("INTERACTIONS_CA_BUNDLE"),
      .should_abort = ix_interrupted,
      .abort_arg = (void *)&fetch->interrupt,
  };
  return http;
}

/* A cached answer for the request, logged as such; 0 when there is none. */
int ix_from_cache(ix_fetch *fetch, const char *url, http_response *response) {
  cache_level level = cache_lookup(fetch->provider->vendor, fetch->host, fetch->account, url,
                                   config_engine(fetch->config)->cache_ttl * 1000,
                                   &response->status, &response->body, &response->body_len);
  if (level == CACHE_MISS) return 0;
  response->outcome = HTTP_OK;
  fetch->last_request_id = requestlog_add(0, fetch->provider->vendor, url, response->status, 1, 0,
                                          (sqlite3_int64)response->body_len, level, NULL);
  return 1;
}

/* Refuses a body whose parse would cost more memory than max_response_bytes allows (memlimits.h).
 */
static int ix_check_parse_cost(const ix_fetch *fetch, const http_response *response,
                               char **error_out) {
  long long max_bytes = config_engine(fetch->config)->max_response_bytes;
  const char *body = response->body ? response->body : "";
  if (memlimits_json_within(body, response->body_len, (size_t)max_bytes * IX_PARSE_BUDGET_FACTOR)) {
    return SQLITE_OK;
  }
  size_t cost = memlimits_json_cost(body, response->body_len);
  *error_out = ix_errorf(
      "%s: the response from %s (%lld bytes) would take about %lld MB of memory to read, more than "
      "%d times max_response_bytes (%lld): raise max_response_bytes (%s) if that is expected",
      fetch->table_name, fetch->host, (long long)response->body_len,
      (long long)((cost + (1 << 20) - 1) >> 20), IX_PARSE_BUDGET_FACTOR, max_bytes,
      config_origin(fetch->config, "max_response_bytes"));
  return SQLITE_ERROR;
}

/* A cursor goes back into the next URL (and the request log): one of hostile size is refused. */
static int ix_check_cursor(const ix_fetch *fetch, char **error_out) {
  size_t length = fetch->page.next_token ? strlen(fetch->page.next_token) : 0;
  if (length <= IX_MAX_CURSOR_BYTES) return SQLITE_OK;
  *error_out = ix_errorf(
      "%s: the API's next-page cursor is %lld bytes long, more than the %d accepted: the answer "
      "from %s is not usable; report it to the vendor",
      fetch->table_name, (long long)length, IX_MAX_CURSOR_BYTES, fetch->host);
  return SQLITE_ERROR;
}

/* ---- Accepting a response ---- */

/* The path the request asked for, without scheme, host or query (the query may hold secrets). */
static char *ix_request_path(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? strchr(p + 3, '/') : NULL;
  if (!p) return sqlite3_mprintf("/");
  return sqlite3_mprintf("%.*s", (int)strcspn(p, "?#"), p);
}

/* Whether a 404's JSON says the server has no such route (frameworks' stock texts), rather than
 * answering about a customer. Looks at every string value, a few levels deep. */
static int ix_says_no_route(const cJSON *node, int depth) {
  static const char *const phrases[] = {
      "no such endpoint", "no http resource was found",
      "cannot get ",      "no route matches",
      "route not found",  "no such route",
      "unknown endpoint", "endpoint not found",
  };
  if (cJSON_IsString(node)) {
    char lower[256];
    size_t i = 0;
    for (; i < sizeof(lower) - 1 && node->valuestring[i]; i++) {
      lower[i] = (char)(node->valuestring[i] >= 'A' && node->valuestring[i] <= 'Z'
                            ? node->valuestring[i] - 'A' + 'a'
                            : node->valuestring[i]);
    }
    lower[i] = '\0';
    for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++) {
      if (strstr(lower, phrases[k])) return 1;
    }
    return 0;
  }
  if (depth >= 4) return 0;
  for (const cJSON *child = node->child; child; child = child->next) {
    if (ix_says_no_route(child, depth + 1)) return 1;
  }
  return 0;
}

/* A 404 means "no such customer" (no rows) only when it is the vendor's own answer: a JSON body
 * that does not say the route is unknown, and that the provider, when it knows its API's
 * not-found body, recognizes. An HTML page, plain text or an empty body comes from a server that
 * does not know the path (a wrong base URL): that is an error, never an empty result. */
static int ix_accept_not_found(ix_fetch *fetch, const http_response *response,
                               const ix_request *request, char **error_out) {
  const ix_config *config = fetch->config;
  if (config_engine(config)->any_404_is_no_rows) return SQLITE_OK;
  cJSON *root = response->body ? cJSON_ParseWithLength(response->body, response->body_len) : NULL;
  char *error = NULL;
  ix_call call = ix_fetch_call(fetch);
  int answer = (cJSON_IsObject(root) || cJSON_IsArray(root)) && !ix_says_no_route(root, 0);
  answer = ix_not_found_is_unknown_customer(&call, answer ? root : NULL, &error) && answer;
  cJSON_Delete(root);
  if (answer) {
    sqlite3_free(error);
    return SQLITE_OK;
  }
  if (error) {
    /* The provider's text may quote the vendor: scrubbed like every vendor text. */
    *error_out = ix_scrub(config, &request->headers, error);
    return SQLITE_ERROR;
  }
  {
    const char *body = response->body ? response->body : "";
    size_t start = 0;
    while (start < response->body_len && (unsigned char)body[start] <= 0x20) start++;
    int html = strstr(response->content_type, "html") ||
               (start < response->body_len && body[start] == '<');
    char *said =
        html ? NULL : ix_vendor_message(body, response->body_len, "", config, &request->headers);
    char *path = ix_request_path(request->url.text);
    /* The host, not the API, answered: its words are "the server's". */
    error = ix_errorf(
        "%s: HTTP 404 from %s for %s (%s%s): no such path there, so this says nothing about the "
        "customer: check the base URL (%s); if the vendor answers unknown customers this way, "
        "set %s to 1",
        fetch->table_name, fetch->host, path ? path : "?",
        html   ? "an HTML page"
        : said ? "the server said: "
               : "an empty body",
        said ? said : "", config_origin(config, "base_url"),
        config_origin(config, "any_404_is_no_rows"));
    sqlite3_free(said);
    sqlite3_free(path);
  }
  /* Our own words, the path we asked for (credentials never travel in a URL) and the server's
   * text, already scrubbed by ix_vendor_message: scrubbing the whole again would blank setting
   * names that share a fragment with a secret. */
  *error_out = error;
  return SQLITE_ERROR;
}

/* Whether the response is byte for byte the page still held from the previous request (called
 * before that page is reset). Two pages can only be equal if their lengths are, so the bytes are
 * compared only then: nothing is hashed for the pages of a long history. */
static int ix_same_as_held_page(const ix_fetch *fetch, const http_response *response) {
  return fetch->page.body && response->body && fetch->page.body_len == response->body_len &&
         memcmp(fetch->page.body, response->body, response->body_len) == 0;
}

/* Paging that goes round: a next-page token this customer's pages gave before, or a page with
 * rows that is byte for byte the previous one (same_body, ix_same_as_held_page), would repeat
 * rows or page until max_pages. */
static int ix_check_repeat(ix_fetch *fetch, int same_body, char **error_out) {
  if (fetch->pages_fetched <= 1) {
    fetch->tokens_seen_count = 0;
    fetch->previous_had_rows = 0;
  }
  /* A single page (most customers) is never compared with another. */
  if (fetch->pages_fetched <= 1 && !fetch->page.next_token) return SQLITE_OK;
  if (fetch->pages_fetched > 1 && fetch->previous_had_rows && same_body) {
    *error_out = ix_errorf(
        "%s: the API repeated itself: page %d for this customer is the same as page %d, so its "
        "rows would come twice; report it to the vendor",
        fetch->table_name, fetch->pages_fetched, fetch->pages_fetched - 1);
    return SQLITE_ERROR;
  }
  fetch->previous_had_rows = fetch->page.row_count > 0;
  const char *token = fetch->page.next_token;
  if (!token) return SQLITE_OK;
  uint64_t token_hash = ix_hash64(token);
  for (int i = 0; i < fetch->tokens_seen_count; i++) {
    if (fetch->tokens_seen[i] != token_hash) continue;
    *error_out = ix_errorf(
        "%s: the API repeated itself: page %d for this customer gave a next-page token an "
        "earlier page gave, so paging would go round without end; report it to the vendor",
        fetch->table_name, fetch->pages_fetched);
    return SQLITE_ERROR;
  }
  /* Bounded by max_pages (the page cap stops paging first), and by a ceiling without one. */
  if (fetch->tokens_seen_count == fetch->tokens_seen_capacity) {
    int capacity = fetch->tokens_seen_capacity ? fetch->tokens_seen_capacity * 2 : 16;
    if (capacity > 1 << 20) return SQLITE_OK;
    uint64_t *grown =
        sqlite3_realloc64(fetch->tokens_seen, (sqlite3_uint64)capacity * sizeof(uint64_t));
    if (!grown) return SQLITE_NOMEM;
    fetch->tokens_seen = grown;
    fetch->tokens_seen_capacity = capacity;
  }
  fetch->tokens_seen[fetch->tokens_seen_count++] = token_hash;
  return SQLITE_OK;
}

/* Turns a final response into the current page: a 404 that is the vendor's "no such customer"
 * or a "not found" body is no rows, another status an error, a 2xx is parsed and its body kept
 * with the page (the rows' spans are recorded when a query first reads a row). Only an answer that was accepted is cached: a broken
 * body must not keep failing for cache_ttl. */
int ix_accept(ix_fetch *fetch, http_response *response, const ix_request *request, int fresh,
              char **error_out) {
  const ix_config *config = fetch->config;
  int rc = SQLITE_OK;
  int same_body = ix_same_as_held_page(fetch, response);
  ix_page_reset(&fetch->page);
  /* Every 404 and 2xx body is parsed (the 404 rule reads the vendor's JSON): refuse one whose
   * parse would cost more memory than max_response_bytes allows. */
  int parses = response->status == 404 || (response->status >= 200 && response->status < 300);
  if (parses && ix_check_parse_cost(fetch, response, error_out) != SQLITE_OK) {
    return SQLITE_ERROR;
  }
  if (response->status == 404) {
    rc = ix_accept_not_found(fetch, response, request, error_out);
    if (rc == SQLITE_OK) requestlog_set_rows(fetch->last_request_id, 0);
  } else if (response->status < 200 || response->status >= 300) {
    *error_out = ix_status_error(fetch, response, &request->headers);
    rc = SQLITE_ERROR;
  } else {
    ix_call call = ix_fetch_call(fetch);
    char *error = NULL;
    const char *body = response->body ? response->body : "";
    fetch->page.preparsed = &fetch->parsed;
    ix_page_status status =
        fetch->provider->parse_page(&call, body, response->body_len, &fetch->page, &error);
    fetch->page.preparsed = NULL;
    if (status == IX_PAGE_ERROR) {
      *error_out = ix_scrub(config, &request->headers, error);
      rc = SQLITE_ERROR;
    } else {
      sqlite3_free(error);
      if (status == IX_PAGE_NOT_FOUND) ix_page_reset(&fetch->page);
      rc = ix_check_repeat(fetch, same_body, error_out);
      if (rc == SQLITE_OK) requestlog_set_rows(fetch->last_request_id, fetch->page.row_count);
    }
  }
  long long ttl_ms = config_engine(config)->cache_ttl * 1000;
  if (fresh && rc == SQLITE_OK && ttl_ms > 0) {
    cache_store(fetch->provider->vendor, fetch->host, fetch->account, request->url.text, ttl_ms,
                response->status, response->body ? response->body : "", response->body_len);
  }
  if (rc == SQLITE_OK && fetch->page.root) {
    /* The rows' raw spans point into the body: the page keeps it. */
    fetch->page.body = response->body;
    fetch->page.body_len = response->body_len;
    response->body = NULL;
  }
  if (rc == SQLITE_OK) rc = ix_check_cursor(fetch, error_out);
  return rc;
}

static int ix_check_page_cap(const ix_fetch *fetch, char **error_out) {
  sqlite3_int64 max_pages = config_engine(fetch->config)->max_pages;
  if (max_pages > 0 && fetch->pages_fetched >= max_pages) {
    *error_out = ix_errorf(
        "%s: stopped after %lld pages for one customer without reaching the last page: raise "
        "max_pages (%s) if this customer really has that many interactions",
        fetch->table_name, max_pages, config_origin(fetch->config, "max_pages"));
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

int ix_fetch_page(ix_fetch *fetch, char **error_out) {
  int rc = ix_check_page_cap(fetch, error_out);
  if (rc != SQLITE_OK) return rc;
  char *previous_token = fetch->page.next_token;
  fetch->page.next_token = NULL;
  ix_request request;
  rc = ix_build(fetch, &fetch->args, previous_token, &request, error_out);
  http_response response;
  memset(&response, 0, sizeof(response));
  int fresh = 0;
  /* SQLite has read the held page's rows: its tree goes before the next one is parsed (ix_send
   * parses the new body, in the same memory), so two trees are never held at once. */
  ix_json_parse_keep_arena(&fetch->parsed, ix_page_release_tree(&fetch->page));
  if (rc == SQLITE_OK) {
    http_request http = ix_http_options(fetch, &request);
    if (!ix_from_cache(fetch, http.url, &response)) {
      rc = ix_send(fetch, &http, &request.headers, &response, error_out);
      fresh = 1;
      if (rc == SQLITE_OK && ix_token_refused(fetch, &response, &request)) {
        http_response_clear(&response);
        ix_request_clear(&request);
        rc = ix_build(fetch, &fetch->args, previous_token, &request, error_out);
        if (rc == SQLITE_OK) {
          http = ix_http_options(fetch, &request);
          rc = ix_send(fetch, &http, &request.headers, &response, error_out);
        }
      }
    }
    fetch->pages_fetched++;
  }
  if (rc == SQLITE_OK) rc = ix_accept(fetch, &response, &request, fresh, error_out);
  /* What ix_send parsed ahead is for this response only: its body goes now. */
  ix_json_parse_forget(&fetch->parsed);
  if (rc == SQLITE_OK) progress_rows(&fetch->progress, fetch->page.row_count);
  sqlite3_free(previous_token);
  http_response_clear(&response);
  ix_request_clear(&request);
  return rc;
}

int ix_fetch_post(ix_fetch *fetch, const ix_request *request, const char *json,
                  http_response *response, char **error_out) {
  http_request http = ix_http_options(fetch, request);
  http.post_json = json;
  int rc = ix_send(fetch, &http, &request->headers, response, error_out);
  ix_json_parse_forget(&fetch->parsed); /* a token's answer is read by token.c */
  return rc;
}

char *ix_fetch_vendor_said(const ix_fetch *fetch, const http_response *response,
                           const http_headers *headers) {
  char *vendor = ix_vendor_message(response->body, response->body_len, response->content_type,
                                   fetch->config, headers);
  char *said = vendor ? sqlite3_mprintf(" (the API said: %s)", vendor) : sqlite3_mprintf("%s", "");
  sqlite3_free(vendor);
  return said;
}

/* ---- Stepping through the plan ---- */

int ix_fetch_start(ix_fetch *fetch, char **error_out) {
  int in_list = fetch->in_column >= 0;
  progress_filter(&fetch->progress, fetch->provider, fetch->table_name,
                  in_list ? fetch->customer_count : 0,
                  config_engine(fetch->config)->max_concurrency);
  return in_list ? ix_fetch_next_customer(fetch, error_out) : ix_fetch_page(fetch, error_out);
}

ix_fetch_step ix_fetch_next_step(const ix_fetch *fetch) {
  if (fetch->page.next_token) return IX_FETCH_NEXT_PAGE;
  if (fetch->in_column >= 0 && ix_fetch_has_more_customers(fetch)) return IX_FETCH_NEXT_CUSTOMER;
  return IX_FETCH_END;
}

int ix_fetch_advance(ix_fetch *fetch, char **error_out) {
  return ix_fetch_next_step(fetch) == IX_FETCH_NEXT_PAGE ? ix_fetch_page(fetch, error_out)
                                                         : ix_fetch_next_customer(fetch, error_out);
}
