/* The extension's own read-only tables: see helpertable.h. */
#include "sql/tables/helpertable.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

int helpertable_connect(sqlite3 *db, const char *schema, size_t size, sqlite3_vtab **vtab_out) {
  int rc = sqlite3_declare_vtab(db, schema);
  if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab *vtab = sqlite3_malloc64(size);
  if (!vtab) return SQLITE_NOMEM;
  memset(vtab, 0, size);
  *vtab_out = vtab;
  return SQLITE_OK;
}

int helpertable_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}
