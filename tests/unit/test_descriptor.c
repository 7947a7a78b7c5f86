/*
 * Unit tests for ext/provider/descriptor.c: each mistake a contributor can make in a vendor descriptor is
 * refused with a message naming the table and the field (the key table's among them: an unknown
 * column, a group with no member...); what the planner reads is derived from the key table; the
 * real providers all pass, through the extension's own entry point.
 */
#include <sqlite3.h>
#include <string.h>

#include "provider/descriptor.h"
#include "tap.h"

int sqlite3_interactions_init(sqlite3 *db, char **error_out, const sqlite3_api_routines *api);

static int fake_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  (void)call, (void)headers, (void)error_out;
  return SQLITE_OK;
}
static int fake_build_request(const ix_call *call, const char *page_token, sqlite3_int64 page_size,
                              ix_request *request, char **error_out) {
  (void)call, (void)page_token, (void)page_size, (void)request, (void)error_out;
  return SQLITE_OK;
}
static ix_page_status fake_parse_page(const ix_call *call, const char *body, size_t body_len,
                                      ix_page *page, char **error_out) {
  (void)call, (void)body, (void)body_len, (void)page, (void)error_out;
  return IX_PAGE_OK;
}
static void fake_column(const ix_call *call, const ix_row *row, int column, sqlite3_context *ctx) {
  (void)call, (void)row, (void)column, (void)ctx;
}

enum { COL_ID, COL_WHEN, COL_WHAT, COL_SPARE, COLUMN_COUNT };
static ix_column_def columns[COLUMN_COUNT];
static ix_key_column keys[6];
static ix_setting_def settings[4];

/* A good descriptor, as a new vendor's file would hold it; each test breaks one thing. */
static ix_provider good(void) {
  const ix_column_def good_columns[COLUMN_COUNT] = {
      {"contact_id", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL}, "desc"},
      {"occurred_at", "TEXT", 0, IX_VALUE_TIME, {"when", NULL}, "desc"},
      {"what", "", 0, IX_VALUE_JSON, {"what", NULL}, "desc"},
      {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL}, "desc"},
  };
  memcpy(columns, good_columns, sizeof(columns));
  const ix_key_column good_keys[] = {
      {"contact_id", IX_KEY_EQ, IX_KEY_REQUIRED, 0, IX_MATCH_EXACT, IX_KEY_ECHO},
      {"occurred_at", IX_KEY_RANGE, IX_KEY_OPTIONAL, 0, IX_MATCH_EXACT, 0},
      {NULL},
  };
  memset(keys, 0, sizeof(keys));
  memcpy(keys, good_keys, sizeof(good_keys));
  const ix_setting_def good_settings[] = {
      {"api_key", IX_SETTING_SECRET | IX_SETTING_CREDENTIAL, NULL, "the key"},
      {"rate_limit", 0, "5/1s", "requests per window"},
      {NULL, 0, NULL, NULL},
  };
  memcpy(settings, good_settings, sizeof(good_settings));
  ix_provider provider = {
      .table = "demo_interactions",
      .vendor = "demo",
      .default_base_url = "https://api.demo.example",
      .columns = columns,
      .column_count = COLUMN_COUNT,
      .keys = keys,
      .required_hint = "a contact id is required: add WHERE contact_id = '...'",
      .max_page_size = 100,
      .request = {.authenticate = fake_authenticate, .build = fake_build_request},
      .response = {.parse_page = fake_parse_page},
      .settings = {.list = settings},
  };
  return provider;
}

/* Checks that the descriptor is refused and the message holds `expected` after the table name. */
static void refused(const ix_provider *provider, const char *expected, const char *what) {
  char *error = NULL;
  int rc = descriptor_check(provider, &error);
  const char *prefix = "error creating module demo_interactions: ";
  int matches = error && strncmp(error, prefix, strlen(prefix)) == 0 && strstr(error, expected);
  ok(rc == SQLITE_ERROR && matches, "%s is refused (%s)", what, error ? error : "no message");
  sqlite3_free(error);
}

static void passes(const ix_provider *provider, const char *what) {
  char *error = NULL;
  ok(descriptor_check(provider, &error) == SQLITE_OK && !error, "%s passes (%s)", what,
     error ? error : "no message");
  sqlite3_free(error);
}

static void test_identity_and_columns(void) {
  ix_provider p = good();
  char *unnamed = NULL;
  p.table = "";
  int unnamed_rc = descriptor_check(&p, &unnamed);
  ok(unnamed_rc == SQLITE_ERROR && unnamed &&
         strcmp(unnamed,
                "error creating module (unnamed): .table is empty: it is the module's "
                "name") == 0,
     "an empty table name is refused (%s)", unnamed ? unnamed : "no message");
  sqlite3_free(unnamed);
  p = good(), p.vendor = NULL;
  refused(&p, ".vendor is empty", "a missing vendor");
  p = good(), p.request.authenticate = NULL;
  refused(&p, ".request.authenticate is NULL", "a missing authenticate");
  p = good(), p.request.build = NULL;
  refused(&p, ".request.build is NULL", "a missing request builder");
  p = good(), p.response.parse_page = NULL;
  refused(&p, ".response.parse_page is NULL", "a missing parse_page");
  p = good(), p.max_page_size = -1;
  refused(&p, ".max_page_size is -1", "a negative page size");

  p = good(), p.column_count = 0;
  refused(&p, ".column_count is 0: a table has 1 to 48 columns", "no columns");
  p = good(), p.column_count = IX_MAX_COLUMNS + 1;
  refused(&p, ".column_count is 49", "more columns than a mask holds");
  p = good(), p.columns = NULL;
  refused(&p, ".columns is NULL", "a NULL column array");
  p = good(), columns[COL_WHAT].name = "";
  refused(&p, ".columns[2]: name is empty", "an empty column name");
  p = good(), columns[COL_WHAT].name = "Contact_ID";
  refused(&p, ".columns[2] (Contact_ID): name repeats .columns[0]", "a repeated column name");
  p = good(), columns[COL_WHAT].decl_type = "VARCHAR";
  refused(&p, ".columns[2] (what): decl_type 'VARCHAR' is not TEXT", "an unknown decl type");
  p = good(), columns[COL_WHAT].decl_type = NULL;
  refused(&p, "decl_type '(null)'", "a NULL decl type");
  p = good(), columns[COL_WHAT].flags = 1u << 9;
  refused(&p, ".columns[2] (what): unknown flags 0x200", "an unknown flag");
  p = good(), columns[COL_WHAT].flags = IX_COL_HIDDEN;
  refused(&p,
          ".columns[2] (what): IX_COL_HIDDEN needs a key with IX_KEY_EQ in .keys (an argument "
          "the API never receives filters nothing)",
          "an argument never sent");
  p = good(), columns[COL_WHEN].flags = IX_COL_HIDDEN;
  refused(&p, ".columns[1] (occurred_at): IX_COL_HIDDEN needs a key with IX_KEY_EQ",
          "an argument whose key is a range");
  p = good(), p.response.not_found.never = 1;
  p.response.not_found.match[0].path[0] = "message";
  p.response.not_found.match[0].values[0] = "contact not found";
  refused(&p, ".response.not_found.match[0]: a match with .never = 1 is never read",
          "never with a match");
  p = good(), p.response.not_found.match[1].path[0] = "message";
  refused(&p, ".response.not_found.match[1]: a path needs its values",
          "a not-found path without values");
  p = good(), columns[COL_WHAT].kind = (ix_value_kind)99;
  refused(&p, ".columns[2] (what): unknown kind 99", "an unknown kind");
  p = good(), columns[COL_WHAT].kind = IX_VALUE_CUSTOM;
  refused(&p, ".columns[2] (what): IX_VALUE_CUSTOM needs the .row.column callback",
          "a custom column without its callback");
  p.row.column = fake_column;
  passes(&p, "a custom column with its callback");
  p = good(), columns[COL_WHAT].keys[0] = NULL;
  refused(&p, ".columns[2] (what): keys is empty", "a JSON column with no member name");

  p = good(), settings[1].key = "api_key";
  refused(&p, ".settings.list[1] (api_key): key repeats .settings.list[0]", "a repeated setting");
  p = good(), settings[1].key = "";
  refused(&p, ".settings.list[1]: key is empty", "an empty setting key");
  p = good(), settings[1].key = "base_url", settings[1].flags = 0;
  refused(&p, ".settings.list[1] (base_url): flags 0x0 differ from the common setting's 0x2",
          "a base_url override that drops IX_SETTING_URL");
  p = good(), settings[1].key = "base_url", settings[1].flags = IX_SETTING_URL;
  passes(&p, "a common setting with its own default");
}

/* The key table: each entry names a column once, with operators, a require and a match that
 * mean something together. */
static void test_keys(void) {
  ix_provider p = good();
  keys[2] = (ix_key_column){"contact", IX_KEY_EQ, IX_KEY_OPTIONAL, 0, IX_MATCH_EXACT, 0};
  refused(&p, ".keys[2] (contact): no such column in .columns (names are spelt as there)",
          "a key naming an unknown column");
  p = good(), keys[0].column = "Contact_ID";
  refused(&p, ".keys[0] (Contact_ID): no such column", "a key spelt otherwise than its column");
  p = good(), keys[1].column = "";
  refused(&p, ".keys[1]: column is empty", "a key with an empty column");
  p = good(), keys[2] = keys[0];
  refused(&p, ".keys[2] (contact_id): column repeats .keys[0]", "a column keyed twice");
  p = good(), keys[0].operators = 0;
  refused(&p, ".keys[0] (contact_id): operators 0x0: use IX_KEY_EQ", "a key with no operator");
  p = good(), keys[0].operators = 1u << 7;
  refused(&p, ".keys[0] (contact_id): operators 0x80", "an unknown operator");
  p = good(), keys[1].operators = IX_KEY_RANGE | IX_KEY_EQ;
  refused(&p, ".keys[1] (occurred_at): IX_KEY_RANGE goes alone",
          "a range column that is also an equality");
  p = good(), keys[2] = (ix_key_column){"what", IX_KEY_RANGE, IX_KEY_OPTIONAL, 0, 0, 0};
  refused(&p, ".keys[2] (what): IX_KEY_RANGE is already on .keys[1] (occurred_at)",
          "two range columns");
  p = good(), keys[1].require = IX_KEY_REQUIRED;
  refused(&p, ".keys[1] (occurred_at): a range is IX_KEY_OPTIONAL, with no match and no flags",
          "a required range");
  p = good(), keys[1].flags = IX_KEY_ECHO;
  refused(&p, ".keys[1] (occurred_at): a range is IX_KEY_OPTIONAL", "an echoed range");
  p = good(), keys[2] = (ix_key_column){"what", IX_KEY_IN, IX_KEY_OPTIONAL, 0, 0, 0};
  refused(&p, ".keys[2] (what): IX_KEY_IN needs IX_KEY_EQ", "IN without =");
  p = good(), keys[0].operators = IX_KEY_EQ | IX_KEY_IN;
  refused(&p, ".keys[0] (contact_id): IX_KEY_IN is for an optional filter",
          "IN declared on a required key");
  p = good(), keys[2] = (ix_key_column){"what", IX_KEY_EQ | IX_KEY_IN, IX_KEY_OPTIONAL, 0, 0, 0};
  passes(&p, "an optional filter sent value by value");

  p = good(), keys[0].require = (ix_key_require)7;
  refused(&p, ".keys[0] (contact_id): unknown require 7", "an unknown require");
  p = good(), keys[0].require = IX_KEY_ONE_OF;
  refused(&p, ".keys[0] (contact_id): IX_KEY_ONE_OF needs an alternative from 1 to 6, not 0",
          "one of no alternative");
  p = good(), keys[0].alternative = 2;
  refused(&p, ".keys[0] (contact_id): alternative 2 without IX_KEY_ONE_OF",
          "an alternative on a required key");
  p = good(), keys[0].require = IX_KEY_ONE_OF, keys[0].alternative = 2;
  refused(&p, ".keys: alternative 1 has no column, but a later one has",
          "a group with no member (alternatives 2 without 1)");
  p = good(), keys[0].require = IX_KEY_ONE_OF, keys[0].alternative = 1;
  passes(&p, "a single alternative");
  p = good(), keys[0].require = IX_KEY_OPTIONAL, keys[0].flags = IX_KEY_PER_CUSTOMER;
  refused(&p, ".keys[0] (contact_id): IX_KEY_PER_CUSTOMER is for a key that names the customer",
          "a per-customer filter");

  p = good(), keys[0].match = (ix_match)9;
  refused(&p, ".keys[0] (contact_id): unknown match 9", "an unknown match");
  p = good(), keys[0].flags = 1u << 5;
  refused(&p, ".keys[0] (contact_id): unknown flags 0x20", "an unknown key flag");
  p = good(), keys[0].match = IX_MATCH_NOCASE;
  refused(&p, ".keys[0] (contact_id): IX_KEY_ECHO needs IX_MATCH_EXACT",
          "a loose match omitted from SQLite's re-check");
  p = good(), keys[0].match = IX_MATCH_NOCASE, keys[0].flags = 0;
  refused(&p,
          ".keys[0] (contact_id): the column is IX_VALUE_NONE, so an equality on it needs "
          "IX_KEY_ECHO",
          "an argument column SQLite's re-check would empty");
  p.row.column = fake_column;
  passes(&p, "... unless the callback gives it a value: a re-checked NOCASE match");

  p = good(), p.required_hint = NULL;
  refused(&p, ".required_hint is empty", "a required key without its hint");
  p = good(), keys[0].require = IX_KEY_OPTIONAL, p.required_hint = NULL;
  passes(&p, "a table with no required key needs no hint");
  p = good(), p.keys = NULL, columns[COL_ID].flags = 0, p.required_hint = NULL;
  passes(&p, "a table without keys (SQLite filters every column)");
}

/* What registration derives for the planner: the range column from its key (not from a field
 * that defaults to column 0), and the alternatives as masks, a required key in each. */
static void test_derived(void) {
  ix_provider p = good(), resolved;
  is_int(descriptor_resolve(&p, &resolved)->derived.range_column, COL_WHEN,
         "range column from its key");
  ok(resolved.derived.required[0] == IX_COLUMN_BIT(COL_ID) && resolved.derived.required[1] == 0,
     "a required key is the one alternative");
  ok(ix_key_of(&resolved, COL_ID)->flags == IX_KEY_ECHO &&
         ix_key_of(&resolved, COL_WHAT)->operators == 0,
     "each column's key entry, zero for a column that is no key");
  is_int(resolved.column_count, COLUMN_COUNT, "the rest of the descriptor is copied");
  keys[1].column = NULL;
  is_int(descriptor_resolve(&p, &resolved)->derived.range_column, -1,
         "no range key, no range column");
  is_int(descriptor_range_column(&p), -1, "... read from the unresolved descriptor too");

  /* Capillary's shape: identifier_name AND identifier_value, or else what; contact_id in both. */
  p = good();
  columns[COL_SPARE].flags = IX_COL_HIDDEN;
  keys[1] = (ix_key_column){"raw", IX_KEY_EQ, IX_KEY_ONE_OF, 1, IX_MATCH_EXACT, IX_KEY_ECHO};
  keys[2] = (ix_key_column){"what", IX_KEY_EQ, IX_KEY_ONE_OF, 2, IX_MATCH_EXACT, 0};
  keys[3] = (ix_key_column){"occurred_at", IX_KEY_RANGE, IX_KEY_OPTIONAL, 0, 0, 0};
  passes(&p, "a required key with two alternatives");
  descriptor_resolve(&p, &resolved);
  ok(resolved.derived.required[0] == (IX_COLUMN_BIT(COL_ID) | IX_COLUMN_BIT(COL_SPARE)) &&
         resolved.derived.required[1] == (IX_COLUMN_BIT(COL_ID) | IX_COLUMN_BIT(COL_WHAT)) &&
         resolved.derived.required[2] == 0,
     "alternatives in their order, the required key in each");
  keys[0].require = IX_KEY_ONE_OF, keys[0].alternative = 1;
  descriptor_resolve(&p, &resolved);
  ok(resolved.derived.required[0] == (IX_COLUMN_BIT(COL_ID) | IX_COLUMN_BIT(COL_SPARE)) &&
         resolved.derived.required[1] == IX_COLUMN_BIT(COL_WHAT),
     "the columns of one alternative go together");
}

int main(void) {
  ix_provider p = good();
  passes(&p, "a good descriptor");
  test_identity_and_columns();
  test_keys();
  test_derived();

  /* Every real provider passes: the extension's entry point checks each before registering it. */
  sqlite3 *db = NULL;
  ok(sqlite3_open(":memory:", &db) == SQLITE_OK, "open a database");
  char *load_error = NULL;
  int rc = sqlite3_interactions_init(db, &load_error, NULL);
  ok(rc == SQLITE_OK, "every real provider's descriptor passes (%s)",
     load_error ? load_error : "no error");
  sqlite3_free(load_error);
  sqlite3_close(db);
  return done_testing();
}
