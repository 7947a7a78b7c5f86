/*
 * The request log and its table, interactions_requests: see requestlog.h.
 *
 *     SELECT vendor, status, elapsed_ms, rows, from_cache FROM interactions_requests;
 *
 * The ring belongs to the process (requests from every connection), guarded by one mutex. The
 * table copies the ring when a scan starts, so a query that makes requests while it reads the log
 * sees a stable picture.
 */
#include "observe/requestlog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"
#include "sql/tables/helpertable.h"
#include "util/timefmt.h"

SQLITE_EXTENSION_INIT3

#define REQUESTLOG_DEFAULT_SIZE 1000
#define REQUESTLOG_MAX_SIZE 1000000

static pthread_mutex_t requestlog_lock = PTHREAD_MUTEX_INITIALIZER;
static requestlog_entry *requestlog_ring;
static int requestlog_capacity; /* 0 until first use */
static int requestlog_count;
static int requestlog_next; /* slot of the next entry: the oldest once the ring is full */
static sqlite3_int64 requestlog_last_id;

static char *requestlog_strdup(const char *text) {
  if (!text) return NULL;
  size_t length = strlen(text);
  char *copy = malloc(length + 1);
  if (copy) memcpy(copy, text, length + 1);
  return copy;
}

/* A URL longer than this is logged shortened: its start (which says what was asked) and how much
 * was cut, so a vendor's huge cursors cannot fill memory through the log. */
#define REQUESTLOG_MAX_URL 2048

static char *requestlog_url(const char *url) {
  if (!url || strlen(url) <= REQUESTLOG_MAX_URL) return requestlog_strdup(url);
  size_t cut = strlen(url) - REQUESTLOG_MAX_URL;
  char note[64];
  int note_length = snprintf(note, sizeof(note), "...(%zu more bytes not logged)", cut);
  char *copy = malloc(REQUESTLOG_MAX_URL + (size_t)note_length + 1);
  if (!copy) return NULL;
  memcpy(copy, url, REQUESTLOG_MAX_URL);
  memcpy(copy + REQUESTLOG_MAX_URL, note, (size_t)note_length + 1);
  return copy;
}

static void requestlog_entry_clear(requestlog_entry *entry) {
  free(entry->vendor);
  free(entry->method);
  free(entry->url);
  free(entry->error);
  memset(entry, 0, sizeof(*entry));
}

/* Called with the lock held. */
static int requestlog_ensure_ring(void) {
  if (requestlog_capacity) return 0;
  const char *size = getenv("INTERACTIONS_REQUEST_LOG_SIZE");
  long capacity = size ? strtol(size, NULL, 10) : REQUESTLOG_DEFAULT_SIZE;
  if (capacity < 1 || capacity > REQUESTLOG_MAX_SIZE) capacity = REQUESTLOG_DEFAULT_SIZE;
  requestlog_ring = calloc((size_t)capacity, sizeof(requestlog_entry));
  if (!requestlog_ring) return -1;
  requestlog_capacity = (int)capacity;
  return 0;
}

/* Formats a wall-clock time in milliseconds (0: now) as UTC. */
static void requestlog_time(long long unix_ms, char out[24]) {
  if (unix_ms <= 0) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unix_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  }
  long long seconds = unix_ms / 1000;
  long long days = seconds / 86400, second_of_day = seconds % 86400;
  int year;
  unsigned month, day;
  timefmt_civil_from_days(days, &year, &month, &day);
  /* Wide enough for any value the compiler can imagine; the real text is 23 characters. */
  char text[128];
  snprintf(text, sizeof(text), "%04d-%02u-%02u %02lld:%02lld:%02lld.%03ld", year, month, day,
           second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60,
           (long)(unix_ms % 1000));
  snprintf(out, 24, "%.23s", text);
}

static sqlite3_int64 requestlog_add_entry(long long started_unix_ms, const char *vendor,
                                          const char *method, const char *url, long status,
                                          int attempt, double elapsed_ms, sqlite3_int64 bytes,
                                          int from_cache, const char *error) {
  pthread_mutex_lock(&requestlog_lock);
  sqlite3_int64 id = 0;
  if (requestlog_ensure_ring() == 0) {
    requestlog_entry *entry = &requestlog_ring[requestlog_next];
    requestlog_entry_clear(entry);
    entry->id = id = ++requestlog_last_id;
    requestlog_time(started_unix_ms, entry->started_at);
    entry->vendor = requestlog_strdup(vendor);
    entry->method = requestlog_strdup(method);
    entry->url = requestlog_url(url);
    entry->error = requestlog_strdup(error);
    entry->status = status;
    entry->attempt = attempt;
    entry->elapsed_ms = elapsed_ms;
    entry->bytes = bytes;
    entry->rows = -1;
    entry->from_cache = from_cache;
    requestlog_next = (requestlog_next + 1) % requestlog_capacity;
    if (requestlog_count < requestlog_capacity) requestlog_count++;
  }
  pthread_mutex_unlock(&requestlog_lock);
  return id;
}

sqlite3_int64 requestlog_add(long long started_unix_ms, const char *vendor, const char *url,
                             long status, int attempt, double elapsed_ms, sqlite3_int64 bytes,
                             int from_cache, const char *error) {
  return requestlog_add_entry(started_unix_ms, vendor, "GET", url, status, attempt, elapsed_ms,
                              bytes, from_cache, error);
}

void requestlog_add_skipped(const char *vendor, const char *reason) {
  sqlite3_int64 id = requestlog_add_entry(0, vendor, "-", NULL, 0, 0, 0, 0, 0, reason);
  requestlog_set_rows(id, 0);
}

void requestlog_set_rows(sqlite3_int64 id, sqlite3_int64 rows) {
  pthread_mutex_lock(&requestlog_lock);
  for (int i = 0; id > 0 && i < requestlog_count; i++) {
    /* Walk back from the newest: the entry is almost always the last one. */
    int slot = (requestlog_next - 1 - i + requestlog_capacity) % requestlog_capacity;
    if (requestlog_ring[slot].id == id) {
      requestlog_ring[slot].rows = rows;
      break;
    }
  }
  pthread_mutex_unlock(&requestlog_lock);
}

void requestlog_set_method(sqlite3_int64 id, const char *method) {
  pthread_mutex_lock(&requestlog_lock);
  for (int i = 0; id > 0 && i < requestlog_count; i++) {
    int slot = (requestlog_next - 1 - i + requestlog_capacity) % requestlog_capacity;
    if (requestlog_ring[slot].id == id) {
      char *copy = requestlog_strdup(method);
      if (copy) {
        free(requestlog_ring[slot].method);
        requestlog_ring[slot].method = copy;
      }
      break;
    }
  }
  pthread_mutex_unlock(&requestlog_lock);
}

/* ---- The interactions_requests table ---- */

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
  RL_CACHE_LEVEL
};

typedef struct requestlog_cursor {
  sqlite3_vtab_cursor base;
  requestlog_entry *entries; /* a copy of the ring, oldest first */
  int count;
  int index;
} requestlog_cursor;

static int requestlog_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                              sqlite3_vtab **vtab_out, char **error_out) {
  (void)aux, (void)argc, (void)argv, (void)error_out;
  return ix_helper_table_connect(
      db,
      "CREATE TABLE x(id INTEGER, started_at TEXT, vendor TEXT, method TEXT, url TEXT, "
      "status INTEGER, attempt INTEGER, elapsed_ms REAL, bytes INTEGER, rows INTEGER, "
      "from_cache INTEGER, error TEXT, cache_level TEXT)",
      sizeof(sqlite3_vtab), vtab_out);
}

static int requestlog_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  info->estimatedCost = 1000;
  info->estimatedRows = 1000;
  return SQLITE_OK;
}

static int requestlog_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **cursor_out) {
  (void)vtab;
  requestlog_cursor *cursor = sqlite3_malloc64(sizeof(*cursor));
  if (!cursor) return SQLITE_NOMEM;
  memset(cursor, 0, sizeof(*cursor));
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

static void requestlog_cursor_clear(requestlog_cursor *cursor) {
  for (int i = 0; i < cursor->count; i++) requestlog_entry_clear(&cursor->entries[i]);
  free(cursor->entries);
  cursor->entries = NULL;
  cursor->count = cursor->index = 0;
}

static int requestlog_close(sqlite3_vtab_cursor *base) {
  requestlog_cursor_clear((requestlog_cursor *)base);
  sqlite3_free(base);
  return SQLITE_OK;
}

static int requestlog_filter(sqlite3_vtab_cursor *base, int plan, const char *plan_text, int argc,
                             sqlite3_value **argv) {
  (void)plan, (void)plan_text, (void)argc, (void)argv;
  requestlog_cursor *cursor = (requestlog_cursor *)base;
  requestlog_cursor_clear(cursor);
  int rc = SQLITE_OK;
  pthread_mutex_lock(&requestlog_lock);
  if (requestlog_count > 0) {
    cursor->entries = calloc((size_t)requestlog_count, sizeof(requestlog_entry));
    if (!cursor->entries) rc = SQLITE_NOMEM;
    for (int i = 0; rc == SQLITE_OK && i < requestlog_count; i++) {
      int oldest = requestlog_count < requestlog_capacity ? 0 : requestlog_next;
      const requestlog_entry *from = &requestlog_ring[(oldest + i) % requestlog_capacity];
      requestlog_entry *to = &cursor->entries[i];
      *to = *from;
      to->vendor = requestlog_strdup(from->vendor);
      to->method = requestlog_strdup(from->method);
      to->url = requestlog_strdup(from->url);
      to->error = requestlog_strdup(from->error);
      cursor->count++;
    }
  }
  pthread_mutex_unlock(&requestlog_lock);
  return rc;
}

static int requestlog_next_row(sqlite3_vtab_cursor *base) {
  ((requestlog_cursor *)base)->index++;
  return SQLITE_OK;
}

static int requestlog_eof(sqlite3_vtab_cursor *base) {
  requestlog_cursor *cursor = (requestlog_cursor *)base;
  return cursor->index >= cursor->count;
}

static int requestlog_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  const requestlog_cursor *cursor = (const requestlog_cursor *)base;
  const requestlog_entry *entry = &cursor->entries[cursor->index];
  switch (column) {
    case RL_ID: sqlite3_result_int64(ctx, entry->id); break;
    case RL_STARTED_AT: sqlite3_result_text(ctx, entry->started_at, -1, SQLITE_TRANSIENT); break;
    case RL_VENDOR: sqlite3_result_text(ctx, entry->vendor, -1, SQLITE_TRANSIENT); break;
    case RL_METHOD: sqlite3_result_text(ctx, entry->method, -1, SQLITE_TRANSIENT); break;
    case RL_URL: sqlite3_result_text(ctx, entry->url, -1, SQLITE_TRANSIENT); break;
    case RL_STATUS:
      if (entry->status) sqlite3_result_int64(ctx, entry->status);
      break;
    case RL_ATTEMPT: sqlite3_result_int(ctx, entry->attempt); break;
    case RL_ELAPSED_MS: sqlite3_result_double(ctx, entry->elapsed_ms); break;
    case RL_BYTES: sqlite3_result_int64(ctx, entry->bytes); break;
    case RL_ROWS:
      if (entry->rows >= 0) sqlite3_result_int64(ctx, entry->rows);
      break;
    case RL_FROM_CACHE: sqlite3_result_int(ctx, entry->from_cache != 0); break;
    case RL_ERROR: sqlite3_result_text(ctx, entry->error, -1, SQLITE_TRANSIENT); break;
    case RL_CACHE_LEVEL:
      sqlite3_result_text(ctx, cache_level_name(entry->from_cache), -1, SQLITE_STATIC);
      break;
    default: break;
  }
  return SQLITE_OK;
}

static int requestlog_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  const requestlog_cursor *cursor = (const requestlog_cursor *)base;
  *rowid = cursor->entries[cursor->index].id;
  return SQLITE_OK;
}

static const sqlite3_module requestlog_module = {
    /* iVersion    */ 2,
    /* xCreate     */ NULL, /* eponymous only: there is one log, nothing to create */
    /* xConnect    */ requestlog_connect,
    /* xBestIndex  */ requestlog_best_index,
    /* xDisconnect */ ix_helper_table_disconnect,
    /* xDestroy    */ ix_helper_table_disconnect,
    /* xOpen       */ requestlog_open,
    /* xClose      */ requestlog_close,
    /* xFilter     */ requestlog_filter,
    /* xNext       */ requestlog_next_row,
    /* xEof        */ requestlog_eof,
    /* xColumn     */ requestlog_column,
    /* xRowid      */ requestlog_rowid,
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

int requestlog_register(sqlite3 *db) {
  return sqlite3_create_module_v2(db, "interactions_requests", &requestlog_module, NULL, NULL);
}
