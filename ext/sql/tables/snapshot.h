/*
 * A read-only table whose rows are a snapshot taken when its scan starts (xFilter): the one
 * cursor the extension's helper tables share. A table is its schema and a fill function that adds
 * rows; the helper does Open, Close, Filter, Next, Eof, Column and Rowid, and marks the table
 * SQLITE_VTAB_DIRECTONLY like every table of ours (helpertable.h).
 */
#ifndef IX_SNAPSHOT_H
#define IX_SNAPSHOT_H

#include <sqlite3ext.h>

typedef struct snapshot snapshot;

typedef struct snapshot_table {
  const char *schema; /* "CREATE TABLE x(...)" */
  int column_count;
  /* Adds the rows (snapshot_row, then its cells); returns SQLITE_OK or an error. aux is the
   * registration's. */
  int (*fill)(snapshot *rows, void *aux);
} snapshot_table;

/* Registers table under name (eponymous only). aux is handed to fill; not freed. */
int snapshot_register(sqlite3 *db, const char *name, const snapshot_table *table, void *aux);

/* Starts a row (its rowid: 0 = its position, from 1); its cells are NULL until set. */
int snapshot_row(snapshot *rows, sqlite3_int64 rowid);
/* Sets a cell of the row started last. Text is copied; NULL text is SQL NULL. */
void snapshot_int(snapshot *rows, int column, sqlite3_int64 value);
void snapshot_real(snapshot *rows, int column, double value);
void snapshot_text(snapshot *rows, int column, const char *text);

#endif
