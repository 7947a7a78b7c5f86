/*
 * The response cache: see cache.h.
 *
 * How it works
 *   The memory level is a hash table of entries chained per bucket, plus a list in order of use:
 *   a hit moves its entry to the newest end, and entries are evicted from the oldest end once what
 *   they cost passes INTERACTIONS_CACHE_MB (default 64 MiB). An entry's cost is what it really
 *   takes: the struct, the URL and the body, plus the allocator's overhead for each of the three
 *   blocks, so a million tiny answers cannot take far more than the budget says. Expired entries
 *   are dropped when met. One mutex guards it all: lookups are rare next to network round trips.
 *   The disk level (diskcache.c) is asked only after a memory miss.
 */
#include "cache/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/diskcache.h"
#include "util/hash.h"

#define CACHE_BUCKETS 1024
#define CACHE_DEFAULT_MB 64
/* What malloc keeps per block beyond the bytes asked for (glibc: 8 to 16 bytes, rounded up). */
#define CACHE_MALLOC_OVERHEAD 16

typedef struct cache_entry {
  const char *vendor; /* the provider's static vendor name */
  uint64_t account;
  uint64_t url_hash;
  char *url;
  long status;
  char *body;
  size_t body_len;
  size_t cost; /* counted against the budget: see cache_entry_cost */
  long long stored_ms;
  long long expires_ms;
  long long hits;
  struct cache_entry *bucket_next;
  struct cache_entry *older; /* use order: towards the least recently used */
  struct cache_entry *newer;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache_buckets[CACHE_BUCKETS];
static cache_entry *cache_oldest, *cache_newest;
static size_t cache_bytes;
static int cache_entries;

static long long cache_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static size_t cache_budget(void) {
  const char *text = getenv("INTERACTIONS_CACHE_MB");
  /* An empty variable counts as unset, like every setting. */
  /* Fractions are allowed (0.5 is 512 KiB), which also lets tests fill the cache with a few
   * answers. */
  double megabytes = text && *text ? strtod(text, NULL) : CACHE_DEFAULT_MB;
  if (!(megabytes >= 0) || megabytes > 1024 * 1024) megabytes = CACHE_DEFAULT_MB;
  return (size_t)(megabytes * 1024 * 1024);
}

static size_t cache_entry_cost(size_t url_length, size_t body_len) {
  return sizeof(cache_entry) + url_length + 1 + body_len + 3 * CACHE_MALLOC_OVERHEAD;
}

const char *cache_level_name(int level) {
  return level == CACHE_MEMORY ? "memory" : level == CACHE_DISK ? "disk" : NULL;
}

/* Called with the lock held: takes the entry out of the use order. */
static void cache_detach(cache_entry *entry) {
  if (entry->older) entry->older->newer = entry->newer;
  if (entry->newer) entry->newer->older = entry->older;
  if (cache_oldest == entry) cache_oldest = entry->newer;
  if (cache_newest == entry) cache_newest = entry->older;
  entry->older = entry->newer = NULL;
}

/* Called with the lock held: makes the entry the most recently used. */
static void cache_attach_newest(cache_entry *entry) {
  entry->older = cache_newest;
  entry->newer = NULL;
  if (cache_newest) cache_newest->newer = entry;
  cache_newest = entry;
  if (!cache_oldest) cache_oldest = entry;
}

/* Called with the lock held. */
static void cache_unlink(cache_entry *entry) {
  cache_entry **link = &cache_buckets[entry->url_hash % CACHE_BUCKETS];
  while (*link && *link != entry) link = &(*link)->bucket_next;
  if (*link) *link = entry->bucket_next;
  cache_detach(entry);
  cache_bytes -= entry->cost;
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

static int cache_memory_get(uint64_t account, const char *url, long long ttl_ms, long *status,
                            char **body, size_t *body_len) {
  uint64_t url_hash = hash64(url);
  long long now_ms = cache_now_ms();
  int hit = 0;
  pthread_mutex_lock(&cache_lock);
  cache_entry *entry = cache_find(account, url_hash, url);
  if (entry && (entry->expires_ms <= now_ms || entry->stored_ms <= now_ms - ttl_ms)) {
    cache_unlink(entry);
  } else if (entry) {
    *body = malloc(entry->body_len + 1);
    if (*body) {
      memcpy(*body, entry->body, entry->body_len);
      (*body)[entry->body_len] = '\0';
      *body_len = entry->body_len;
      *status = entry->status;
      entry->hits++;
      cache_detach(entry);
      cache_attach_newest(entry);
      hit = 1;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return hit;
}

static void cache_memory_put(const char *vendor, uint64_t account, const char *url,
                             long long ttl_ms, long status, const char *body, size_t body_len) {
  size_t budget = cache_budget();
  size_t url_length = strlen(url);
  size_t cost = cache_entry_cost(url_length, body_len);
  if (ttl_ms <= 0 || cost > budget) return;
  cache_entry *entry = calloc(1, sizeof(*entry));
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
  entry->vendor = vendor;
  entry->account = account;
  entry->url_hash = hash64(url);
  entry->status = status;
  entry->body_len = body_len;
  entry->cost = cost;
  entry->stored_ms = cache_now_ms();
  entry->expires_ms = entry->stored_ms + ttl_ms;

  pthread_mutex_lock(&cache_lock);
  cache_entry *previous = cache_find(account, entry->url_hash, url);
  if (previous) cache_unlink(previous);
  while (cache_oldest && cache_bytes + cost > budget) cache_unlink(cache_oldest);
  cache_entry **bucket = &cache_buckets[entry->url_hash % CACHE_BUCKETS];
  entry->bucket_next = *bucket;
  *bucket = entry;
  cache_attach_newest(entry);
  cache_bytes += cost;
  cache_entries++;
  pthread_mutex_unlock(&cache_lock);
}

cache_level cache_lookup(const char *vendor, const char *host, uint64_t account, const char *url,
                         long long ttl_ms, long *status, char **body, size_t *body_len) {
  if (ttl_ms <= 0) return CACHE_MISS;
  if (cache_memory_get(account, url, ttl_ms, status, body, body_len)) return CACHE_MEMORY;
  if (!diskcache_get(vendor, host, account, url, ttl_ms, status, body, body_len)) {
    return CACHE_MISS;
  }
  /* Later lookups of this process need not read the file again. The copy lives at most ttl_ms
   * from now, a little longer than the disk entry would: the same answer, a TTL apart. */
  cache_memory_put(vendor, account, url, ttl_ms, *status, *body, *body_len);
  return CACHE_DISK;
}

void cache_store(const char *vendor, const char *host, uint64_t account, const char *url,
                 long long ttl_ms, long status, const char *body, size_t body_len) {
  if (ttl_ms <= 0) return;
  cache_memory_put(vendor, account, url, ttl_ms, status, body, body_len);
  diskcache_put(vendor, host, account, url, ttl_ms, status, body, body_len);
}

int cache_clear(void) {
  pthread_mutex_lock(&cache_lock);
  int cleared = cache_entries;
  while (cache_oldest) cache_unlink(cache_oldest);
  pthread_mutex_unlock(&cache_lock);
  return cleared + diskcache_clear();
}

/* The memory level's entries, least recently used first (under the lock: each must not call
 * back into the cache), then the disk level's. */
typedef struct cache_each_disk {
  cache_each_fn each;
  void *context;
} cache_each_disk;

static int cache_each_disk_row(void *context, const char *vendor, const char *url, long long bytes,
                               long long age_ms, long long hits) {
  const cache_each_disk *disk = context;
  return disk->each(disk->context, vendor, url, bytes, age_ms, hits, CACHE_DISK);
}

int cache_each(cache_each_fn each, void *context) {
  long long now_ms = cache_now_ms();
  int rc = 0;
  pthread_mutex_lock(&cache_lock);
  for (cache_entry *entry = cache_oldest; entry && rc == 0; entry = entry->newer) {
    if (entry->expires_ms <= now_ms) continue;
    rc = each(context, entry->vendor, entry->url, (long long)entry->cost, now_ms - entry->stored_ms,
              entry->hits, CACHE_MEMORY);
  }
  pthread_mutex_unlock(&cache_lock);
  cache_each_disk disk = {each, context};
  return rc ? rc : diskcache_each(cache_each_disk_row, &disk);
}
