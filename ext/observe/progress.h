/*
 * What a long statement is doing, on stderr: customers, requests, rows, what it waits for, an
 * estimate; and, once, the IN form when a join fetches its customers one at a time. A statement
 * is a cursor's life, from its first xFilter to its xClose (SQLite closes a statement's cursors
 * when it halts), so a join's many xFilters count as one statement. Nothing is said before
 * IX_PROGRESS_AFTER_MS. Whether a line is shown at all is the stderr channel's decision
 * (notes.h): progress on a terminal unless INTERACTIONS_PROGRESS says otherwise, the hint as a
 * note.
 */
#ifndef IX_PROGRESS_H
#define IX_PROGRESS_H

#include <stdint.h>

#include "observe/joinsql.h"
#include "provider/provider.h"

#define IX_PROGRESS_AFTER_MS 2000   /* a statement shorter than this says nothing */
#define IX_PROGRESS_EVERY_MS 1000   /* at most one line a second */
#define IX_PROGRESS_HINT_FILTERS 20 /* one-customer xFilters before the IN-form hint */
#define IX_PROGRESS_MAX_WINDOWS 4   /* rate-limit windows the estimate accounts for */
/* SQLite passes an IN list to a virtual table whole (sqlite3_vtab_in) from 3.38.0. */
#define IX_PROGRESS_SQLITE_IN_WHOLE 3038000

typedef struct progress_state {
  const char *table_name;
  long long started_ms; /* the statement's first xFilter; 0 before it */
  long long said_ms;    /* when the last line was said */
  int said;             /* a progress line was said: the statement ends with a summary */
  char *shown;          /* the last line said on a terminal, to restore after a row erased it */
  int failed;
  int single_filters; /* xFilters with one customer (no IN list) */
  int hinted;
  uint64_t key_columns; /* the key the plan sends (the provider's alternative), 0 when unknown */
  sqlite3 *db;          /* whose running statement the hint reads the join's column from */
  long long customers;  /* handed to the cursor so far */
  long long customers_total; /* of the IN lists; 0 when unknown (a join) */
  int total_known;
  long long requests;
  long long rows;
  const char *waiting_for; /* NULL when not waiting */
  long long waiting_since;
  long long waiting_until;   /* 0 when the wait has no known end (answers on the wire) */
  long long limit_waited_ms; /* time spent waiting for the rate limit, finished waits */
  /* The rate limit's windows (N requests in any W ms): the estimate's floor. */
  int window_count;
  int window_requests[IX_PROGRESS_MAX_WINDOWS];
  long long window_ms[IX_PROGRESS_MAX_WINDOWS];
} progress_state;

/* What the plan sends: the key's columns (the provider's required alternative) and the connection,
 * for the hint (before progress_filter). */
void progress_plan(progress_state *progress, uint64_t key_columns, sqlite3 *db);
/* One window of the rate limit the statement's requests must fit in (index from 0). */
void progress_limit(progress_state *progress, int index, int max_requests, long long window_ms);
/* xFilter: in_list_customers is the IN list's length, or 0 for one customer (or none). */
void progress_filter(progress_state *progress, const ix_provider *provider, const char *table_name,
                     int in_list_customers, long long max_concurrency);
void progress_customer(progress_state *progress);
void progress_request_done(progress_state *progress);
void progress_rows(progress_state *progress, int rows);
/* About to wait for what (e.g. "the rate limit"); milliseconds < 0 when the end is unknown. */
void progress_waiting(progress_state *progress, const char *what, long long milliseconds);
/* Milliseconds left at now, or -1 when unknown (no IN list, nothing done yet). The pace of the
 * customers so far, but never less than the rate limit's windows allow: 261 requests at 100 a
 * minute need two more full windows after the first, however fast the first 100 went. */
long long progress_left_ms(const progress_state *progress, long long now);
/* The hint's text for a key of one column: its IN form, with the join's column and table where
 * match found them; on an SQLite older than IX_PROGRESS_SQLITE_IN_WHOLE, which hands a virtual
 * table an IN list one value at a time, the upgrade instead. */
void progress_hint_text(char *out, size_t size, const char *column, const joinsql_match *match,
                        int sqlite_version, const char *sqlite_version_text,
                        long long max_concurrency);
/* Says a line if the statement is long enough and the last line old enough. */
void progress_tick(progress_state *progress);
void progress_failed(progress_state *progress);
/* A row goes back to SQLite, which may print it: the terminal's line is erased first, so the
 * client's output never lands on it; the next tick puts it back. */
void progress_row_out(progress_state *progress);
/* xClose: the summary, when a line was said (or a failed statement ran long). */
void progress_statement_end(progress_state *progress);

#endif
