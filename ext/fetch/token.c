/*
 * Exchanged tokens, one per account for the whole process: see token.h.
 *
 * The account is fetch->account, the hash of vendor, host and every credential setting, so two
 * tables with the same key and secret share a token and a table with other credentials never
 * sees it. A token is renewed when a tenth of its lifetime (at most a minute) is left, so a
 * request sent with it still arrives in time; a token whose answer gave no lifetime is kept until
 * the vendor refuses it. Asking for a token holds no lock: a connection that finds another one
 * asking waits for that answer in short, interruptible sleeps.
 */
#include "fetch/token.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

SQLITE_EXTENSION_INIT3

#define IX_TOKEN_RENEW_CAP_MS 60000
#define IX_TOKEN_WAIT_SLICE_MS 20

typedef struct ix_token_entry {
  uint64_t account;
  char *token;           /* sqlite3_malloc'd, wiped when dropped; NULL when there is none */
  long long renew_at_ms; /* rate_clock_ms() after which it is asked for again; 0 = never */
  uint64_t generation;   /* names this token to ix_token_invalidate */
  int asking;            /* a connection is asking the vendor for a token now */
  struct ix_token_entry *next;
} ix_token_entry;

static pthread_mutex_t ix_token_mutex = PTHREAD_MUTEX_INITIALIZER;
static ix_token_entry *ix_tokens;
static uint64_t ix_token_generations;

static void ix_token_wipe(char *text) {
  if (!text) return;
  volatile char *p = text;
  while (*p) *p++ = 0;
}

void ix_token_free_copy(char *token) {
  ix_token_wipe(token);
  sqlite3_free(token);
}

/* The entry of an account, created empty; NULL when out of memory. Called with the mutex held. */
static ix_token_entry *ix_token_entry_for(uint64_t account) {
  for (ix_token_entry *entry = ix_tokens; entry; entry = entry->next) {
    if (entry->account == account) return entry;
  }
  ix_token_entry *entry = sqlite3_malloc64(sizeof(*entry));
  if (!entry) return NULL;
  memset(entry, 0, sizeof(*entry));
  entry->account = account;
  entry->next = ix_tokens;
  ix_tokens = entry;
  return entry;
}

static void ix_token_drop(ix_token_entry *entry) {
  ix_token_free_copy(entry->token);
  entry->token = NULL;
  entry->renew_at_ms = 0;
}

/* When a token given for ttl_seconds is asked for again (0 = not before the vendor refuses it). */
static long long ix_token_renew_at(long long received_ms, long long ttl_seconds) {
  if (ttl_seconds <= 0) return 0;
  long long lifetime_ms = ttl_seconds * 1000;
  long long margin =
      lifetime_ms / 10 < IX_TOKEN_RENEW_CAP_MS ? lifetime_ms / 10 : IX_TOKEN_RENEW_CAP_MS;
  long long at = received_ms + lifetime_ms - margin;
  return at > 0 ? at : 1;
}

static void ix_token_sleep(void) {
  struct timespec pause = {0, IX_TOKEN_WAIT_SLICE_MS * 1000000L};
  nanosleep(&pause, NULL);
}

/* Asks the vendor for a token: the provider's request, the engine's sending, the provider's
 * reading of the answer. The error texts name the key and secret settings, never their values. */
static int ix_token_ask(ix_fetch *fetch, char **token_out, long long *ttl_seconds,
                        char **error_out) {
  const ix_token_exchange *exchange = fetch->provider->token_exchange;
  ix_call call = ix_fetch_call(fetch);
  ix_request request;
  memset(&request, 0, sizeof(request));
  url_init(&request.url);
  url_append_raw(&request.url, config_engine(fetch->config)->base_url);
  char *json = NULL;
  int rc = exchange->build(&call, &request, &json, error_out);
  if (rc == SQLITE_OK && (request.url.out_of_memory || !json)) rc = SQLITE_NOMEM;
  http_response response;
  memset(&response, 0, sizeof(response));
  if (rc == SQLITE_OK) rc = ix_fetch_post(fetch, &request, json, &response, error_out);
  const char *key = config_origin(fetch->config, exchange->key_setting);
  const char *secret = config_origin(fetch->config, exchange->secret_setting);
  if (rc == SQLITE_OK && (response.status < 200 || response.status >= 300)) {
    char *said = ix_fetch_vendor_said(fetch, &response, &request.headers);
    if (response.status == 400 || response.status == 401 || response.status == 403) {
      *error_out = ix_errorf(
          "%s: HTTP %ld from %s when exchanging the key and secret for a token%s: check %s and "
          "%s",
          fetch->table_name, response.status, fetch->host, said ? said : "", key, secret);
    } else {
      *error_out =
          ix_errorf("%s: HTTP %ld from %s when exchanging the key and secret for a token%s",
                    fetch->table_name, response.status, fetch->host, said ? said : "");
    }
    sqlite3_free(said);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) {
    *ttl_seconds = 0;
    rc = exchange->parse(&call, response.body ? response.body : "", response.body_len, token_out,
                         ttl_seconds, error_out);
  }
  if (json) {
    ix_token_wipe(json);
    sqlite3_free(json);
  }
  if (response.body) memset(response.body, 0, response.body_len); /* it held the token */
  http_response_clear(&response);
  url_free(&request.url);
  http_headers_clear(&request.headers);
  return rc;
}

int ix_token_acquire(ix_fetch *fetch, char **token_out, uint64_t *generation_out,
                     char **error_out) {
  *token_out = NULL;
  pthread_mutex_lock(&ix_token_mutex);
  ix_token_entry *entry = ix_token_entry_for(fetch->account);
  for (;;) {
    if (!entry) {
      pthread_mutex_unlock(&ix_token_mutex);
      return SQLITE_NOMEM;
    }
    long long now = rate_clock_ms();
    if (entry->token && (entry->renew_at_ms == 0 || now < entry->renew_at_ms)) {
      *token_out = sqlite3_mprintf("%s", entry->token);
      *generation_out = entry->generation;
      pthread_mutex_unlock(&ix_token_mutex);
      return *token_out ? SQLITE_OK : SQLITE_NOMEM;
    }
    if (!entry->asking) break;
    /* Another connection is asking for this account's token: its answer is ours too. */
    pthread_mutex_unlock(&ix_token_mutex);
    ix_token_sleep(); /* bounded: the asker's request has its timeouts */
    pthread_mutex_lock(&ix_token_mutex);
  }
  entry->asking = 1;
  pthread_mutex_unlock(&ix_token_mutex);

  char *token = NULL;
  long long ttl_seconds = 0;
  int rc = ix_token_ask(fetch, &token, &ttl_seconds, error_out);
  long long received = rate_clock_ms();

  pthread_mutex_lock(&ix_token_mutex);
  entry->asking = 0;
  if (rc == SQLITE_OK) {
    ix_token_drop(entry);
    entry->token = token;
    entry->renew_at_ms = ix_token_renew_at(received, ttl_seconds);
    entry->generation = ++ix_token_generations;
    *token_out = sqlite3_mprintf("%s", token);
    *generation_out = entry->generation;
    if (!*token_out) rc = SQLITE_NOMEM;
  }
  pthread_mutex_unlock(&ix_token_mutex);
  return rc;
}

void ix_token_invalidate(uint64_t account, uint64_t generation) {
  pthread_mutex_lock(&ix_token_mutex);
  for (ix_token_entry *entry = ix_tokens; entry; entry = entry->next) {
    if (entry->account == account && entry->generation == generation) ix_token_drop(entry);
  }
  pthread_mutex_unlock(&ix_token_mutex);
}
