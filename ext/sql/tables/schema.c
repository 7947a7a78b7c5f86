/*
 * interactions_columns and interactions_tables: the schema of every vendor table, in SQL.
 *
 *     SELECT column_name, type, operators FROM interactions_columns
 *     WHERE table_name = 'optimove_interactions';
 *     SELECT table_name, endpoint, paging, rate_limit FROM interactions_tables;
 *
 * Pseudo-schemas:
 *
 *     CREATE TABLE interactions_columns(table_name, position, column_name, type, hidden, required,
 *                                       alternative, operators, rechecked, vendor_field,
 *                                       description, filtered_by)
 *     CREATE TABLE interactions_tables(table_name, vendor, endpoint, paging, page_size,
 *                                      rate_limit, base_url, arguments, docs_url)
 *
 * How it works
 *   Both are generated from the same provider descriptors the tables run on (provider.h), so they
 *   cannot drift from what xBestIndex does: `operators` and `rechecked` read the column flags the
 *   planner reads, `alternative` the provider's required-key masks. The rows are built whole in
 *   xFilter (a few hundred at most) and SQLite filters them. Like every table of the extension they
 *   are DIRECTONLY; nothing here is secret, but one rule for all the tables is simpler to trust.
 */
#include "sql/tables/schema.h"
#include "sql/tables/snapshot.h"

#include "provider/descriptor.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

/* Cells are added in order, a row at a time, into the scan's snapshot (snapshot.h). */
typedef struct schema_cursor {
  snapshot *rows;
  int column_count;
  int next; /* the column the next cell goes to */
} schema_cursor;

/* What distinguishes the two tables: their declaration and how their rows are made. */
typedef struct schema_table {
  const char *name;
  snapshot_table table;
  int (*fill)(schema_cursor *cursor, const ix_provider *const *providers, int count);
  const ix_provider *const *providers;
  int provider_count;
} schema_table;

/* The next cell's column, starting a row when the previous one is complete. */
static int schema_next_column(schema_cursor *cursor, int *column) {
  if (cursor->next == 0 && snapshot_row(cursor->rows, 0) != SQLITE_OK) return SQLITE_NOMEM;
  *column = cursor->next;
  cursor->next = (cursor->next + 1) % cursor->column_count;
  return SQLITE_OK;
}

/* Appends a text cell (NULL text = SQL NULL); takes ownership of owned text. */
static int schema_add_text(schema_cursor *cursor, char *owned) {
  int column;
  int rc = schema_next_column(cursor, &column);
  if (rc == SQLITE_OK) snapshot_text(cursor->rows, column, owned);
  sqlite3_free(owned);
  return rc;
}

static int schema_add_copy(schema_cursor *cursor, const char *text) {
  int column;
  int rc = schema_next_column(cursor, &column);
  if (rc == SQLITE_OK) snapshot_text(cursor->rows, column, text);
  return rc;
}

static int schema_add_int(schema_cursor *cursor, sqlite3_int64 number) {
  int column;
  int rc = schema_next_column(cursor, &column);
  if (rc == SQLITE_OK) snapshot_int(cursor->rows, column, number);
  return rc;
}

/* ---- interactions_columns ---- */

/* The 1-based number of the first required-key alternative that names the column, else 0. */
static int schema_alternative(const ix_provider *provider, int column) {
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
    if (provider->required[a] & IX_COLUMN_BIT(column)) return a + 1;
  }
  return 0;
}

/* The operators xBestIndex sends to the API for this column, or NULL when SQLite alone filters.
 */
static const char *schema_operators(const ix_provider *provider, int column) {
  unsigned flags = provider->columns[column].flags;
  /* From the columns themselves: the descriptors listed here are the unresolved ones, whose
   * derived range_column is not filled in (it read 0, the first column, for tables without one). */
  if (column == descriptor_range_column(provider)) return "=, <, <=, >, >=";
  if (!(flags & IX_COL_EQ)) return NULL;
  int alternative = schema_alternative(provider, column);
  uint64_t mask = alternative ? provider->required[alternative - 1] : 0;
  /* A key of one column takes a whole IN list in one xFilter (SQLite 3.38+). */
  if (mask == IX_COLUMN_BIT(column) && sqlite3_libversion_number() >= 3038000) return "=, IN";
  /* An optional filter the API takes one value of: SQLite sends an IN list value by value. */
  if (!alternative && (flags & IX_COL_IN_EACH)) return "=, IN";
  return "=";
}

/* Range bounds are always re-checked (the API's dates are coarser than the column); an equality
 * only where the vendor does not apply it exactly. */
static int schema_rechecked(const ix_provider *provider, int column) {
  return column == descriptor_range_column(provider) ||
         !(provider->columns[column].flags & IX_COL_EXACT);
}

/* Who filters on the column, in words: the API (exactly), the API and SQLite again, or SQLite
 * alone (nothing about it is sent: every row is fetched and SQLite compares). */
static const char *schema_filtered_by(const ix_provider *provider, int column) {
  if (!schema_operators(provider, column)) return "SQLite";
  return schema_rechecked(provider, column) ? "the API, then SQLite" : "the API";
}

static int schema_add_vendor_field(schema_cursor *cursor, const ix_column_def *def) {
  if (def->kind == IX_VALUE_RAW) return schema_add_copy(cursor, "(the whole object)");
  if (!def->keys[0]) return schema_add_text(cursor, NULL);
  sqlite3_str *text = sqlite3_str_new(NULL);
  for (int k = 0; k < 3 && def->keys[k]; k++) {
    sqlite3_str_appendf(text, "%s%s", k ? ", " : "", def->keys[k]);
  }
  char *joined = sqlite3_str_finish(text);
  return joined ? schema_add_text(cursor, joined) : SQLITE_NOMEM;
}

static int schema_fill_columns(schema_cursor *cursor, const ix_provider *const *providers,
                               int count) {
  int rc = SQLITE_OK;
  for (int p = 0; rc == SQLITE_OK && p < count; p++) {
    const ix_provider *provider = providers[p];
    for (int c = 0; rc == SQLITE_OK && c < provider->column_count; c++) {
      const ix_column_def *def = &provider->columns[c];
      const char *operators = schema_operators(provider, c);
      int alternative = schema_alternative(provider, c);
      if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->table);
      if (rc == SQLITE_OK) rc = schema_add_int(cursor, c);
      if (rc == SQLITE_OK) rc = schema_add_copy(cursor, def->name);
      if (rc == SQLITE_OK) rc = schema_add_copy(cursor, def->decl_type);
      if (rc == SQLITE_OK) rc = schema_add_int(cursor, (def->flags & IX_COL_HIDDEN) != 0);
      if (rc == SQLITE_OK) rc = schema_add_int(cursor, alternative != 0);
      if (rc == SQLITE_OK) {
        rc = alternative ? schema_add_int(cursor, alternative) : schema_add_text(cursor, NULL);
      }
      if (rc == SQLITE_OK) rc = schema_add_copy(cursor, operators);
      if (rc == SQLITE_OK) {
        rc = operators ? schema_add_int(cursor, schema_rechecked(provider, c))
                       : schema_add_text(cursor, NULL);
      }
      if (rc == SQLITE_OK) rc = schema_add_vendor_field(cursor, def);
      if (rc == SQLITE_OK) rc = schema_add_copy(cursor, def->description);
      if (rc == SQLITE_OK) rc = schema_add_copy(cursor, schema_filtered_by(provider, c));
    }
  }
  return rc;
}

/* ---- interactions_tables ---- */

/* The vendor's own default for a setting, else the common one (config.c looks vendors up first). */
static const char *schema_setting_default(const ix_provider *provider, const char *key) {
  for (const ix_setting_def *def = provider->settings; def && def->key; def++) {
    if (strcmp(def->key, key) == 0) return def->default_value;
  }
  for (const ix_setting_def *def = common_settings; def->key; def++) {
    if (strcmp(def->key, key) == 0) return def->default_value;
  }
  return NULL;
}

/* The signature users call the table with: its argument columns in order. */
static int schema_add_arguments(schema_cursor *cursor, const ix_provider *provider) {
  sqlite3_str *text = sqlite3_str_new(NULL);
  sqlite3_str_appendf(text, "%s(", provider->table);
  int first = 1;
  for (int c = 0; c < provider->column_count; c++) {
    if (!(provider->columns[c].flags & IX_COL_HIDDEN)) continue;
    sqlite3_str_appendf(text, "%s%s", first ? "" : ", ", provider->columns[c].name);
    first = 0;
  }
  sqlite3_str_appendall(text, ")");
  char *signature = sqlite3_str_finish(text);
  return signature ? schema_add_text(cursor, signature) : SQLITE_NOMEM;
}

static int schema_fill_tables(schema_cursor *cursor, const ix_provider *const *providers,
                              int count) {
  int rc = SQLITE_OK;
  for (int p = 0; rc == SQLITE_OK && p < count; p++) {
    const ix_provider *provider = providers[p];
    if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->table);
    if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->vendor);
    if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->endpoint);
    if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->paging);
    if (rc == SQLITE_OK) {
      rc = provider->max_page_size ? schema_add_int(cursor, provider->max_page_size)
                                   : schema_add_text(cursor, NULL);
    }
    if (rc == SQLITE_OK)
      rc = schema_add_copy(cursor, schema_setting_default(provider, "rate_limit"));
    if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->default_base_url);
    if (rc == SQLITE_OK) rc = schema_add_arguments(cursor, provider);
    if (rc == SQLITE_OK) rc = schema_add_copy(cursor, provider->docs_url);
  }
  return rc;
}

/* ---- The tables ---- */

static int schema_fill(snapshot *rows, void *aux) {
  const schema_table *table = aux;
  schema_cursor cursor = {rows, table->table.column_count, 0};
  return table->fill(&cursor, table->providers, table->provider_count);
}

int schema_register(sqlite3 *db, const ix_provider *const *providers, int provider_count) {
  /* The providers table is static, so these can be too: one per process is enough. */
  static schema_table tables[] = {
      {"interactions_columns",
       {"CREATE TABLE x(table_name TEXT, position INTEGER, column_name TEXT, type TEXT, hidden "
        "INTEGER, required INTEGER, alternative INTEGER, operators TEXT, rechecked INTEGER, "
        "vendor_field TEXT, description TEXT, filtered_by TEXT)",
        12, schema_fill},
       schema_fill_columns,
       NULL,
       0},
      {"interactions_tables",
       {"CREATE TABLE x(table_name TEXT, vendor TEXT, endpoint TEXT, paging TEXT, page_size "
        "INTEGER, rate_limit TEXT, base_url TEXT, arguments TEXT, docs_url TEXT)",
        9, schema_fill},
       schema_fill_tables,
       NULL,
       0},
  };
  int rc = SQLITE_OK;
  for (size_t t = 0; rc == SQLITE_OK && t < sizeof(tables) / sizeof(*tables); t++) {
    tables[t].providers = providers;
    tables[t].provider_count = provider_count;
    rc = snapshot_register(db, tables[t].name, &tables[t].table, &tables[t]);
  }
  return rc;
}
