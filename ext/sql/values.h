/*
 * The values xFilter is given, made into what the plan's args hold: the value rules of plan.h
 * applied to sqlite3_values (bounds on the range column collapsed to dates, equalities made the
 * text a vendor compares, keys that can name no customer found).
 */
#ifndef IX_VALUES_H
#define IX_VALUES_H

#include "sql/plan.h"

/* Adds one bound on the range column (named column; op as in the plan, value as SQLite passed it)
 * to args; sets *no_rows when no row can pass. A lower bound that is no start date (a number, text
 * every date passes) is not sent and lands in args->range_low_unusable as written; when
 * unformatted is not NULL and the bound's text is not in the column's format, *unformatted gets
 * the bound as written (sqlite3_malloc'd), for the statement's note. */
int values_range_add(ix_args *args, const char *column, plan_term_op op, plan_collation collation,
                     sqlite3_value *value, int *no_rows, char **unformatted);
/* The value an equality sends and echoes, or NULL with *problem set when it can equal no vendor
 * text; *made when the returned value is new (the caller frees it). */
sqlite3_value *values_equality(sqlite3 *db, sqlite3_value *value, const char **problem, int *made);
/* The key text's problem (plan_key_problem) when column is part of the plan's key, else NULL. */
const char *values_key_problem(uint64_t key, int column, sqlite3_value *value);

#endif
