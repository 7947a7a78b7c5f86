/*
 * interactions_cache: what the response cache holds, both levels (a snapshot table).
 */
#ifndef IX_CACHETABLE_H
#define IX_CACHETABLE_H

#include <sqlite3ext.h>

int cachetable_register(sqlite3 *db);

#endif
