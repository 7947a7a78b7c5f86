/*
 * Exchanged tokens, one per account for the whole process: see tokenstore.h.
 */
#include "auth/tokenstore.h"

#include <pthread.h>
#include <sqlite3ext.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

#define TOKENSTORE_MIN_MARGIN_MS 30000

typedef struct tokenstore_entry {
  uint64_t account;
  char *token;           /* sqlite3_malloc'd, wiped when dropped; NULL when there is none */
  long long renew_at_ms; /* clock_ms() after which it is asked for again; 0 = never */
  uint64_t generation;   /* names this token to tokenstore_invalidate */
  int asking;            /* a connection is asking the vendor for a token now */
  struct tokenstore_entry *next;
} tokenstore_entry;

static pthread_mutex_t tokenstore_mutex = PTHREAD_MUTEX_INITIALIZER;
static tokenstore_entry *tokenstore_entries;
static uint64_t tokenstore_generations;

void tokenstore_free_copy(char *token) {
  if (!token) return;
  volatile char *p = token;
  while (*p) *p++ = 0;
  sqlite3_free(token);
}

/* The entry of an account, created empty; NULL when out of memory. Called with the mutex held. */
static tokenstore_entry *tokenstore_entry_for(uint64_t account) {
  for (tokenstore_entry *entry = tokenstore_entries; entry; entry = entry->next) {
    if (entry->account == account) return entry;
  }
  tokenstore_entry *entry = sqlite3_malloc64(sizeof(*entry));
  if (!entry) return NULL;
  memset(entry, 0, sizeof(*entry));
  entry->account = account;
  entry->next = tokenstore_entries;
  tokenstore_entries = entry;
  return entry;
}

static void tokenstore_drop(tokenstore_entry *entry) {
  tokenstore_free_copy(entry->token);
  entry->token = NULL;
  entry->renew_at_ms = 0;
}

static int tokenstore_usable(const tokenstore_entry *entry, long long now_ms) {
  return entry->token && (entry->renew_at_ms == 0 || now_ms < entry->renew_at_ms);
}

long long tokenstore_renew_at(long long received_ms, long long lifetime_ms) {
  if (lifetime_ms <= 0) return 0;
  long long margin =
      lifetime_ms / 10 > TOKENSTORE_MIN_MARGIN_MS ? lifetime_ms / 10 : TOKENSTORE_MIN_MARGIN_MS;
  if (margin > lifetime_ms / 2) margin = lifetime_ms / 2;
  long long at = received_ms + lifetime_ms - margin;
  return at > 0 ? at : 1;
}

tokenstore_state tokenstore_get(uint64_t account, long long now_ms, char **token_out,
                                uint64_t *generation_out) {
  *token_out = NULL;
  tokenstore_state state;
  pthread_mutex_lock(&tokenstore_mutex);
  tokenstore_entry *entry = tokenstore_entry_for(account);
  if (!entry) {
    state = TOKENSTORE_NOMEM;
  } else if (tokenstore_usable(entry, now_ms)) {
    *token_out = sqlite3_mprintf("%s", entry->token);
    *generation_out = entry->generation;
    state = *token_out ? TOKENSTORE_FRESH : TOKENSTORE_NOMEM;
  } else if (entry->asking) {
    state = TOKENSTORE_WAIT;
  } else {
    entry->asking = 1;
    state = TOKENSTORE_ASK;
  }
  pthread_mutex_unlock(&tokenstore_mutex);
  return state;
}

int tokenstore_put(uint64_t account, char *token, long long renew_at_ms, char **token_out,
                   uint64_t *generation_out) {
  int rc = 0;
  pthread_mutex_lock(&tokenstore_mutex);
  tokenstore_entry *entry = tokenstore_entry_for(account); /* exists: the asker made it */
  if (!entry) {
    tokenstore_free_copy(token);
    rc = -1;
  } else {
    entry->asking = 0;
    tokenstore_drop(entry);
    entry->token = token;
    entry->renew_at_ms = renew_at_ms;
    entry->generation = ++tokenstore_generations;
    *token_out = sqlite3_mprintf("%s", token);
    *generation_out = entry->generation;
    if (!*token_out) rc = -1;
  }
  pthread_mutex_unlock(&tokenstore_mutex);
  return rc;
}

void tokenstore_abandon(uint64_t account) {
  pthread_mutex_lock(&tokenstore_mutex);
  for (tokenstore_entry *entry = tokenstore_entries; entry; entry = entry->next) {
    if (entry->account == account) entry->asking = 0;
  }
  pthread_mutex_unlock(&tokenstore_mutex);
}

int tokenstore_fresh(uint64_t account, uint64_t generation, long long now_ms) {
  int fresh = 0;
  pthread_mutex_lock(&tokenstore_mutex);
  for (tokenstore_entry *entry = tokenstore_entries; entry; entry = entry->next) {
    if (entry->account == account && entry->generation == generation) {
      fresh = tokenstore_usable(entry, now_ms);
    }
  }
  pthread_mutex_unlock(&tokenstore_mutex);
  return fresh;
}

void tokenstore_invalidate(uint64_t account, uint64_t generation) {
  pthread_mutex_lock(&tokenstore_mutex);
  for (tokenstore_entry *entry = tokenstore_entries; entry; entry = entry->next) {
    if (entry->account == account && entry->generation == generation) tokenstore_drop(entry);
  }
  pthread_mutex_unlock(&tokenstore_mutex);
}
