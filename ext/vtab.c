/*
 * The generic virtual-table engine every vendor table runs on.
 *
 * Usage, for any provider (vtab.h):
 *
 *     SELECT * FROM capillary_interactions('mobile', '919988221100');
 *     SELECT crm.name, ci.* FROM crm JOIN capillary_interactions ci ON ci.mobile = crm.mobile;
 *
 * How it works
 *   xBestIndex turns the WHERE clause into a plan: the required customer key (one of the provider's
 *   alternatives), optional equality filters the API understands, one collapsed date range, and
 *   LIMIT/OFFSET as a page-size hint. The plan travels to xFilter as a readable idxStr, which is
 *   also what EXPLAIN QUERY PLAN shows, e.g. "identifier_name=?,identifier_value=?,LIMIT". Its
 *   grammar:
 *
 *       plan  := term ("," term)* [" | re-checked by SQLite: " column (", " column)*]
 *       term  := column op "?"    -- op is one of = > >= < <=; argv[i] is the value
 *              | column " IN ?"  -- argv[i] is a whole IN list (sqlite3_vtab_in)
 *              | "LIMIT" | "OFFSET"
 *
 *   The i-th term's value is argv[i]. The part after " | " is for people reading the plan: which of
 *   the constraints sent to the API SQLite still checks itself.
 *
 *   xFilter resolves the table's settings, asks the provider for the first page's request and
 *   parses it into rows. xNext walks those rows and asks for the next page only when the current
 *   one is used up, so a statement that stops early (LIMIT, EXISTS, a join that found nothing)
 *   makes no further requests.
 *
 *   Every table is marked SQLITE_VTAB_DIRECTONLY: it cannot be used from a view or trigger stored
 *   in a database file, because opening a file someone else wrote must never make network calls
 *   with your credentials (docs/sqlite-virtual-tables.md#directonly).
 */
#include "vtab.h"

#include "descriptor.h"
#include "fetch.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* SQLITE_INDEX_CONSTRAINT_LIMIT/OFFSET exist since 3.38; the headers of Debian 12 have them, but
 * the library we run in may be older, so their use is also guarded at run time. */
#define IX_SQLITE_HAS_LIMIT_AND_IN 3038000
#define IX_COST_PER_REQUEST 1e6
#define IX_ROWS_PER_CUSTOMER 50

/* A module registration's client data: which provider, and the connection's shared session. */
typedef struct ix_module_data {
  const ix_provider *provider; /* points at resolved */
  ix_session *session;
  ix_provider resolved; /* the descriptor with its derived fields filled (descriptor.c) */
} ix_module_data;

typedef struct ix_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
  const ix_provider *provider;
  ix_session *session;
  char *table_name;    /* as the user wrote it: every error text starts with it */
  ix_options *options; /* CREATE VIRTUAL TABLE options; NULL for the eponymous table */
} ix_vtab;

typedef struct ix_cursor {
  sqlite3_vtab_cursor base;
  ix_fetch fetch; /* settings, current plan and page (fetch.h) */
  int row_index;  /* into fetch.page.rows */
  int eof;
  sqlite3_int64 rowid;
} ix_cursor;

/* ---------------------------------------------------------------------------------------------
 * Session: per database connection.
 */

ix_session *ix_session_new(void) {
  ix_session *session = sqlite3_malloc64(sizeof(*session));
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

void ix_session_release(ix_session *session) {
  if (!session || --session->refs > 0) return;
  http_client_free(session->http);
  sqlite3_free(session);
}

/* Replaces the vtab's error message, freeing the previous one. */
static void ix_set_error(sqlite3_vtab *vtab, char *message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = message;
}

/* ---------------------------------------------------------------------------------------------
 * Connect, Disconnect.
 */

static int ix_declare(sqlite3 *db, const ix_provider *provider) {
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
static int ix_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **vtab_out, char **error_out) {
  const ix_module_data *data = aux;
  const ix_provider *provider = data->provider;
  const char *table = argc > 2 ? argv[2] : provider->table;
  int stored_in_file = argc > 1 && sqlite3_stricmp(argv[1], "temp") != 0;
  ix_options *options = NULL;
  int rc = config_options_parse(table, provider->settings, argc - 3, argv + 3, stored_in_file,
                                &options, error_out);
  if (rc != SQLITE_OK) return rc;
  rc = ix_declare(db, provider);
  if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  ix_vtab *vtab = rc == SQLITE_OK ? sqlite3_malloc64(sizeof(*vtab)) : NULL;
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

static int ix_disconnect(sqlite3_vtab *base) {
  ix_vtab *vtab = (ix_vtab *)base;
  config_options_free(vtab->options);
  sqlite3_free(vtab->table_name);
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Open, Close.
 */

static int ix_open(sqlite3_vtab *base, sqlite3_vtab_cursor **cursor_out) {
  ix_cursor *cursor = sqlite3_malloc64(sizeof(*cursor));
  if (!cursor) return SQLITE_NOMEM;
  memset(cursor, 0, sizeof(*cursor));
  ix_vtab *vtab = (ix_vtab *)base;
  cursor->fetch.provider = vtab->provider;
  cursor->fetch.table_name = vtab->table_name;
  cursor->fetch.db = vtab->db;
  cursor->fetch.http = vtab->session->http;
  cursor->fetch.args.row_hint = -1;
  cursor->fetch.in_column = -1;
  cursor->eof = 1;
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

static int ix_close(sqlite3_vtab_cursor *base) {
  ix_cursor *cursor = (ix_cursor *)base;
  ix_fetch_free(&cursor->fetch);
  sqlite3_free(cursor);
  return SQLITE_OK;
}

/* Moves to the first row at or after row_index, fetching pages as needed; sets eof at the end. */
static int ix_cursor_settle(ix_cursor *cursor) {
  while (cursor->row_index >= cursor->fetch.page.row_count) {
    int more_customers =
        cursor->fetch.in_column >= 0 && ix_fetch_has_more_customers(&cursor->fetch);
    if (!cursor->fetch.page.next_token && !more_customers) {
      cursor->eof = 1;
      return SQLITE_OK;
    }
    cursor->row_index = 0;
    char *error = NULL;
    int rc = cursor->fetch.page.next_token ? ix_fetch_page(&cursor->fetch, &error)
                                           : ix_fetch_next_customer(&cursor->fetch, &error);
    if (rc != SQLITE_OK) {
      ix_set_error(cursor->base.pVtab,
                   error ? error : ix_errorf("%s: out of memory", cursor->fetch.table_name));
      return rc;
    }
  }
  cursor->eof = 0;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Next, Column, Rowid, Eof.
 */

static int ix_next(sqlite3_vtab_cursor *base) {
  ix_cursor *cursor = (ix_cursor *)base;
  cursor->row_index++;
  cursor->rowid++;
  return ix_cursor_settle(cursor);
}

static int ix_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  ix_cursor *cursor = (ix_cursor *)base;
  ix_call call = ix_fetch_call(&cursor->fetch);
  ix_row_value(&call, &cursor->fetch.page.rows[cursor->row_index], column, ctx);
  return SQLITE_OK;
}

static int ix_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  *rowid = ((ix_cursor *)base)->rowid;
  return SQLITE_OK;
}

static int ix_eof(sqlite3_vtab_cursor *base) {
  return ((ix_cursor *)base)->eof;
}

/* ---------------------------------------------------------------------------------------------
 * Filter.
 */

typedef enum ix_term_op { IX_OP_EQ, IX_OP_GT, IX_OP_GE, IX_OP_LT, IX_OP_LE, IX_OP_IN } ix_term_op;

static const char *const ix_op_text[] = {"=", ">", ">=", "<", "<=", " IN "};
#define IX_OP_COUNT 6

static int ix_find_column(const ix_provider *provider, const char *name, size_t length) {
  for (int i = 0; i < provider->column_count; i++) {
    if (strlen(provider->columns[i].name) == length &&
        strncmp(provider->columns[i].name, name, length) == 0) {
      return i;
    }
  }
  return -1;
}

/* Narrows the collapsed range with one bound: the tighter bound wins, exclusive over inclusive. */
static int ix_args_add_bound(ix_args *args, ix_term_op op, const char *value) {
  int lower = op == IX_OP_GT || op == IX_OP_GE || op == IX_OP_EQ;
  int upper = op == IX_OP_LT || op == IX_OP_LE || op == IX_OP_EQ;
  if (lower) {
    int inclusive = op != IX_OP_GT;
    int cmp = args->range_low ? strcmp(value, args->range_low) : 1;
    if (cmp > 0 || (cmp == 0 && !inclusive)) {
      sqlite3_free(args->range_low);
      args->range_low = sqlite3_mprintf("%s", value);
      if (!args->range_low) return SQLITE_NOMEM;
      args->range_low_inclusive = inclusive;
    }
  }
  if (upper) {
    int inclusive = op != IX_OP_LT;
    int cmp = args->range_high ? strcmp(value, args->range_high) : -1;
    if (cmp < 0 || (cmp == 0 && !inclusive)) {
      sqlite3_free(args->range_high);
      args->range_high = sqlite3_mprintf("%s", value);
      if (!args->range_high) return SQLITE_NOMEM;
      args->range_high_inclusive = inclusive;
    }
  }
  return SQLITE_OK;
}

/* Values the API must never see: a blob, or text with a NUL inside, which everything downstream
 * (C strings, URLs) would silently cut short, asking for another customer's data. */
static int ix_value_refused(ix_cursor *cursor, int column, sqlite3_value *value) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const char *name = vtab->provider->columns[column].name;
  int type = sqlite3_value_type(value);
  if (type == SQLITE_BLOB) {
    ix_set_error(&vtab->base,
                 ix_errorf("%s: %s must be text or a number, not a blob", vtab->table_name, name));
    return 1;
  }
  if (type == SQLITE_TEXT) {
    const char *text = (const char *)sqlite3_value_text(value);
    if (text && (int)strlen(text) != sqlite3_value_bytes(value)) {
      ix_set_error(&vtab->base,
                   ix_errorf("%s: %s contains a NUL character", vtab->table_name, name));
      return 1;
    }
  }
  return 0;
}

/* Reads the values of an all-at-once IN list (sqlite3_vtab_in): SQLite hands them over
 * de-duplicated, and only until xFilter returns, so each is copied. NULLs match nothing. */
static int ix_filter_read_in(ix_cursor *cursor, int column, sqlite3_value *list) {
  sqlite3_value *value = NULL;
  int rc;
  for (rc = sqlite3_vtab_in_first(list, &value); rc == SQLITE_OK;
       rc = sqlite3_vtab_in_next(list, &value)) {
    if (ix_value_refused(cursor, column, value)) return SQLITE_ERROR;
    if (sqlite3_value_type(value) != SQLITE_NULL) {
      int added = ix_fetch_in_add(&cursor->fetch, column, value);
      if (added != SQLITE_OK) return added;
    }
  }
  /* The list ends with SQLITE_DONE (the 3.40 documentation's sample checks SQLITE_OK: wrong). */
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Reads the plan (see the grammar at the top) and the values into cursor->fetch.args. Sets *no_rows
 * when a value can match nothing (an equality with NULL), so no request is made at all. */
static int ix_filter_read_plan(ix_cursor *cursor, const char *plan, int argc, sqlite3_value **argv,
                               int *no_rows) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const ix_provider *provider = vtab->provider;
  sqlite3_int64 limit = -1, offset = 0;
  const char *term = plan ? plan : "";
  const char *notes = strstr(term, " | ");
  const char *end = notes ? notes : term + strlen(term);
  for (int i = 0; term < end && i < argc; i++) {
    size_t length = strcspn(term, ",");
    if (term + length > end) length = (size_t)(end - term);
    sqlite3_value *value = argv[i];
    if (length == 5 && strncmp(term, "LIMIT", 5) == 0) {
      limit = sqlite3_value_int64(value);
    } else if (length == 6 && strncmp(term, "OFFSET", 6) == 0) {
      offset = sqlite3_value_int64(value);
    } else {
      size_t name_length = strcspn(term, "=<> ");
      int column = ix_find_column(provider, term, name_length);
      const char *op_text = term + name_length;
      size_t op_length = length - name_length - 1; /* without the final '?' */
      int op = -1;
      for (int o = 0; o < IX_OP_COUNT; o++) {
        if (strlen(ix_op_text[o]) == op_length && strncmp(op_text, ix_op_text[o], op_length) == 0) {
          op = o;
        }
      }
      if (column < 0 || op < 0) {
        ix_set_error(&vtab->base,
                     ix_errorf("%s: internal error: bad plan '%s'", vtab->table_name, plan));
        return SQLITE_ERROR;
      }
      int type = sqlite3_value_type(value);
      if (op == IX_OP_IN) {
        int rc = ix_filter_read_in(cursor, column, value);
        if (rc != SQLITE_OK) return rc;
        if (cursor->fetch.customer_count == 0) *no_rows = 1;
      } else if (type == SQLITE_NULL) {
        *no_rows = 1; /* "= NULL" and "> NULL" are never true */
      } else if (ix_value_refused(cursor, column, value)) {
        return SQLITE_ERROR;
      } else if (op == IX_OP_EQ && column != provider->range_column) {
        sqlite3_value_free(cursor->fetch.args.eq[column]);
        cursor->fetch.args.eq[column] = sqlite3_value_dup(value);
        if (!cursor->fetch.args.eq[column]) return SQLITE_NOMEM;
      } else {
        int rc = ix_args_add_bound(&cursor->fetch.args, (ix_term_op)op,
                                   (const char *)sqlite3_value_text(value));
        if (rc != SQLITE_OK) return rc;
      }
    }
    term += length;
    if (*term == ',') term++;
  }
  if (limit >= 0) cursor->fetch.args.row_hint = limit + (offset > 0 ? offset : 0);
  return SQLITE_OK;
}

static int ix_filter(sqlite3_vtab_cursor *base, int plan_number, const char *plan, int argc,
                     sqlite3_value **argv) {
  (void)plan_number;
  ix_cursor *cursor = (ix_cursor *)base;
  ix_vtab *vtab = (ix_vtab *)base->pVtab;
  ix_fetch_reset(&cursor->fetch);
  cursor->row_index = 0;
  cursor->eof = 1;
  int no_rows = 0;
  int rc = ix_filter_read_plan(cursor, plan, argc, argv, &no_rows);
  if (rc != SQLITE_OK || no_rows) return rc;
  char *error = NULL;
  rc = ix_fetch_configure(&cursor->fetch, vtab->options, &error);
  if (rc == SQLITE_OK) {
    rc = cursor->fetch.in_column >= 0 ? ix_fetch_next_customer(&cursor->fetch, &error)
                                      : ix_fetch_page(&cursor->fetch, &error);
  }
  if (rc != SQLITE_OK) {
    ix_set_error(base->pVtab, error ? error : ix_errorf("%s: out of memory", vtab->table_name));
    return rc;
  }
  return ix_cursor_settle(cursor);
}

/* ---------------------------------------------------------------------------------------------
 * BestIndex.
 *
 * The plan (idxStr, grammar above) is built here and read back by ix_filter. The rules:
 *  - Required keys: the first of the provider's alternatives whose columns all have a usable
 *    equality is sent. If one is constrained but not usable in this join order, SQLITE_CONSTRAINT
 *    makes SQLite put the API table in the inner loop. If none is constrained at all, the error
 *    names the table and the WHERE clause to add (returning SQLITE_CONSTRAINT there would leave the
 *    user with SQLite's bare "no query solution").
 *  - Equalities on columns of other alternatives are left to SQLite: it re-checks them against what
 *    the vendor returned. Optional filters (IX_COL_EQ columns in no alternative) are sent too.
 *  - omit only where the API applies the filter exactly (IX_COL_EXACT), and such columns echo the
 *    value they were given. Range bounds are always re-checked by SQLite.
 *  - LIMIT and OFFSET are only a page-size hint, and taken only when SQLite applies nothing after
 *    us that could drop rows: every other usable constraint sent and omitted, and no ORDER BY
 *    (docs/sqlite-virtual-tables.md#limit-and-offset). SQLite still applies LIMIT itself.
 */

static int ix_is_single_column(uint64_t mask) {
  return mask && !(mask & (mask - 1));
}

static int ix_best_index(sqlite3_vtab *base, sqlite3_index_info *info) {
  ix_vtab *vtab = (ix_vtab *)base;
  const ix_provider *provider = vtab->provider;
  uint64_t usable_eq = 0, present_eq = 0;
  int eq_constraint[IX_MAX_COLUMNS];
  for (int i = 0; i < IX_MAX_COLUMNS; i++) eq_constraint[i] = -1;
  int limit_constraint = -1, offset_constraint = -1;
  int has_limit_ops = sqlite3_libversion_number() >= IX_SQLITE_HAS_LIMIT_AND_IN;

  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];
    int column = constraint->iColumn;
    if (has_limit_ops && constraint->usable && constraint->op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      limit_constraint = i;
    } else if (has_limit_ops && constraint->usable &&
               constraint->op == SQLITE_INDEX_CONSTRAINT_OFFSET) {
      offset_constraint = i;
    } else if (column >= 0 && column < provider->column_count &&
               constraint->op == SQLITE_INDEX_CONSTRAINT_EQ &&
               (provider->columns[column].flags & IX_COL_EQ)) {
      present_eq |= IX_COLUMN_BIT(column);
      if (constraint->usable && eq_constraint[column] < 0) {
        usable_eq |= IX_COLUMN_BIT(column);
        eq_constraint[column] = i;
      }
    }
  }

  int chosen = -1;
  uint64_t in_any_alternative = 0;
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
    in_any_alternative |= provider->required[a];
    if (chosen < 0 && (provider->required[a] & usable_eq) == provider->required[a]) chosen = a;
  }
  if (chosen < 0 && provider->required[0]) {
    for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
      if ((provider->required[a] & present_eq) == provider->required[a]) return SQLITE_CONSTRAINT;
    }
    ix_set_error(base, ix_errorf("%s: %s", vtab->table_name, provider->required_hint));
    return SQLITE_ERROR;
  }

  uint64_t send = usable_eq & ~in_any_alternative;
  if (chosen >= 0) send |= provider->required[chosen];
  /* A key given as IN (list or subquery) is taken whole in one xFilter, so its customers can be
   * fetched concurrently (docs/sqlite-virtual-tables.md#in-lists); only for a key of one column,
   * and only where SQLite has sqlite3_vtab_in (3.38+): elsewhere SQLite calls xFilter once per
   * value. */
  int in_column = -1;
  if (chosen >= 0 && has_limit_ops && ix_is_single_column(provider->required[chosen])) {
    for (int column = 0; column < provider->column_count; column++) {
      if ((provider->required[chosen] & (IX_COLUMN_BIT(column))) &&
          sqlite3_vtab_in(info, eq_constraint[column], -1)) {
        sqlite3_vtab_in(info, eq_constraint[column], 1);
        in_column = column;
      }
    }
  }
  sqlite3_str *plan = sqlite3_str_new(NULL);
  int argv_index = 0;
  int all_sent_exactly = 1;
  uint64_t rechecked = 0; /* columns sent to the API whose rows SQLite still checks */
  for (int column = 0; column < provider->column_count; column++) {
    if (!(send & (IX_COLUMN_BIT(column)))) continue;
    struct sqlite3_index_constraint_usage *usage = &info->aConstraintUsage[eq_constraint[column]];
    usage->argvIndex = ++argv_index;
    usage->omit = (provider->columns[column].flags & IX_COL_EXACT) && argv_index <= 16;
    if (!usage->omit) {
      all_sent_exactly = 0;
      rechecked |= IX_COLUMN_BIT(column);
    }
    sqlite3_str_appendf(plan, "%s%s%s?", argv_index > 1 ? "," : "", provider->columns[column].name,
                        column == in_column ? " IN " : "=");
  }
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];
    if (!constraint->usable || constraint->iColumn != provider->range_column ||
        provider->range_column < 0) {
      continue;
    }
    int op;
    switch (constraint->op) {
      case SQLITE_INDEX_CONSTRAINT_EQ: op = IX_OP_EQ; break;
      case SQLITE_INDEX_CONSTRAINT_GT: op = IX_OP_GT; break;
      case SQLITE_INDEX_CONSTRAINT_GE: op = IX_OP_GE; break;
      case SQLITE_INDEX_CONSTRAINT_LT: op = IX_OP_LT; break;
      case SQLITE_INDEX_CONSTRAINT_LE: op = IX_OP_LE; break;
      default: continue;
    }
    info->aConstraintUsage[i].argvIndex = ++argv_index;
    all_sent_exactly = 0; /* the API's dates are coarser than the column: SQLite re-checks */
    rechecked |= IX_COLUMN_BIT(provider->range_column);
    sqlite3_str_appendf(plan, "%s%s%s?", argv_index > 1 ? "," : "",
                        provider->columns[provider->range_column].name, ix_op_text[op]);
  }
  /* Any other usable constraint is applied by SQLite after us, which a LIMIT hint must not cut. */
  for (int i = 0; i < info->nConstraint; i++) {
    if (info->aConstraint[i].usable && info->aConstraintUsage[i].argvIndex == 0 &&
        i != limit_constraint && i != offset_constraint) {
      all_sent_exactly = 0;
    }
  }
  if (limit_constraint >= 0 && all_sent_exactly && info->nOrderBy == 0 &&
      provider->max_page_size > 0) {
    info->aConstraintUsage[limit_constraint].argvIndex = ++argv_index;
    sqlite3_str_appendf(plan, "%sLIMIT", argv_index > 1 ? "," : "");
    if (offset_constraint >= 0) {
      info->aConstraintUsage[offset_constraint].argvIndex = ++argv_index;
      sqlite3_str_appendall(plan, ",OFFSET");
    }
  }

  /* What EXPLAIN QUERY PLAN should also tell: which of the sent constraints SQLite re-checks
   * (the API applies them loosely). xFilter ignores this part. */
  for (int column = 0, named = 0; column < provider->column_count; column++) {
    if (!(rechecked & IX_COLUMN_BIT(column))) continue;
    sqlite3_str_appendf(
        plan, "%s%s", named++ ? ", " : " | re-checked by SQLite: ", provider->columns[column].name);
  }

  info->idxNum = chosen + 1;
  info->idxStr = sqlite3_str_finish(plan);
  info->needToFreeIdxStr = 1;
  if (!info->idxStr && argv_index > 0) return SQLITE_NOMEM;
  /* Any plan with an HTTP call must lose to local work, and a plan that sends more filters to the
   * API (fewer rows to fetch) is cheaper than one that sends fewer
   * (docs/sqlite-virtual-tables.md#omit-costs-and-the-plan). */
  info->estimatedCost = IX_COST_PER_REQUEST / (1.0 + 0.1 * argv_index);
  info->estimatedRows = IX_ROWS_PER_CUSTOMER;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The module.
 */

static const sqlite3_module ix_module = {
    /* iVersion    */ 2,
    /* xCreate     */ ix_connect, /* same as xConnect: eponymous, and creatable with options */
    /* xConnect    */ ix_connect,
    /* xBestIndex  */ ix_best_index,
    /* xDisconnect */ ix_disconnect,
    /* xDestroy    */ ix_disconnect, /* nothing lives outside the connection to destroy */
    /* xOpen       */ ix_open,
    /* xClose      */ ix_close,
    /* xFilter     */ ix_filter,
    /* xNext       */ ix_next,
    /* xEof        */ ix_eof,
    /* xColumn     */ ix_column,
    /* xRowid      */ ix_rowid,
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

static void ix_module_data_free(void *arg) {
  ix_module_data *data = arg;
  ix_session_release(data->session);
  sqlite3_free(data);
}

int ix_register_provider(sqlite3 *db, const ix_provider *provider, ix_session *session) {
  ix_module_data *data = sqlite3_malloc64(sizeof(*data));
  if (!data) return SQLITE_NOMEM;
  data->provider = ix_descriptor_resolve(provider, &data->resolved);
  data->session = session;
  session->refs++;
  /* On failure SQLite calls the destructor itself, which releases the reference. */
  return sqlite3_create_module_v2(db, provider->table, &ix_module, data, ix_module_data_free);
}
