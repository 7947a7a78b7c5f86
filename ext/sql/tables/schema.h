/*
 * The schema in SQL: interactions_columns (one row per column of every vendor table) and
 * interactions_tables (one row per table: vendor, endpoint, paging, limits), both generated from
 * the provider descriptors.
 */
#ifndef IX_SCHEMA_H
#define IX_SCHEMA_H

#include "provider/provider.h"

/* Registers interactions_columns and interactions_tables for these providers. */
int schema_register(sqlite3 *db, const ix_provider *const *providers, int provider_count);

#endif
