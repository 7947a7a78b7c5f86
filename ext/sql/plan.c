/*
 * Planning steps as pure functions (plan.h). The idxStr grammar they write is documented at the
 * top of ext/sql/vtab.c, which reads it back in xFilter.
 */
#include "sql/plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/timefmt.h"

#define IX_COST_PER_REQUEST 1e6
#define IX_ROWS_PER_CUSTOMER 50
#define IX_MAX_OMIT_ARGV 16 /* SQLite honours omit only for argvIndex 1..16 */

/* ---- Text of the plan ---- */

typedef struct plan_buffer {
  char *text;
  size_t length;
  int terms;
} plan_buffer;

/* Appends ("," when not first) the term; returns 0 when it does not fit (then nothing is added). */
static int plan_append_term(plan_buffer *out, const char *name, const char *op,
                            const char *suffix) {
  char term[160];
  int length = snprintf(term, sizeof(term), "%s%s%s%s", out->terms ? "," : "", name, op, suffix);
  if (length < 0 || (size_t)length >= sizeof(term) ||
      out->length + (size_t)length >= IX_PLAN_TEXT_MAX) {
    return 0;
  }
  memcpy(out->text + out->length, term, (size_t)length + 1);
  out->length += (size_t)length;
  out->terms++;
  return 1;
}

static void plan_note(plan_buffer *out, const char *text) {
  size_t length = strlen(text);
  if (out->length + length >= IX_PLAN_TEXT_MAX) return;
  memcpy(out->text + out->length, text, length + 1);
  out->length += length;
}

/* ---- Keys ---- */

/* How well a constraint names a key column: 3 "=", 2 "IS ?", 1 "IS NULL", 0 not at all. */
static int plan_key_rank(const ix_provider *provider, const plan_constraint *constraint) {
  if (constraint->column < 0 || constraint->column >= provider->column_count) return 0;
  if (!(provider->columns[constraint->column].flags & IX_COL_EQ)) return 0;
  switch (constraint->op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return 3;
    case SQLITE_INDEX_CONSTRAINT_IS: return 2;
    case SQLITE_INDEX_CONSTRAINT_ISNULL: return 1;
    default: return 0;
  }
}

int plan_choose_key(const ix_provider *provider, const plan_constraint *constraints, int count,
                    int key_constraint[IX_MAX_COLUMNS], plan_outcome *outcome) {
  /* best[c]: the best usable rank on column c; present[c]: the best rank usable or not. */
  int best[IX_MAX_COLUMNS] = {0}, present[IX_MAX_COLUMNS] = {0};
  for (int c = 0; c < IX_MAX_COLUMNS; c++) key_constraint[c] = -1;
  for (int i = 0; i < count; i++) {
    int rank = plan_key_rank(provider, &constraints[i]);
    int column = constraints[i].column;
    if (!rank) continue;
    if (rank > present[column]) present[column] = rank;
    if (constraints[i].usable && rank > best[column]) {
      best[column] = rank;
      key_constraint[column] = i;
    }
  }
  for (int least = 3; least >= 1; least--) {
    for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
      int all = 1;
      for (int c = 0; c < provider->column_count; c++) {
        if ((provider->required[a] & IX_COLUMN_BIT(c)) && best[c] < least) all = 0;
      }
      if (all) {
        *outcome = IX_PLAN_USE;
        return a;
      }
    }
  }
  *outcome = IX_PLAN_DECLINE;
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
    int all = 1;
    for (int c = 0; c < provider->column_count; c++) {
      if ((provider->required[a] & IX_COLUMN_BIT(c)) && !present[c]) all = 0;
    }
    if (all) *outcome = IX_PLAN_CONSTRAINT;
  }
  return -1;
}

int plan_can_omit(const ix_column_def *column, const plan_constraint *constraint) {
  return (column->flags & IX_COL_EXACT) && constraint->collation == IX_COLLATE_BINARY &&
         constraint->literal_type == SQLITE_TEXT;
}

/* ---- The whole plan ---- */

static const char *plan_range_op(int op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return "=";
    case SQLITE_INDEX_CONSTRAINT_GT: return ">";
    case SQLITE_INDEX_CONSTRAINT_GE: return ">=";
    case SQLITE_INDEX_CONSTRAINT_LT: return "<";
    case SQLITE_INDEX_CONSTRAINT_LE: return "<=";
    default: return NULL;
  }
}

static const char *plan_collation_suffix(plan_collation collation) {
  switch (collation) {
    case IX_COLLATE_NOCASE: return "? COLLATE NOCASE";
    case IX_COLLATE_RTRIM: return "? COLLATE RTRIM";
    case IX_COLLATE_OTHER: return "? COLLATE OTHER";
    default: return "?";
  }
}

static int plan_is_single_column(uint64_t mask) {
  return mask && !(mask & (mask - 1));
}

/* What the steps of plan_build share. */
typedef struct plan_state {
  const ix_provider *provider;
  const plan_constraint *constraints;
  int count;
  plan_usage *usage;
  plan_choice *plan;
  plan_buffer text;
  int argv_index;
  int all_sent_exactly; /* every sent constraint omitted: SQLite checks nothing after us */
  uint64_t rechecked;   /* columns sent to the API whose rows SQLite still checks */
} plan_state;

/* Optional filters: a usable plain equality on a column the API filters by and no alternative
 * needs, under BINARY (the API compares bytes; another collation could only be narrowed). Not an
 * IN list: SQLite would call xFilter, and so make a request, once per value; unless the API takes
 * one value per request anyway (IX_COL_IN_EACH), where that is what it asks for. */
static void plan_filters(const plan_state *state, int filter_constraint[IX_MAX_COLUMNS]) {
  const ix_provider *provider = state->provider;
  uint64_t in_any_alternative = 0;
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
    in_any_alternative |= provider->required[a];
  }
  for (int c = 0; c < IX_MAX_COLUMNS; c++) filter_constraint[c] = -1;
  for (int i = 0; i < state->count; i++) {
    const plan_constraint *constraint = &state->constraints[i];
    int column = constraint->column;
    if (!constraint->usable || constraint->op != SQLITE_INDEX_CONSTRAINT_EQ || column < 0 ||
        column >= provider->column_count || (in_any_alternative & IX_COLUMN_BIT(column)) ||
        !(provider->columns[column].flags & IX_COL_EQ) || column == provider->range_column ||
        constraint->collation != IX_COLLATE_BINARY ||
        (constraint->can_be_in && !(provider->columns[column].flags & IX_COL_IN_EACH)) ||
        filter_constraint[column] >= 0) {
      continue;
    }
    filter_constraint[column] = i;
  }
}

/* A key given as IN (list or subquery) is taken whole in one xFilter, so its customers can be
 * fetched concurrently (docs/sqlite-virtual-tables.md#in-lists); only for a key of one column, and
 * only where SQLite has sqlite3_vtab_in (3.38+): elsewhere SQLite calls xFilter once per value. */
static int plan_in(const plan_state *state, uint64_t key,
                   const int key_constraint[IX_MAX_COLUMNS]) {
  int in_constraint = -1;
  for (int c = 0; plan_is_single_column(key) && c < state->provider->column_count; c++) {
    int i = key_constraint[c];
    if ((key & IX_COLUMN_BIT(c)) && i >= 0 &&
        state->constraints[i].op == SQLITE_INDEX_CONSTRAINT_EQ && state->constraints[i].can_be_in) {
      in_constraint = i;
    }
  }
  return in_constraint;
}

/* The key's and the filters' terms, in column order. Returns 0 when the key does not fit (cannot
 * happen with IX_PLAN_TEXT_MAX sized for every column; a plan is never sent without its key). */
static int plan_equalities(plan_state *state, uint64_t key,
                           const int key_constraint[IX_MAX_COLUMNS],
                           const int filter_constraint[IX_MAX_COLUMNS]) {
  const ix_provider *provider = state->provider;
  for (int c = 0; c < provider->column_count; c++) {
    int i = (key & IX_COLUMN_BIT(c)) ? key_constraint[c] : filter_constraint[c];
    if (i < 0) continue;
    const plan_constraint *constraint = &state->constraints[i];
    const char *name = provider->columns[c].name;
    if (constraint->op == SQLITE_INDEX_CONSTRAINT_ISNULL) {
      /* Matches no row, and SQLite has nothing left to check. It still takes an argv (SQLite
       * passes NULL): a plan that uses no constraint does not count as an OR branch's plan, and
       * without one "key IS NULL OR key = ?" could only be declined. */
      if (!plan_append_term(&state->text, name, " IS NULL", "")) return 0;
      state->usage[i].argv_index = ++state->argv_index;
      state->usage[i].omit = state->usage[i].argv_index <= IX_MAX_OMIT_ARGV;
      continue;
    }
    int is_in = i == state->plan->in_constraint;
    const char *op = is_in ? " IN " : constraint->op == SQLITE_INDEX_CONSTRAINT_IS ? " IS " : "=";
    /* A key's collation goes with it: xFilter decides, seeing the value, whether the vendor's
     * match can serve it (plan_key_collation_problem). */
    const char *suffix =
        (key & IX_COLUMN_BIT(c)) ? plan_collation_suffix(constraint->collation) : "?";
    if (!plan_append_term(&state->text, name, op, suffix)) {
      if (key & IX_COLUMN_BIT(c)) return 0;
      continue;
    }
    plan_usage *usage = &state->usage[i];
    usage->argv_index = ++state->argv_index;
    usage->omit = !is_in && usage->argv_index <= IX_MAX_OMIT_ARGV &&
                  plan_can_omit(&provider->columns[c], constraint);
    if (!usage->omit) {
      int whole_customers =
          !is_in && (key & IX_COLUMN_BIT(c)) && (provider->columns[c].flags & IX_COL_PER_CUSTOMER);
      if (!whole_customers) state->all_sent_exactly = 0;
      state->rechecked |= IX_COLUMN_BIT(c);
    }
  }
  return 1;
}

/* Bounds on the range column: xFilter reads what days they can match. Under a collation other
 * than BINARY, NOCASE or RTRIM nothing is known about the order, so SQLite alone checks them. */
static void plan_bounds(plan_state *state) {
  int range = state->provider->range_column;
  for (int i = 0; range >= 0 && i < state->count; i++) {
    const plan_constraint *constraint = &state->constraints[i];
    const char *op = plan_range_op(constraint->op);
    if (!constraint->usable || constraint->column != range || !op ||
        constraint->collation == IX_COLLATE_OTHER ||
        !plan_append_term(&state->text, state->provider->columns[range].name, op,
                          plan_collation_suffix(constraint->collation))) {
      continue;
    }
    state->usage[i].argv_index = ++state->argv_index;
    state->plan->has_range = 1;
    state->all_sent_exactly = 0; /* the API's dates are coarser than the column: SQLite re-checks */
    state->rechecked |= IX_COLUMN_BIT(range);
  }
}

/* LIMIT and OFFSET are a page-size hint, taken only when SQLite applies nothing after us that
 * could drop rows: every other usable constraint sent and omitted, no ORDER BY
 * (docs/sqlite-virtual-tables.md#limit-and-offset). */
static void plan_limit(plan_state *state, int order_by_count, int has_limit_ops) {
  int limit_constraint = -1, offset_constraint = -1;
  for (int i = 0; has_limit_ops && i < state->count; i++) {
    if (!state->constraints[i].usable) continue;
    if (state->constraints[i].op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      limit_constraint = i;
    } else if (state->constraints[i].op == SQLITE_INDEX_CONSTRAINT_OFFSET) {
      offset_constraint = i;
    } else if (state->usage[i].argv_index == 0 && !state->usage[i].omit) {
      state->all_sent_exactly = 0;
    }
  }
  if (limit_constraint < 0 || !state->all_sent_exactly || order_by_count != 0 ||
      state->provider->max_page_size <= 0 || !plan_append_term(&state->text, "LIMIT", "", "")) {
    return;
  }
  state->usage[limit_constraint].argv_index = ++state->argv_index;
  if (offset_constraint >= 0 && plan_append_term(&state->text, "OFFSET", "", "")) {
    state->usage[offset_constraint].argv_index = ++state->argv_index;
  }
}

/* For people reading EXPLAIN QUERY PLAN: which sent constraints SQLite re-checks. */
static void plan_notes(plan_state *state) {
  for (int c = 0, named = 0; c < state->provider->column_count; c++) {
    if (!(state->rechecked & IX_COLUMN_BIT(c))) continue;
    plan_note(&state->text, named++ ? ", " : " | re-checked by SQLite: ");
    plan_note(&state->text, state->provider->columns[c].name);
  }
}

static plan_outcome plan_decline(plan_choice *plan) {
  plan_buffer text = {plan->idx_str, 0, 0};
  plan->idx_str[0] = '\0';
  plan_note(&text, "no customer key: fails in xFilter");
  plan->outcome = IX_PLAN_DECLINE;
  plan->idx_num = 0;
  plan->cost = IX_PLAN_DECLINED_COST;
  plan->rows = IX_ROWS_PER_CUSTOMER;
  return IX_PLAN_DECLINE;
}

plan_outcome plan_build(const ix_provider *provider, const plan_constraint *constraints, int count,
                        int order_by_count, int has_limit_ops, plan_usage *usage,
                        plan_choice *plan) {
  memset(plan, 0, sizeof(*plan));
  plan->in_constraint = -1;
  for (int i = 0; i < count; i++) usage[i].argv_index = usage[i].omit = 0;

  int key_constraint[IX_MAX_COLUMNS];
  plan_outcome outcome;
  int chosen = plan_choose_key(provider, constraints, count, key_constraint, &outcome);
  if (chosen < 0 && provider->required[0]) {
    if (outcome == IX_PLAN_DECLINE) return plan_decline(plan);
    plan->outcome = outcome;
    return outcome;
  }
  plan->outcome = IX_PLAN_USE;
  plan->idx_num = chosen + 1;
  uint64_t key = chosen >= 0 ? provider->required[chosen] : 0;
  plan_state state = {provider, constraints, count, usage, plan, {plan->idx_str, 0, 0}, 0, 1, 0};
  int filter_constraint[IX_MAX_COLUMNS];
  plan_filters(&state, filter_constraint);
  if (has_limit_ops) plan->in_constraint = plan_in(&state, key, key_constraint);
  if (!plan_equalities(&state, key, key_constraint, filter_constraint)) {
    for (int i = 0; i < count; i++) usage[i].argv_index = usage[i].omit = 0;
    plan->in_constraint = -1;
    return plan_decline(plan);
  }
  plan_bounds(&state);
  plan_limit(&state, order_by_count, has_limit_ops);
  plan_notes(&state);
  /* Any plan with an HTTP call must lose to local work, and a plan that sends more filters to the
   * API (fewer rows to fetch) is cheaper than one that sends fewer
   * (docs/sqlite-virtual-tables.md#omit-costs-and-the-plan). */
  plan->cost = IX_COST_PER_REQUEST / (1.0 + 0.1 * state.argv_index);
  plan->rows = IX_ROWS_PER_CUSTOMER;
  return IX_PLAN_USE;
}

/* ---- Reading the plan ---- */

/* Longest first where one is a prefix of another, so the first match is the right one. */
static const struct {
  const char *text;
  plan_term_op op;
} plan_op_texts[] = {
    {" IS NULL", IX_OP_IS_NULL}, {" IS ?", IX_OP_IS}, {" IN ?", IX_OP_IN}, {">=?", IX_OP_GE},
    {"<=?", IX_OP_LE},           {"=?", IX_OP_EQ},    {">?", IX_OP_GT},    {"<?", IX_OP_LT},
};

static int plan_find_column(const ix_provider *provider, const char *name, size_t length) {
  for (int i = 0; i < provider->column_count; i++) {
    if (strlen(provider->columns[i].name) == length &&
        strncmp(provider->columns[i].name, name, length) == 0) {
      return i;
    }
  }
  return -1;
}

int plan_parse_term(const ix_provider *provider, const char *term, size_t length, int *column_out,
                    plan_term_op *op_out, plan_collation *collation_out) {
  size_t name_length = strcspn(term, "=<> ");
  if (name_length > length) return 0;
  const char *rest = term + name_length;
  size_t rest_length = length - name_length;
  *collation_out = IX_COLLATE_BINARY;
  static const struct {
    const char *suffix;
    plan_collation collation;
  } suffixes[] = {{" COLLATE NOCASE", IX_COLLATE_NOCASE},
                  {" COLLATE RTRIM", IX_COLLATE_RTRIM},
                  {" COLLATE OTHER", IX_COLLATE_OTHER}};
  for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
    size_t suffix_length = strlen(suffixes[s].suffix);
    if (rest_length > suffix_length &&
        memcmp(rest + rest_length - suffix_length, suffixes[s].suffix, suffix_length) == 0) {
      *collation_out = suffixes[s].collation;
      rest_length -= suffix_length;
      break;
    }
  }
  *column_out = plan_find_column(provider, term, name_length);
  for (size_t o = 0; o < sizeof(plan_op_texts) / sizeof(plan_op_texts[0]); o++) {
    if (strlen(plan_op_texts[o].text) == rest_length &&
        memcmp(rest, plan_op_texts[o].text, rest_length) == 0) {
      *op_out = plan_op_texts[o].op;
      return *column_out >= 0;
    }
  }
  return 0;
}

int plan_read(const ix_provider *provider, const char *idx_str, plan_term *terms, int max_terms) {
  const char *term = idx_str ? idx_str : "";
  const char *notes = strstr(term, " | ");
  const char *end = notes ? notes : term + strlen(term);
  int count = 0;
  while (term < end) {
    size_t length = strcspn(term, ",");
    if (term + length > end) length = (size_t)(end - term);
    if (count >= max_terms) return -1;
    plan_term *out = &terms[count++];
    memset(out, 0, sizeof(*out));
    if (length == 5 && strncmp(term, "LIMIT", 5) == 0) {
      out->kind = IX_TERM_LIMIT;
    } else if (length == 6 && strncmp(term, "OFFSET", 6) == 0) {
      out->kind = IX_TERM_OFFSET;
    } else if (!plan_parse_term(provider, term, length, &out->column, &out->op, &out->collation)) {
      return -1;
    }
    term += length;
    if (*term == ',') term++;
  }
  return count;
}

/* ---- Values ---- */

const char *plan_key_collation_problem(ix_match match, plan_collation collation, const char *text,
                                       size_t length) {
  if (collation == IX_COLLATE_BINARY || match == IX_MATCH_PHONE) {
    /* BINARY is the narrowest comparison; a phone number has no case, and the vendor's
     * normalising ignores the spaces RTRIM would. SQLite re-checks what the vendor sends back. */
    return NULL;
  }
  if (collation == IX_COLLATE_OTHER) return "an application's own collation";
  if (collation == IX_COLLATE_NOCASE) {
    if (match == IX_MATCH_NOCASE) return NULL;
    /* Without ASCII letters, NOCASE equality is byte equality. */
    for (size_t i = 0; i < length; i++) {
      char c = text[i];
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return "letters in other case";
    }
    return NULL;
  }
  /* RTRIM: the vendor is asked for the text as written; its ids hold no trailing spaces. */
  return length > 0 && text[length - 1] == ' ' ? "trailing spaces" : NULL;
}

const char *plan_key_problem(const char *text, size_t length) {
  if (length == 0) return "is empty";
  if ((length == 1 && text[0] == '.') || (length == 2 && text[0] == '.' && text[1] == '.')) {
    return "is '.' or '..'";
  }
  if (length > IX_KEY_MAX_BYTES) return "is longer than 256 bytes";
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == 0) return "contains a NUL character";
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  return NULL;
}

int plan_real_key_text(double value, char *out, size_t out_size) {
  if (!isfinite(value)) return 0;
  /* 2^63: every integral double below it converts to a long long exactly. */
  if (value == floor(value) && fabs(value) < 9223372036854775808.0) {
    snprintf(out, out_size, "%lld", (long long)value);
  } else {
    /* SQLite renders a REAL as text with 15 significant digits ("%!.15g"). */
    snprintf(out, out_size, "%.15g", value);
    if (!strpbrk(out, ".eEn")) {
      size_t length = strlen(out);
      if (length + 2 < out_size) memcpy(out + length, ".0", 3);
    }
  }
  return 1;
}

/* ---- Dates ---- */

#define IX_FIRST_DAY (-719528LL) /* 0000-01-01 */
#define IX_LAST_DAY 2932896LL    /* 9999-12-31 */

static void plan_day_text(long long days, char out[IX_DATE_LENGTH + 1]) {
  int year;
  unsigned month, day;
  timefmt_civil_from_days(days, &year, &month, &day);
  char text[64]; /* wide enough for any value the compiler can imagine */
  snprintf(text, sizeof(text), "%04d-%02u-%02u", year, month, day);
  memcpy(out, text, IX_DATE_LENGTH);
  out[IX_DATE_LENGTH] = '\0';
}

/* SQLite's BINARY comparison: bytes, then the shorter first. */
static int plan_binary_compare(const char *a, size_t a_length, const char *b, size_t b_length) {
  size_t common = a_length < b_length ? a_length : b_length;
  int cmp = memcmp(a, b, common);
  if (cmp) return cmp;
  return a_length < b_length ? -1 : a_length > b_length ? 1 : 0;
}

/* Date texts sort as their days do, so the first or last day passing a bound is found by
 * bisection over every day a four-digit year can write. */
int plan_date_lower(const char *bound, size_t length, char out[IX_DATE_LENGTH + 1]) {
  /* Some row text with the day's date passes when the day's text, cut to the bound's length
   * (at most the date's), is not below the bound: what follows the date can always be larger. */
  size_t prefix = length < IX_DATE_LENGTH ? length : IX_DATE_LENGTH;
  long long low = IX_FIRST_DAY, high = IX_LAST_DAY + 1;
  while (low < high) {
    long long middle = low + (high - low) / 2;
    char day[IX_DATE_LENGTH + 1];
    plan_day_text(middle, day);
    if (memcmp(day, bound, prefix) >= 0) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  if (low > IX_LAST_DAY) return 0;
  plan_day_text(low, out);
  return 1;
}

int plan_date_upper(const char *bound, size_t length, int inclusive, char out[IX_DATE_LENGTH + 1]) {
  /* The smallest row text of a day is the bare date, so the day can hold a passing row when the
   * date itself passes. */
  long long low = IX_FIRST_DAY - 1, high = IX_LAST_DAY;
  while (low < high) {
    long long middle = low + (high - low + 1) / 2;
    char day[IX_DATE_LENGTH + 1];
    plan_day_text(middle, day);
    int cmp = plan_binary_compare(day, IX_DATE_LENGTH, bound, length);
    if (cmp < 0 || (inclusive && cmp == 0)) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  if (low < IX_FIRST_DAY) return 0;
  plan_day_text(low, out);
  return 1;
}

int plan_starts_with_date(const char *text, size_t length) {
  char day[IX_DATE_LENGTH + 1];
  return length >= IX_DATE_LENGTH && plan_date_lower(text, IX_DATE_LENGTH, day) &&
         memcmp(day, text, IX_DATE_LENGTH) == 0;
}

int plan_bound_fits_format(const char *text, size_t length) {
  static const char shape[] = "dddd-dd-dd dd:dd:dd.ddd";
  for (size_t i = 0; i < length && i < sizeof(shape) - 1; i++) {
    char c = text[i];
    if (shape[i] == 'd' ? !(c >= '0' && c <= '9') : c != shape[i]) return 0;
  }
  return 1;
}

int plan_is_first_day(const char day[IX_DATE_LENGTH + 1]) {
  return memcmp(day, "0000-01-01", IX_DATE_LENGTH) == 0;
}

int plan_next_day(char day[IX_DATE_LENGTH + 1]) {
  if (!plan_starts_with_date(day, IX_DATE_LENGTH)) return 0;
  int year = (day[0] - '0') * 1000 + (day[1] - '0') * 100 + (day[2] - '0') * 10 + day[3] - '0';
  unsigned month = (unsigned)((day[5] - '0') * 10 + day[6] - '0');
  unsigned date = (unsigned)((day[8] - '0') * 10 + day[9] - '0');
  long long next = timefmt_days_from_civil(year, month, date) + 1;
  if (next > IX_LAST_DAY) return 0;
  plan_day_text(next, day);
  return 1;
}

int plan_fold_bound(plan_collation collation, const char *bound, size_t length, char *out,
                    size_t *out_length) {
  if (collation == IX_COLLATE_OTHER) return 0;
  if (collation == IX_COLLATE_RTRIM) {
    while (length > 0 && bound[length - 1] == ' ') length--;
  }
  for (size_t i = 0; i < length; i++) {
    char c = bound[i];
    /* NOCASE folds ASCII capitals to small letters, and dates have no letters to fold. */
    out[i] = collation == IX_COLLATE_NOCASE && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
  }
  *out_length = length;
  return 1;
}
