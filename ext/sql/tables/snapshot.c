/*
 * The helper tables' snapshot cursor: see snapshot.h.
 */
#include "sql/tables/snapshot.h"

#include "sql/tables/helpertable.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

typedef struct snapshot_cell {
  int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT or SQLITE_TEXT */
  sqlite3_int64 integer;
  double real;
  char *text;
} snapshot_cell;

struct snapshot {
  int columns;
  snapshot_cell *cells; /* count rows of columns cells */
  sqlite3_int64 *rowids;
  int count;
  int capacity;
  int out_of_memory; /* a copy failed: the scan fails */
};

typedef struct snapshot_vtab {
  sqlite3_vtab base;
  const snapshot_table *table;
  void *aux;
} snapshot_vtab;

typedef struct snapshot_cursor {
  sqlite3_vtab_cursor base;
  snapshot rows;
  int index;
} snapshot_cursor;

typedef struct snapshot_module {
  const snapshot_table *table;
  void *aux;
} snapshot_module;

static void snapshot_clear(snapshot *rows) {
  for (int i = 0; i < rows->count * rows->columns; i++) sqlite3_free(rows->cells[i].text);
  sqlite3_free(rows->cells);
  sqlite3_free(rows->rowids);
  int columns = rows->columns;
  memset(rows, 0, sizeof(*rows));
  rows->columns = columns;
}

int snapshot_row(snapshot *rows, sqlite3_int64 rowid) {
  if (rows->count == rows->capacity) {
    int capacity = rows->capacity ? rows->capacity * 2 : 32;
    snapshot_cell *cells = sqlite3_realloc64(
        rows->cells, (sqlite3_uint64)capacity * (sqlite3_uint64)rows->columns * sizeof(*cells));
    if (!cells) return SQLITE_NOMEM;
    rows->cells = cells;
    sqlite3_int64 *rowids =
        sqlite3_realloc64(rows->rowids, (sqlite3_uint64)capacity * sizeof(*rowids));
    if (!rowids) return SQLITE_NOMEM;
    rows->rowids = rowids;
    rows->capacity = capacity;
  }
  memset(&rows->cells[(size_t)rows->count * (size_t)rows->columns], 0,
         sizeof(snapshot_cell) * (size_t)rows->columns);
  rows->rowids[rows->count] = rowid ? rowid : rows->count + 1;
  rows->count++;
  return SQLITE_OK;
}

static snapshot_cell *snapshot_cell_at(snapshot *rows, int column) {
  if (rows->count == 0 || column < 0 || column >= rows->columns) return NULL;
  return &rows->cells[(size_t)(rows->count - 1) * (size_t)rows->columns + (size_t)column];
}

void snapshot_int(snapshot *rows, int column, sqlite3_int64 value) {
  snapshot_cell *cell = snapshot_cell_at(rows, column);
  if (!cell) return;
  cell->type = SQLITE_INTEGER;
  cell->integer = value;
}

void snapshot_real(snapshot *rows, int column, double value) {
  snapshot_cell *cell = snapshot_cell_at(rows, column);
  if (!cell) return;
  cell->type = SQLITE_FLOAT;
  cell->real = value;
}

void snapshot_text(snapshot *rows, int column, const char *text) {
  snapshot_cell *cell = snapshot_cell_at(rows, column);
  if (!cell || !text) return;
  cell->text = sqlite3_mprintf("%s", text);
  if (!cell->text) {
    rows->out_of_memory = 1;
    return;
  }
  cell->type = SQLITE_TEXT;
}

static int snapshot_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                            sqlite3_vtab **vtab_out, char **error_out) {
  (void)argc, (void)argv, (void)error_out;
  const snapshot_module *module = aux;
  int rc = helpertable_connect(db, module->table->schema, sizeof(snapshot_vtab), vtab_out);
  if (rc == SQLITE_OK) {
    snapshot_vtab *vtab = (snapshot_vtab *)*vtab_out;
    vtab->table = module->table;
    vtab->aux = module->aux;
  }
  return rc;
}

static int snapshot_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  (void)vtab;
  info->estimatedCost = 1000;
  info->estimatedRows = 1000;
  return SQLITE_OK;
}

static int snapshot_open(sqlite3_vtab *base, sqlite3_vtab_cursor **cursor_out) {
  snapshot_cursor *cursor = sqlite3_malloc64(sizeof(*cursor));
  if (!cursor) return SQLITE_NOMEM;
  memset(cursor, 0, sizeof(*cursor));
  cursor->rows.columns = ((snapshot_vtab *)base)->table->column_count;
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

static int snapshot_close(sqlite3_vtab_cursor *base) {
  snapshot_clear(&((snapshot_cursor *)base)->rows);
  sqlite3_free(base);
  return SQLITE_OK;
}

static int snapshot_filter(sqlite3_vtab_cursor *base, int plan, const char *plan_text, int argc,
                           sqlite3_value **argv) {
  (void)plan, (void)plan_text, (void)argc, (void)argv;
  snapshot_cursor *cursor = (snapshot_cursor *)base;
  const snapshot_vtab *vtab = (const snapshot_vtab *)base->pVtab;
  snapshot_clear(&cursor->rows);
  cursor->index = 0;
  int rc = vtab->table->fill(&cursor->rows, vtab->aux);
  if (rc == SQLITE_OK && cursor->rows.out_of_memory) rc = SQLITE_NOMEM;
  return rc;
}

static int snapshot_next(sqlite3_vtab_cursor *base) {
  ((snapshot_cursor *)base)->index++;
  return SQLITE_OK;
}

static int snapshot_eof(sqlite3_vtab_cursor *base) {
  const snapshot_cursor *cursor = (const snapshot_cursor *)base;
  return cursor->index >= cursor->rows.count;
}

static int snapshot_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  const snapshot_cursor *cursor = (const snapshot_cursor *)base;
  const snapshot_cell *cell =
      &cursor->rows.cells[(size_t)cursor->index * (size_t)cursor->rows.columns + (size_t)column];
  switch (cell->type) {
    case SQLITE_INTEGER: sqlite3_result_int64(ctx, cell->integer); break;
    case SQLITE_FLOAT: sqlite3_result_double(ctx, cell->real); break;
    case SQLITE_TEXT: sqlite3_result_text(ctx, cell->text, -1, SQLITE_TRANSIENT); break;
    default: break;
  }
  return SQLITE_OK;
}

static int snapshot_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  const snapshot_cursor *cursor = (const snapshot_cursor *)base;
  *rowid = cursor->rows.rowids[cursor->index];
  return SQLITE_OK;
}

static const sqlite3_module snapshot_sqlite_module = {
    /* iVersion    */ 2,
    /* xCreate     */ NULL, /* eponymous only */
    /* xConnect    */ snapshot_connect,
    /* xBestIndex  */ snapshot_best_index,
    /* xDisconnect */ helpertable_disconnect,
    /* xDestroy    */ helpertable_disconnect,
    /* xOpen       */ snapshot_open,
    /* xClose      */ snapshot_close,
    /* xFilter     */ snapshot_filter,
    /* xNext       */ snapshot_next,
    /* xEof        */ snapshot_eof,
    /* xColumn     */ snapshot_column,
    /* xRowid      */ snapshot_rowid,
    /* xUpdate     */ NULL,
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

int snapshot_register(sqlite3 *db, const char *name, const snapshot_table *table, void *aux) {
  snapshot_module *module = sqlite3_malloc64(sizeof(*module));
  if (!module) return SQLITE_NOMEM;
  module->table = table;
  module->aux = aux;
  return sqlite3_create_module_v2(db, name, &snapshot_sqlite_module, module, sqlite3_free);
}
