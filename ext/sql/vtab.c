/*
 * The generic virtual-table engine every vendor table runs on.
 *
 * Usage, for any provider (provider.h):
 *
 *     SELECT * FROM capillary_interactions('mobile', '919988221100');
 *     SELECT crm.name, ci.* FROM crm JOIN capillary_interactions ci ON ci.mobile = crm.mobile;
 *
 * How it works
 *   xBestIndex turns the WHERE clause into a plan (ext/sql/plan.c): the required customer key (one of
 *   the provider's alternatives), optional equality filters the API understands, the bounds on the
 *   range column, and LIMIT/OFFSET as a page-size hint. A probe without a key (an OR branch, the
 *   plan with no constraint) is declined with a cost no other plan reaches, and fails in xFilter if
 *   SQLite has nothing better. The plan travels to xFilter as a readable idxStr, which is also what
 *   EXPLAIN QUERY PLAN shows, e.g. "identifier_name=?,identifier_value=?,LIMIT". Its grammar:
 *
 *       plan  := term ("," term)* [" | re-checked by SQLite: " column (", " column)*]
 *              | "no customer key: fails in xFilter"                  -- idxNum 0
 *       term  := column op "?" [" COLLATE " ("NOCASE" | "RTRIM" | "OTHER")]  -- op: = > >= < <=
 *              | column " IS ?"     -- an equality that may be NULL; argv[i] is the value
 *              | column " IS NULL"  -- argv[i] is NULL (unread), and no rows
 *              | column " IN ?"     -- argv[i] is a whole IN list (sqlite3_vtab_in)
 *              | "LIMIT" | "OFFSET"
 *
 *   Every term takes one argv, in order. idxNum is the chosen alternative + 1. The part after
 *   " | " is for people reading the plan: which of the constraints sent to the API SQLite still
 *   checks itself. xFilter turns the values into what the API is sent: a key that can name no
 *   customer (NULL, empty, a blob...) means no rows and no request, logged as skipped; a REAL key
 *   is sent as SQLite's numeric comparison reads it; bounds become text that starts with a date
 *   (values_range_add). It then resolves the table's settings, asks the provider for the first page's
 *   request and parses it into rows. xNext walks those rows and asks for the next page only when
 *   the current one is used up, so a statement that stops early (LIMIT, EXISTS, a join that found
 *   nothing) makes no further requests. xRowid derives a row's rowid from its identity (see
 *   "Rowids"), which is what SQLite's OR merges rely on.
 *
 *   Every table is marked SQLITE_VTAB_DIRECTONLY: it cannot be used from a view or trigger stored
 *   in a database file, because opening a file someone else wrote must never make network calls
 *   with your credentials (docs/sqlite-virtual-tables.md#directonly).
 */
#include "sql/vtab.h"

#include "fetch/fetch.h"
#include "fetch/inlist.h"
#include "observe/requestlog.h"
#include "provider/columns.h"
#include "provider/descriptor.h"
#include "provider/jsonspan.h"
#include "sql/plan.h"
#include "sql/promise.h"
#include "sql/rowid.h"
#include "sql/values.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* SQLITE_INDEX_CONSTRAINT_LIMIT/OFFSET exist since 3.38; the headers of Debian 12 have them, but
 * the library we run in may be older, so their use is also guarded at run time. */
#define IX_SQLITE_HAS_LIMIT_AND_IN 3038000

/* A module registration's client data: which provider, and the connection's shared session. */
typedef struct vtab_module_data {
  const ix_provider *provider; /* points at resolved */
  vtab_session *session;
  ix_provider resolved; /* the descriptor with its derived fields filled (descriptor.c) */
} vtab_module_data;

typedef struct vtab_table {
  sqlite3_vtab base;
  sqlite3 *db;
  const ix_provider *provider;
  vtab_session *session;
  char *table_name;            /* as the user wrote it: every error text starts with it */
  config_options *options;     /* CREATE VIRTUAL TABLE options; NULL for the eponymous table */
  int range_probe_without_key; /* promise_note_range_outside_or's memory between probes */
} vtab_table;

typedef struct vtab_cursor {
  sqlite3_vtab_cursor base;
  fetch_cursor fetch; /* settings, current plan and page (fetch.h) */
  int row_index;      /* into fetch.page.rows */
  int eof;
  rowid_state identity;  /* rowid.h */
  promise_state promise; /* SQLite's answer or a clear error (promise.h) */
} vtab_cursor;

/* ---------------------------------------------------------------------------------------------
 * Session: per database connection.
 */

vtab_session *vtab_session_new(void) {
  vtab_session *session = sqlite3_malloc64(sizeof(*session));
  if (!session) return NULL;
  memset(session, 0, sizeof(*session));
  session->http = http_client_new();
  if (!session->http) {
    sqlite3_free(session);
    return NULL;
  }
  session->refs = 1;
  return session;
}

void vtab_session_release(vtab_session *session) {
  if (!session || --session->refs > 0) return;
  http_client_free(session->http);
  sqlite3_free(session);
}

/* Replaces the vtab's error message, freeing the previous one. */
static void vtab_set_error(sqlite3_vtab *vtab, char *message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = message;
}

/* ---------------------------------------------------------------------------------------------
 * Connect, Disconnect.
 */

static int vtab_declare(sqlite3 *db, const ix_provider *provider) {
  sqlite3_str *sql = sqlite3_str_new(db);
  sqlite3_str_appendall(sql, "CREATE TABLE x(");
  for (int i = 0; i < provider->column_count; i++) {
    const ix_column_def *column = &provider->columns[i];
    sqlite3_str_appendf(sql, "%s\"%w\" %s%s", i ? ", " : "", column->name, column->decl_type,
                        (column->flags & IX_COL_HIDDEN) ? " HIDDEN" : "");
  }
  sqlite3_str_appendall(sql, ")");
  char *text = sqlite3_str_finish(sql);
  if (!text) return SQLITE_NOMEM;
  int rc = sqlite3_declare_vtab(db, text);
  sqlite3_free(text);
  return rc;
}

/* xCreate and xConnect: the same function, which makes every table eponymous (usable by name
 * straight after loading) and also creatable under another name with options. */
static int vtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **vtab_out, char **error_out) {
  const vtab_module_data *data = aux;
  const ix_provider *provider = data->provider;
  const char *table = argc > 2 ? argv[2] : provider->table;
  int stored_in_file = argc > 1 && sqlite3_stricmp(argv[1], "temp") != 0;
  config_options *options = NULL;
  int rc = config_options_parse(table, provider->settings, argc - 3, argv + 3, stored_in_file,
                                &options, error_out);
  if (rc != SQLITE_OK) return rc;
  rc = vtab_declare(db, provider);
  if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  vtab_table *vtab = rc == SQLITE_OK ? sqlite3_malloc64(sizeof(*vtab)) : NULL;
  if (!vtab) {
    config_options_free(options);
    return rc == SQLITE_OK ? SQLITE_NOMEM : rc;
  }
  memset(vtab, 0, sizeof(*vtab));
  vtab->db = db;
  vtab->provider = provider;
  vtab->session = data->session;
  vtab->options = options;
  vtab->table_name = sqlite3_mprintf("%s", table);
  if (!vtab->table_name) {
    config_options_free(options);
    sqlite3_free(vtab);
    return SQLITE_NOMEM;
  }
  *vtab_out = &vtab->base;
  return SQLITE_OK;
}

static int vtab_disconnect(sqlite3_vtab *base) {
  vtab_table *vtab = (vtab_table *)base;
  config_options_free(vtab->options);
  sqlite3_free(vtab->table_name);
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Open, Close.
 */

static int vtab_open(sqlite3_vtab *base, sqlite3_vtab_cursor **cursor_out) {
  vtab_cursor *cursor = sqlite3_malloc64(sizeof(*cursor));
  if (!cursor) return SQLITE_NOMEM;
  memset(cursor, 0, sizeof(*cursor));
  vtab_table *vtab = (vtab_table *)base;
  fetch_init(&cursor->fetch);
  cursor->fetch.account.provider = vtab->provider;
  cursor->fetch.account.table_name = vtab->table_name;
  cursor->fetch.account.db = vtab->db;
  cursor->fetch.account.http = vtab->session->http;
  cursor->eof = 1;
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

static int vtab_close(sqlite3_vtab_cursor *base) {
  vtab_cursor *cursor = (vtab_cursor *)base;
  progress_statement_end(&cursor->fetch.progress);
  fetch_free(&cursor->fetch);
  rowid_free(&cursor->identity);
  promise_free(&cursor->promise);
  sqlite3_free(cursor);
  return SQLITE_OK;
}

/* Moves to the first row at or after row_index, fetching pages as needed; sets eof at the end. */
static int vtab_cursor_settle(vtab_cursor *cursor) {
  while (cursor->row_index >= cursor->fetch.page.row_count) {
    fetch_step step = fetch_next_step(&cursor->fetch);
    if (step == IX_FETCH_END) {
      cursor->eof = 1;
      return SQLITE_OK;
    }
    cursor->row_index = 0;
    char *error = NULL;
    int rc = SQLITE_OK;
    if (step == IX_FETCH_NEXT_PAGE) {
      /* Rows of this page SQLite skipped still count for the identities of later pages. */
      if (cursor->identity.active) {
        ix_call call = fetch_call(&cursor->fetch);
        rc = rowid_count_through(&cursor->identity, &call, cursor->fetch.page.row_count - 1);
      }
      cursor->identity.counted = 0;
    } else {
      rowid_reset(&cursor->identity); /* another customer */
    }
    if (rc == SQLITE_OK) rc = fetch_advance(&cursor->fetch, &error);
    if (rc == SQLITE_OK && step == IX_FETCH_NEXT_CUSTOMER)
      rc = promise_customer_arrived(&cursor->promise, &cursor->fetch, cursor->identity.key,
                                    &cursor->row_index);
    if (rc != SQLITE_OK) {
      progress_failed(&cursor->fetch.progress);
      vtab_set_error(
          cursor->base.pVtab,
          error ? error : ix_errorf("%s: out of memory", cursor->fetch.account.table_name));
      return rc;
    }
  }
  cursor->eof = 0;
  progress_row_out(&cursor->fetch.progress);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Next, Column, Rowid, Eof.
 */

static int vtab_next(sqlite3_vtab_cursor *base) {
  vtab_cursor *cursor = (vtab_cursor *)base;
  cursor->row_index++;
  return vtab_cursor_settle(cursor);
}

static int vtab_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  vtab_cursor *cursor = (vtab_cursor *)base;
  ix_call call = fetch_call(&cursor->fetch);
  columns_row_value(&call, &cursor->fetch.page.rows[cursor->row_index], column, ctx);
  return SQLITE_OK;
}

static int vtab_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  vtab_cursor *cursor = (vtab_cursor *)base;
  cursor->identity.active = 1;
  ix_call call = fetch_call(&cursor->fetch);
  int rc = rowid_count_through(&cursor->identity, &call, cursor->row_index);
  *rowid = cursor->identity.rowid;
  return rc;
}

static int vtab_eof(sqlite3_vtab_cursor *base) {
  return ((vtab_cursor *)base)->eof;
}

/* ---------------------------------------------------------------------------------------------
 * Filter.
 */

/* Records that a key could not name a customer: no request, no rows, and a line in the request
 * log saying why. */
static void vtab_skip_key(vtab_cursor *cursor, int column, const char *problem) {
  vtab_table *vtab = (vtab_table *)cursor->base.pVtab;
  char *reason = sqlite3_mprintf("skipped: %s %s", vtab->provider->columns[column].name, problem);
  if (reason) requestlog_add_skipped(vtab->provider->vendor, reason);
  sqlite3_free(reason);
}

/* A key under a collation the vendor's match cannot serve: refused before any request. */
static int vtab_key_collation_check(vtab_cursor *cursor, uint64_t key, int column,
                                    plan_collation collation, sqlite3_value *value) {
  vtab_table *vtab = (vtab_table *)cursor->base.pVtab;
  char *error = NULL;
  int rc = promise_check_key_collation(vtab->provider, vtab->table_name, key, column, collation,
                                       value, &error);
  if (rc != SQLITE_OK) vtab_set_error(&vtab->base, error);
  return rc;
}

/* Reads the values of an all-at-once IN list (sqlite3_vtab_in): SQLite hands them over
 * de-duplicated, and only until xFilter returns, so each is copied. A value that can name no
 * customer (NULL, blank, a blob...) matches nothing and is skipped. */
static int vtab_filter_read_in(vtab_cursor *cursor, int column, uint64_t key,
                               plan_collation collation, sqlite3_value *list) {
  vtab_table *vtab = (vtab_table *)cursor->base.pVtab;
  sqlite3_value *value = NULL;
  int rc;
  for (rc = sqlite3_vtab_in_first(list, &value); rc == SQLITE_OK;
       rc = sqlite3_vtab_in_next(list, &value)) {
    if (sqlite3_value_type(value) == SQLITE_NULL) continue; /* = NULL is never true: no request */
    const char *problem;
    int made;
    sqlite3_value *sent = values_equality(vtab->db, value, &problem, &made);
    if (sent && !problem) problem = values_key_problem(key, column, sent);
    if (problem) {
      vtab_skip_key(cursor, column, problem);
    } else {
      rc = vtab_key_collation_check(cursor, key, column, collation, sent);
      int is_new = rc == SQLITE_OK ? promise_in_key_is_new(&cursor->promise, sent) : 0;
      if (is_new < 0) rc = SQLITE_NOMEM;
      if (is_new > 0) rc = inlist_add(&cursor->fetch, column, sent);
    }
    if (made) sqlite3_value_free(sent);
    if (rc != SQLITE_OK) return rc;
  }
  /* The list ends with SQLITE_DONE (the 3.40 documentation's sample checks SQLITE_OK: wrong). */
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* An equality's value into args: the value SQLite's comparison would equate (affinity), or no rows
 * (and a "skipped" log line) when it can name no customer. */
static int vtab_read_equality(vtab_cursor *cursor, uint64_t key, int column,
                              plan_collation collation, sqlite3_value *value, int *no_rows) {
  vtab_table *vtab = (vtab_table *)cursor->base.pVtab;
  const char *problem;
  int made;
  sqlite3_value *sent = values_equality(vtab->db, value, &problem, &made);
  if (sent && !problem) problem = values_key_problem(key, column, sent);
  if (problem) {
    /* NULL is not worth a log line: "= NULL" is never true, and joins meet it often. */
    if (sqlite3_value_type(value) != SQLITE_NULL) vtab_skip_key(cursor, column, problem);
    if (made) sqlite3_value_free(sent);
    *no_rows = 1;
    return SQLITE_OK;
  }
  int rc = vtab_key_collation_check(cursor, key, column, collation, sent);
  if (rc != SQLITE_OK && made) sqlite3_value_free(sent);
  if (rc != SQLITE_OK) return rc;
  cursor->promise.key_collation[column] = collation;
  sqlite3_value_free(cursor->fetch.args.eq[column]);
  cursor->fetch.args.eq[column] = made ? sent : sqlite3_value_dup(sent);
  return cursor->fetch.args.eq[column] ? SQLITE_OK : SQLITE_NOMEM;
}

/* One term's value (LIMIT and OFFSET aside) into the cursor's args. */
static int vtab_read_term_value(vtab_cursor *cursor, uint64_t key, int column, plan_term_op op,
                                plan_collation collation, sqlite3_value *value, int *no_rows) {
  const ix_provider *provider = ((vtab_table *)cursor->base.pVtab)->provider;
  if (op == IX_OP_IS_NULL) {
    *no_rows = 1; /* a key IS NULL: no customer has no key */
    return SQLITE_OK;
  }
  if (op == IX_OP_IN) {
    int rc = vtab_filter_read_in(cursor, column, key, collation, value);
    if (rc == SQLITE_OK && !inlist_has_more_customers(&cursor->fetch)) *no_rows = 1;
    return rc;
  }
  if (column == provider->range_column) {
    char *unformatted = NULL;
    int rc = values_range_add(&cursor->fetch.args, provider->columns[column].name, op, collation,
                              value, no_rows, cursor->promise.bound_note ? NULL : &unformatted);
    promise_keep_bound_note(&cursor->promise, provider, unformatted); /* takes it */
    return rc;
  }
  return vtab_read_equality(cursor, key, column, collation, value, no_rows);
}

/* Reads the plan (see the grammar at the top) and the values into cursor->fetch.args. Sets *no_rows
 * when the values can match nothing (an equality with NULL, a key that names no customer, bounds
 * no date passes), so no request is made at all. */
static int vtab_filter_read_plan(vtab_cursor *cursor, int plan_number, const char *plan, int argc,
                                 sqlite3_value **argv, int *no_rows) {
  vtab_table *vtab = (vtab_table *)cursor->base.pVtab;
  const ix_provider *provider = vtab->provider;
  uint64_t key = plan_number > 0 && plan_number <= IX_MAX_REQUIRED_ALTERNATIVES
                     ? provider->required[plan_number - 1]
                     : 0;
  plan_term *terms = sqlite3_malloc64(sizeof(plan_term) * (sqlite3_uint64)(argc + 1));
  if (!terms) return SQLITE_NOMEM;
  /* Every term takes one value. */
  int count = plan_read(provider, plan, terms, argc);
  if (count < 0) {
    sqlite3_free(terms);
    vtab_set_error(&vtab->base,
                   ix_errorf("%s: internal error: bad plan '%s'", vtab->table_name, plan));
    return SQLITE_ERROR;
  }
  sqlite3_int64 limit = -1, offset = 0;
  int rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < count; i++) {
    if (terms[i].kind == IX_TERM_LIMIT) {
      limit = sqlite3_value_int64(argv[i]);
    } else if (terms[i].kind == IX_TERM_OFFSET) {
      offset = sqlite3_value_int64(argv[i]);
    } else {
      rc = vtab_read_term_value(cursor, key, terms[i].column, terms[i].op, terms[i].collation,
                                argv[i], no_rows);
    }
  }
  sqlite3_free(terms);
  if (rc != SQLITE_OK) return rc;
  const ix_args *args = &cursor->fetch.args;
  if (args->range_low && args->range_high) {
    int cmp = strcmp(args->range_low, args->range_high);
    if (cmp > 0 || (cmp == 0 && !(args->range_low_inclusive && args->range_high_inclusive))) {
      *no_rows = 1; /* no text is above the lower bound and below the upper one */
    }
  }
  if (limit >= 0) cursor->fetch.args.row_hint = limit + (offset > 0 ? offset : 0);
  return SQLITE_OK;
}

static int vtab_filter(sqlite3_vtab_cursor *base, int plan_number, const char *plan, int argc,
                       sqlite3_value **argv) {
  vtab_cursor *cursor = (vtab_cursor *)base;
  vtab_table *vtab = (vtab_table *)base->pVtab;
  fetch_reset(&cursor->fetch);
  rowid_reset(&cursor->identity);
  promise_filter_reset(&cursor->promise);
  cursor->row_index = 0;
  cursor->eof = 1;
  if (plan_number == 0 && vtab->provider->required[0]) {
    /* The declined plan (no customer key) was the only one SQLite had: say what to add. */
    vtab_set_error(base->pVtab,
                   ix_errorf("%s: %s", vtab->table_name, vtab->provider->required_hint));
    return SQLITE_ERROR;
  }
  cursor->identity.key = plan_number > 0 && plan_number <= IX_MAX_REQUIRED_ALTERNATIVES
                             ? vtab->provider->required[plan_number - 1]
                             : 0;
  int no_rows = 0;
  int rc = vtab_filter_read_plan(cursor, plan_number, plan, argc, argv, &no_rows);
  if (rc != SQLITE_OK || no_rows) return rc;
  cursor->fetch.args.range_outside_or = plan && strstr(plan, IX_PLAN_RANGE_OUTSIDE_OR) != NULL;
  vtab->range_probe_without_key = 0; /* the statement planned is running: the next is another */
  char *error = NULL;
  rc = fetch_configure(&cursor->fetch, vtab->options, &error);
  progress_plan(&cursor->fetch.progress, cursor->identity.key, vtab->db);
  if (rc == SQLITE_OK) rc = fetch_start(&cursor->fetch, &error);
  if (rc == SQLITE_OK)
    rc = promise_customer_arrived(&cursor->promise, &cursor->fetch, cursor->identity.key,
                                  &cursor->row_index);
  if (rc != SQLITE_OK) {
    progress_failed(&cursor->fetch.progress);
    vtab_set_error(base->pVtab, error ? error : ix_errorf("%s: out of memory", vtab->table_name));
    return rc;
  }
  promise_say_bound_note(&cursor->promise, vtab->table_name);
  return vtab_cursor_settle(cursor);
}

/* ---------------------------------------------------------------------------------------------
 * BestIndex.
 *
 * The plan (idxStr, grammar above) is built by plan_build (ext/sql/plan.c) from a plain copy of
 * the constraints, and read back by vtab_filter. The rules:
 *  - Required keys: the first of the provider's alternatives whose columns all have a usable
 *    equality (=, IS ?, and IS NULL last) is sent. If one is constrained but not usable in this
 *    join order, SQLITE_CONSTRAINT makes SQLite put the API table in the inner loop. If none is
 *    constrained at all, the probe is declined, not failed: SQLite also probes each branch of an
 *    OR and a plan with no constraint at all, and a declined plan (idxNum 0, a cost no other plan
 *    reaches) is taken only when nothing else exists; then xFilter fails, before any request,
 *    naming the table and the WHERE clause to add.
 *  - Equalities on columns of other alternatives are left to SQLite: it re-checks them against what
 *    the vendor returned. Optional filters (IX_COL_EQ columns in no alternative) are sent too,
 *    under BINARY only.
 *  - omit only where the API applies the filter exactly (IX_COL_EXACT) and SQLite's comparison is
 *    known to be plain text (plan_can_omit): a key compared under NOCASE, or with a value whose
 *    affinity is unknown, is re-checked. Range bounds are always re-checked by SQLite.
 *  - LIMIT and OFFSET are only a page-size hint, and taken only when SQLite applies nothing after
 *    us that could drop rows: every other usable constraint sent and omitted, and no ORDER BY
 *    (docs/sqlite-virtual-tables.md#limit-and-offset). SQLite still applies LIMIT itself.
 */

static plan_collation vtab_collation_of(sqlite3_index_info *info, int i) {
  const char *name = sqlite3_vtab_collation(info, i);
  if (!name || sqlite3_stricmp(name, "BINARY") == 0) return IX_COLLATE_BINARY;
  if (sqlite3_stricmp(name, "NOCASE") == 0) return IX_COLLATE_NOCASE;
  if (sqlite3_stricmp(name, "RTRIM") == 0) return IX_COLLATE_RTRIM;
  return IX_COLLATE_OTHER;
}

static int vtab_best_index(sqlite3_vtab *base, sqlite3_index_info *info) {
  vtab_table *vtab = (vtab_table *)base;
  const ix_provider *provider = vtab->provider;
  int has_limit_ops = sqlite3_libversion_number() >= IX_SQLITE_HAS_LIMIT_AND_IN;
  int count = info->nConstraint;
  plan_constraint *constraints =
      sqlite3_malloc64(sizeof(plan_constraint) * (sqlite3_uint64)(count ? count : 1));
  plan_usage *usage = sqlite3_malloc64(sizeof(plan_usage) * (sqlite3_uint64)(count ? count : 1));
  plan_choice *plan = sqlite3_malloc64(sizeof(plan_choice));
  int rc = constraints && usage && plan ? SQLITE_OK : SQLITE_NOMEM;
  for (int i = 0; rc == SQLITE_OK && i < count; i++) {
    const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];
    plan_constraint *copy = &constraints[i];
    copy->column = constraint->iColumn;
    copy->op = constraint->op;
    copy->usable = constraint->usable;
    copy->collation = vtab_collation_of(info, i);
    copy->literal_type = 0;
    copy->can_be_in = 0;
    int is_limit = constraint->op == SQLITE_INDEX_CONSTRAINT_LIMIT ||
                   constraint->op == SQLITE_INDEX_CONSTRAINT_OFFSET;
    if (has_limit_ops && !is_limit && constraint->usable) {
      sqlite3_value *literal = NULL;
      if (sqlite3_vtab_rhs_value(info, i, &literal) == SQLITE_OK && literal) {
        copy->literal_type = sqlite3_value_type(literal);
      }
      copy->can_be_in =
          constraint->op == SQLITE_INDEX_CONSTRAINT_EQ && sqlite3_vtab_in(info, i, -1);
    }
  }
  if (rc == SQLITE_OK) {
    plan_outcome outcome =
        plan_build(provider, constraints, count, info->nOrderBy, has_limit_ops, usage, plan);
    promise_note_range_outside_or(&vtab->range_probe_without_key, provider, constraints, count,
                                  plan);
    if (outcome == IX_PLAN_CONSTRAINT) {
      rc = SQLITE_CONSTRAINT;
    } else {
      for (int i = 0; i < count; i++) {
        info->aConstraintUsage[i].argvIndex = usage[i].argv_index;
        info->aConstraintUsage[i].omit = (unsigned char)usage[i].omit;
      }
      if (plan->in_constraint >= 0) sqlite3_vtab_in(info, plan->in_constraint, 1);
      info->idxNum = plan->idx_num;
      info->idxStr = sqlite3_mprintf("%s", plan->idx_str);
      info->needToFreeIdxStr = 1;
      info->estimatedCost = plan->cost;
      info->estimatedRows = (sqlite3_int64)plan->rows;
      if (!info->idxStr) rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(constraints);
  sqlite3_free(usage);
  sqlite3_free(plan);
  return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The module.
 */

static const sqlite3_module vtab_module = {
    /* iVersion    */ 2,
    /* xCreate     */ vtab_connect, /* same as xConnect: eponymous, and creatable with options */
    /* xConnect    */ vtab_connect,
    /* xBestIndex  */ vtab_best_index,
    /* xDisconnect */ vtab_disconnect,
    /* xDestroy    */ vtab_disconnect, /* nothing lives outside the connection to destroy */
    /* xOpen       */ vtab_open,
    /* xClose      */ vtab_close,
    /* xFilter     */ vtab_filter,
    /* xNext       */ vtab_next,
    /* xEof        */ vtab_eof,
    /* xColumn     */ vtab_column,
    /* xRowid      */ vtab_rowid,
    /* xUpdate     */ NULL, /* read-only: SQLite reports "table ... may not be modified" */
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

static void vtab_module_data_free(void *arg) {
  vtab_module_data *data = arg;
  vtab_session_release(data->session);
  sqlite3_free(data);
}

int vtab_register_provider(sqlite3 *db, const ix_provider *provider, vtab_session *session) {
  vtab_module_data *data = sqlite3_malloc64(sizeof(*data));
  if (!data) return SQLITE_NOMEM;
  data->provider = descriptor_resolve(provider, &data->resolved);
  data->session = session;
  session->refs++;
  /* On failure SQLite calls the destructor itself, which releases the reference. */
  return sqlite3_create_module_v2(db, provider->table, &vtab_module, data, vtab_module_data_free);
}
