/*
 * Progress of long statements (progress.h). Lines are rewritten in place on a terminal ("\r" and
 * erase to the end of the line) and written one a line otherwise, so a log keeps each of them.
 */
#include "observe/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "settings/config.h"
#include "util/clock.h"

SQLITE_EXTENSION_INIT3

static int ix_progress_quiet(void) {
  return config_env_flag("INTERACTIONS_QUIET");
}

/* Ends a line left open on the terminal, so that other stderr text starts on its own line. */
static void ix_progress_end_line(ix_progress *progress) {
  if (progress->live) fputs("\r\033[K", stderr);
  progress->live = 0;
}

static void ix_progress_say(ix_progress *progress, const char *text, int final) {
  if (isatty(2)) {
    fprintf(stderr, "\r%s\033[K%s", text, final ? "\n" : "");
    progress->live = !final;
  } else {
    fprintf(stderr, "%s\n", text);
  }
  fflush(stderr);
}

/* "12 of 60 customers, 14 requests, 230 rows" (the rows the API sent, before SQLite filters). */
static void ix_progress_counts(const ix_progress *progress, sqlite3_str *out) {
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

void progress_filter(ix_progress *progress, const ix_provider *provider, const char *table_name,
                     int in_list_customers, long long max_concurrency) {
  if (progress->started_ms == 0) {
    progress->started_ms = rate_clock_ms();
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
      !provider->required[0] || ix_progress_quiet()) {
    return;
  }
  progress->hinted = 1;
  /* The IN form takes a key of one column (Capillary's mobile, not its identifier_name/value). */
  const char *key = NULL;
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a] && !key; a++) {
    uint64_t mask = provider->required[a];
    if (mask & (mask - 1)) continue;
    for (int c = 0; c < provider->column_count && !key; c++) {
      if (mask & IX_COLUMN_BIT(c)) key = provider->columns[c].name;
    }
  }
  if (!key) return;
  ix_progress_end_line(progress);
  fprintf(stderr,
          "%s: %d customers fetched one at a time (a join's nested loop); "
          "WHERE %s IN (SELECT ... FROM your_table) fetches max_concurrency (%lld) at once "
          "(INTERACTIONS_QUIET=1 hides this)\n",
          table_name, IX_PROGRESS_HINT_FILTERS, key, max_concurrency);
  fflush(stderr);
}

void progress_customer(ix_progress *progress) {
  progress->customers++;
  progress->waiting_for = NULL;
  progress_tick(progress);
}

void progress_request_done(ix_progress *progress) {
  progress->requests++;
  progress->waiting_for = NULL;
  progress_tick(progress);
}

void progress_rows(ix_progress *progress, int rows) {
  if (rows > 0) progress->rows += rows;
}

void progress_waiting(ix_progress *progress, const char *what, long long milliseconds) {
  long long now = rate_clock_ms();
  if (progress->waiting_for != what) progress->waiting_since = now;
  progress->waiting_for = what;
  progress->waiting_until = milliseconds >= 0 ? now + milliseconds : 0;
  progress_tick(progress);
}

void progress_tick(ix_progress *progress) {
  if (progress->started_ms == 0) return;
  long long now = rate_clock_ms(), elapsed = now - progress->started_ms;
  if (elapsed < IX_PROGRESS_AFTER_MS) return;
  if (progress->said && now - progress->said_ms < IX_PROGRESS_EVERY_MS) {
    /* Not a new line yet: only the one a row erased comes back. */
    if (progress->shown && !progress->live) ix_progress_say(progress, progress->shown, 0);
    return;
  }
  if (ix_progress_quiet()) return;
  sqlite3_str *out = sqlite3_str_new(NULL);
  sqlite3_str_appendf(out, "%s: %lld s: ", progress->table_name, elapsed / 1000);
  ix_progress_counts(progress, out);
  if (progress->waiting_for && progress->waiting_until > now) {
    sqlite3_str_appendf(out, "; waiting %.1f s for %s",
                        (double)(progress->waiting_until - now) / 1000.0, progress->waiting_for);
  } else if (progress->waiting_for && progress->waiting_until == 0) {
    sqlite3_str_appendf(out, "; waiting for %s (%.1f s so far)", progress->waiting_for,
                        (double)(now - progress->waiting_since) / 1000.0);
  }
  /* The customers left at the pace so far: known only for IN lists. */
  if (progress->total_known && progress->customers > 0 &&
      progress->customers < progress->customers_total) {
    double left = (double)elapsed * (double)(progress->customers_total - progress->customers) /
                  (double)progress->customers / 1000.0;
    sqlite3_str_appendf(out, "; about %.0f s left", left < 1 ? 1 : left);
  }
  char *text = sqlite3_str_finish(out);
  if (text) {
    ix_progress_say(progress, text, 0);
    progress->said = 1;
    progress->said_ms = now;
  }
  sqlite3_free(progress->shown);
  progress->shown = progress->live ? text : NULL;
  if (!progress->live) sqlite3_free(text);
}

void progress_row_out(ix_progress *progress) {
  if (progress->live) {
    ix_progress_end_line(progress);
    fflush(stderr);
  }
}

void progress_failed(ix_progress *progress) {
  progress->failed = 1;
}

void progress_statement_end(ix_progress *progress) {
  if (progress->started_ms == 0) return;
  long long elapsed = rate_clock_ms() - progress->started_ms;
  int long_failure = progress->failed && elapsed >= IX_PROGRESS_AFTER_MS;
  if ((progress->said || long_failure) && !ix_progress_quiet()) {
    sqlite3_str *out = sqlite3_str_new(NULL);
    sqlite3_str_appendf(out, "%s: %s %.1f s: ", progress->table_name,
                        progress->failed ? "failed after" : "done in", (double)elapsed / 1000.0);
    ix_progress_counts(progress, out);
    char *text = sqlite3_str_finish(out);
    if (text) ix_progress_say(progress, text, 1);
    sqlite3_free(text);
  }
  ix_progress_end_line(progress);
  sqlite3_free(progress->shown);
  memset(progress, 0, sizeof(*progress));
}
