/*
 * interactions_cache: see cachetable.h.
 *
 *     CREATE TABLE interactions_cache(vendor, url, bytes, age, hits, level)
 *
 * A snapshot of both levels taken in xFilter, least recently used first within each level: bytes
 * is what the entry counts against its level's cap, age the seconds since it was stored.
 */
#include "sql/tables/cachetable.h"

#include "cache/cache.h"
#include "sql/tables/snapshot.h"

SQLITE_EXTENSION_INIT3

enum {
  CACHE_COL_VENDOR,
  CACHE_COL_URL,
  CACHE_COL_BYTES,
  CACHE_COL_AGE,
  CACHE_COL_HITS,
  CACHE_COL_LEVEL,
  CACHE_COL_COUNT
};

static int cachetable_row(void *context, const char *vendor, const char *url, long long bytes,
                          long long age_ms, long long hits, int level) {
  snapshot *rows = context;
  if (snapshot_row(rows, 0) != SQLITE_OK) return SQLITE_NOMEM;
  snapshot_text(rows, CACHE_COL_VENDOR, vendor ? vendor : "");
  snapshot_text(rows, CACHE_COL_URL, url ? url : "");
  snapshot_int(rows, CACHE_COL_BYTES, bytes);
  snapshot_int(rows, CACHE_COL_AGE, age_ms < 0 ? 0 : age_ms / 1000);
  snapshot_int(rows, CACHE_COL_HITS, hits);
  snapshot_text(rows, CACHE_COL_LEVEL, cache_level_name(level));
  return SQLITE_OK;
}

static int cachetable_fill(snapshot *rows, void *aux) {
  (void)aux;
  return cache_each(cachetable_row, rows);
}

static const snapshot_table cachetable = {
    "CREATE TABLE x(vendor TEXT, url TEXT, bytes INTEGER, age INTEGER, hits INTEGER, level TEXT)",
    CACHE_COL_COUNT, cachetable_fill};

int cachetable_register(sqlite3 *db) {
  return snapshot_register(db, "interactions_cache", &cachetable, NULL);
}
