/*
 * Checks a vendor descriptor (ix_provider) at load time, and derives what a descriptor should not
 * have to state twice: the range column is the one flagged IX_COL_RANGE.
 *
 * Each rule below guards against a mistake that would otherwise pass silently: a plan claiming a
 * filter goes to the API when it does not, a NULL call on the first row, a key no query can ever
 * satisfy, or SQLite's re-check dropping every row. The messages name the descriptor field as a
 * contributor wrote it (.columns[3], .required[1]) and say what to change.
 */
#include "provider/descriptor.h"

#include <stdarg.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

#define IX_KNOWN_COLUMN_FLAGS                                                      \
  (IX_COL_HIDDEN | IX_COL_EQ | IX_COL_RANGE | IX_COL_EXACT | IX_COL_PER_CUSTOMER | \
   IX_COL_IN_EACH | IX_COL_MATCH_NOCASE | IX_COL_MATCH_PHONE)

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
      {"authenticate", provider->authenticate != NULL},
      {"build_request", provider->build_request != NULL},
      {"parse_page", provider->parse_page != NULL},
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

/* A vendor that matches more loosely than bytes returns rows SQLite's own comparison may drop:
 * SQLite must re-check, and a value the vendor never receives is matched by nobody. */
static int descriptor_check_column_match(const ix_provider *provider, int c, char **error_out) {
  const ix_column_def *def = &provider->columns[c];
  unsigned match = def->flags & (IX_COL_MATCH_NOCASE | IX_COL_MATCH_PHONE);
  if (match == (IX_COL_MATCH_NOCASE | IX_COL_MATCH_PHONE)) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_COL_MATCH_NOCASE and IX_COL_MATCH_PHONE "
                           "exclude each other (a column has one match)",
                           c, def->name);
  }
  if (match && (def->flags & (IX_COL_EXACT | IX_COL_EQ)) != IX_COL_EQ) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_COL_MATCH_* needs IX_COL_EQ without "
                           "IX_COL_EXACT (SQLite re-checks what the vendor matched loosely)",
                           c, def->name);
  }
  return SQLITE_OK;
}

/* A column's flags: known ones, in combinations that mean something, one range column. */
static int descriptor_check_column_flags(const ix_provider *provider, int c, int *range_column,
                                         char **error_out) {
  const ix_column_def *def = &provider->columns[c];
  if (def->flags & ~(unsigned)IX_KNOWN_COLUMN_FLAGS) {
    return descriptor_fail(error_out, provider, ".columns[%d] (%s): unknown flags 0x%x", c,
                           def->name, def->flags & ~(unsigned)IX_KNOWN_COLUMN_FLAGS);
  }
  if ((def->flags & IX_COL_EXACT) && !(def->flags & IX_COL_EQ)) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_COL_EXACT needs IX_COL_EQ (only an equality "
                           "sent to the API can be applied exactly)",
                           c, def->name);
  }
  if ((def->flags & IX_COL_IN_EACH) && !(def->flags & IX_COL_EQ)) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_COL_IN_EACH needs IX_COL_EQ (only an "
                           "equality sent to the API can be sent value by value)",
                           c, def->name);
  }
  if ((def->flags & IX_COL_HIDDEN) && !(def->flags & IX_COL_EQ)) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_COL_HIDDEN needs IX_COL_EQ (an argument the "
                           "API never receives filters nothing)",
                           c, def->name);
  }
  if (def->flags & IX_COL_RANGE) {
    if (def->flags & IX_COL_EQ) {
      return descriptor_fail(error_out, provider,
                             ".columns[%d] (%s): IX_COL_RANGE and IX_COL_EQ exclude each other "
                             "(an equality on the range column is sent as a range)",
                             c, def->name);
    }
    if (*range_column >= 0) {
      return descriptor_fail(error_out, provider,
                             ".columns[%d] (%s): IX_COL_RANGE is already on .columns[%d] (%s): "
                             "one range column per table",
                             c, def->name, *range_column, provider->columns[*range_column].name);
    }
    *range_column = c;
  }
  return descriptor_check_column_match(provider, c, error_out);
}

static int descriptor_check_column(const ix_provider *provider, int c, int *range_column,
                                   char **error_out) {
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
  int rc = descriptor_check_column_flags(provider, c, range_column, error_out);
  if (rc != SQLITE_OK) return rc;
  if ((unsigned)def->kind > (unsigned)IX_VALUE_CUSTOM) {
    return descriptor_fail(error_out, provider, ".columns[%d] (%s): unknown kind %d", c, def->name,
                           (int)def->kind);
  }
  if (def->kind == IX_VALUE_CUSTOM && !provider->column) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_VALUE_CUSTOM needs the .column callback", c,
                           def->name);
  }
  if (descriptor_kind_reads_keys(def->kind) && descriptor_is_empty(def->keys[0])) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): keys is empty, so the column is always NULL: name "
                           "the JSON member, or use IX_VALUE_NONE",
                           c, def->name);
  }
  /* SQLite re-checks an equality it was not told to omit against the column's value: a column
   * that is always NULL would drop every row. */
  if (def->kind == IX_VALUE_NONE && (def->flags & IX_COL_EQ) && !(def->flags & IX_COL_EXACT) &&
      !provider->column) {
    return descriptor_fail(error_out, provider,
                           ".columns[%d] (%s): IX_VALUE_NONE on an IX_COL_EQ column needs "
                           "IX_COL_EXACT (the value is echoed) or the .column callback, else "
                           "SQLite's re-check drops every row",
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
  int range_column = -1;
  for (int c = 0; c < provider->column_count; c++) {
    int rc = descriptor_check_column(provider, c, &range_column, error_out);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static int descriptor_check_required(const ix_provider *provider, char **error_out) {
  uint64_t all_columns =
      provider->column_count >= 64 ? ~(uint64_t)0 : (IX_COLUMN_BIT(provider->column_count) - 1);
  int ended = 0;
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES; a++) {
    uint64_t mask = provider->required[a];
    if (!mask) {
      ended = 1;
      continue;
    }
    if (ended) {
      return descriptor_fail(error_out, provider,
                             ".required[%d] follows the zero mask that ends the list, so it is "
                             "never tried",
                             a);
    }
    if (mask & ~all_columns) {
      return descriptor_fail(error_out, provider,
                             ".required[%d] names a column past .column_count (%d)", a,
                             provider->column_count);
    }
    for (int c = 0; c < provider->column_count; c++) {
      if ((mask & IX_COLUMN_BIT(c)) && !(provider->columns[c].flags & IX_COL_EQ)) {
        return descriptor_fail(error_out, provider,
                               ".required[%d] names .columns[%d] (%s), which has no IX_COL_EQ: "
                               "no query could ever send that key",
                               a, c, provider->columns[c].name);
      }
    }
  }
  if (provider->required[0] && descriptor_is_empty(provider->required_hint)) {
    return descriptor_fail(error_out, provider,
                           ".required_hint is empty: the error for a missing key would not say "
                           "what to add");
  }
  return SQLITE_OK;
}

/* The index of key among the first `count` settings of list (all when count < 0), or -1. */
static int descriptor_setting_index(const ix_setting_def *list, int count, const char *key) {
  for (int i = 0; list && list[i].key && (count < 0 || i < count); i++) {
    if (strcmp(list[i].key, key) == 0) return i;
  }
  return -1;
}

static int descriptor_check_settings(const ix_provider *provider, char **error_out) {
  const ix_setting_def *settings = provider->settings;
  for (int i = 0; settings && settings[i].key; i++) {
    const char *key = settings[i].key;
    if (!*key) return descriptor_fail(error_out, provider, ".settings[%d]: key is empty", i);
    int earlier = descriptor_setting_index(settings, i, key);
    if (earlier >= 0) {
      return descriptor_fail(error_out, provider, ".settings[%d] (%s): key repeats .settings[%d]",
                             i, key, earlier);
    }
    /* A vendor may give a common setting its own default, but not new flags: a base_url without
     * IX_SETTING_URL, say, would let a planted database file choose where the credentials go. */
    int common = descriptor_setting_index(common_settings, -1, key);
    if (common >= 0 && common_settings[common].flags != settings[i].flags) {
      return descriptor_fail(error_out, provider,
                             ".settings[%d] (%s): flags 0x%x differ from the common setting's "
                             "0x%x: an override may change only the default",
                             i, key, settings[i].flags, common_settings[common].flags);
    }
  }
  return SQLITE_OK;
}

/* The not-found rule: a match names a path and at least one value, and "never" has no match. */
static int descriptor_check_not_found(const ix_provider *provider, char **error_out) {
  const ix_not_found_rule *rule = &provider->not_found;
  for (int m = 0; m < IX_NOT_FOUND_MATCHES; m++) {
    int has_path = rule->match[m].path[0] != NULL, has_values = rule->match[m].values[0] != NULL;
    if (has_path != has_values || (rule->never && has_path)) {
      return descriptor_fail(error_out, provider, ".not_found.match[%d]: %s", m,
                             rule->never ? "a match with .never = 1 is never read"
                                         : "a path needs its values and values their path");
    }
  }
  if ((rule->setting_phrase == NULL) != (rule->setting == NULL)) {
    return descriptor_fail(error_out, provider,
                           ".not_found: setting_phrase and setting go together");
  }
  return SQLITE_OK;
}

int descriptor_check(const ix_provider *provider, char **error_out) {
  int rc = descriptor_check_identity(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_columns(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_required(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_settings(provider, error_out);
  if (rc == SQLITE_OK) rc = descriptor_check_not_found(provider, error_out);
  return rc;
}

int descriptor_range_column(const ix_provider *provider) {
  for (int c = 0; c < provider->column_count && c < IX_MAX_COLUMNS; c++) {
    if (provider->columns[c].flags & IX_COL_RANGE) return c;
  }
  return -1;
}

const ix_provider *descriptor_resolve(const ix_provider *provider, ix_provider *resolved) {
  *resolved = *provider;
  resolved->range_column = descriptor_range_column(provider);
  return resolved;
}
