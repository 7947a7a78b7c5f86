/*
 * Checks a vendor descriptor (ix_provider) at load time, and derives what a descriptor should not
 * have to state twice: from the key table, the range column and the alternatives as column masks
 * the planner reads (ix_key_plan).
 *
 * Each rule below guards against a mistake that would otherwise pass silently: a plan claiming a
 * filter goes to the API when it does not, a NULL call on the first row, a key no query can ever
 * satisfy, or SQLite's re-check dropping every row. The messages name the descriptor field as a
 * contributor wrote it (.columns[3], .keys[1], .request.build) and say what to change.
 */
#include "provider/descriptor.h"

#include <stdarg.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

#define IX_KNOWN_COLUMN_FLAGS (IX_COL_HIDDEN)
#define IX_KNOWN_KEY_OPERATORS (IX_KEY_EQ | IX_KEY_IN | IX_KEY_RANGE)
#define IX_KNOWN_KEY_FLAGS (IX_KEY_ECHO | IX_KEY_PER_CUSTOMER)

/* Sets *error_out to "error creating module <table>: <problem>". Always SQLITE_ERROR, or
 * SQLITE_NOMEM when even the message cannot be allocated. */
static int descriptor_fail(char **error_out, const ix_provider *provider, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *problem = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  const char *table = provider->table && *provider->table ? provider->table : "(unnamed)";
  char *message = problem ? sqlite3_mprintf("error creating module %s: %s", table, problem) : NULL;
  sqlite3_free(problem);
  if (error_out) {
    sqlite3_free(*error_out);
    *error_out = message;
  } else {
    sqlite3_free(message);
  }
  return message ? SQLITE_ERROR : SQLITE_NOMEM;
}

static int descriptor_is_empty(const char *text) {
  return !text || !*text;
}

/* Kinds that read a JSON member of the row by the column's keys. */
static int descriptor_kind_reads_keys(ix_value_kind kind) {
  return kind != IX_VALUE_NONE && kind != IX_VALUE_RAW && kind != IX_VALUE_CUSTOM;
}

static int descriptor_check_identity(const ix_provider *provider, char **error_out) {
  if (descriptor_is_empty(provider->table)) {
    return descriptor_fail(error_out, provider, ".table is empty: it is the module's name");
  }
  if (descriptor_is_empty(provider->vendor)) {
    return descriptor_fail(error_out, provider,
                           ".vendor is empty: it names the settings' environment prefix");
  }
  const struct {
    const char *field;
    int present;
  } callbacks[] = {
      {"request.authenticate", provider->request.authenticate != NULL},
      {"request.build", provider->request.build != NULL},
      {"response.parse_page", provider->response.parse_page != NULL},
  };
  for (size_t i = 0; i < sizeof(callbacks) / sizeof(callbacks[0]); i++) {
    if (!callbacks[i].present) {
      return descriptor_fail(error_out, provider, ".%s is NULL: every table needs it",
                             callbacks[i].field);
    }
  }
  if (provider->max_page_size < 0) {
    return descriptor_fail(error_out, provider,
                           ".max_page_size is %d: use 0 for an API that does not page",
                           provider->max_page_size);
  }
  return SQLITE_OK;
}

static int descriptor_check_column(const ix_provider *provider, int c, char **error_out) {
  const ix_column_def *def = &provider->columns[c];
  if (descriptor_is_empty(def->name)) {
    return descriptor_fail(error_out, provider, ".columns[%d]: name is empty", c);
  }
  for (int other = 0; other < c; other++) {
    /* SQLite compares column names without regard to case. */
    if (!descriptor_is_empty(provider->columns[other].name) &&
        sqlite3_stricmp(provider->columns[other].name, def->name) == 0) {
      return descriptor_fail(error_out, provider, ".columns[%d] (%s): name repeats .columns[%d]", c,
                             def->name, other);
    }
  }
  const char *type = def->decl_type;
  if (!type || (strcmp(type, "TEXT") != 0 && strcmp(type, "INTEGER") != 0 &&
                strcmp(type, "REAL") != 0 && strcmp(type, "") != 0)) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): decl_type '%s' is not TEXT, INTEGER, REAL or \"\"",
                           c, def->name, type ? type : "(null)");
  }
  if (def->flags & ~(unsigned)IX_KNOWN_COLUMN_FLAGS) {
    return descriptor_fail(error_out, provider, ".columns[%d] (%s): unknown flags 0x%x", c,
                           def->name, def->flags & ~(unsigned)IX_KNOWN_COLUMN_FLAGS);
  }
  if ((unsigned)def->kind > (unsigned)IX_VALUE_CUSTOM) {
    return descriptor_fail(error_out, provider, ".columns[%d] (%s): unknown kind %d", c, def->name,
                           (int)def->kind);
  }
  if (def->kind == IX_VALUE_CUSTOM && !provider->row.column) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_VALUE_CUSTOM needs the .row.column callback", c,
                           def->name);
  }
  if (descriptor_kind_reads_keys(def->kind) && descriptor_is_empty(def->keys[0])) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): keys is empty, so the column is always NULL: name "
                           "the JSON member, or use IX_VALUE_NONE",
                           c, def->name);
  }
  return SQLITE_OK;
}

static int descriptor_check_columns(const ix_provider *provider, char **error_out) {
  if (provider->column_count < 1 || provider->column_count > IX_MAX_COLUMNS) {
    return descriptor_fail(error_out, provider,
                           ".column_count is %d: a table has 1 to %d columns (IX_MAX_COLUMNS)",
                           provider->column_count, IX_MAX_COLUMNS);
  }
  if (!provider->columns) return descriptor_fail(error_out, provider, ".columns is NULL");
  for (int c = 0; c < provider->column_count; c++) {
    int rc = descriptor_check_column(provider, c, error_out);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

/* ---- The key table ---- */

/* The column named name (as .columns spells it), or -1. */
static int descriptor_column_index(const ix_provider *provider, const char *name) {
  for (int c = 0; name && c < provider->column_count; c++) {
    if (provider->columns[c].name && strcmp(provider->columns[c].name, name) == 0) return c;
  }
  return -1;
}

/* What the entries seen so far have claimed: which column each names, the range column, the
 * alternatives that have a column, and whether any key is required. */
typedef struct descriptor_key_seen {
  int entry_of_column[IX_MAX_COLUMNS]; /* the .keys index naming column c, or -1 */
  int range_entry;                     /* the .keys index of the range, or -1 */
  unsigned alternatives;               /* bit a-1: alternative a has a column */
  int any_required;
} descriptor_key_seen;

/* Which operators an entry may send: '=' (with IN on an optional filter), or a range alone. */
static int descriptor_check_key_operators(const ix_provider *provider, int k,
                                          const ix_key_column *key, const descriptor_key_seen *seen,
                                          char **error_out) {
  unsigned ops = key->operators;
  if (!ops || (ops & ~(unsigned)IX_KNOWN_KEY_OPERATORS)) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): operators 0x%x: use IX_KEY_EQ, IX_KEY_EQ | "
                           "IX_KEY_IN or IX_KEY_RANGE",
                           k, key->column, ops);
  }
  if ((ops & IX_KEY_RANGE) && ops != IX_KEY_RANGE) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_RANGE goes alone (an equality on the range "
                           "column is sent as a range)",
                           k, key->column);
  }
  if (ops == IX_KEY_RANGE && seen->range_entry >= 0) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_RANGE is already on .keys[%d] (%s): one "
                           "range column per table",
                           k, key->column, seen->range_entry,
                           provider->keys[seen->range_entry].column);
  }
  if (ops == IX_KEY_RANGE && (key->require != IX_KEY_OPTIONAL || key->match || key->flags)) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): a range is IX_KEY_OPTIONAL, with no match and no "
                           "flags (SQLite re-checks every bound)",
                           k, key->column);
  }
  if (ops == IX_KEY_IN) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_IN needs IX_KEY_EQ (an IN list is sent "
                           "as its equalities)",
                           k, key->column);
  }
  if ((ops & IX_KEY_IN) && key->require != IX_KEY_OPTIONAL) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_IN is for an optional filter (a required "
                           "key always takes an IN list, one customer at a time)",
                           k, key->column);
  }
  return SQLITE_OK;
}

/* Whether a plan needs the entry, and in which alternative. */
static int descriptor_check_key_require(const ix_provider *provider, int k,
                                        const ix_key_column *key, char **error_out) {
  if ((unsigned)key->require > (unsigned)IX_KEY_ONE_OF) {
    return descriptor_fail(error_out, provider, ".keys[%d] (%s): unknown require %d", k,
                           key->column, (int)key->require);
  }
  if (key->require == IX_KEY_ONE_OF &&
      (key->alternative < 1 || key->alternative > IX_MAX_REQUIRED_ALTERNATIVES)) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_ONE_OF needs an alternative from 1 to %d, "
                           "not %d",
                           k, key->column, IX_MAX_REQUIRED_ALTERNATIVES, key->alternative);
  }
  if (key->require != IX_KEY_ONE_OF && key->alternative != 0) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): alternative %d without IX_KEY_ONE_OF: use 0, or "
                           "make the key IX_KEY_ONE_OF",
                           k, key->column, key->alternative);
  }
  if ((key->flags & IX_KEY_PER_CUSTOMER) && key->require == IX_KEY_OPTIONAL) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_PER_CUSTOMER is for a key that names the "
                           "customer (IX_KEY_REQUIRED or IX_KEY_ONE_OF), not a filter",
                           k, key->column);
  }
  return SQLITE_OK;
}

/* How the vendor matches, what the rows echo, and whether SQLite's re-check can keep a row. */
static int descriptor_check_key_match(const ix_provider *provider, int k, const ix_key_column *key,
                                      int c, char **error_out) {
  if ((unsigned)key->match > (unsigned)IX_MATCH_PHONE) {
    return descriptor_fail(error_out, provider, ".keys[%d] (%s): unknown match %d", k, key->column,
                           (int)key->match);
  }
  if (key->flags & ~(unsigned)IX_KNOWN_KEY_FLAGS) {
    return descriptor_fail(error_out, provider, ".keys[%d] (%s): unknown flags 0x%x", k,
                           key->column, key->flags & ~(unsigned)IX_KNOWN_KEY_FLAGS);
  }
  /* A vendor that matches more loosely than bytes returns rows SQLite's own comparison may drop:
   * SQLite must re-check. */
  if (key->match != IX_MATCH_EXACT && (key->flags & IX_KEY_ECHO)) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): IX_KEY_ECHO needs IX_MATCH_EXACT (SQLite re-checks "
                           "what the vendor matched loosely)",
                           k, key->column);
  }
  /* SQLite re-checks an equality it was not told to omit against the column's value: a column
   * that is always NULL would drop every row. */
  if ((key->operators & IX_KEY_EQ) && !(key->flags & IX_KEY_ECHO) &&
      provider->columns[c].kind == IX_VALUE_NONE && !provider->row.column) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): the column is IX_VALUE_NONE, so an equality on it "
                           "needs IX_KEY_ECHO (the value is echoed) or the .row.column "
                           "callback, else SQLite's re-check drops every row",
                           k, key->column);
  }
  return SQLITE_OK;
}

/* One entry: a column of the table, named once, and settings that mean something together. */
static int descriptor_check_key(const ix_provider *provider, int k, descriptor_key_seen *seen,
                                char **error_out) {
  const ix_key_column *key = &provider->keys[k];
  if (!*key->column) return descriptor_fail(error_out, provider, ".keys[%d]: column is empty", k);
  int c = descriptor_column_index(provider, key->column);
  if (c < 0) {
    return descriptor_fail(error_out, provider,
                           ".keys[%d] (%s): no such column in .columns (names are spelt as "
                           "there)",
                           k, key->column);
  }
  if (seen->entry_of_column[c] >= 0) {
    return descriptor_fail(error_out, provider, ".keys[%d] (%s): column repeats .keys[%d]", k,
                           key->column, seen->entry_of_column[c]);
  }
  int rc = descriptor_check_key_operators(provider, k, key, seen, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_key_require(provider, k, key, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_key_match(provider, k, key, c, error_out);
  if (rc != SQLITE_OK) return rc;
  seen->entry_of_column[c] = k;
  if (key->operators == IX_KEY_RANGE) seen->range_entry = k;
  if (key->require == IX_KEY_ONE_OF) seen->alternatives |= 1u << (key->alternative - 1);
  if (key->require != IX_KEY_OPTIONAL) seen->any_required = 1;
  return SQLITE_OK;
}

/* What the whole table must hold: alternatives without a gap, an equality key for each argument
 * column, and the hint for a statement that names no customer. */
static int descriptor_check_key_table(const ix_provider *provider, const descriptor_key_seen *seen,
                                      char **error_out) {
  for (int a = 1; a < IX_MAX_REQUIRED_ALTERNATIVES; a++) {
    if (!(seen->alternatives & (1u << (a - 1))) && (seen->alternatives >> a)) {
      return descriptor_fail(error_out, provider,
                             ".keys: alternative %d has no column, but a later one has: number "
                             "the alternatives 1, 2... without a gap",
                             a);
    }
  }
  for (int c = 0; c < provider->column_count; c++) {
    int k = seen->entry_of_column[c];
    if ((provider->columns[c].flags & IX_COL_HIDDEN) &&
        (k < 0 || !(provider->keys[k].operators & IX_KEY_EQ))) {
      return descriptor_fail(error_out, provider,
                             ".columns[%d] (%s): IX_COL_HIDDEN needs a key with IX_KEY_EQ in "
                             ".keys (an argument the API never receives filters nothing)",
                             c, provider->columns[c].name);
    }
  }
  if (seen->any_required && descriptor_is_empty(provider->required_hint)) {
    return descriptor_fail(error_out, provider,
                           ".required_hint is empty: the error for a missing key would not say "
                           "what to add");
  }
  return SQLITE_OK;
}

static int descriptor_check_keys(const ix_provider *provider, char **error_out) {
  descriptor_key_seen seen = {.range_entry = -1};
  for (int c = 0; c < IX_MAX_COLUMNS; c++) seen.entry_of_column[c] = -1;
  for (int k = 0; provider->keys && provider->keys[k].column; k++) {
    int rc = descriptor_check_key(provider, k, &seen, error_out);
    if (rc != SQLITE_OK) return rc;
  }
  return descriptor_check_key_table(provider, &seen, error_out);
}
/* The index of key among the first `count` settings of list (all when count < 0), or -1. */
static int descriptor_setting_index(const ix_setting_def *list, int count, const char *key) {
  for (int i = 0; list && list[i].key && (count < 0 || i < count); i++) {
    if (strcmp(list[i].key, key) == 0) return i;
  }
  return -1;
}

static int descriptor_check_settings(const ix_provider *provider, char **error_out) {
  const ix_setting_def *settings = provider->settings.list;
  for (int i = 0; settings && settings[i].key; i++) {
    const char *key = settings[i].key;
    if (!*key) return descriptor_fail(error_out, provider, ".settings.list[%d]: key is empty", i);
    int earlier = descriptor_setting_index(settings, i, key);
    if (earlier >= 0) {
      return descriptor_fail(error_out, provider,
                             ".settings.list[%d] (%s): key repeats .settings.list[%d]", i, key,
                             earlier);
    }
    /* A vendor may give a common setting its own default, but not new flags: a base_url without
     * IX_SETTING_URL, say, would let a planted database file choose where the credentials go. */
    int common = descriptor_setting_index(common_settings, -1, key);
    if (common >= 0 && common_settings[common].flags != settings[i].flags) {
      return descriptor_fail(error_out, provider,
                             ".settings.list[%d] (%s): flags 0x%x differ from the common "
                             "setting's "
                             "0x%x: an override may change only the default",
                             i, key, settings[i].flags, common_settings[common].flags);
    }
  }
  return SQLITE_OK;
}

/* The not-found rule: a match names a path and at least one value, and "never" has no match. */
static int descriptor_check_not_found(const ix_provider *provider, char **error_out) {
  const ix_not_found_rule *rule = &provider->response.not_found;
  for (int m = 0; m < IX_NOT_FOUND_MATCHES; m++) {
    int has_path = rule->match[m].path[0] != NULL, has_values = rule->match[m].values[0] != NULL;
    if (has_path != has_values || (rule->never && has_path)) {
      return descriptor_fail(error_out, provider, ".response.not_found.match[%d]: %s", m,
                             rule->never ? "a match with .never = 1 is never read"
                                         : "a path needs its values and values their path");
    }
  }
  if ((rule->setting_phrase == NULL) != (rule->setting == NULL)) {
    return descriptor_fail(error_out, provider,
                           ".response.not_found: setting_phrase and setting go together");
  }
  return SQLITE_OK;
}

int descriptor_check(const ix_provider *provider, char **error_out) {
  int rc = descriptor_check_identity(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_columns(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_keys(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_settings(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_not_found(provider, error_out);
  return rc;
}

void descriptor_derive(const ix_provider *provider, ix_key_plan *plan) {
  memset(plan, 0, sizeof(*plan));
  plan->range_column = -1;
  uint64_t always = 0, alternatives[IX_MAX_REQUIRED_ALTERNATIVES] = {0};
  int count = 0;
  for (int k = 0; provider->keys && provider->keys[k].column; k++) {
    const ix_key_column *key = &provider->keys[k];
    int c = descriptor_column_index(provider, key->column);
    if (c < 0 || c >= IX_MAX_COLUMNS) continue; /* refused by the check */
    plan->column[c] = *key;
    if (key->operators == IX_KEY_RANGE) plan->range_column = c;
    if (key->require == IX_KEY_REQUIRED) always |= IX_COLUMN_BIT(c);
    if (key->require == IX_KEY_ONE_OF && key->alternative >= 1 &&
        key->alternative <= IX_MAX_REQUIRED_ALTERNATIVES) {
      alternatives[key->alternative - 1] |= IX_COLUMN_BIT(c);
      if (key->alternative > count) count = key->alternative;
    }
  }
  /* A key every plan needs goes into each alternative; alone, it is the one alternative. */
  plan->required[0] = always;
  for (int a = 0; a < count; a++) plan->required[a] = alternatives[a] | always;
}

int descriptor_range_column(const ix_provider *provider) {
  for (int k = 0; provider->keys && provider->keys[k].column; k++) {
    if (provider->keys[k].operators == IX_KEY_RANGE) {
      return descriptor_column_index(provider, provider->keys[k].column);
    }
  }
  return -1;
}

const ix_provider *descriptor_resolve(const ix_provider *provider, ix_provider *resolved) {
  *resolved = *provider;
  descriptor_derive(provider, &resolved->derived);
  return resolved;
}
