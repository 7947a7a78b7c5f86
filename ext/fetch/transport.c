/*
 * Sending one request of an account: limiter, send, retries. See transport.h.
 */
#include "fetch/transport.h"

#include "cache/cache.h"
#include "fetch/errors.h"
#include "json/memlimits.h"
#include "observe/requestlog.h"
#include "provider/jsonspan.h"
#include "util/notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

#define TRANSPORT_BACKOFF_CAP_MS 30000
#define TRANSPORT_RETRY_AFTER_CAP_MS 60000
/* A wait for the limiter longer than this is explained on stderr (once per table in a statement).
 */
/* An attempt given back by its prepare (a token gone stale while it waited) starts over at most
 * this often: a token that lives shorter than the limiter's waits can never be used. */
#define TRANSPORT_MAX_AGAIN 4

int transport_status_retryable(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* The connection closed early (a close inside the headers reaches us as a 200 with no body).
 * Retried like a transport failure; 204 No Content is an answer, not a cut. */
int transport_body_incomplete(const http_response *response) {
  return response->status >= 200 && response->status < 300 && response->status != 204 &&
         jsonspan_ends_early(response->body, response->body_len);
}

/* transport_body_incomplete for the response about to be accepted, parsing it once on the way: a
 * body the parser takes is whole, and its tree waits in sending->parsed for the page, so the
 * provider does not parse it again; only a body that does not parse is scanned for where it
 * stops. A body too costly to parse is left to the page to refuse. */
static int transport_body_cut(const fetch_account *account, transport_sending *sending,
                              const http_response *response) {
  jsonarena_parse_forget(sending->parsed);
  if (response->status < 200 || response->status >= 300 || response->status == 204) return 0;
  const char *body = response->body ? response->body : "";
  size_t budget =
      (size_t)config_engine(account->config)->max_response_bytes * IX_PARSE_BUDGET_FACTOR;
  if (!memlimits_json_within(body, response->body_len, sizeof(ix_row), budget)) return 0;
  if (jsonarena_parse_body(sending->parsed, body, response->body_len)) return 0;
  return jsonspan_ends_early(body, response->body_len);
}

/* The wait before the next attempt, within ceiling = min(cap, base * 2^(attempt-1)) (xorshift64*).
 * Full jitter, uniform in [0, ceiling], spreads retries of failing servers best. A throttled client
 * (429) needs a minimum wait to fall out of the vendor's window, so there the jitter only adds:
 * uniform in [ceiling/2, ceiling]. */
static long long transport_backoff_ms(fetch_account *account, int attempt, int throttled) {
  long long base = config_engine(account->config)->retry_base_ms;
  long long ceiling = base;
  for (int i = 1; i < attempt && ceiling < TRANSPORT_BACKOFF_CAP_MS; i++) ceiling *= 2;
  if (ceiling > TRANSPORT_BACKOFF_CAP_MS) ceiling = TRANSPORT_BACKOFF_CAP_MS;
  uint64_t x = account->random_state ? account->random_state : 0x9E3779B97F4A7C15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  account->random_state = x;
  long long floor = throttled ? ceiling / 2 : 0;
  uint64_t spread = (uint64_t)(ceiling - floor) + 1;
  return floor + (long long)((x * 0x2545F4914F6CDD1DULL) % spread);
}

int transport_wait(fetch_account *account, const transport_hooks *hooks, long long milliseconds) {
  long long until = clock_ms() + milliseconds;
  for (;;) {
    if (!hooks->pump || !hooks->pump(hooks->pump_arg)) {
      /* In slices, so a long wait still says its progress (what it waits for, and how long). */
      long long slice = until - clock_ms();
      if (slice <= 0) return 0;
      if (interrupt_sleep(&account->interrupt, slice < 250 ? slice : 250)) return 1;
      progress_tick(hooks->progress);
      continue;
    }
    long long left = until - clock_ms();
    if (left <= 0) return 0;
    http_client_run(account->http,
                    (int)(left < IX_INTERRUPT_POLL_MS ? left : IX_INTERRUPT_POLL_MS));
    if (interrupt_pending(&account->interrupt)) return 1;
  }
}

/* The clock reads whole milliseconds rounded down, so the completion is rounded up, or a start
 * one window later could arrive up to a millisecond inside the vendor's window. */
long long transport_completed_ms(void) {
  return clock_ms() + 1;
}

/* A slot still held after this (a killed process, a bug) stops counting as pending
 * (ratelimit.h). */
long long transport_deadline(const fetch_account *account, long long now) {
  return now + config_engine(account->config)->timeout_ms +
         config_engine(account->config)->connect_timeout_ms;
}

/* The note on a long wait for the limiter names where the limit came from: a variable or option
 * the user set, or the table's default and the variable that changes it. */
static void transport_say_rate_limit_wait(const fetch_account *account, double seconds) {
  const char *limit = config_engine(account->config)->rate_limit;
  const char *origin = config_origin(account->config, "rate_limit");
  if (config_is_default(account->config, "rate_limit")) {
    notes_say(NOTES_NOTE, account->table_name,
              "waiting %.1f s for the rate limit of %s (the table's default: %s or the option "
              "rate_limit changes it; INTERACTIONS_QUIET=1 hides this)",
              seconds, limit, origin);
  } else {
    notes_say(NOTES_NOTE, account->table_name,
              "waiting %.1f s for the rate limit of %s (rate_limit from %s; "
              "INTERACTIONS_QUIET=1 hides this)",
              seconds, limit, origin);
  }
}

int transport_tell_waiting(const transport_hooks *hooks, long long waited_ms) {
  if (*hooks->told_about_waiting || waited_ms <= TRANSPORT_WAIT_NOTICE_MS) return 0;
  *hooks->told_about_waiting = 1;
  return 1;
}

int transport_wait_rate_limit(fetch_account *account, const transport_hooks *hooks,
                              long long started, long long wait, char **error_out) {
  long long now = clock_ms();
  if (transport_tell_waiting(hooks, now + wait - started)) {
    transport_say_rate_limit_wait(account, (double)(now + wait - started) / 1000.0);
  }
  progress_waiting(hooks->progress, "the rate limit", wait);
  if (transport_wait(account, hooks, wait)) {
    *error_out = ix_errorf("%s: interrupted", account->table_name);
    return SQLITE_INTERRUPT;
  }
  return SQLITE_OK;
}

/* Waits until the limiter lets a request start; the ticket goes back with rate_limiter_done. */
static int transport_wait_for_limiter(fetch_account *account, const transport_hooks *hooks,
                                      rate_ticket *ticket, char **error_out) {
  long long started = clock_ms();
  for (;;) {
    long long now = clock_ms();
    limiting_account limiting = account_limiting(account);
    long long wait =
        limiting_admit(&limiting, ticket, now, transport_deadline(account, now), error_out);
    if (wait < 0) return SQLITE_ERROR;
    if (wait == 0) return SQLITE_OK;
    int rc = transport_wait_rate_limit(account, hooks, started, wait, error_out);
    if (rc != SQLITE_OK) {
      /* A start the shared limiter reserved and nobody will use: it holds no window. */
      rate_limiter_done(account->limiter, ticket, transport_completed_ms());
      return rc;
    }
  }
}

/* Waits for the limiter and has the attempt prepared after it was admitted (transport.h). */
static int transport_admit(fetch_account *account, transport_sending *sending, int attempt,
                           rate_ticket *ticket, char **error_out) {
  for (int round = 0;; round++) {
    int rc = sending->prepare ? sending->prepare(sending->prepare_arg, attempt, 0, error_out)
                              : SQLITE_OK;
    if (rc == SQLITE_OK)
      rc = transport_wait_for_limiter(account, &sending->hooks, ticket, error_out);
    if (rc == SQLITE_OK && sending->prepare) {
      rc = sending->prepare(sending->prepare_arg, attempt, 1, error_out);
      if (rc != SQLITE_OK) rate_limiter_done(account->limiter, ticket, transport_completed_ms());
    }
    if (rc != TRANSPORT_AGAIN) return rc;
    if (round + 1 >= TRANSPORT_MAX_AGAIN) {
      *error_out = ix_errorf(
          "%s: the token from %s's token endpoint expired %d times while the request waited for "
          "the rate limit: its lifetime is shorter than the waits rate_limit (%s) imposes; allow "
          "more requests per window",
          account->table_name, account->host, TRANSPORT_MAX_AGAIN,
          config_origin(account->config, "rate_limit"));
      return SQLITE_ERROR;
    }
  }
}

long long transport_throttle_delay(const fetch_account *account, const http_response *response,
                                   long long backoff) {
  /* The vendor sends no Retry-After (Optimove documents none), or one that is a floor; either way
   * the vendor's window can only have cleared once its shortest window has passed since the 429,
   * so that is the least wait when Retry-After is absent. */
  long long delay = backoff;
  if (response->retry_after_seconds > 0) {
    long long floor = response->retry_after_seconds * 1000;
    if (floor > TRANSPORT_RETRY_AFTER_CAP_MS) floor = TRANSPORT_RETRY_AFTER_CAP_MS;
    if (delay < floor) delay = floor;
  } else {
    long long window = rate_limit_shortest_ms(&account->rate_limit);
    if (delay < window) delay = window;
  }
  rate_limiter_pause(account->limiter, clock_ms() + delay);
  return delay;
}

/* The wait before the next attempt: jittered backoff, at least the Retry-After the server sent
 * (clamped), and after a 429 at least what the account's windows need. */
static long long transport_retry_delay(fetch_account *account, const http_response *response,
                                       int attempt, int throttled) {
  long long delay = transport_backoff_ms(account, attempt, throttled);
  if (throttled) return transport_throttle_delay(account, response, delay);
  if (response->retry_after_seconds > 0) {
    long long floor = response->retry_after_seconds * 1000;
    if (floor > TRANSPORT_RETRY_AFTER_CAP_MS) floor = TRANSPORT_RETRY_AFTER_CAP_MS;
    if (delay < floor) delay = floor;
  }
  return delay;
}

/* The error of a request that failed for good: what happened, and after retries how many and
 * which limit ended them (max_retries, or retry_budget_ms when attempts were left). */
static char *transport_give_up_error(const fetch_account *account, http_outcome outcome,
                                     const http_response *response, const http_headers *headers,
                                     int attempt, long long first_start, int budget_ended) {
  int retry_status = outcome == HTTP_OK && transport_status_retryable(response->status);
  ix_call call = account_call(account);
  char *what = retry_status ? errors_status(account, &call, response, headers)
                            : errors_transport(account, outcome, response, attempt);
  if (attempt <= 1 || !what || (outcome == HTTP_FAILED && response->unreachable)) return what;
  const char *setting = budget_ended ? "retry_budget_ms" : "max_retries";
  char *error = ix_errorf(
      "%s (gave up after %d attempts in %.1f s: raise %s (%s) to keep trying "
      "longer)",
      what, attempt, (double)(clock_ms() - first_start) / 1000.0, setting,
      config_origin(account->config, setting));
  sqlite3_free(what);
  return error;
}

/* One attempt on the wire, logged and counted; the ticket goes back when it ends. */
static http_outcome transport_attempt(fetch_account *account, transport_sending *sending,
                                      const ix_request *request, const char *post_json, int attempt,
                                      rate_ticket *ticket, http_response *response) {
  http_request http = transport_http_options(account, request);
  http.post_json = post_json;
  http_outcome outcome = http_client_get(account->http, &http, response);
  rate_limiter_done(account->limiter, ticket,
                    limiting_answered_ms(response, transport_completed_ms()));
  progress_request_done(sending->hooks.progress);
  sending->last_request_id = requestlog_add(
      response->started_unix_ms, account->provider->vendor, http.url,
      outcome == HTTP_OK ? response->status : 0, attempt, response->elapsed_ms,
      (sqlite3_int64)response->body_len, 0, outcome == HTTP_OK ? NULL : response->error);
  if (post_json) requestlog_set_method(sending->last_request_id, "POST");
  return outcome;
}

/* Retries after a 429 never end before one full window has passed since the first 429: giving up
 * inside the window would fail a statement that only had to wait. */
int transport_send(fetch_account *account, transport_sending *sending, const ix_request *request,
                   const char *post_json, http_response *response, char **error_out) {
  long long max_retries = config_engine(account->config)->max_retries;
  long long budget = config_engine(account->config)->retry_budget_ms;
  long long first_start = clock_ms();
  long long first_throttled = -1;
  int first_attempt = 1 + sending->attempts_made;
  sending->attempts_made = 0;
  for (int attempt = first_attempt;; attempt++) {
    rate_ticket ticket = {0};
    int rc = transport_admit(account, sending, attempt, &ticket, error_out);
    if (rc != SQLITE_OK) return rc;
    http_outcome outcome =
        transport_attempt(account, sending, request, post_json, attempt, &ticket, response);
    if (outcome == HTTP_ABORTED) {
      *error_out = ix_errorf("%s: interrupted", account->table_name);
      return SQLITE_INTERRUPT;
    }
    if (outcome == HTTP_NO_MEMORY) return SQLITE_NOMEM;
    int transient = (outcome == HTTP_FAILED && response->retryable) ||
                    (outcome == HTTP_OK && transport_body_cut(account, sending, response));
    int retry_status = outcome == HTTP_OK && transport_status_retryable(response->status);
    if (outcome == HTTP_OK && !retry_status && !transient) return SQLITE_OK;

    int throttled = retry_status && response->status == 429;
    limiting_account limiting = account_limiting(account);
    if (throttled && limiting_beyond_budget(&limiting, sending->retry_wait_ms, response, error_out))
      return SQLITE_ERROR;
    long long delay = transport_retry_delay(account, response, attempt, throttled);
    if (throttled && first_throttled < 0) first_throttled = clock_ms();
    sending->retry_wait_ms += (long long)response->elapsed_ms; /* a 1 byte/s server is bounded */
    int inside_window = first_throttled >= 0 &&
                        clock_ms() - first_throttled < rate_limit_shortest_ms(&account->rate_limit);
    int out_of_retries =
        (attempt > max_retries || sending->retry_wait_ms + delay > budget) && !inside_window;
    if (!(transient || retry_status) || out_of_retries) {
      *error_out = transport_give_up_error(account, outcome, response, &request->headers, attempt,
                                           first_start, out_of_retries && attempt <= max_retries);
      return SQLITE_ERROR;
    }
    http_response_clear(response);
    sending->retry_wait_ms += delay;
    progress_waiting(sending->hooks.progress, "a retry", delay);
    if (transport_wait(account, &sending->hooks, delay)) {
      *error_out = ix_errorf("%s: interrupted", account->table_name);
      return SQLITE_INTERRUPT;
    }
  }
}

http_request transport_http_options(const fetch_account *account, const ix_request *request) {
  const ix_config *config = account->config;
  http_request http = {
      .url = request->url.text,
      .headers = &request->headers,
      .connect_timeout_ms = (long)config_engine(config)->connect_timeout_ms,
      .timeout_ms = (long)config_engine(config)->timeout_ms,
      .stall_seconds = (long)((config_engine(config)->stall_timeout_ms + 999) / 1000),
      .max_body = (size_t)config_engine(config)->max_response_bytes,
      .allow_plain_http = !account->is_https,
      .ca_bundle = getenv("INTERACTIONS_CA_BUNDLE"),
      .should_abort = interrupt_pending,
      .abort_arg = (void *)&account->interrupt,
  };
  return http;
}

int transport_from_cache(const fetch_account *account, transport_sending *sending, const char *url,
                         http_response *response) {
  cache_level level = cache_lookup(account->provider->vendor, account->account, url,
                                   config_engine(account->config)->cache_ttl * 1000,
                                   &response->status, &response->body, &response->body_len);
  if (level == CACHE_MISS) return 0;
  response->outcome = HTTP_OK;
  sending->last_request_id = requestlog_add(0, account->provider->vendor, url, response->status, 1,
                                            0, (sqlite3_int64)response->body_len, level, NULL);
  return 1;
}

int transport_send_alone(fetch_account *account, const transport_hooks *hooks,
                         const ix_request *request, const char *post_json, http_response *response,
                         char **error_out) {
  ix_json_parse parsed;
  memset(&parsed, 0, sizeof(parsed));
  transport_sending sending = {.hooks = *hooks, .parsed = &parsed};
  int rc = transport_send(account, &sending, request, post_json, response, error_out);
  jsonarena_parse_clear(&parsed);
  return rc;
}
