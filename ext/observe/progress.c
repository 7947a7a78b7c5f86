/*
 * Progress of long statements (progress.h). The lines go through the stderr channel (notes.h),
 * which rewrites them in place on a terminal and decides whether they are shown at all.
 */
#include "observe/progress.h"

#include <stdio.h>
#include <string.h>

#include "observe/joinsql.h"
#include "settings/config.h"
#include "util/clock.h"
#include "util/notes.h"

SQLITE_EXTENSION_INIT3

/* "12 of 60 customers, 14 requests, 230 rows" (the rows the API sent, before SQLite filters). */
static void progress_counts(const progress_state *progress, sqlite3_str *out) {
  if (progress->total_known) {
    sqlite3_str_appendf(out, "%lld of %lld customers", progress->customers,
                        progress->customers_total);
  } else {
    sqlite3_str_appendf(out, "%lld customer%s", progress->customers,
                        progress->customers == 1 ? "" : "s");
  }
  sqlite3_str_appendf(out, ", %lld request%s, %lld row%s fetched", progress->requests,
                      progress->requests == 1 ? "" : "s", progress->rows,
                      progress->rows == 1 ? "" : "s");
}

void progress_plan(progress_state *progress, uint64_t key_columns, sqlite3 *db) {
  progress->key_columns = key_columns;
  progress->db = db;
}

void progress_limit(progress_state *progress, int index, int max_requests, long long window_ms) {
  if (index < 0 || index >= IX_PROGRESS_MAX_WINDOWS || max_requests <= 0 || window_ms <= 0) return;
  progress->window_requests[index] = max_requests;
  progress->window_ms[index] = window_ms;
  if (progress->window_count <= index) progress->window_count = index + 1;
}

/* The SQL of the statement running on db that names table_name: the join the hint is about. */
static const char *progress_running_sql(sqlite3 *db, const char *table_name) {
  for (sqlite3_stmt *stmt = db ? sqlite3_next_stmt(db, NULL) : NULL; stmt;
       stmt = sqlite3_next_stmt(db, stmt)) {
    const char *sql = sqlite3_sql(stmt);
    if (sqlite3_stmt_busy(stmt) && sql && strstr(sql, table_name)) return sql;
  }
  return NULL;
}

/* Said once per statement at the IX_PROGRESS_HINT_FILTERS-th one-customer xFilter: the IN form
 * of the key the plan uses, with the column and table the join compared it with when the
 * statement's SQL says them. None for a key of several columns (no IN list can carry a pair);
 * an upgrade instead where SQLite hands an IN list over one value at a time. */
static void progress_hint(const progress_state *progress, const ix_provider *provider,
                          const char *table_name, long long max_concurrency) {
  uint64_t key = progress->key_columns;
  if (!key || (key & (key - 1))) return;
  const char *column = NULL;
  for (int c = 0; c < provider->column_count && !column; c++) {
    if (key & IX_COLUMN_BIT(c)) column = provider->columns[c].name;
  }
  if (!column) return;
  joinsql_match match;
  joinsql_find(progress_running_sql(progress->db, table_name), table_name, column, &match);
  char text[1024];
  progress_hint_text(text, sizeof(text), column, &match, sqlite3_libversion_number(),
                     sqlite3_libversion(), max_concurrency);
  notes_say(NOTES_NOTE, table_name, "%s", text);
}

void progress_hint_text(char *out, size_t size, const char *column, const joinsql_match *match,
                        int sqlite_version, const char *sqlite_version_text,
                        long long max_concurrency) {
  int used = snprintf(out, size, "%d customers fetched one at a time (a join's nested loop); ",
                      IX_PROGRESS_HINT_FILTERS);
  if (used < 0 || (size_t)used >= size) return;
  if (sqlite_version < IX_PROGRESS_SQLITE_IN_WHOLE) {
    snprintf(out + used, size - (size_t)used,
             "SQLite %s hands a virtual table an IN list one value at a time, so WHERE %s IN "
             "(...) would not be faster; SQLite 3.38 or newer fetches max_concurrency (%lld) at "
             "once (INTERACTIONS_QUIET=1 hides this)",
             sqlite_version_text, column, max_concurrency);
    return;
  }
  snprintf(out + used, size - (size_t)used,
           "WHERE %s IN (SELECT %s FROM %s%s) fetches max_concurrency (%lld) at once "
           "(INTERACTIONS_QUIET=1 hides this)",
           column, match->column[0] ? match->column : "...",
           match->table[0] ? match->table : "your_table", match->column[0] ? " ..." : "",
           max_concurrency);
}

void progress_filter(progress_state *progress, const ix_provider *provider, const char *table_name,
                     int in_list_customers, long long max_concurrency) {
  if (progress->started_ms == 0) {
    progress->started_ms = clock_ms();
    progress->table_name = table_name;
    progress->total_known = 1;
  }
  if (in_list_customers > 0) {
    progress->customers_total += in_list_customers;
    return;
  }
  /* One customer per xFilter: a join's nested loop (or a single customer). */
  progress->total_known = 0;
  progress->single_filters++;
  progress_customer(progress);
  if (progress->single_filters != IX_PROGRESS_HINT_FILTERS || progress->hinted ||
      !provider->required[0] || !notes_shown(NOTES_NOTE)) {
    return;
  }
  progress->hinted = 1;
  progress_hint(progress, provider, table_name, max_concurrency);
}

/* A wait ends (the next request went, or something else is waited for): the time waited for the
 * rate limit is kept apart from the time spent working, for the estimate. */
static void progress_wait_over(progress_state *progress, long long now) {
  if (progress->waiting_for && strcmp(progress->waiting_for, "the rate limit") == 0 &&
      now > progress->waiting_since) {
    progress->limit_waited_ms += now - progress->waiting_since;
  }
  progress->waiting_for = NULL;
}

void progress_customer(progress_state *progress) {
  progress->customers++;
  progress_wait_over(progress, clock_ms());
  progress_tick(progress);
}

void progress_request_done(progress_state *progress) {
  progress->requests++;
  progress_wait_over(progress, clock_ms());
  progress_tick(progress);
}

void progress_rows(progress_state *progress, int rows) {
  if (rows > 0) progress->rows += rows;
}

void progress_waiting(progress_state *progress, const char *what, long long milliseconds) {
  long long now = clock_ms();
  if (progress->waiting_for != what) {
    progress_wait_over(progress, now);
    progress->waiting_since = now;
  }
  progress->waiting_for = what;
  progress->waiting_until = milliseconds >= 0 ? now + milliseconds : 0;
  progress_tick(progress);
}

long long progress_left_ms(const progress_state *progress, long long now) {
  if (!progress->total_known || progress->customers <= 0 ||
      progress->customers >= progress->customers_total || progress->started_ms == 0) {
    return -1;
  }
  long long elapsed = now - progress->started_ms;
  long long customers_left = progress->customers_total - progress->customers;
  /* The pace of the work itself: waits for the rate limit are the floor's business below. */
  long long waited = progress->limit_waited_ms;
  if (progress->waiting_for && strcmp(progress->waiting_for, "the rate limit") == 0) {
    waited += now - progress->waiting_since;
  }
  long long working = elapsed > waited ? elapsed - waited : 0;
  double left = (double)working * (double)customers_left / (double)progress->customers;
  /* Each customer left takes a request at least: the statement's last one, counted from its
   * first, is number done + left; no N of them fit in less than a window. */
  long long last_request = progress->requests + customers_left;
  for (int w = 0; w < progress->window_count; w++) {
    long long windows = (last_request - 1) / progress->window_requests[w];
    double floor = (double)(windows * progress->window_ms[w] - elapsed);
    if (floor > left) left = floor;
  }
  return left < 1000 ? 1000 : (long long)left;
}

void progress_tick(progress_state *progress) {
  if (progress->started_ms == 0) return;
  long long now = clock_ms(), elapsed = now - progress->started_ms;
  if (elapsed < IX_PROGRESS_AFTER_MS) return;
  if (progress->said && now - progress->said_ms < IX_PROGRESS_EVERY_MS) {
    /* Not a new line yet: only the one a row erased comes back. */
    if (progress->shown && !notes_progress_open(progress)) {
      notes_progress(progress, progress->shown, 0);
    }
    return;
  }
  if (!notes_shown(NOTES_PROGRESS)) return;
  sqlite3_str *out = sqlite3_str_new(NULL);
  sqlite3_str_appendf(out, "%s: %lld s: ", progress->table_name, elapsed / 1000);
  progress_counts(progress, out);
  if (progress->waiting_for && progress->waiting_until > now) {
    sqlite3_str_appendf(out, "; waiting %.1f s for %s",
                        (double)(progress->waiting_until - now) / 1000.0, progress->waiting_for);
  } else if (progress->waiting_for && progress->waiting_until == 0) {
    sqlite3_str_appendf(out, "; waiting for %s (%.1f s so far)", progress->waiting_for,
                        (double)(now - progress->waiting_since) / 1000.0);
  }
  long long left = progress_left_ms(progress, now);
  if (left > 0) sqlite3_str_appendf(out, "; about %lld s left", (left + 500) / 1000);
  char *text = sqlite3_str_finish(out);
  if (text) {
    notes_progress(progress, text, 0);
    progress->said = 1;
    progress->said_ms = now;
  }
  sqlite3_free(progress->shown);
  progress->shown = notes_progress_open(progress) ? text : NULL;
  if (progress->shown != text) sqlite3_free(text);
}

void progress_row_out(progress_state *progress) {
  notes_progress_erase(progress);
}

void progress_failed(progress_state *progress) {
  progress->failed = 1;
}

void progress_statement_end(progress_state *progress) {
  if (progress->started_ms == 0) return;
  long long elapsed = clock_ms() - progress->started_ms;
  int long_failure = progress->failed && elapsed >= IX_PROGRESS_AFTER_MS;
  if ((progress->said || long_failure) && notes_shown(NOTES_PROGRESS)) {
    sqlite3_str *out = sqlite3_str_new(NULL);
    sqlite3_str_appendf(out, "%s: %s %.1f s: ", progress->table_name,
                        progress->failed ? "failed after" : "done in", (double)elapsed / 1000.0);
    progress_counts(progress, out);
    char *text = sqlite3_str_finish(out);
    if (text) notes_progress(progress, text, 1);
    sqlite3_free(text);
  }
  notes_progress_erase(progress);
  sqlite3_free(progress->shown);
  memset(progress, 0, sizeof(*progress));
}
