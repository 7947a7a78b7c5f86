/*
 * Reading a join's SQL for the IN-form hint (progress.c): which column of which other table the
 * virtual table's key was compared with. SQLite tells a virtual table the value of the other side,
 * never where it came from, so the statement's own text (sqlite3_sql) is read: a qualified
 * equality such as `ON oi.customer_id = crm.optimove_id` and the FROM clause's aliases. Anything
 * less plain (an expression, a subquery's column, USING) finds nothing, and the hint says "...".
 *
 * Pure C, no allocation beyond the caller's struct: unit-tested in tests/unit/test_joinsql.c.
 */
#ifndef IX_JOINSQL_H
#define IX_JOINSQL_H

#define JOINSQL_NAME_MAX 128

typedef struct joinsql_match {
  char column[JOINSQL_NAME_MAX]; /* the other side's column; "" when not found */
  char table[JOINSQL_NAME_MAX];  /* its table, as the FROM clause names it; "" when not found */
} joinsql_match;

/* In sql (may be NULL), the equality that compares key (a column of table, the virtual table,
 * under its name or an alias) with a column of another table. Names compare case-insensitively. */
void joinsql_find(const char *sql, const char *table, const char *key, joinsql_match *match);

#endif
