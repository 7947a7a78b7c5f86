/* Lookups kept per account for the process: see lookup.h. */
#include "fetch/lookup.h"

#include <pthread.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

typedef struct ix_lookup_entry {
  uint64_t account;
  char *result; /* sqlite3_malloc'd by the provider's parse; never freed: readers keep pointers */
  struct ix_lookup_entry *next;
} ix_lookup_entry;

static pthread_mutex_t ix_lookup_mutex = PTHREAD_MUTEX_INITIALIZER;
static ix_lookup_entry *ix_lookups;

static const char *ix_lookup_find(uint64_t account) {
  for (ix_lookup_entry *entry = ix_lookups; entry; entry = entry->next) {
    if (entry->account == account) return entry->result;
  }
  return NULL;
}

/* Keeps result for the account (or the answer another connection kept first, freeing result). */
static const char *ix_lookup_keep(uint64_t account, char *result) {
  pthread_mutex_lock(&ix_lookup_mutex);
  const char *kept = ix_lookup_find(account);
  ix_lookup_entry *entry = kept ? NULL : sqlite3_malloc64(sizeof(*entry));
  if (entry) {
    entry->account = account;
    entry->result = result;
    entry->next = ix_lookups;
    ix_lookups = entry;
    kept = result;
  }
  pthread_mutex_unlock(&ix_lookup_mutex);
  if (kept != result) sqlite3_free(result);
  return kept;
}

/* Sends the provider's lookup request (its authentication, its path) and reads the answer. */
static int ix_lookup_ask(ix_fetch *fetch, char **result_out, char **error_out) {
  const ix_lookup *lookup = fetch->provider->lookup;
  ix_call call = ix_fetch_call(fetch);
  ix_request request;
  memset(&request, 0, sizeof(request));
  url_init(&request.url);
  url_append_raw(&request.url, config_engine(fetch->config)->base_url);
  int rc = fetch->provider->authenticate(&call, &request.headers, error_out);
  if (rc == SQLITE_OK) rc = lookup->build(&call, &request, error_out);
  if (rc == SQLITE_OK && request.url.out_of_memory) rc = SQLITE_NOMEM;
  http_response response;
  memset(&response, 0, sizeof(response));
  if (rc == SQLITE_OK) rc = ix_fetch_post(fetch, &request, NULL, &response, error_out);
  if (rc == SQLITE_OK && (response.status < 200 || response.status >= 300)) {
    char *said = ix_fetch_vendor_said(fetch, &response, &request.headers);
    *error_out =
        ix_errorf("%s: HTTP %ld from %s when asking %s%s: %s", fetch->table_name, response.status,
                  fetch->host, lookup->what, said ? said : "", lookup->instead);
    sqlite3_free(said);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) {
    rc = lookup->parse(&call, response.body ? response.body : "", response.body_len, result_out,
                       error_out);
  }
  http_response_clear(&response);
  url_free(&request.url);
  http_headers_clear(&request.headers);
  return rc;
}

int ix_lookup_acquire(ix_fetch *fetch, const char **result_out, char **error_out) {
  pthread_mutex_lock(&ix_lookup_mutex);
  *result_out = ix_lookup_find(fetch->account);
  pthread_mutex_unlock(&ix_lookup_mutex);
  if (*result_out) return SQLITE_OK;
  char *result = NULL;
  int rc = ix_lookup_ask(fetch, &result, error_out);
  if (rc != SQLITE_OK) {
    sqlite3_free(result);
    return rc;
  }
  *result_out = ix_lookup_keep(fetch->account, result);
  return *result_out ? SQLITE_OK : SQLITE_NOMEM;
}
