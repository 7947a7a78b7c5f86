/*
 * The descriptor check: a vendor's ix_provider is data the engine trusts, so it is checked once,
 * when the extension loads, and a mistake in it fails `.load` with a message naming the table and
 * the field instead of surfacing later as a wrong plan or a NULL call (docs/adding-a-vendor.md).
 */
#ifndef IX_DESCRIPTOR_H
#define IX_DESCRIPTOR_H

#include "provider/provider.h"

/* SQLITE_OK, or SQLITE_ERROR with *error_out (sqlite3_malloc'd) saying
 * "error creating module <table>: <field>: <problem>". */
int descriptor_check(const ix_provider *provider, char **error_out);

/* The column flagged IX_COL_RANGE, or -1 when none is. */
int descriptor_range_column(const ix_provider *provider);

/* Copies a checked descriptor into *resolved with what is derived filled in (range_column from
 * the IX_COL_RANGE flag) and returns resolved: the engine reads only the copy. */
const ix_provider *descriptor_resolve(const ix_provider *provider, ix_provider *resolved);

#endif
