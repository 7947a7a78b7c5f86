/*
 * interactions_requests: see requeststable.h.
 */
#include "sql/tables/requeststable.h"

#include "cache/cache.h"
#include "observe/requestlog.h"
#include "sql/tables/snapshot.h"

SQLITE_EXTENSION_INIT3

enum {
  RL_ID,
  RL_STARTED_AT,
  RL_VENDOR,
  RL_METHOD,
  RL_URL,
  RL_STATUS,
  RL_ATTEMPT,
  RL_ELAPSED_MS,
  RL_BYTES,
  RL_ROWS,
  RL_FROM_CACHE,
  RL_ERROR,
  RL_CACHE_LEVEL,
  RL_COUNT
};

static int requeststable_row(void *context, const requestlog_entry *entry) {
  snapshot *rows = context;
  if (snapshot_row(rows, entry->id) != SQLITE_OK) return SQLITE_NOMEM;
  snapshot_int(rows, RL_ID, entry->id);
  snapshot_text(rows, RL_STARTED_AT, entry->started_at);
  snapshot_text(rows, RL_VENDOR, entry->vendor);
  snapshot_text(rows, RL_METHOD, entry->method);
  snapshot_text(rows, RL_URL, entry->url);
  if (entry->status) snapshot_int(rows, RL_STATUS, entry->status);
  snapshot_int(rows, RL_ATTEMPT, entry->attempt);
  snapshot_real(rows, RL_ELAPSED_MS, entry->elapsed_ms);
  snapshot_int(rows, RL_BYTES, entry->bytes);
  if (entry->rows >= 0) snapshot_int(rows, RL_ROWS, entry->rows);
  snapshot_int(rows, RL_FROM_CACHE, entry->from_cache != 0);
  snapshot_text(rows, RL_ERROR, entry->error);
  snapshot_text(rows, RL_CACHE_LEVEL, cache_level_name(entry->from_cache));
  return SQLITE_OK;
}

static int requeststable_fill(snapshot *rows, void *aux) {
  (void)aux;
  return requestlog_each(requeststable_row, rows);
}

static const snapshot_table requeststable = {
    "CREATE TABLE x(id INTEGER, started_at TEXT, vendor TEXT, method TEXT, url TEXT, "
    "status INTEGER, attempt INTEGER, elapsed_ms REAL, bytes INTEGER, rows INTEGER, "
    "from_cache INTEGER, error TEXT, cache_level TEXT)",
    RL_COUNT, requeststable_fill};

int requeststable_register(sqlite3 *db) {
  return snapshot_register(db, "interactions_requests", &requeststable, NULL);
}
