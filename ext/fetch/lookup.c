/* Lookups kept per account for the process: see lookup.h. */
#include "fetch/lookup.h"

#include "fetch/errors.h"

#include <pthread.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

typedef struct lookup_entry {
  uint64_t account;
  char *result; /* sqlite3_malloc'd by the provider's parse; never freed: readers keep pointers */
  struct lookup_entry *next;
} lookup_entry;

static pthread_mutex_t lookup_mutex = PTHREAD_MUTEX_INITIALIZER;
static lookup_entry *lookups;

static const char *lookup_find(uint64_t account) {
  for (lookup_entry *entry = lookups; entry; entry = entry->next) {
    if (entry->account == account) return entry->result;
  }
  return NULL;
}

/* Keeps result for the account (or the answer another connection kept first, freeing result). */
static const char *lookup_keep(uint64_t account, char *result) {
  pthread_mutex_lock(&lookup_mutex);
  const char *kept = lookup_find(account);
  lookup_entry *entry = kept ? NULL : sqlite3_malloc64(sizeof(*entry));
  if (entry) {
    entry->account = account;
    entry->result = result;
    entry->next = lookups;
    lookups = entry;
    kept = result;
  }
  pthread_mutex_unlock(&lookup_mutex);
  if (kept != result) sqlite3_free(result);
  return kept;
}

/* Sends the provider's lookup request (its authentication, its path) and reads the answer. */
static int lookup_ask(fetch_account *account, const transport_hooks *hooks, char **result_out,
                      char **error_out) {
  const ix_lookup *lookup = account->provider->request.lookup;
  ix_call call = account_call(account);
  ix_request request;
  account_request_init(account, &request);
  int rc = account->provider->request.authenticate(&call, &request.headers, error_out);
  if (rc == SQLITE_OK) rc = lookup->build(&call, &request, error_out);
  if (rc == SQLITE_OK && request.url.out_of_memory) rc = SQLITE_NOMEM;
  http_response response;
  memset(&response, 0, sizeof(response));
  if (rc == SQLITE_OK)
    rc = transport_send_alone(account, hooks, &request, NULL, &response, error_out);
  if (rc == SQLITE_OK && (response.status < 200 || response.status >= 300)) {
    char *said = errors_vendor_said(account, &response, &request.headers);
    *error_out =
        ix_errorf("%s: HTTP %ld from %s when asking %s%s: %s", account->table_name, response.status,
                  account->host, lookup->what, said ? said : "", lookup->instead);
    sqlite3_free(said);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) {
    rc = lookup->parse(&call, response.body ? response.body : "", response.body_len, result_out,
                       error_out);
  }
  http_response_clear(&response);
  account_request_clear(&request);
  return rc;
}

int lookup_acquire(fetch_account *account, const transport_hooks *hooks, const char **result_out,
                   char **error_out) {
  pthread_mutex_lock(&lookup_mutex);
  *result_out = lookup_find(account->account);
  pthread_mutex_unlock(&lookup_mutex);
  if (*result_out) return SQLITE_OK;
  char *result = NULL;
  int rc = lookup_ask(account, hooks, &result, error_out);
  if (rc != SQLITE_OK) {
    sqlite3_free(result);
    return rc;
  }
  *result_out = lookup_keep(account->account, result);
  return *result_out ? SQLITE_OK : SQLITE_NOMEM;
}
