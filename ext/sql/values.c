/*
 * xFilter's values into the plan's args: see values.h.
 */
#include "sql/values.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

/* Narrows the collapsed range with one text bound: the tighter bound wins, exclusive over
 * inclusive. */
static int values_add_bound(ix_args *args, int lower, int inclusive, const char *value,
                            size_t length) {
  char **slot = lower ? &args->range_low : &args->range_high;
  int *slot_inclusive = lower ? &args->range_low_inclusive : &args->range_high_inclusive;
  char *copy = sqlite3_mprintf("%.*s", (int)length, value);
  if (!copy) return SQLITE_NOMEM;
  int cmp = *slot ? strcmp(copy, *slot) : (lower ? 1 : -1);
  if ((lower ? cmp > 0 : cmp < 0) || (cmp == 0 && !inclusive)) {
    sqlite3_free(*slot);
    *slot = copy;
    *slot_inclusive = inclusive;
  } else {
    sqlite3_free(copy);
  }
  return SQLITE_OK;
}

static const char *values_op_sql(plan_term_op op) {
  switch (op) {
    case IX_OP_GT: return ">";
    case IX_OP_GE: return ">=";
    case IX_OP_LT: return "<";
    case IX_OP_LE: return "<=";
    default: return "=";
  }
}

/* A bound as the user wrote it: "occurred_at >= '2018/08/01'", "occurred_at >= 20250601". */
static char *values_bound_as_written(const char *column, plan_term_op op, sqlite3_value *value) {
  const char *text = (const char *)sqlite3_value_text(value);
  if (sqlite3_value_type(value) == SQLITE_TEXT) {
    return sqlite3_mprintf("%s %s '%q'", column, values_op_sql(op), text ? text : "");
  }
  return sqlite3_mprintf("%s %s %s", column, values_op_sql(op), text ? text : "NULL");
}

/* Records a lower bound that is no start date (ix_args.range_low_unusable): a number, or text
 * that sorts before every date. The bound is not sent; SQLite still checks it on every row. */
static int values_range_low_unusable(ix_args *args, const char *column, plan_term_op op,
                                     sqlite3_value *value) {
  if (args->range_low_unusable) return SQLITE_OK; /* the first one is quoted */
  args->range_low_unusable = values_bound_as_written(column, op, value);
  return args->range_low_unusable ? SQLITE_OK : SQLITE_NOMEM;
}

/* The lower side of a text bound (folded: as BINARY compares it; exact: it starts with a date). */
static int values_range_add_lower(ix_args *args, const char *column, plan_term_op op,
                                  sqlite3_value *value, const char *folded, size_t folded_length,
                                  int exact, int *no_rows) {
  char day[IX_DATE_LENGTH + 1];
  if (exact && !(folded_length == IX_DATE_LENGTH && plan_is_first_day(folded))) {
    return values_add_bound(args, 1, op != IX_OP_GT, folded, folded_length);
  }
  if (plan_date_lower(folded, folded_length, day)) {
    /* Every date passes a bound that sorts before 0000-01-01: no lower bound at all. */
    return plan_is_first_day(day) ? values_range_low_unusable(args, column, op, value)
                                  : values_add_bound(args, 1, 1, day, IX_DATE_LENGTH);
  }
  *no_rows = 1;
  return SQLITE_OK;
}

/* Adds one bound on the range column (op as in the plan, value as SQLite passed it) to the args,
 * as text that starts with a date, which is all providers read: a bound that does not is replaced
 * by the days it can match ('2025-04' by >= '2025-04-01', < '2025-04-0:' by < '2025-04-10'),
 * never narrower than SQLite's own comparison, which still re-checks every row. Sets *no_rows when
 * no row can pass. A bound that is not text is not sent at all: compared with a number, a TEXT
 * column's order depends on affinities only SQLite knows. A BLOB sorts after every text: as a
 * lower bound nothing passes, as an upper bound everything does. */
int values_range_add(ix_args *args, const char *column, plan_term_op op, plan_collation collation,
                     sqlite3_value *value, int *no_rows, char **unformatted) {
  int type = sqlite3_value_type(value);
  int lower = op == IX_OP_GT || op == IX_OP_GE || op == IX_OP_EQ;
  int upper = op == IX_OP_LT || op == IX_OP_LE || op == IX_OP_EQ;
  if (type == SQLITE_NULL || (type == SQLITE_BLOB && lower)) {
    *no_rows = 1;
    return SQLITE_OK;
  }
  const char *text = (const char *)sqlite3_value_text(value);
  if (type != SQLITE_TEXT || !text) {
    return lower ? values_range_low_unusable(args, column, op, value) : SQLITE_OK;
  }
  if (unformatted && !plan_bound_fits_format(text, (size_t)sqlite3_value_bytes(value))) {
    *unformatted = values_bound_as_written(column, op, value);
    if (!*unformatted) return SQLITE_NOMEM;
  }
  size_t length = (size_t)sqlite3_value_bytes(value);
  char folded[256];
  if (length > sizeof(folded) - 1) length = sizeof(folded) - 1; /* still wider: a shorter bound */
  size_t folded_length = 0;
  if (!plan_fold_bound(collation, text, length, folded, &folded_length)) return SQLITE_OK;
  folded[folded_length] = '\0';
  int exact = plan_starts_with_date(folded, folded_length) &&
              strlen(folded) == folded_length; /* a NUL would cut the text short */
  char day[IX_DATE_LENGTH + 1];
  int rc =
      lower ? values_range_add_lower(args, column, op, value, folded, folded_length, exact, no_rows)
            : SQLITE_OK;
  if (rc != SQLITE_OK || !upper) return rc;
  if (exact) {
    rc = values_add_bound(args, 0, op != IX_OP_LT, folded, folded_length);
  } else if (!plan_date_upper(folded, folded_length, op != IX_OP_LT, day)) {
    *no_rows = 1;
  } else if (plan_next_day(day)) {
    rc = values_add_bound(args, 0, 0, day, IX_DATE_LENGTH); /* before the next day */
  }
  return rc;
}

/* The value an equality sends and echoes, or NULL with *problem set when it can equal no vendor
 * text, so no request is made: NULL (never equal), a BLOB (never equal to text), a NUL inside the
 * text (no vendor id holds one). A REAL becomes text the way a column of numeric affinity equates
 * it (plan_real_key_text); SQLite's re-check settles the rest (plan_can_omit). *made is set when
 * the returned value is new (the caller frees it). */
sqlite3_value *values_equality(sqlite3 *db, sqlite3_value *value, const char **problem, int *made) {
  *made = 0;
  *problem = NULL;
  switch (sqlite3_value_type(value)) {
    case SQLITE_NULL: *problem = "is NULL"; return NULL;
    case SQLITE_BLOB: *problem = "is a blob, which equals no text"; return NULL;
    case SQLITE_TEXT: {
      const char *text = (const char *)sqlite3_value_text(value);
      if (!text || strlen(text) != (size_t)sqlite3_value_bytes(value)) {
        *problem = "contains a NUL character";
        return NULL;
      }
      return value;
    }
    case SQLITE_FLOAT: {
      char digits[64];
      if (!plan_real_key_text(sqlite3_value_double(value), digits, sizeof(digits))) {
        *problem = "is not a finite number";
        return NULL;
      }
      /* An sqlite3_value of text can only be made by SQLite itself. */
      sqlite3_stmt *statement = NULL;
      sqlite3_value *copy = NULL;
      if (sqlite3_prepare_v2(db, "SELECT ?1", -1, &statement, NULL) == SQLITE_OK &&
          sqlite3_bind_text(statement, 1, digits, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
          sqlite3_step(statement) == SQLITE_ROW) {
        copy = sqlite3_value_dup(sqlite3_column_value(statement, 0));
      }
      sqlite3_finalize(statement);
      *made = copy != NULL;
      if (!copy) *problem = "could not be converted: out of memory";
      return copy;
    }
    default: return value; /* an INTEGER's text is its digits */
  }
}

/* The key text's problem (plan_key_problem) when column is part of the plan's key, else NULL. */
const char *values_key_problem(uint64_t key, int column, sqlite3_value *value) {
  if (!(key & IX_COLUMN_BIT(column))) return NULL;
  const char *text = (const char *)sqlite3_value_text(value);
  return plan_key_problem(text ? text : "", (size_t)sqlite3_value_bytes(value));
}
