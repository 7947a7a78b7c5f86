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
#include "sql/tables/helpertable.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/diskcache.h"
#include "util/hash.h"

SQLITE_EXTENSION_INIT3

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
  uint64_t url_hash = ix_hash64(url);
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
  entry->url_hash = ix_hash64(url);
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

/* ---- interactions_cache ----
 *
 *     CREATE TABLE interactions_cache(vendor, url, bytes, age, hits, level)
 *
 * A snapshot of both levels taken in xFilter, least recently used first within each level: bytes
 * is what the entry counts against its level's cap, age the seconds since it was stored. */

enum {
  CACHE_COL_VENDOR,
  CACHE_COL_URL,
  CACHE_COL_BYTES,
  CACHE_COL_AGE,
  CACHE_COL_HITS,
  CACHE_COL_LEVEL
};

typedef struct cache_row {
  char *vendor;
  char *url;
  sqlite3_int64 bytes;
  sqlite3_int64 age_s;
  sqlite3_int64 hits;
  int level;
} cache_row;

typedef struct cache_cursor {
  sqlite3_vtab_cursor base;
  cache_row *rows;
  int count;
  int capacity;
  int index;
} cache_cursor;

static void cache_cursor_clear(cache_cursor *cursor) {
  for (int i = 0; i < cursor->count; i++) {
    sqlite3_free(cursor->rows[i].vendor);
    sqlite3_free(cursor->rows[i].url);
  }
  sqlite3_free(cursor->rows);
  cursor->rows = NULL;
  cursor->count = cursor->capacity = cursor->index = 0;
}

static int cache_cursor_add(cache_cursor *cursor, const char *vendor, const char *url,
                            long long bytes, long long age_ms, long long hits, int level) {
  if (cursor->count == cursor->capacity) {
    int capacity = cursor->capacity ? cursor->capacity * 2 : 32;
    cache_row *grown =
        sqlite3_realloc64(cursor->rows, (sqlite3_uint64)capacity * sizeof(cache_row));
    if (!grown) return SQLITE_NOMEM;
    cursor->rows = grown;
    cursor->capacity = capacity;
  }
  cache_row *row = &cursor->rows[cursor->count];
  row->vendor = sqlite3_mprintf("%s", vendor ? vendor : "");
  row->url = sqlite3_mprintf("%s", url ? url : "");
  row->bytes = bytes;
  row->age_s = age_ms < 0 ? 0 : age_ms / 1000;
  row->hits = hits;
  row->level = level;
  cursor->count++; /* counted even when a copy failed, so clear frees what was made */
  return row->vendor && row->url ? SQLITE_OK : SQLITE_NOMEM;
}

static int cache_add_disk_row(void *context, const char *vendor, const char *url, long long bytes,
                              long long age_ms, long long hits) {
  return cache_cursor_add(context, vendor, url, bytes, age_ms, hits, CACHE_DISK);
}

static int cache_table_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                               sqlite3_vtab **vtab_out, char **error_out) {
  (void)aux, (void)argc, (void)argv, (void)error_out;
  return ix_helper_table_connect(
      db,
      "CREATE TABLE x(vendor TEXT, url TEXT, bytes INTEGER, age INTEGER, "
      "hits INTEGER, level TEXT)",
      sizeof(sqlite3_vtab), vtab_out);
}

static int cache_table_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **cursor_out) {
  (void)vtab;
  cache_cursor *cursor = sqlite3_malloc64(sizeof(*cursor));
  if (!cursor) return SQLITE_NOMEM;
  memset(cursor, 0, sizeof(*cursor));
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

static int cache_table_close(sqlite3_vtab_cursor *base) {
  cache_cursor_clear((cache_cursor *)base);
  sqlite3_free(base);
  return SQLITE_OK;
}

static int cache_table_next(sqlite3_vtab_cursor *base) {
  ((cache_cursor *)base)->index++;
  return SQLITE_OK;
}

static int cache_table_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  const cache_cursor *cursor = (const cache_cursor *)base;
  const cache_row *row = &cursor->rows[cursor->index];
  switch (column) {
    case CACHE_COL_VENDOR: sqlite3_result_text(ctx, row->vendor, -1, SQLITE_TRANSIENT); break;
    case CACHE_COL_URL: sqlite3_result_text(ctx, row->url, -1, SQLITE_TRANSIENT); break;
    case CACHE_COL_BYTES: sqlite3_result_int64(ctx, row->bytes); break;
    case CACHE_COL_AGE: sqlite3_result_int64(ctx, row->age_s); break;
    case CACHE_COL_HITS: sqlite3_result_int64(ctx, row->hits); break;
    default: sqlite3_result_text(ctx, cache_level_name(row->level), -1, SQLITE_STATIC); break;
  }
  return SQLITE_OK;
}

static int cache_table_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  *rowid = ((const cache_cursor *)base)->index + 1;
  return SQLITE_OK;
}

static int cache_table_eof(sqlite3_vtab_cursor *base) {
  const cache_cursor *cursor = (const cache_cursor *)base;
  return cursor->index >= cursor->count;
}

static int cache_table_filter(sqlite3_vtab_cursor *base, int plan, const char *plan_text, int argc,
                              sqlite3_value **argv) {
  (void)plan, (void)plan_text, (void)argc, (void)argv;
  cache_cursor *cursor = (cache_cursor *)base;
  cache_cursor_clear(cursor);
  long long now_ms = cache_now_ms();
  int rc = SQLITE_OK;
  pthread_mutex_lock(&cache_lock);
  for (cache_entry *entry = cache_oldest; entry && rc == SQLITE_OK; entry = entry->newer) {
    if (entry->expires_ms <= now_ms) continue;
    rc = cache_cursor_add(cursor, entry->vendor, entry->url, (long long)entry->cost,
                          now_ms - entry->stored_ms, entry->hits, CACHE_MEMORY);
  }
  pthread_mutex_unlock(&cache_lock);
  if (rc == SQLITE_OK) rc = diskcache_each(cache_add_disk_row, cursor);
  return rc;
}

static int cache_table_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  info->estimatedCost = 1000;
  info->estimatedRows = 1000;
  return SQLITE_OK;
}

static const sqlite3_module cache_module = {
    /* iVersion    */ 2,
    /* xCreate     */ NULL, /* eponymous only */
    /* xConnect    */ cache_table_connect,
    /* xBestIndex  */ cache_table_best_index,
    /* xDisconnect */ ix_helper_table_disconnect,
    /* xDestroy    */ ix_helper_table_disconnect,
    /* xOpen       */ cache_table_open,
    /* xClose      */ cache_table_close,
    /* xFilter     */ cache_table_filter,
    /* xNext       */ cache_table_next,
    /* xEof        */ cache_table_eof,
    /* xColumn     */ cache_table_column,
    /* xRowid      */ cache_table_rowid,
    /* xUpdate     */ NULL,
    /* xBegin      */ NULL,
    /* xSync       */ NULL,
    /* xCommit     */ NULL,
    /* xRollback   */ NULL,
    /* xFindMethod */ NULL,
    /* xRename     */ NULL,
    /* xSavepoint  */ NULL,
    /* xRelease    */ NULL,
    /* xRollbackTo */ NULL,
    /* xShadowName */ NULL,
};

int cache_register(sqlite3 *db) {
  return sqlite3_create_module_v2(db, "interactions_cache", &cache_module, NULL, NULL);
}
