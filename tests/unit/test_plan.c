/*
 * Unit tests for ext/sql/plan.c: the planning steps of xBestIndex (which key, decline or
 * SQLITE_CONSTRAINT, idxStr, omit, LIMIT) on a made-up provider, and the value rules of xFilter
 * (keys that name no customer, REAL keys, date bounds, rowids).
 */
#include "sql/plan.h"
#include "sql/rowid.h"

#include <string.h>

#include "tap.h"

/* A provider shaped like Capillary: an identifier pair, or one of two keyed columns; an optional
 * filter; an argument; and a range column. */
enum { T_NAME, T_VALUE, T_MOBILE, T_EMAIL, T_CHANNEL, T_NETWORK, T_AT, T_STATUS, T_COUNT };

static const ix_column_def test_columns[T_COUNT] = {
    [T_NAME] = {"identifier_name",
                "TEXT",
                IX_COL_HIDDEN | IX_COL_EQ | IX_COL_EXACT,
                IX_VALUE_NONE,
                {NULL}},
    [T_VALUE] = {"identifier_value",
                 "TEXT",
                 IX_COL_HIDDEN | IX_COL_EQ | IX_COL_EXACT,
                 IX_VALUE_NONE,
                 {NULL}},
    [T_MOBILE] = {"mobile", "TEXT", IX_COL_EQ | IX_COL_EXACT, IX_VALUE_CUSTOM, {NULL}},
    /* Like Capillary's email: the vendor's own value, re-checked, the same on all the customer's
     * rows. */
    [T_EMAIL] = {"email", "TEXT", IX_COL_EQ | IX_COL_PER_CUSTOMER, IX_VALUE_CUSTOM, {NULL}},
    [T_CHANNEL] = {"channel", "TEXT", IX_COL_EQ, IX_VALUE_CUSTOM, {NULL}},
    [T_NETWORK] =
        {"network", "TEXT", IX_COL_HIDDEN | IX_COL_EQ | IX_COL_EXACT, IX_VALUE_NONE, {NULL}},
    [T_AT] = {"occurred_at", "TEXT", IX_COL_RANGE, IX_VALUE_TIME, {NULL}},
    [T_STATUS] = {"status", "TEXT", 0, IX_VALUE_TEXT, {NULL}},
};

static const ix_provider test_provider = {
    .table = "t",
    .vendor = "test",
    .columns = test_columns,
    .column_count = T_COUNT,
    .range_column = T_AT,
    .required = {IX_COLUMN_BIT(T_NAME) | IX_COLUMN_BIT(T_VALUE), IX_COLUMN_BIT(T_MOBILE),
                 IX_COLUMN_BIT(T_EMAIL), 0},
    .max_page_size = 100,
};

static plan_constraint eq(int column, int literal_type) {
  plan_constraint c = {column, SQLITE_INDEX_CONSTRAINT_EQ, 1, IX_COLLATE_BINARY, literal_type, 0};
  return c;
}

static plan_constraint op(int column, int which) {
  plan_constraint c = {column, which, 1, IX_COLLATE_BINARY, SQLITE_TEXT, 0};
  return c;
}

static plan_constraint limit(void) {
  plan_constraint c = {-1, SQLITE_INDEX_CONSTRAINT_LIMIT, 1, IX_COLLATE_BINARY, 0, 0};
  return c;
}

/* Builds a plan and returns its idxStr ("" when none), with outcome and usage for inspection. */
static plan_choice test_plan;
static plan_usage test_usage[16];
static const char *build(const plan_constraint *constraints, int count, int order_by) {
  plan_build(&test_provider, constraints, count, order_by, 1, test_usage, &test_plan);
  return test_plan.idx_str;
}

static void test_choose_key(void) {
  int keys[IX_MAX_COLUMNS];
  plan_outcome outcome;
  plan_constraint only_channel[] = {eq(T_CHANNEL, SQLITE_TEXT)};
  is_int(plan_choose_key(&test_provider, only_channel, 1, keys, &outcome), -1,
         "an OR branch with no key: no alternative");
  is_int(outcome, IX_PLAN_DECLINE, "... and the probe is declined, not failed");
  is_int(plan_choose_key(&test_provider, NULL, 0, keys, &outcome), -1,
         "the probe with no constraint at all");
  is_int(outcome, IX_PLAN_DECLINE, "... is declined too");

  plan_constraint join[] = {eq(T_MOBILE, 0)};
  join[0].usable = 0;
  plan_choose_key(&test_provider, join, 1, keys, &outcome);
  is_int(outcome, IX_PLAN_CONSTRAINT, "a key not usable in this join order: SQLITE_CONSTRAINT");

  plan_constraint pair[] = {eq(T_VALUE, SQLITE_TEXT), eq(T_MOBILE, SQLITE_TEXT),
                            eq(T_NAME, SQLITE_TEXT)};
  is_int(plan_choose_key(&test_provider, pair, 3, keys, &outcome), 0,
         "the first alternative whose columns are all given wins");
  is_int(keys[T_NAME], 2, "the constraint used for each key column");

  plan_constraint is_null_and_eq[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_ISNULL),
                                      eq(T_EMAIL, SQLITE_TEXT)};
  is_int(plan_choose_key(&test_provider, is_null_and_eq, 2, keys, &outcome), 2,
         "email = wins over mobile IS NULL (a customer may have no mobile)");
  plan_constraint is_and_eq[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_IS),
                                 eq(T_EMAIL, SQLITE_TEXT)};
  is_int(plan_choose_key(&test_provider, is_and_eq, 2, keys, &outcome), 2,
         "email = wins over mobile IS ? (which may be NULL)");
  plan_constraint only_is[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_IS)};
  is_int(plan_choose_key(&test_provider, only_is, 1, keys, &outcome), 1,
         "mobile IS ? alone names the customer");
  plan_constraint only_is_null[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_ISNULL)};
  is_int(plan_choose_key(&test_provider, only_is_null, 1, keys, &outcome), 1,
         "mobile IS NULL alone is a plan (with no rows)");
}

static void test_build(void) {
  plan_constraint branch[] = {eq(T_CHANNEL, SQLITE_TEXT)};
  is_str(build(branch, 1, 0), "no customer key: fails in xFilter", "declined plan's idxStr");
  is_int(test_plan.idx_num, 0, "declined plan: idxNum 0");
  ok(test_plan.cost >= IX_PLAN_DECLINED_COST, "declined plan: a cost nothing else reaches");
  is_int(test_usage[0].argv_index, 0, "declined plan: nothing sent");

  plan_constraint literal[] = {eq(T_MOBILE, SQLITE_TEXT), eq(T_CHANNEL, SQLITE_TEXT), limit()};
  is_str(build(literal, 3, 0), "mobile=?,channel=? | re-checked by SQLite: channel",
         "a text literal key is omitted; the optional filter is re-checked; no LIMIT");
  is_int(test_plan.idx_num, 2, "idxNum is the alternative + 1");
  is_int(test_usage[0].omit, 1, "mobile = 'text': omitted");
  is_int(test_usage[1].omit, 0, "channel: re-checked");

  plan_constraint with_limit[] = {eq(T_MOBILE, SQLITE_TEXT), limit()};
  is_str(build(with_limit, 2, 0), "mobile=?,LIMIT", "LIMIT when everything else is omitted");
  is_str(build(with_limit, 2, 1), "mobile=?", "no LIMIT under an ORDER BY");
  plan_constraint per_customer[] = {eq(T_EMAIL, SQLITE_TEXT), limit()};
  is_str(build(per_customer, 2, 0), "email=?,LIMIT | re-checked by SQLite: email",
         "a key re-checked per customer (all rows or none) keeps LIMIT as the page size");
  plan_constraint per_customer_filter[] = {eq(T_EMAIL, SQLITE_TEXT), eq(T_CHANNEL, SQLITE_TEXT),
                                           limit()};
  is_str(build(per_customer_filter, 3, 0),
         "email=?,channel=? | re-checked by SQLite: email, channel",
         "... but not next to a filter SQLite re-checks row by row");

  plan_constraint joined[] = {eq(T_MOBILE, 0)};
  is_str(build(joined, 1, 0), "mobile=? | re-checked by SQLite: mobile",
         "a key from another table: its affinity is unknown, so SQLite re-checks");
  plan_constraint number[] = {eq(T_MOBILE, SQLITE_INTEGER)};
  is_str(build(number, 1, 0), "mobile=? | re-checked by SQLite: mobile",
         "a numeric literal: rhs_value cannot tell 447824371047.0 from 447824371047");
  plan_constraint nocase[] = {eq(T_EMAIL, SQLITE_TEXT)};
  nocase[0].collation = IX_COLLATE_NOCASE;
  is_str(build(nocase, 1, 0), "email=? COLLATE NOCASE | re-checked by SQLite: email",
         "a key under NOCASE is re-checked, its collation in the plan for xFilter");
  ok(!plan_key_collation_problem(IX_MATCH_NOCASE, IX_COLLATE_NOCASE, "A.B@X.ORG", 9),
     "NOCASE on a key the vendor matches without case: sent");
  is_str(plan_key_collation_problem(IX_MATCH_EXACT, IX_COLLATE_NOCASE, "0FD1E92A", 8),
         "letters in other case", "NOCASE on an exact key with letters: refused");
  ok(!plan_key_collation_problem(IX_MATCH_EXACT, IX_COLLATE_NOCASE, "779456", 6),
     "NOCASE on a value without letters is BINARY: sent");
  ok(!plan_key_collation_problem(IX_MATCH_PHONE, IX_COLLATE_RTRIM, "9199 ", 5),
     "a phone match serves RTRIM");
  is_str(plan_key_collation_problem(IX_MATCH_NOCASE, IX_COLLATE_RTRIM, "ab ", 3), "trailing spaces",
         "RTRIM with trailing spaces on a key matched as text: refused");
  ok(!plan_key_collation_problem(IX_MATCH_EXACT, IX_COLLATE_RTRIM, "ab", 2),
     "RTRIM without trailing spaces: sent");
  ok(plan_key_collation_problem(IX_MATCH_NOCASE, IX_COLLATE_OTHER, "1", 1) != NULL,
     "an application's collation: refused");
  ok(!plan_key_collation_problem(IX_MATCH_EXACT, IX_COLLATE_BINARY, "AB", 2), "BINARY: sent");
  ok(plan_bound_fits_format("2025-04", 7), "a prefix of the column's format fits");
  ok(plan_bound_fits_format("2025-04-01 10:00:00.123+00", 26), "what follows the format is free");
  ok(!plan_bound_fits_format("2018/08/01", 10), "'/' in a date does not fit");
  ok(!plan_bound_fits_format(" 2025-03-15", 11), "a leading space does not fit");
  ok(!plan_bound_fits_format("2025-03-15T10", 13), "'T' does not fit (the column writes a space)");
  ok(plan_is_first_day("0000-01-01") && !plan_is_first_day("0000-01-02"), "the first day");
  plan_constraint nocase_filter[] = {eq(T_MOBILE, SQLITE_TEXT), eq(T_CHANNEL, SQLITE_TEXT)};
  nocase_filter[1].collation = IX_COLLATE_NOCASE;
  is_str(build(nocase_filter, 2, 0), "mobile=?", "an optional filter under NOCASE is not sent");
  plan_constraint in_filter[] = {eq(T_MOBILE, SQLITE_TEXT), eq(T_CHANNEL, SQLITE_TEXT)};
  in_filter[1].can_be_in = 1;
  is_str(build(in_filter, 2, 0), "mobile=?",
         "an optional filter given as IN is left to SQLite (one request, not one per value)");
  plan_constraint in_key[] = {eq(T_MOBILE, 0)};
  in_key[0].can_be_in = 1;
  is_str(build(in_key, 1, 0), "mobile IN ? | re-checked by SQLite: mobile",
         "a key given as IN is taken whole");
  is_int(test_plan.in_constraint, 0, "... and xBestIndex asks sqlite3_vtab_in for it");

  plan_constraint is_value[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_IS)};
  is_str(build(is_value, 1, 0), "mobile IS ?", "mobile IS 'text'");
  plan_constraint is_null[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_ISNULL)};
  is_str(build(is_null, 1, 0), "mobile IS NULL", "mobile IS NULL: a term without a value");
  is_int(test_usage[0].argv_index, 1,
         "... which still takes an argv (SQLite counts an OR branch's plan only if it uses one)");
  is_int(test_usage[0].omit, 1, "... and is not re-checked");

  plan_constraint bounds[] = {eq(T_MOBILE, SQLITE_TEXT), op(T_AT, SQLITE_INDEX_CONSTRAINT_GE),
                              op(T_AT, SQLITE_INDEX_CONSTRAINT_LT)};
  bounds[2].collation = IX_COLLATE_NOCASE; /* what LIKE '2025-04%' adds */
  is_str(build(bounds, 3, 0),
         "mobile=?,occurred_at>=?,occurred_at<? COLLATE NOCASE | re-checked by SQLite: "
         "occurred_at",
         "bounds on the range column, with their collation");
  bounds[1].collation = IX_COLLATE_OTHER;
  is_str(build(bounds, 3, 0),
         "mobile=?,occurred_at<? COLLATE NOCASE | re-checked by SQLite: occurred_at",
         "a bound under an application's collation is not sent");
}

static void test_values(void) {
  is_str(plan_key_problem("", 0), "is empty", "empty key");
  is_str(plan_key_problem(".", 1), "is '.' or '..'", "'.'");
  is_str(plan_key_problem("..", 2), "is '.' or '..'", "'..'");
  ok(plan_key_problem("...", 3) == NULL, "'...' is a name");
  is_str(plan_key_problem("a\tb", 3), "contains a control character", "tab");
  is_str(plan_key_problem("a\0b", 3), "contains a NUL character", "NUL");
  char longest[IX_KEY_MAX_BYTES + 1];
  memset(longest, 'x', sizeof(longest));
  ok(plan_key_problem(longest, IX_KEY_MAX_BYTES) == NULL, "256 bytes is fine");
  is_str(plan_key_problem(longest, IX_KEY_MAX_BYTES + 1), "is longer than 256 bytes", "257 bytes");

  char text[64];
  ok(plan_real_key_text(447824371047.0, text, sizeof(text)), "integral REAL");
  is_str(text, "447824371047", "... as its digits");
  plan_real_key_text(-3.0, text, sizeof(text));
  is_str(text, "-3", "negative integral REAL");
  plan_real_key_text(0.5, text, sizeof(text));
  is_str(text, "0.5", "fraction as SQLite writes it");
  plan_real_key_text(1e300, text, sizeof(text));
  is_str(text, "1e+300", "beyond 64-bit integers: SQLite's 15 digits");
  ok(!plan_real_key_text(1.0 / 0.0, text, sizeof(text)), "infinity equals no text");
}

static void date_lower_is(const char *bound, const char *want, const char *name) {
  char day[IX_DATE_LENGTH + 1] = "";
  int found = plan_date_lower(bound, strlen(bound), day);
  is_str(found ? day : "none", want, "lower %s: %s", bound, name);
}

static void date_upper_is(const char *bound, int inclusive, const char *want, const char *name) {
  char day[IX_DATE_LENGTH + 1] = "";
  int found = plan_date_upper(bound, strlen(bound), inclusive, day);
  is_str(found ? day : "none", want, "upper %s%s: %s", inclusive ? "<= " : "< ", bound, name);
}

static void test_dates(void) {
  date_lower_is("2025-04-07", "2025-04-07", "a date is itself");
  date_lower_is("2025-04-07 12:00:00", "2025-04-07", "a time part keeps its day");
  date_lower_is("2025-04", "2025-04-01", "a month prefix (LIKE '2025-04%')");
  date_lower_is("2025", "2025-01-01", "a year");
  date_lower_is("2025-04-0", "2025-04-01", "GLOB '2025-04-0*'");
  date_lower_is("2025-02-30", "2025-03-01", "a day February lacks");
  date_lower_is("2025-13", "2026-01-01", "month 13");
  date_lower_is("", "0000-01-01", "the empty text bounds nothing");
  date_lower_is("zzz", "none", "no date is at or above letters");
  date_lower_is("9999-12-31 23", "9999-12-31", "the last day");

  date_upper_is("2025-05", 0, "2025-04-30", "before May");
  date_upper_is("2025-04-0:", 0, "2025-04-09", "what GLOB '2025-04-0*' adds");
  date_upper_is("2025-04-1", 0, "2025-04-09", "GLOB's other bound");
  date_upper_is("2025-03-01", 0, "2025-02-28", "< a bare date: the day before");
  date_upper_is("2025-03-01", 1, "2025-03-01", "<= a bare date: that day");
  date_upper_is("2025-03-01 00:00:00", 0, "2025-03-01", "a time part: the date-only row passes");
  date_upper_is("2024-02-30", 0, "2024-02-29", "a day February lacks, in a leap year");
  date_upper_is("0", 0, "none", "nothing is below '0'");
  date_upper_is("zzz", 0, "9999-12-31", "every date is below letters");

  char folded[32];
  size_t length = 0;
  ok(plan_fold_bound(IX_COLLATE_NOCASE, "2025-04-01T", 11, folded, &length) && length == 11 &&
         memcmp(folded, "2025-04-01t", 11) == 0,
     "NOCASE folds capitals");
  ok(plan_fold_bound(IX_COLLATE_RTRIM, "2025-04  ", 9, folded, &length) && length == 7,
     "RTRIM drops trailing spaces");
  ok(!plan_fold_bound(IX_COLLATE_OTHER, "2025", 4, folded, &length), "an unknown collation");

  ok(plan_starts_with_date("2025-04-01 10:00", 16), "starts with a date");
  ok(!plan_starts_with_date("2025-02-30", 10), "February 30 is no date");
  ok(!plan_starts_with_date("2025-04", 7), "a month is no date");
  char day[IX_DATE_LENGTH + 1] = "2024-02-28";
  ok(plan_next_day(day) && strcmp(day, "2024-02-29") == 0, "next day in a leap year");
  memcpy(day, "9999-12-31", sizeof(day));
  ok(!plan_next_day(day), "no day after 9999-12-31");
}

static void test_identity(void) {
  uint64_t a = rowid_add_identity(IX_IDENTITY_SEED, "{\"id\":1}", 8);
  uint64_t b = rowid_add_identity(IX_IDENTITY_SEED, "{\"id\":2}", 8);
  ok(a != b, "different rows, different identities");
  ok(rowid_for_identity(a, 0) == rowid_for_identity(a, 0), "the same row, the same rowid");
  ok(rowid_for_identity(a, 0) != rowid_for_identity(a, 1), "byte-identical rows told apart");
  ok(rowid_for_identity(a, 0) != rowid_for_identity(b, 0), "different rows, different rowids");
  int negative = 0;
  for (int i = 0; i < 1000; i++) negative |= rowid_for_identity((uint64_t)i * 7919u, i) < 0;
  ok(!negative, "rowids are never negative");
}

/* What plan_build writes, plan_read reads back: one term per argv, in argv order, each the
 * column, operator and collation of the constraint that argv came from. */
static void test_read(void) {
  plan_constraint mixed[] = {eq(T_NAME, SQLITE_TEXT), eq(T_VALUE, SQLITE_TEXT),
                             op(T_AT, SQLITE_INDEX_CONSTRAINT_GE),
                             op(T_AT, SQLITE_INDEX_CONSTRAINT_LT), limit()};
  mixed[3].collation = IX_COLLATE_NOCASE;
  const char *text = build(mixed, 5, 0);
  plan_term terms[8];
  int count = plan_read(&test_provider, text, terms, 8);
  int sent = 0, agrees = 1;
  for (int i = 0; i < 5; i++) {
    int argv = test_usage[i].argv_index;
    if (argv == 0) continue;
    sent++;
    const plan_term *term = argv <= count ? &terms[argv - 1] : NULL;
    if (!term) {
      agrees = 0;
    } else if (mixed[i].op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      agrees &= term->kind == IX_TERM_LIMIT;
    } else {
      plan_term_op want = mixed[i].op == SQLITE_INDEX_CONSTRAINT_GE   ? IX_OP_GE
                          : mixed[i].op == SQLITE_INDEX_CONSTRAINT_LT ? IX_OP_LT
                                                                      : IX_OP_EQ;
      agrees &= term->kind == IX_TERM_VALUE && term->column == mixed[i].column &&
                term->op == want && term->collation == mixed[i].collation;
    }
  }
  is_int(count, sent, "read back: one term per argv the plan sends (%s)", text);
  ok(agrees, "read back: each term is its constraint's column, operator and collation");

  plan_constraint in_key[] = {eq(T_MOBILE, 0)};
  in_key[0].can_be_in = 1;
  text = build(in_key, 1, 0);
  ok(plan_read(&test_provider, text, terms, 8) == 1 && terms[0].op == IX_OP_IN &&
         terms[0].column == T_MOBILE,
     "read back: an IN taken whole");
  plan_constraint is_null[] = {op(T_MOBILE, SQLITE_INDEX_CONSTRAINT_ISNULL)};
  text = build(is_null, 1, 0);
  ok(plan_read(&test_provider, text, terms, 8) == 1 && terms[0].op == IX_OP_IS_NULL,
     "read back: IS NULL");
  is_int(plan_read(&test_provider, "mobile=?,nosuch=?", terms, 8), -1,
         "a term naming no column is not a plan");
  is_int(plan_read(&test_provider, "mobile=?,channel=?", terms, 1), -1,
         "more terms than values is not a plan");
  is_int(plan_read(&test_provider, "mobile=?", terms, 1), 1, "the notes are optional");
}

int main(void) {
  test_choose_key();
  test_build();
  test_read();
  test_values();
  test_dates();
  test_identity();
  return done_testing();
}
