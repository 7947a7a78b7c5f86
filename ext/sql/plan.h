/*
 * The planning steps of xBestIndex and xFilter as pure functions: a plain description of the
 * constraints SQLite offers goes in, the plan (idxStr, argvIndex and omit per constraint, cost)
 * comes out; and the value rules xFilter applies (which key can name a customer, what an
 * equality with a number sends, which days a text bound on a date column can match).
 *
 * No SQLite calls and no allocation, so every step is unit-tested on its own
 * (tests/unit/test_plan.c); ext/sql/vtab.c translates sqlite3_index_info to and from these structs.
 */
#ifndef IX_PLAN_H
#define IX_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "provider/provider.h"
#include "util/hash.h"

/* Room for every term a provider's columns can produce; optional terms that would not fit are
 * left to SQLite, which is always correct. */
#define IX_PLAN_TEXT_MAX 2048
/* The cost of a plan that cannot name a customer: so high that SQLite takes it only when nothing
 * else exists, and then xFilter reports what to add (idxNum 0). */
#define IX_PLAN_DECLINED_COST 1e300
/* Keys longer than this cannot name a customer (docs/libcurl.md#path-segments). */
#define IX_KEY_MAX_BYTES 256
#define IX_DATE_LENGTH 10 /* YYYY-MM-DD */

/* How a constraint compares text (sqlite3_vtab_collation). */
typedef enum plan_collation {
  IX_COLLATE_BINARY,
  IX_COLLATE_NOCASE,
  IX_COLLATE_RTRIM,
  IX_COLLATE_OTHER, /* an application's own collation: nothing can be assumed */
} plan_collation;

/* One entry of sqlite3_index_info.aConstraint, as the planner needs it. */
typedef struct plan_constraint {
  int column;
  int op;     /* SQLITE_INDEX_CONSTRAINT_* */
  int usable; /* usable in this probe */
  plan_collation collation;
  /* The SQLite type of the right-hand side when it is a literal in the SQL
   * (sqlite3_vtab_rhs_value), 0 when unknown (a parameter, a column of another table, an
   * expression): only a literal's comparison affinity is known for sure. */
  int literal_type;
  int can_be_in; /* sqlite3_vtab_in(info, i, -1): an IN that can be taken whole */
} plan_constraint;

/* What the plan does with one constraint (aConstraintUsage). */
typedef struct plan_usage {
  int argv_index; /* 0 = not sent */
  int omit;
} plan_usage;

typedef enum plan_outcome {
  IX_PLAN_USE,        /* a plan naming a customer */
  IX_PLAN_DECLINE,    /* no key in this probe: SQLITE_OK with IX_PLAN_DECLINED_COST */
  IX_PLAN_CONSTRAINT, /* a key exists but is not usable in this join order: SQLITE_CONSTRAINT */
} plan_outcome;

typedef struct plan_choice {
  plan_outcome outcome;
  int idx_num; /* the chosen alternative + 1; 0 when declined */
  char idx_str[IX_PLAN_TEXT_MAX];
  double cost;
  double rows;
  int in_constraint; /* the constraint whose IN list xFilter takes whole, else -1 */
  int has_range;     /* a bound on the range column is sent */
} plan_choice;

/* What xBestIndex appends to the plan of an OR branch that has no bound on the range column when
 * the statement's probe before it had one (SQLite passes each branch only its own terms). */
#define IX_PLAN_RANGE_OUTSIDE_OR " | range outside the OR"

/* The whole of xBestIndex: usage[] (count entries) and *plan are filled. */
plan_outcome plan_build(const ix_provider *provider, const plan_constraint *constraints, int count,
                        int order_by_count, int has_limit_ops, plan_usage *usage,
                        plan_choice *plan);

/* ---- Reading the plan (xFilter): the writer's inverse ---- */

typedef enum plan_term_op {
  IX_OP_EQ,
  IX_OP_GT,
  IX_OP_GE,
  IX_OP_LT,
  IX_OP_LE,
  IX_OP_IN,
  IX_OP_IS,
  IX_OP_IS_NULL
} plan_term_op;

typedef enum plan_term_kind { IX_TERM_VALUE, IX_TERM_LIMIT, IX_TERM_OFFSET } plan_term_kind;

/* One term of an idxStr: which value xFilter's argv at its position is. */
typedef struct plan_term {
  plan_term_kind kind;
  int column; /* IX_TERM_VALUE: the column, its operator and collation */
  plan_term_op op;
  plan_collation collation;
} plan_term;

/* Reads the terms of an idxStr that plan_build wrote (up to its " | " notes), one per value
 * xFilter is given, into terms. Returns how many, or -1 when the text is not a plan of provider's
 * or holds more than max_terms terms. */
int plan_read(const ix_provider *provider, const char *idx_str, plan_term *terms, int max_terms);
/* One term of length bytes: its column, operator and collation; 0 when it is not one. */
int plan_parse_term(const ix_provider *provider, const char *term, size_t length, int *column_out,
                    plan_term_op *op_out, plan_collation *collation_out);

/* ---- The steps, exposed for the unit tests ---- */

/* Which alternative of provider->required a probe can send: every column of it has a usable
 * equality. Alternatives whose columns all have "=" win over those that need "IS ?", which win over
 * those that need "IS NULL" (a key IS NULL names no customer, so it is used only when nothing else
 * names one). Returns the alternative, or -1 with *outcome DECLINE or CONSTRAINT. key_constraint[c]
 * is set to the constraint used for column c (-1 when none). */
int plan_choose_key(const ix_provider *provider, const plan_constraint *constraints, int count,
                    int key_constraint[IX_MAX_COLUMNS], plan_outcome *outcome);

/* Whether SQLite may skip its own check of an equality sent to the API on this column: only when
 * the API applies it exactly (IX_COL_EXACT), under BINARY, and the value is a text literal, whose
 * comparison is known to be plain text. A parameter or another table's column may carry numeric
 * affinity (then '447824371047' = 447824371047.0 holds, and what is sent is the integer's digits)
 * or none (then it does not): only SQLite's re-check gets both right. A numeric literal does not
 * say which it was either: sqlite3_vtab_rhs_value gives 447824371047.0 as an INTEGER. */
int plan_can_omit(const ix_column_def *column, const plan_constraint *constraint);

/* ---- Values in xFilter ---- */

/* Whether a key compared under collation can be sent to a vendor that matches it as match says:
 * NULL when the vendor's match is at least as loose as SQLite's comparison for this value (SQLite
 * then re-checks what comes back), else what SQLite would also match that the vendor would not
 * ("letters in other case"). NOCASE on a value without letters is BINARY; a phone match serves
 * NOCASE and RTRIM; RTRIM on a value without trailing spaces is BINARY (vendors' ids hold none);
 * an application's own collation is never served. */
const char *plan_key_collation_problem(ix_match match, plan_collation collation, const char *text,
                                       size_t length);

/* Why a key value cannot name a customer (so no request is made and no row returned), or NULL
 * when it can: empty, "." or "..", a control character or NUL, longer than IX_KEY_MAX_BYTES. */
const char *plan_key_problem(const char *text, size_t length);

/* The text an equality with a REAL value sends: an integral value as its digits (what a column of
 * numeric affinity equates with '447824371047'), else SQLite's own rendering. Returns 0 when no
 * text can equal the value (infinite or NaN). out holds at least 32 bytes. */
int plan_real_key_text(double value, char *out, size_t out_size);

/* The first day a row's date text t can fall on when t >= bound (or > bound) holds: 1 and
 * YYYY-MM-DD in out, or 0 when no date text can pass the bound (then no row can). A bound needs
 * not be a date: '2025-04' gives 2025-04-01, '2025-02-30' gives 2025-03-01. */
int plan_date_lower(const char *bound, size_t length, char out[IX_DATE_LENGTH + 1]);
/* The last day a row's date text can fall on when t < bound (t <= bound when inclusive): 1 and
 * YYYY-MM-DD in out, or 0 when none can ('2025-04-0:' gives 2025-04-09). */
int plan_date_upper(const char *bound, size_t length, int inclusive, char out[IX_DATE_LENGTH + 1]);
/* Whether text starts with a valid date YYYY-MM-DD (what providers read from a bound). */
int plan_starts_with_date(const char *text, size_t length);
/* Whether a bound's text could be the start of a value of the range column ('YYYY-MM-DD
 * HH:MM:SS.sss', anything after that): '2025-04' and '2025-04-01 10' do, '2018/08/01',
 * ' 2025-03-15' and '2025-03-15T10:00' do not (SQLite compares them as text all the same). */
int plan_bound_fits_format(const char *text, size_t length);
/* Whether day (YYYY-MM-DD) is the first day a date text can hold, 0000-01-01: a lower bound that
 * every date passes, so no lower bound at all. */
int plan_is_first_day(const char day[IX_DATE_LENGTH + 1]);
/* Moves the date in day (YYYY-MM-DD) to the next day; 0 when it is the last writable one. */
int plan_next_day(char day[IX_DATE_LENGTH + 1]);
/* Folds a bound compared under NOCASE or RTRIM into the text BINARY would compare with a date
 * (dates hold no letters and no trailing spaces); returns 0 for a collation that cannot be
 * folded. Writes at most length bytes into out and sets *out_length. */
int plan_fold_bound(plan_collation collation, const char *bound, size_t length, char *out,
                    size_t *out_length);

#endif
