/*
 * The request log: every HTTP request this process made recently, newest last, in a bounded ring
 * (INTERACTIONS_REQUEST_LOG_SIZE entries, default 1000), readable as the interactions_requests
 * table. It is how a user sees what a query cost, and why.
 */
#ifndef IX_REQUESTLOG_H
#define IX_REQUESTLOG_H

#include <sqlite3ext.h>

typedef struct requestlog_entry {
  sqlite3_int64 id;
  char started_at[24]; /* UTC, "YYYY-MM-DD HH:MM:SS.SSS" */
  char *vendor;
  char *method;
  char *url;   /* never holds credentials (they travel only in headers); shortened past 2 KB */
  long status; /* 0 when no response arrived */
  int attempt;
  double elapsed_ms;
  sqlite3_int64 bytes;
  sqlite3_int64 rows; /* -1 until the page is parsed */
  int from_cache;     /* the cache level that answered (cache_level): 0 = a real request */
  char *error;        /* NULL when the request succeeded */
} requestlog_entry;

/* Records a request that started at started_unix_ms (0: now) and returns its id (0 when out of
 * memory: logging never fails a query). */
sqlite3_int64 requestlog_add(long long started_unix_ms, const char *vendor, const char *url,
                             long status, int attempt, double elapsed_ms, sqlite3_int64 bytes,
                             int from_cache, const char *error);
/* Records a request that was not made because a key can name no customer (an empty mobile in a
 * CRM table, say): method '-', no URL, status 0, rows 0, and reason ("skipped: mobile is empty")
 * as its error. */
void requestlog_add_skipped(const char *vendor, const char *reason);
/* Sets the number of rows the request's page produced. */
void requestlog_set_rows(sqlite3_int64 id, sqlite3_int64 rows);
/* Sets the request's method, when it was not a GET (token exchanges POST). */
void requestlog_set_method(sqlite3_int64 id, const char *method);

/* Calls each for every entry, oldest first, under the log's lock (each must not call back into
 * the log); returns each's first non-zero result. */
int requestlog_each(int (*each)(void *context, const requestlog_entry *entry), void *context);

#endif
