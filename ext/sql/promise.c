/*
 * The cursor's part of "SQLite's answer or a clear error" (promise.h): collations a vendor cannot
 * serve, one customer named twice in an IN list, the notes when SQLite's answer may surprise, and
 * a date range SQLite does not pass into an OR's branches.
 */
#include "sql/promise.h"

#include <string.h>

#include "observe/trustnote.h"

SQLITE_EXTENSION_INIT3

void promise_filter_reset(promise_state *state) {
  textset_clear(&state->in_keys);
  textset_clear(&state->customers_seen);
}

void promise_free(promise_state *state) {
  promise_filter_reset(state);
  sqlite3_free(state->bound_note);
  state->bound_note = NULL;
}

int promise_check_key_collation(const ix_provider *provider, const char *table, uint64_t key,
                                int column, plan_collation collation, sqlite3_value *value,
                                char **error_out) {
  if (!(key & IX_COLUMN_BIT(column)) || collation == IX_COLLATE_BINARY) return SQLITE_OK;
  const ix_column_def *def = &provider->columns[column];
  const char *text = (const char *)sqlite3_value_text(value);
  size_t length = (size_t)sqlite3_value_bytes(value);
  ix_match match = ix_column_match(def->flags);
  const char *problem = plan_key_collation_problem(match, collation, text ? text : "", length);
  if (!problem) return SQLITE_OK;
  static const char *const names[] = {"BINARY", "NOCASE", "RTRIM", "of the application's own"};
  *error_out = ix_errorf(
      "%s: %s = '%.80s' is compared under COLLATE %s (from a COLLATE clause, or from "
      "the declared collation of a column on the left of =), which also matches %s, "
      "but the vendor matches %s %s: write the vendor table's column on the left "
      "(%s.%s = crm.%s) or add COLLATE BINARY",
      table, def->name, text ? text : "", names[collation], problem, def->name,
      match == IX_MATCH_NOCASE ? "without regard to case" : "exactly", table, def->name, def->name);
  return SQLITE_ERROR;
}

int promise_in_key_is_new(promise_state *state, sqlite3_value *sent) {
  const char *text = (const char *)sqlite3_value_text(sent);
  if (!text) return sqlite3_value_type(sent) == SQLITE_NULL ? 1 : -1;
  return textset_add(&state->in_keys, text, (size_t)sqlite3_value_bytes(sent));
}

/* Two values the vendor resolves to the same customer ('a.b@x.org' and 'A.B@X.ORG' for
 * Capillary): IN is set membership, and over a local copy each row exists once. */
int promise_skip_repeated_customer(promise_state *state, fetch_cursor *fetch, int *row_index) {
  const ix_provider *provider = fetch->account.provider;
  if (fetch->in_column < 0 || !provider->customer_identity) return SQLITE_OK;
  char vendor_id[256];
  ix_call call = fetch_call(fetch);
  if (!provider->customer_identity(&call, vendor_id, sizeof(vendor_id))) return SQLITE_OK;
  int added = textset_add(&state->customers_seen, vendor_id, strlen(vendor_id));
  if (added < 0) return SQLITE_NOMEM;
  if (added == 0) {
    *row_index = fetch->page.row_count;
    sqlite3_free(fetch->page.next_token);
    fetch->page.next_token = NULL;
  }
  return SQLITE_OK;
}

int promise_customer_arrived(promise_state *state, fetch_cursor *fetch, uint64_t key,
                             int *row_index) {
  int rc = promise_skip_repeated_customer(state, fetch, row_index);
  promise_note_dropped(state, fetch, key);
  return rc;
}

/* Whether SQLite's comparison under collation finds a and b equal (texts). */
static int promise_text_equal(plan_collation collation, const char *a, const char *b) {
  if (collation == IX_COLLATE_NOCASE) return sqlite3_stricmp(a, b) == 0;
  if (collation == IX_COLLATE_RTRIM) {
    size_t a_length = strlen(a), b_length = strlen(b);
    while (a_length && a[a_length - 1] == ' ') a_length--;
    while (b_length && b[b_length - 1] == ' ') b_length--;
    return a_length == b_length && memcmp(a, b, a_length) == 0;
  }
  return strcmp(a, b) == 0;
}

/* The vendor matched a key loosely ('+919988221100' finds the customer whose mobile is
 * '919988221100') and every row carries the vendor's own value, which SQLite's = does not equal.
 * Rows stay SQLite's answer; for a plain equality only (in an IN list another value may match). */
void promise_note_dropped(promise_state *state, const fetch_cursor *fetch, uint64_t key) {
  const ix_provider *provider = fetch->account.provider;
  if (state->noted || !provider->customer_key || fetch->in_column >= 0 ||
      fetch->page.row_count == 0) {
    return;
  }
  ix_call call = fetch_call(fetch);
  for (int c = 0; c < provider->column_count; c++) {
    sqlite3_value *sent = fetch->args.eq[c];
    const char *text = sent ? (const char *)sqlite3_value_text(sent) : NULL;
    char vendor[256];
    if (!text || !(key & IX_COLUMN_BIT(c)) ||
        ix_column_match(provider->columns[c].flags) == IX_MATCH_EXACT ||
        !provider->customer_key(&call, c, vendor, sizeof(vendor)) ||
        promise_text_equal(state->key_collation[c], text, vendor)) {
      continue;
    }
    const char *name = provider->columns[c].name;
    char *note = sqlite3_mprintf(
        "%s '%q' matched the vendor's customer '%q', whose rows SQLite's "
        "= then dropped: write %s = '%q'",
        name, text, vendor, name, vendor);
    trustnote_say(fetch->account.table_name, note);
    sqlite3_free(note);
    state->noted = 1;
    return;
  }
}

/* A bound whose text the range column's values can never start with ('2018/08/01',
 * ' 2025-03-15'): SQLite compares it as text, which is its answer, but hardly what was meant. */
void promise_keep_bound_note(promise_state *state, const ix_provider *provider, char *written) {
  if (!written || state->bound_note) {
    sqlite3_free(written);
    return;
  }
  const char *column = provider->columns[provider->range_column].name;
  const char *op = strstr(written, " ") ? strstr(written, " ") + 1 : "";
  state->bound_note = sqlite3_mprintf(
      "%s is not in %s's format (YYYY-MM-DD HH:MM:SS, UTC), and SQLite compares it as text, so "
      "rows the vendor matched may be dropped: write %s %.*s 'YYYY-MM-DD'",
      written, column, column, (int)strcspn(op, " "), op);
  sqlite3_free(written);
}

void promise_say_bound_note(promise_state *state, const char *table) {
  if (!state->bound_note || state->noted) return;
  trustnote_say(table, state->bound_note);
  state->noted = 1;
}

/* SQLite probes a statement's whole WHERE first, then, for a multi-index OR, each branch with the
 * branch's terms only (3.40 to 3.5x alike: whereLoopAddOr builds each branch's clause alone).
 * When the whole-WHERE probe bounded the range column but named no customer, a branch plan
 * without a bound is marked, so that a provider needing a bound can say why it has none. A
 * marker left by another statement's probe only changes that error's wording. */
void promise_note_range_outside_or(int *range_probe_without_key, const ix_provider *provider,
                                   const plan_constraint *constraints, int count,
                                   plan_choice *plan) {
  int range = provider->range_column, bounded = 0;
  for (int i = 0; range >= 0 && i < count; i++) {
    int op = constraints[i].op;
    if (constraints[i].column == range &&
        (op == SQLITE_INDEX_CONSTRAINT_GT || op == SQLITE_INDEX_CONSTRAINT_GE ||
         op == SQLITE_INDEX_CONSTRAINT_EQ || op == SQLITE_INDEX_CONSTRAINT_LT ||
         op == SQLITE_INDEX_CONSTRAINT_LE)) {
      bounded = 1;
    }
  }
  if (plan->outcome == IX_PLAN_DECLINE) {
    if (bounded) *range_probe_without_key = 1;
  } else if (plan->outcome == IX_PLAN_USE) {
    if (bounded) {
      *range_probe_without_key = 0;
    } else if (*range_probe_without_key && range >= 0 &&
               strlen(plan->idx_str) + sizeof(IX_PLAN_RANGE_OUTSIDE_OR) <= IX_PLAN_TEXT_MAX) {
      strcat(plan->idx_str, IX_PLAN_RANGE_OUTSIDE_OR);
    }
  }
}
