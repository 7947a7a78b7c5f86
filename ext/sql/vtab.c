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
 *   (ix_range_add). It then resolves the table's settings, asks the provider for the first page's
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
#include "observe/trustnote.h"
#include "provider/columns.h"
#include "provider/descriptor.h"
#include "provider/jsonspan.h"
#include "sql/plan.h"
#include "util/textset.h"

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
  /* The last probe bounded the range column but named no customer: SQLite's whole-WHERE probe
   * of a statement whose keys are in an OR. The branch probes that follow see no bound
   * (docs/sqlite-virtual-tables.md#or-branches-and-the-date-range). */
  int range_probe_without_key;
} ix_vtab;

/* Rowids: how many rows of each identity one customer's rows have had so far (ix_rowid). */
typedef struct ix_identity {
  int active;              /* a rowid was asked for since this customer's rows began */
  int counted;             /* rows of the current page counted so far */
  int customer_known;      /* customer holds the current customer's hash */
  uint64_t key;            /* the plan's key columns (a mask) */
  uint64_t customer;       /* the table and the plan's key values */
  sqlite3_int64 rowid;     /* of the row counted last */
  uint64_t *identities;    /* open addressing; a slot is free while its count is 0 */
  sqlite3_int64 *counts;   /* occurrences + 1 */
  sqlite3_uint64 capacity; /* a power of two, or 0 */
  sqlite3_uint64 used;
} ix_identity;

typedef struct ix_cursor {
  sqlite3_vtab_cursor base;
  ix_fetch fetch; /* settings, current plan and page (fetch.h) */
  int row_index;  /* into fetch.page.rows */
  int eof;
  ix_identity identity;
  /* An IN list names each customer once (issue 19): the keys sent, after the key column's
   * affinity, and the vendor's own ids of the customers whose rows were returned. */
  ix_textset in_keys;
  ix_textset customers_seen;
  int noted;                                  /* the statement's one note (trust_note) is said */
  ix_collation key_collation[IX_MAX_COLUMNS]; /* how SQLite compares each key's equality */
  char *bound_note; /* a bound not in the range column's format, for the note; sqlite3_malloc'd */
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
  ix_fetch_init(&cursor->fetch);
  cursor->fetch.provider = vtab->provider;
  cursor->fetch.table_name = vtab->table_name;
  cursor->fetch.db = vtab->db;
  cursor->fetch.http = vtab->session->http;
  cursor->eof = 1;
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

static void ix_identity_free(ix_identity *identity);

static int ix_close(sqlite3_vtab_cursor *base) {
  ix_cursor *cursor = (ix_cursor *)base;
  progress_statement_end(&cursor->fetch.progress);
  ix_fetch_free(&cursor->fetch);
  ix_identity_free(&cursor->identity);
  ix_textset_clear(&cursor->in_keys);
  ix_textset_clear(&cursor->customers_seen);
  sqlite3_free(cursor->bound_note);
  sqlite3_free(cursor);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Rowids.
 *
 * SQLite merges the branches of an OR by rowid, so within a statement a rowid must stand for one
 * row: the same vendor row reached by two branches has the same rowid, and two different rows
 * never share one. A row's identity is a hash of the table, the customer (the vendor's own id for
 * it when the provider knows one, else the plan's key values; not the other filters, so branches
 * that filter one customer differently agree), the objects that enclose the row and its raw text;
 * byte-identical rows of one customer are told apart by how many came before. Counting starts with
 * the first rowid asked for in a customer's rows (SQLite asks for every row of an OR branch), so a
 * plain SELECT pays nothing.
 */

static void ix_identity_reset(ix_cursor *cursor) {
  ix_identity *identity = &cursor->identity;
  if (identity->counts) memset(identity->counts, 0, sizeof(sqlite3_int64) * identity->capacity);
  identity->used = 0;
  identity->active = identity->counted = identity->customer_known = 0;
}

static void ix_identity_free(ix_identity *identity) {
  sqlite3_free(identity->identities);
  sqlite3_free(identity->counts);
  memset(identity, 0, sizeof(*identity));
}

/* The row's raw text, the raw column's value: the vendor's own bytes for the row (a slice of the
 * body), or cJSON's print of the item where the page has no span for it. */
static const char *ix_row_raw_text(const ix_page *page, const ix_row *row, size_t *length,
                                   char **to_free) {
  const char *slice = NULL;
  *to_free = NULL;
  if (ix_row_raw(page, row, &slice, length)) return slice;
  char *text = cJSON_PrintUnformatted(row->item);
  *to_free = text;
  *length = text ? strlen(text) : 0;
  return text;
}

/* The scalar members of an enclosing object (Capillary's type and network): what tells apart
 * rows whose own objects are byte-identical but sit in different places of the answer. */
static uint64_t ix_identity_add_scalars(uint64_t hash, const cJSON *object) {
  for (const cJSON *member = object ? object->child : NULL; member; member = member->next) {
    if (cJSON_IsObject(member) || cJSON_IsArray(member)) continue;
    if (member->string) hash = ix_identity_add(hash, member->string, strlen(member->string) + 1);
    if (cJSON_IsString(member)) {
      hash = ix_identity_add(hash, member->valuestring, strlen(member->valuestring) + 1);
    } else {
      hash = ix_identity_add(hash, &member->valuedouble, sizeof(member->valuedouble));
      hash = ix_identity_add(hash, &member->type, sizeof(member->type));
    }
  }
  return hash;
}

static uint64_t ix_row_identity(ix_cursor *cursor, const ix_row *row, int *out_of_memory) {
  ix_identity *identity = &cursor->identity;
  if (!identity->customer_known) {
    const ix_provider *provider = cursor->fetch.provider;
    uint64_t hash = ix_identity_add(IX_IDENTITY_SEED, provider->table, strlen(provider->table));
    char vendor_id[256];
    ix_call call = ix_fetch_call(&cursor->fetch);
    int known = provider->customer_identity &&
                provider->customer_identity(&call, vendor_id, sizeof(vendor_id));
    if (known) hash = ix_identity_add(hash, vendor_id, strlen(vendor_id) + 1);
    for (int c = 0; !known && c < provider->column_count; c++) {
      sqlite3_value *value = cursor->fetch.args.eq[c];
      if (!value || !(identity->key & IX_COLUMN_BIT(c))) continue;
      const unsigned char *text = sqlite3_value_text(value);
      hash = ix_identity_add(hash, &c, sizeof(c));
      hash =
          ix_identity_add(hash, text ? (const char *)text : "", (size_t)sqlite3_value_bytes(value));
    }
    identity->customer = hash;
    identity->customer_known = 1;
  }
  uint64_t hash = ix_identity_add_scalars(identity->customer, row->parent);
  hash = ix_identity_add_scalars(hash, row->group);
  size_t length = 0;
  char *to_free = NULL;
  const char *raw = ix_row_raw_text(&cursor->fetch.page, row, &length, &to_free);
  if (!raw) *out_of_memory = 1;
  hash = ix_identity_add(hash, raw ? raw : "", length);
  cJSON_free(to_free);
  return hash;
}

/* Counts one more row of identity and returns how many came before it (-1: out of memory). */
static sqlite3_int64 ix_identity_count(ix_identity *identity, uint64_t hash) {
  if (2 * (identity->used + 1) > identity->capacity) {
    sqlite3_uint64 capacity = identity->capacity ? identity->capacity * 2 : 64;
    uint64_t *identities = sqlite3_malloc64(sizeof(uint64_t) * capacity);
    sqlite3_int64 *counts = sqlite3_malloc64(sizeof(sqlite3_int64) * capacity);
    if (!identities || !counts) {
      sqlite3_free(identities);
      sqlite3_free(counts);
      return -1;
    }
    memset(counts, 0, sizeof(sqlite3_int64) * capacity);
    for (sqlite3_uint64 i = 0; i < identity->capacity; i++) {
      if (!identity->counts[i]) continue;
      sqlite3_uint64 slot = identity->identities[i] & (capacity - 1);
      while (counts[slot]) slot = (slot + 1) & (capacity - 1);
      identities[slot] = identity->identities[i];
      counts[slot] = identity->counts[i];
    }
    sqlite3_free(identity->identities);
    sqlite3_free(identity->counts);
    identity->identities = identities;
    identity->counts = counts;
    identity->capacity = capacity;
  }
  sqlite3_uint64 slot = hash & (identity->capacity - 1);
  while (identity->counts[slot] && identity->identities[slot] != hash) {
    slot = (slot + 1) & (identity->capacity - 1);
  }
  if (!identity->counts[slot]) {
    identity->identities[slot] = hash;
    identity->used++;
  }
  return identity->counts[slot]++;
}

/* Counts the current page's rows up to and including row 'through'. */
static int ix_identity_count_through(ix_cursor *cursor, int through) {
  ix_identity *identity = &cursor->identity;
  while (identity->counted <= through && identity->counted < cursor->fetch.page.row_count) {
    int out_of_memory = 0;
    uint64_t hash =
        ix_row_identity(cursor, &cursor->fetch.page.rows[identity->counted], &out_of_memory);
    sqlite3_int64 before = out_of_memory ? -1 : ix_identity_count(identity, hash);
    if (before < 0) return SQLITE_NOMEM;
    identity->rowid = ix_identity_rowid(hash, before);
    identity->counted++;
  }
  return SQLITE_OK;
}

/* When an IN list's customer turns out to be one whose rows were already returned (two values the
 * vendor resolves to the same customer: 'a.b@x.org' and 'A.B@X.ORG' for Capillary), skips its
 * rows and its further pages: IN is set membership, and over a local copy each row exists once.
 * Called when a customer's first page has arrived. */
static int ix_cursor_skip_repeated_customer(ix_cursor *cursor) {
  const ix_provider *provider = cursor->fetch.provider;
  if (cursor->fetch.in_column < 0 || !provider->customer_identity) return SQLITE_OK;
  char vendor_id[256];
  ix_call call = ix_fetch_call(&cursor->fetch);
  if (!provider->customer_identity(&call, vendor_id, sizeof(vendor_id))) return SQLITE_OK;
  int added = ix_textset_add(&cursor->customers_seen, vendor_id, strlen(vendor_id));
  if (added < 0) return SQLITE_NOMEM;
  if (added == 0) {
    cursor->row_index = cursor->fetch.page.row_count;
    sqlite3_free(cursor->fetch.page.next_token);
    cursor->fetch.page.next_token = NULL;
  }
  return SQLITE_OK;
}

/* Whether SQLite's comparison under collation finds a and b equal (texts). */
static int ix_text_equal(ix_collation collation, const char *a, const char *b) {
  if (collation == IX_COLLATE_NOCASE) return sqlite3_stricmp(a, b) == 0;
  if (collation == IX_COLLATE_RTRIM) {
    size_t a_length = strlen(a), b_length = strlen(b);
    while (a_length && a[a_length - 1] == ' ') a_length--;
    while (b_length && b[b_length - 1] == ' ') b_length--;
    return a_length == b_length && memcmp(a, b, a_length) == 0;
  }
  return strcmp(a, b) == 0;
}

/* The note when SQLite is about to drop every row the vendor matched (issue 19): the vendor
 * matched a key loosely ('+919988221100' finds the customer whose mobile is '919988221100') and
 * every row carries the vendor's own value, which SQLite's = does not equal. Rows stay SQLite's
 * answer; once per statement, for a plain equality (in an IN list another value may match). */
static void ix_cursor_note_dropped(ix_cursor *cursor) {
  const ix_provider *provider = cursor->fetch.provider;
  if (cursor->noted || !provider->customer_key || cursor->fetch.in_column >= 0 ||
      cursor->fetch.page.row_count == 0) {
    return;
  }
  ix_call call = ix_fetch_call(&cursor->fetch);
  for (int c = 0; c < provider->column_count; c++) {
    sqlite3_value *sent = cursor->fetch.args.eq[c];
    const char *text = sent ? (const char *)sqlite3_value_text(sent) : NULL;
    char vendor[256];
    if (!text || !(cursor->identity.key & IX_COLUMN_BIT(c)) ||
        ix_column_match(provider->columns[c].flags) == IX_MATCH_EXACT ||
        !provider->customer_key(&call, c, vendor, sizeof(vendor)) ||
        ix_text_equal(cursor->key_collation[c], text, vendor)) {
      continue;
    }
    const char *name = provider->columns[c].name;
    char *note = sqlite3_mprintf(
        "%s: %s '%q' matched the vendor's customer '%q', whose rows "
        "SQLite's = then dropped: write %s = '%q'",
        cursor->fetch.table_name, name, text, vendor, name, vendor);
    trust_note(note);
    sqlite3_free(note);
    cursor->noted = 1;
    return;
  }
}

/* Moves to the first row at or after row_index, fetching pages as needed; sets eof at the end. */
static int ix_cursor_settle(ix_cursor *cursor) {
  while (cursor->row_index >= cursor->fetch.page.row_count) {
    ix_fetch_step step = ix_fetch_next_step(&cursor->fetch);
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
        rc = ix_identity_count_through(cursor, cursor->fetch.page.row_count - 1);
      }
      cursor->identity.counted = 0;
    } else {
      ix_identity_reset(cursor); /* another customer */
    }
    if (rc == SQLITE_OK) rc = ix_fetch_advance(&cursor->fetch, &error);
    if (rc == SQLITE_OK && step == IX_FETCH_NEXT_CUSTOMER) {
      rc = ix_cursor_skip_repeated_customer(cursor);
    }
    if (rc == SQLITE_OK && step == IX_FETCH_NEXT_CUSTOMER) ix_cursor_note_dropped(cursor);
    if (rc != SQLITE_OK) {
      progress_failed(&cursor->fetch.progress);
      ix_set_error(cursor->base.pVtab,
                   error ? error : ix_errorf("%s: out of memory", cursor->fetch.table_name));
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

static int ix_next(sqlite3_vtab_cursor *base) {
  ix_cursor *cursor = (ix_cursor *)base;
  cursor->row_index++;
  return ix_cursor_settle(cursor);
}

static int ix_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  ix_cursor *cursor = (ix_cursor *)base;
  ix_call call = ix_fetch_call(&cursor->fetch);
  ix_row_value(&call, &cursor->fetch.page.rows[cursor->row_index], column, ctx);
  return SQLITE_OK;
}

static int ix_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  ix_cursor *cursor = (ix_cursor *)base;
  cursor->identity.active = 1;
  int rc = ix_identity_count_through(cursor, cursor->row_index);
  *rowid = cursor->identity.rowid;
  return rc;
}

static int ix_eof(sqlite3_vtab_cursor *base) {
  return ((ix_cursor *)base)->eof;
}

/* ---------------------------------------------------------------------------------------------
 * Filter.
 */

typedef enum ix_term_op {
  IX_OP_EQ,
  IX_OP_GT,
  IX_OP_GE,
  IX_OP_LT,
  IX_OP_LE,
  IX_OP_IN,
  IX_OP_IS,
  IX_OP_IS_NULL
} ix_term_op;

/* Longest first where one is a prefix of another, so the first match is the right one. */
static const struct {
  const char *text;
  ix_term_op op;
} ix_op_texts[] = {
    {" IS NULL", IX_OP_IS_NULL}, {" IS ?", IX_OP_IS}, {" IN ?", IX_OP_IN}, {">=?", IX_OP_GE},
    {"<=?", IX_OP_LE},           {"=?", IX_OP_EQ},    {">?", IX_OP_GT},    {"<?", IX_OP_LT},
};

static int ix_find_column(const ix_provider *provider, const char *name, size_t length) {
  for (int i = 0; i < provider->column_count; i++) {
    if (strlen(provider->columns[i].name) == length &&
        strncmp(provider->columns[i].name, name, length) == 0) {
      return i;
    }
  }
  return -1;
}

/* Narrows the collapsed range with one text bound: the tighter bound wins, exclusive over
 * inclusive. */
static int ix_args_add_bound(ix_args *args, int lower, int inclusive, const char *value,
                             size_t length) {
  char **slot = lower ? &args->range_low : &args->range_high;
  int *slot_inclusive = lower ? &args->range_low_inclusive : &args->range_high_inclusive;
  char *copy = sqlite3_mprintf("%.*s", (int)length, value);
  if (!copy) return SQLITE_NOMEM;
  int cmp = *slot ? strcmp(copy, *slot) : (lower ? 1 : -1);
  if ((lower ? cmp > 0 : cmp < 0) || (cmp == 0 && !inclusive)) {
    sqlite3_free(*slot);
    *slot = copy;
    *slot_inclusive = inclusive;
  } else {
    sqlite3_free(copy);
  }
  return SQLITE_OK;
}

static const char *ix_op_sql(ix_term_op op) {
  switch (op) {
    case IX_OP_GT: return ">";
    case IX_OP_GE: return ">=";
    case IX_OP_LT: return "<";
    case IX_OP_LE: return "<=";
    default: return "=";
  }
}

/* A bound as the user wrote it: "occurred_at >= '2018/08/01'", "occurred_at >= 20250601". */
static char *ix_bound_as_written(const ix_cursor *cursor, ix_term_op op, sqlite3_value *value) {
  const ix_provider *provider = cursor->fetch.provider;
  const char *column = provider->columns[provider->range_column].name;
  const char *text = (const char *)sqlite3_value_text(value);
  if (sqlite3_value_type(value) == SQLITE_TEXT) {
    return sqlite3_mprintf("%s %s '%q'", column, ix_op_sql(op), text ? text : "");
  }
  return sqlite3_mprintf("%s %s %s", column, ix_op_sql(op), text ? text : "NULL");
}

/* Records a lower bound that is no start date (ix_args.range_low_unusable): a number, or text
 * that sorts before every date. The bound is not sent; SQLite still checks it on every row. */
static int ix_range_low_unusable(ix_cursor *cursor, ix_term_op op, sqlite3_value *value) {
  ix_args *args = &cursor->fetch.args;
  if (args->range_low_unusable) return SQLITE_OK; /* the first one is quoted */
  args->range_low_unusable = ix_bound_as_written(cursor, op, value);
  return args->range_low_unusable ? SQLITE_OK : SQLITE_NOMEM;
}

/* Remembers, for the statement's note, a bound whose text the range column's values can never
 * start with ('2018/08/01', ' 2025-03-15'): SQLite compares it as text, which is its answer, but
 * hardly what was meant. */
static int ix_range_note_format(ix_cursor *cursor, ix_term_op op, sqlite3_value *value) {
  const char *text = (const char *)sqlite3_value_text(value);
  size_t length = (size_t)sqlite3_value_bytes(value);
  if (cursor->bound_note || !text || ix_bound_fits_format(text, length)) return SQLITE_OK;
  char *written = ix_bound_as_written(cursor, op, value);
  const char *table = ((ix_vtab *)cursor->base.pVtab)->table_name;
  const ix_provider *provider = cursor->fetch.provider;
  const char *column = provider->columns[provider->range_column].name;
  cursor->bound_note = written ? sqlite3_mprintf(
                                     "%s: %s is not in %s's format (YYYY-MM-DD HH:MM:SS, UTC), "
                                     "and SQLite compares it as text, so rows the vendor "
                                     "matched may be dropped: write %s %s 'YYYY-MM-DD'",
                                     table, written, column, column, ix_op_sql(op))
                               : NULL;
  sqlite3_free(written);
  return cursor->bound_note ? SQLITE_OK : SQLITE_NOMEM;
}

/* Adds one bound on the range column (op as in the plan, value as SQLite passed it) to the args,
 * as text that starts with a date, which is all providers read: a bound that does not is replaced
 * by the days it can match ('2025-04' by >= '2025-04-01', < '2025-04-0:' by < '2025-04-10'),
 * never narrower than SQLite's own comparison, which still re-checks every row. Sets *no_rows when
 * no row can pass. A bound that is not text is not sent at all: compared with a number, a TEXT
 * column's order depends on affinities only SQLite knows. A BLOB sorts after every text: as a
 * lower bound nothing passes, as an upper bound everything does. */
static int ix_range_add(ix_cursor *cursor, ix_term_op op, ix_collation collation,
                        sqlite3_value *value, int *no_rows) {
  ix_args *args = &cursor->fetch.args;
  int type = sqlite3_value_type(value);
  int lower = op == IX_OP_GT || op == IX_OP_GE || op == IX_OP_EQ;
  int upper = op == IX_OP_LT || op == IX_OP_LE || op == IX_OP_EQ;
  if (type == SQLITE_NULL || (type == SQLITE_BLOB && lower)) {
    *no_rows = 1;
    return SQLITE_OK;
  }
  const char *text = (const char *)sqlite3_value_text(value);
  if (type != SQLITE_TEXT || !text) {
    return lower ? ix_range_low_unusable(cursor, op, value) : SQLITE_OK;
  }
  int rc = ix_range_note_format(cursor, op, value);
  if (rc != SQLITE_OK) return rc;
  size_t length = (size_t)sqlite3_value_bytes(value);
  char folded[256];
  if (length > sizeof(folded) - 1) length = sizeof(folded) - 1; /* still wider: a shorter bound */
  size_t folded_length = 0;
  if (!ix_fold_bound(collation, text, length, folded, &folded_length)) return SQLITE_OK;
  folded[folded_length] = '\0';
  int exact = ix_starts_with_date(folded, folded_length) &&
              strlen(folded) == folded_length; /* a NUL would cut the text short */
  char day[IX_DATE_LENGTH + 1];
  if (lower && exact && !(folded_length == IX_DATE_LENGTH && ix_is_first_day(folded))) {
    rc = ix_args_add_bound(args, 1, op != IX_OP_GT, folded, folded_length);
  } else if (lower && ix_date_lower(folded, folded_length, day)) {
    /* Every date passes a bound that sorts before 0000-01-01: no lower bound at all. */
    rc = ix_is_first_day(day) ? ix_range_low_unusable(cursor, op, value)
                              : ix_args_add_bound(args, 1, 1, day, IX_DATE_LENGTH);
  } else if (lower) {
    *no_rows = 1;
  }
  if (rc != SQLITE_OK || !upper) return rc;
  if (exact) {
    rc = ix_args_add_bound(args, 0, op != IX_OP_LT, folded, folded_length);
  } else if (!ix_date_upper(folded, folded_length, op != IX_OP_LT, day)) {
    *no_rows = 1;
  } else if (ix_next_day(day)) {
    rc = ix_args_add_bound(args, 0, 0, day, IX_DATE_LENGTH); /* before the next day */
  }
  return rc;
}

/* The value an equality sends and echoes, or NULL with *problem set when it can equal no vendor
 * text, so no request is made: NULL (never equal), a BLOB (never equal to text), a NUL inside the
 * text (no vendor id holds one). A REAL becomes text the way a column of numeric affinity equates
 * it (ix_real_key_text); SQLite's re-check settles the rest (ix_plan_can_omit). *made is set when
 * the returned value is new (the caller frees it). */
static sqlite3_value *ix_equality_value(sqlite3 *db, sqlite3_value *value, const char **problem,
                                        int *made) {
  *made = 0;
  *problem = NULL;
  switch (sqlite3_value_type(value)) {
    case SQLITE_NULL: *problem = "is NULL"; return NULL;
    case SQLITE_BLOB: *problem = "is a blob, which equals no text"; return NULL;
    case SQLITE_TEXT: {
      const char *text = (const char *)sqlite3_value_text(value);
      if (!text || strlen(text) != (size_t)sqlite3_value_bytes(value)) {
        *problem = "contains a NUL character";
        return NULL;
      }
      return value;
    }
    case SQLITE_FLOAT: {
      char digits[64];
      if (!ix_real_key_text(sqlite3_value_double(value), digits, sizeof(digits))) {
        *problem = "is not a finite number";
        return NULL;
      }
      /* An sqlite3_value of text can only be made by SQLite itself. */
      sqlite3_stmt *statement = NULL;
      sqlite3_value *copy = NULL;
      if (sqlite3_prepare_v2(db, "SELECT ?1", -1, &statement, NULL) == SQLITE_OK &&
          sqlite3_bind_text(statement, 1, digits, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
          sqlite3_step(statement) == SQLITE_ROW) {
        copy = sqlite3_value_dup(sqlite3_column_value(statement, 0));
      }
      sqlite3_finalize(statement);
      *made = copy != NULL;
      if (!copy) *problem = "could not be converted: out of memory";
      return copy;
    }
    default: return value; /* an INTEGER's text is its digits */
  }
}

/* Records that a key could not name a customer: no request, no rows, and a line in the request
 * log saying why. */
static void ix_skip_key(ix_cursor *cursor, int column, const char *problem) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  char *reason = sqlite3_mprintf("skipped: %s %s", vtab->provider->columns[column].name, problem);
  if (reason) requestlog_add_skipped(vtab->provider->vendor, reason);
  sqlite3_free(reason);
}

/* The key text's problem (ix_key_problem) when column is part of the plan's key, else NULL. */
static const char *ix_key_value_problem(uint64_t key, int column, sqlite3_value *value) {
  if (!(key & IX_COLUMN_BIT(column))) return NULL;
  const char *text = (const char *)sqlite3_value_text(value);
  return ix_key_problem(text ? text : "", (size_t)sqlite3_value_bytes(value));
}

/* Refuses, before any request, a key compared under a collation the vendor's match cannot serve
 * for this value (ix_key_collation_problem): the vendor would miss rows SQLite's comparison keeps
 * over a local copy. Returns SQLITE_OK when the value can be sent. */
static int ix_check_key_collation(ix_cursor *cursor, uint64_t key, int column,
                                  ix_collation collation, sqlite3_value *value) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  if (!(key & IX_COLUMN_BIT(column)) || collation == IX_COLLATE_BINARY) return SQLITE_OK;
  const ix_column_def *def = &vtab->provider->columns[column];
  const char *text = (const char *)sqlite3_value_text(value);
  size_t length = (size_t)sqlite3_value_bytes(value);
  ix_match match = ix_column_match(def->flags);
  const char *problem = ix_key_collation_problem(match, collation, text ? text : "", length);
  if (!problem) return SQLITE_OK;
  static const char *const names[] = {"BINARY", "NOCASE", "RTRIM", "of the application's own"};
  ix_set_error(
      &vtab->base,
      ix_errorf("%s: %s = '%.80s' is compared under COLLATE %s (from a COLLATE clause, or from "
                "the declared collation of a column on the left of =), which also matches %s, "
                "but the vendor matches %s %s: write the vendor table's column on the left "
                "(%s.%s = crm.%s) or add COLLATE BINARY",
                vtab->table_name, def->name, text ? text : "", names[collation], problem, def->name,
                match == IX_MATCH_NOCASE ? "without regard to case" : "exactly", vtab->table_name,
                def->name, def->name));
  return SQLITE_ERROR;
}

/* Whether an IN value names a customer not named before in the list: values equal after the key
 * column's affinity (779456, '779456', 779456.0 all send '779456') are one customer and one
 * request. 1 new, 0 seen, -1 out of memory. */
static int ix_in_key_is_new(ix_cursor *cursor, sqlite3_value *sent) {
  const char *text = (const char *)sqlite3_value_text(sent);
  if (!text) return sqlite3_value_type(sent) == SQLITE_NULL ? 1 : -1;
  return ix_textset_add(&cursor->in_keys, text, (size_t)sqlite3_value_bytes(sent));
}

/* Reads the values of an all-at-once IN list (sqlite3_vtab_in): SQLite hands them over
 * de-duplicated, and only until xFilter returns, so each is copied. A value that can name no
 * customer (NULL, blank, a blob...) matches nothing and is skipped. */
static int ix_filter_read_in(ix_cursor *cursor, int column, uint64_t key, ix_collation collation,
                             sqlite3_value *list) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  sqlite3_value *value = NULL;
  int rc;
  for (rc = sqlite3_vtab_in_first(list, &value); rc == SQLITE_OK;
       rc = sqlite3_vtab_in_next(list, &value)) {
    if (sqlite3_value_type(value) == SQLITE_NULL) continue; /* = NULL is never true: no request */
    const char *problem;
    int made;
    sqlite3_value *sent = ix_equality_value(vtab->db, value, &problem, &made);
    if (sent && !problem) problem = ix_key_value_problem(key, column, sent);
    if (problem) {
      ix_skip_key(cursor, column, problem);
    } else {
      rc = ix_check_key_collation(cursor, key, column, collation, sent);
      int is_new = rc == SQLITE_OK ? ix_in_key_is_new(cursor, sent) : 0;
      if (is_new < 0) rc = SQLITE_NOMEM;
      if (is_new > 0) rc = ix_fetch_in_add(&cursor->fetch, column, sent);
    }
    if (made) sqlite3_value_free(sent);
    if (rc != SQLITE_OK) return rc;
  }
  /* The list ends with SQLITE_DONE (the 3.40 documentation's sample checks SQLITE_OK: wrong). */
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Reads one term of the plan: its column, operator and collation. */
static int ix_parse_term(const ix_provider *provider, const char *term, size_t length,
                         int *column_out, ix_term_op *op_out, ix_collation *collation_out) {
  size_t name_length = strcspn(term, "=<> ");
  if (name_length > length) return 0;
  const char *rest = term + name_length;
  size_t rest_length = length - name_length;
  *collation_out = IX_COLLATE_BINARY;
  static const struct {
    const char *suffix;
    ix_collation collation;
  } suffixes[] = {{" COLLATE NOCASE", IX_COLLATE_NOCASE},
                  {" COLLATE RTRIM", IX_COLLATE_RTRIM},
                  {" COLLATE OTHER", IX_COLLATE_OTHER}};
  for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
    size_t suffix_length = strlen(suffixes[s].suffix);
    if (rest_length > suffix_length &&
        memcmp(rest + rest_length - suffix_length, suffixes[s].suffix, suffix_length) == 0) {
      *collation_out = suffixes[s].collation;
      rest_length -= suffix_length;
      break;
    }
  }
  *column_out = ix_find_column(provider, term, name_length);
  for (size_t o = 0; o < sizeof(ix_op_texts) / sizeof(ix_op_texts[0]); o++) {
    if (strlen(ix_op_texts[o].text) == rest_length &&
        memcmp(rest, ix_op_texts[o].text, rest_length) == 0) {
      *op_out = ix_op_texts[o].op;
      return *column_out >= 0;
    }
  }
  return 0;
}

/* An equality's value into args: the value SQLite's comparison would equate (affinity), or no rows
 * (and a "skipped" log line) when it can name no customer. */
static int ix_read_equality(ix_cursor *cursor, uint64_t key, int column, ix_collation collation,
                            sqlite3_value *value, int *no_rows) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const char *problem;
  int made;
  sqlite3_value *sent = ix_equality_value(vtab->db, value, &problem, &made);
  if (sent && !problem) problem = ix_key_value_problem(key, column, sent);
  if (problem) {
    /* NULL is not worth a log line: "= NULL" is never true, and joins meet it often. */
    if (sqlite3_value_type(value) != SQLITE_NULL) ix_skip_key(cursor, column, problem);
    if (made) sqlite3_value_free(sent);
    *no_rows = 1;
    return SQLITE_OK;
  }
  int rc = ix_check_key_collation(cursor, key, column, collation, sent);
  if (rc != SQLITE_OK) {
    if (made) sqlite3_value_free(sent);
    return rc;
  }
  cursor->key_collation[column] = collation;
  sqlite3_value_free(cursor->fetch.args.eq[column]);
  cursor->fetch.args.eq[column] = made ? sent : sqlite3_value_dup(sent);
  return cursor->fetch.args.eq[column] ? SQLITE_OK : SQLITE_NOMEM;
}

/* One term's value (LIMIT and OFFSET aside) into the cursor's args. */
static int ix_read_term_value(ix_cursor *cursor, uint64_t key, int column, ix_term_op op,
                              ix_collation collation, sqlite3_value *value, int *no_rows) {
  const ix_provider *provider = ((ix_vtab *)cursor->base.pVtab)->provider;
  if (op == IX_OP_IS_NULL) {
    *no_rows = 1; /* a key IS NULL: no customer has no key */
    return SQLITE_OK;
  }
  if (op == IX_OP_IN) {
    int rc = ix_filter_read_in(cursor, column, key, collation, value);
    if (rc == SQLITE_OK && !ix_fetch_has_more_customers(&cursor->fetch)) *no_rows = 1;
    return rc;
  }
  if (column == provider->range_column) {
    return ix_range_add(cursor, op, collation, value, no_rows);
  }
  return ix_read_equality(cursor, key, column, collation, value, no_rows);
}

/* Reads the plan (see the grammar at the top) and the values into cursor->fetch.args. Sets *no_rows
 * when the values can match nothing (an equality with NULL, a key that names no customer, bounds
 * no date passes), so no request is made at all. */
static int ix_filter_read_plan(ix_cursor *cursor, int plan_number, const char *plan, int argc,
                               sqlite3_value **argv, int *no_rows) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const ix_provider *provider = vtab->provider;
  uint64_t key = plan_number > 0 && plan_number <= IX_MAX_REQUIRED_ALTERNATIVES
                     ? provider->required[plan_number - 1]
                     : 0;
  sqlite3_int64 limit = -1, offset = 0;
  const char *term = plan ? plan : "";
  const char *notes = strstr(term, " | ");
  const char *end = notes ? notes : term + strlen(term);
  for (int i = 0; term < end; i++) {
    size_t length = strcspn(term, ",");
    if (term + length > end) length = (size_t)(end - term);
    int column = -1;
    ix_term_op op = IX_OP_EQ;
    ix_collation collation = IX_COLLATE_BINARY;
    int is_limit = length == 5 && strncmp(term, "LIMIT", 5) == 0;
    int is_offset = length == 6 && strncmp(term, "OFFSET", 6) == 0;
    /* Every term takes one value. */
    if (i >= argc || (!is_limit && !is_offset &&
                      !ix_parse_term(provider, term, length, &column, &op, &collation))) {
      ix_set_error(&vtab->base,
                   ix_errorf("%s: internal error: bad plan '%s'", vtab->table_name, plan));
      return SQLITE_ERROR;
    }
    if (is_limit) {
      limit = sqlite3_value_int64(argv[i]);
    } else if (is_offset) {
      offset = sqlite3_value_int64(argv[i]);
    } else {
      int rc = ix_read_term_value(cursor, key, column, op, collation, argv[i], no_rows);
      if (rc != SQLITE_OK) return rc;
    }
    term += length;
    if (*term == ',') term++;
  }
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

static int ix_filter(sqlite3_vtab_cursor *base, int plan_number, const char *plan, int argc,
                     sqlite3_value **argv) {
  ix_cursor *cursor = (ix_cursor *)base;
  ix_vtab *vtab = (ix_vtab *)base->pVtab;
  ix_fetch_reset(&cursor->fetch);
  ix_identity_reset(cursor);
  ix_textset_clear(&cursor->in_keys);
  ix_textset_clear(&cursor->customers_seen);
  cursor->row_index = 0;
  cursor->eof = 1;
  if (plan_number == 0 && vtab->provider->required[0]) {
    /* The declined plan (no customer key) was the only one SQLite had: say what to add. */
    ix_set_error(base->pVtab, ix_errorf("%s: %s", vtab->table_name, vtab->provider->required_hint));
    return SQLITE_ERROR;
  }
  cursor->identity.key = plan_number > 0 && plan_number <= IX_MAX_REQUIRED_ALTERNATIVES
                             ? vtab->provider->required[plan_number - 1]
                             : 0;
  int no_rows = 0;
  int rc = ix_filter_read_plan(cursor, plan_number, plan, argc, argv, &no_rows);
  if (rc != SQLITE_OK || no_rows) return rc;
  cursor->fetch.args.range_outside_or = plan && strstr(plan, IX_PLAN_RANGE_OUTSIDE_OR) != NULL;
  vtab->range_probe_without_key = 0; /* the statement planned is running: the next is another */
  char *error = NULL;
  rc = ix_fetch_configure(&cursor->fetch, vtab->options, &error);
  if (rc == SQLITE_OK) rc = ix_fetch_start(&cursor->fetch, &error);
  if (rc == SQLITE_OK) rc = ix_cursor_skip_repeated_customer(cursor);
  if (rc != SQLITE_OK) {
    progress_failed(&cursor->fetch.progress);
    ix_set_error(base->pVtab, error ? error : ix_errorf("%s: out of memory", vtab->table_name));
    return rc;
  }
  if (cursor->bound_note && !cursor->noted) {
    trust_note(cursor->bound_note);
    cursor->noted = 1;
  }
  ix_cursor_note_dropped(cursor);
  return ix_cursor_settle(cursor);
}

/* ---------------------------------------------------------------------------------------------
 * BestIndex.
 *
 * The plan (idxStr, grammar above) is built by ix_plan_build (ext/sql/plan.c) from a plain copy of
 * the constraints, and read back by ix_filter. The rules:
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
 *    known to be plain text (ix_plan_can_omit): a key compared under NOCASE, or with a value whose
 *    affinity is unknown, is re-checked. Range bounds are always re-checked by SQLite.
 *  - LIMIT and OFFSET are only a page-size hint, and taken only when SQLite applies nothing after
 *    us that could drop rows: every other usable constraint sent and omitted, and no ORDER BY
 *    (docs/sqlite-virtual-tables.md#limit-and-offset). SQLite still applies LIMIT itself.
 */

static ix_collation ix_collation_of(sqlite3_index_info *info, int i) {
  const char *name = sqlite3_vtab_collation(info, i);
  if (!name || sqlite3_stricmp(name, "BINARY") == 0) return IX_COLLATE_BINARY;
  if (sqlite3_stricmp(name, "NOCASE") == 0) return IX_COLLATE_NOCASE;
  if (sqlite3_stricmp(name, "RTRIM") == 0) return IX_COLLATE_RTRIM;
  return IX_COLLATE_OTHER;
}

/* SQLite probes a statement's whole WHERE first, then, for a multi-index OR, each branch with the
 * branch's terms only (3.40 to 3.5x alike: whereLoopAddOr builds each branch's clause alone).
 * When the whole-WHERE probe bounded the range column but named no customer, a branch plan
 * without a bound is marked, so that a provider needing a bound can say why it has none. A
 * marker left by another statement's probe only changes that error's wording. */
static void ix_note_range_outside_or(ix_vtab *vtab, const ix_plan_constraint *constraints,
                                     int count, ix_plan *plan) {
  int range = vtab->provider->range_column, bounded = 0;
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
    if (bounded) vtab->range_probe_without_key = 1;
  } else if (plan->outcome == IX_PLAN_USE) {
    if (bounded) {
      vtab->range_probe_without_key = 0;
    } else if (vtab->range_probe_without_key && range >= 0 &&
               strlen(plan->idx_str) + sizeof(IX_PLAN_RANGE_OUTSIDE_OR) <= IX_PLAN_TEXT_MAX) {
      strcat(plan->idx_str, IX_PLAN_RANGE_OUTSIDE_OR);
    }
  }
}

static int ix_best_index(sqlite3_vtab *base, sqlite3_index_info *info) {
  ix_vtab *vtab = (ix_vtab *)base;
  const ix_provider *provider = vtab->provider;
  int has_limit_ops = sqlite3_libversion_number() >= IX_SQLITE_HAS_LIMIT_AND_IN;
  int count = info->nConstraint;
  ix_plan_constraint *constraints =
      sqlite3_malloc64(sizeof(ix_plan_constraint) * (sqlite3_uint64)(count ? count : 1));
  ix_plan_usage *usage =
      sqlite3_malloc64(sizeof(ix_plan_usage) * (sqlite3_uint64)(count ? count : 1));
  ix_plan *plan = sqlite3_malloc64(sizeof(ix_plan));
  int rc = constraints && usage && plan ? SQLITE_OK : SQLITE_NOMEM;
  for (int i = 0; rc == SQLITE_OK && i < count; i++) {
    const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];
    ix_plan_constraint *copy = &constraints[i];
    copy->column = constraint->iColumn;
    copy->op = constraint->op;
    copy->usable = constraint->usable;
    copy->collation = ix_collation_of(info, i);
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
    ix_plan_outcome outcome =
        ix_plan_build(provider, constraints, count, info->nOrderBy, has_limit_ops, usage, plan);
    ix_note_range_outside_or(vtab, constraints, count, plan);
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
