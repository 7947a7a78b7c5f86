/*
 * "SQLite's answer or a clear error" (issue 19), the cursor's part: what xFilter and the cursor
 * check so that a statement gives the rows SQLite would give over a local copy of the vendor's data,
 * fails before any request naming the fix, or says in a note why SQLite's answer may surprise.
 * vtab.c calls these; each takes what it needs, not the cursor.
 */
#ifndef IX_PROMISE_H
#define IX_PROMISE_H

#include "fetch/fetch.h"
#include "sql/plan.h"
#include "util/textset.h"

/* Per cursor: one statement's state. */
typedef struct promise_state {
  /* An IN list names each customer once: the keys sent, after the key column's affinity, and the
   * vendor's own ids of the customers whose rows were returned. */
  textset in_keys;
  textset customers_seen;
  int noted;                                    /* the statement's one note is said */
  plan_collation key_collation[IX_MAX_COLUMNS]; /* how SQLite compares each key's equality */
  char *bound_note; /* a bound not in the range column's format, for the note; sqlite3_malloc'd */
} promise_state;

/* xFilter: forgets the IN list's keys and customers (the note stays said for the statement). */
void promise_filter_reset(promise_state *state);
void promise_free(promise_state *state);

/* A key compared under a collation the vendor's match cannot serve for this value: SQLITE_ERROR
 * and *error_out naming the column, the collation, where it comes from and the rewrite (before
 * any request); else SQLITE_OK. key is the plan's key columns (a mask). */
int promise_check_key_collation(const ix_provider *provider, const char *table, uint64_t key,
                                int column, plan_collation collation, sqlite3_value *value,
                                char **error_out);
/* Whether an IN value names a customer not named before in the list (values equal after the key
 * column's affinity are one customer, one request): 1 new, 0 seen, -1 out of memory. */
int promise_in_key_is_new(promise_state *state, sqlite3_value *sent);
/* When a customer's first page has arrived: if the vendor's own id says the IN list already
 * returned this customer, skips its rows (*row_index to the end) and its further pages. */
int promise_skip_repeated_customer(promise_state *state, fetch_cursor *fetch, int *row_index);
/* A customer's first page arrived: its rows once (promise_skip_repeated_customer), and the note
 * if SQLite drops them all (promise_note_dropped). */
int promise_customer_arrived(promise_state *state, fetch_cursor *fetch, uint64_t key,
                             int *row_index);
/* The note when SQLite is about to drop every row the vendor matched (once per statement). */
void promise_note_dropped(promise_state *state, const fetch_cursor *fetch, uint64_t key);
/* Keeps the note for a bound not in the range column's format (written: as the user wrote it,
 * sqlite3_malloc'd or NULL; freed here). */
void promise_keep_bound_note(promise_state *state, const ix_provider *provider, char *written);
/* Says the kept bound note, once per statement. */
void promise_say_bound_note(promise_state *state, const char *table);
/* xBestIndex: marks a branch plan with no bound after a whole-WHERE probe that had one
 * (*range_probe_without_key carries that between probes; IX_PLAN_RANGE_OUTSIDE_OR). */
void promise_note_range_outside_or(int *range_probe_without_key, const ix_provider *provider,
                                   const plan_constraint *constraints, int count,
                                   plan_choice *plan);

#endif
