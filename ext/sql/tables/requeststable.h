/*
 * interactions_requests: the request log (observe/requestlog.h) as a snapshot table.
 *
 *     SELECT vendor, status, elapsed_ms, rows, from_cache FROM interactions_requests;
 */
#ifndef IX_REQUESTSTABLE_H
#define IX_REQUESTSTABLE_H

#include <sqlite3ext.h>

int requeststable_register(sqlite3 *db);

#endif
