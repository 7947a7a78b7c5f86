/*
 * The request log: see requestlog.h. Its table, interactions_requests, is
 * sql/tables/requeststable.c.
 *
 * The ring belongs to the process (requests from every connection), guarded by one mutex. The
 * table copies the ring when a scan starts (requestlog_each), so a query that makes requests while
 * it reads the log sees a stable picture.
 */
#include "observe/requestlog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int requestlog_each(int (*each)(void *context, const requestlog_entry *entry), void *context) {
  int rc = 0;
  pthread_mutex_lock(&requestlog_lock);
  int oldest = requestlog_count < requestlog_capacity ? 0 : requestlog_next;
  for (int i = 0; rc == 0 && i < requestlog_count; i++) {
    rc = each(context, &requestlog_ring[(oldest + i) % requestlog_capacity]);
  }
  pthread_mutex_unlock(&requestlog_lock);
  return rc;
}
