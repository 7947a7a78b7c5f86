/*
 * The response cache: see cache.h.
 *
 * A hash table of entries chained per bucket, plus a FIFO list for eviction: entries are evicted
 * oldest first once the bodies pass INTERACTIONS_CACHE_MB (default 64 MiB), and expired ones are
 * dropped when met. One mutex guards it all: lookups are rare next to network round trips.
 */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define CACHE_BUCKETS 1024
#define CACHE_DEFAULT_MB 64

typedef struct cache_entry {
  uint64_t account;
  uint64_t url_hash;
  char *url;
  long status;
  char *body;
  size_t body_len;
  long long expires_ms;
  struct cache_entry *bucket_next;
  struct cache_entry *older; /* FIFO: towards the oldest */
  struct cache_entry *newer;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache_buckets[CACHE_BUCKETS];
static cache_entry *cache_oldest, *cache_newest;
static size_t cache_bytes;
static int cache_entries;

static size_t cache_budget(void) {
  const char *text = getenv("INTERACTIONS_CACHE_MB");
  long megabytes = text ? strtol(text, NULL, 10) : CACHE_DEFAULT_MB;
  if (megabytes < 0) megabytes = CACHE_DEFAULT_MB;
  return (size_t)megabytes * 1024 * 1024;
}

/* Called with the lock held. */
static void cache_unlink(cache_entry *entry) {
  cache_entry **link = &cache_buckets[entry->url_hash % CACHE_BUCKETS];
  while (*link && *link != entry) link = &(*link)->bucket_next;
  if (*link) *link = entry->bucket_next;
  if (entry->older) entry->older->newer = entry->newer;
  if (entry->newer) entry->newer->older = entry->older;
  if (cache_oldest == entry) cache_oldest = entry->newer;
  if (cache_newest == entry) cache_newest = entry->older;
  cache_bytes -= entry->body_len;
  cache_entries--;
  free(entry->url);
  free(entry->body);
  free(entry);
}

static cache_entry *cache_find(uint64_t account, uint64_t url_hash, const char *url) {
  for (cache_entry *entry = cache_buckets[url_hash % CACHE_BUCKETS]; entry;
       entry = entry->bucket_next) {
    if (entry->account == account && entry->url_hash == url_hash && strcmp(entry->url, url) == 0) {
      return entry;
    }
  }
  return NULL;
}

int cache_get(uint64_t account, const char *url, long long now_ms, long *status, char **body,
              size_t *body_len) {
  uint64_t url_hash = ix_hash64(url);
  int hit = 0;
  pthread_mutex_lock(&cache_lock);
  cache_entry *entry = cache_find(account, url_hash, url);
  if (entry && entry->expires_ms <= now_ms) {
    cache_unlink(entry);
  } else if (entry) {
    *body = malloc(entry->body_len + 1);
    if (*body) {
      memcpy(*body, entry->body, entry->body_len);
      (*body)[entry->body_len] = '\0';
      *body_len = entry->body_len;
      *status = entry->status;
      hit = 1;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return hit;
}

void cache_put(uint64_t account, const char *url, long long now_ms, long long ttl_ms, long status,
               const char *body, size_t body_len) {
  size_t budget = cache_budget();
  if (ttl_ms <= 0 || body_len > budget) return;
  cache_entry *entry = calloc(1, sizeof(*entry));
  size_t url_length = strlen(url);
  if (entry) {
    entry->url = malloc(url_length + 1);
    entry->body = malloc(body_len ? body_len : 1);
  }
  if (!entry || !entry->url || !entry->body) {
    if (entry) {
      free(entry->url);
      free(entry->body);
    }
    free(entry);
    return; /* a cache that cannot grow just misses */
  }
  memcpy(entry->url, url, url_length + 1);
  if (body_len) memcpy(entry->body, body, body_len);
  entry->account = account;
  entry->url_hash = ix_hash64(url);
  entry->status = status;
  entry->body_len = body_len;
  entry->expires_ms = now_ms + ttl_ms;

  pthread_mutex_lock(&cache_lock);
  cache_entry *previous = cache_find(account, entry->url_hash, url);
  if (previous) cache_unlink(previous);
  while (cache_oldest && cache_bytes + body_len > budget) cache_unlink(cache_oldest);
  cache_entry **bucket = &cache_buckets[entry->url_hash % CACHE_BUCKETS];
  entry->bucket_next = *bucket;
  *bucket = entry;
  entry->older = cache_newest;
  if (cache_newest) cache_newest->newer = entry;
  cache_newest = entry;
  if (!cache_oldest) cache_oldest = entry;
  cache_bytes += body_len;
  cache_entries++;
  pthread_mutex_unlock(&cache_lock);
}

int cache_clear(void) {
  pthread_mutex_lock(&cache_lock);
  int cleared = cache_entries;
  while (cache_oldest) cache_unlink(cache_oldest);
  pthread_mutex_unlock(&cache_lock);
  return cleared;
}
