/*
 * What the extension's own read-only tables share (interactions_requests, interactions_settings,
 * interactions_cache, interactions_columns, interactions_tables): declaring the table and the rule
 * that, like every vendor table, none can be used from a view or trigger stored in a database
 * file (docs/sqlite-virtual-tables.md): their rows name customers and settings.
 */
#ifndef IX_HELPERTABLE_H
#define IX_HELPERTABLE_H

#include <sqlite3ext.h>
#include <stddef.h>

/* Declares schema ("CREATE TABLE x(...)"), marks the table SQLITE_VTAB_DIRECTONLY and allocates
 * its vtab, size bytes zeroed (a struct whose first member is sqlite3_vtab). */
int helpertable_connect(sqlite3 *db, const char *schema, size_t size, sqlite3_vtab **vtab_out);

/* Frees a vtab made by helpertable_connect: xDisconnect and xDestroy. */
int helpertable_disconnect(sqlite3_vtab *vtab);

#endif
