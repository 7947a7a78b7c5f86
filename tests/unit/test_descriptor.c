/*
 * Unit tests for ext/provider/descriptor.c: each mistake a contributor can make in a vendor descriptor is
 * refused with a message naming the table and the field; the range column is derived from its
 * flag (not from a field that defaults to column 0); the real providers all pass, through the
 * extension's own entry point.
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
static ix_setting_def settings[4];

/* A good descriptor, as a new vendor's file would hold it; each test breaks one thing. */
static ix_provider good(void) {
  const ix_column_def good_columns[COLUMN_COUNT] = {
      {"contact_id",
       "TEXT",
       IX_COL_HIDDEN | IX_COL_EQ | IX_COL_EXACT,
       IX_VALUE_NONE,
       {NULL},
       "desc"},
      {"occurred_at", "TEXT", IX_COL_RANGE, IX_VALUE_TIME, {"when", NULL}, "desc"},
      {"what", "", 0, IX_VALUE_JSON, {"what", NULL}, "desc"},
      {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL}, "desc"},
  };
  memcpy(columns, good_columns, sizeof(columns));
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
      .settings = settings,
      .columns = columns,
      .column_count = COLUMN_COUNT,
      .required = {IX_COLUMN_BIT(COL_ID), 0},
      .required_hint = "a contact id is required: add WHERE contact_id = '...'",
      .max_page_size = 100,
      .authenticate = fake_authenticate,
      .build_request = fake_build_request,
      .parse_page = fake_parse_page,
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

int main(void) {
  char *error = NULL;
  ix_provider p = good();
  ok(descriptor_check(&p, &error) == SQLITE_OK && !error, "a good descriptor passes");

  /* The range column comes from the flag: a descriptor that says nothing of range_column (so it
   * is 0) neither makes column 0 a range column nor loses the flagged one. */
  ix_provider resolved;
  is_int(descriptor_resolve(&p, &resolved)->range_column, COL_WHEN, "range column from flag");
  columns[COL_WHEN].flags = 0;
  is_int(descriptor_resolve(&p, &resolved)->range_column, -1, "no flag, no range column");
  is_int(resolved.column_count, COLUMN_COUNT, "the rest of the descriptor is copied");

  p = good(), p.table = "";
  char *unnamed = NULL;
  int unnamed_rc = descriptor_check(&p, &unnamed);
  ok(unnamed_rc == SQLITE_ERROR && unnamed &&
         strcmp(unnamed,
                "error creating module (unnamed): .table is empty: it is the module's "
                "name") == 0,
     "an empty table name is refused (%s)", unnamed ? unnamed : "no message");
  sqlite3_free(unnamed);
  p = good(), p.vendor = NULL;
  refused(&p, ".vendor is empty", "a missing vendor");
  p = good(), p.authenticate = NULL;
  refused(&p, ".authenticate is NULL", "a missing authenticate");
  p = good(), p.build_request = NULL;
  refused(&p, ".build_request is NULL", "a missing build_request");
  p = good(), p.parse_page = NULL;
  refused(&p, ".parse_page is NULL", "a missing parse_page");
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
  p = good(), columns[COL_WHAT].flags = IX_COL_EXACT;
  refused(&p, ".columns[2] (what): IX_COL_EXACT needs IX_COL_EQ", "exact without eq");
  p = good(), columns[COL_WHAT].flags = IX_COL_HIDDEN;
  refused(&p, ".columns[2] (what): IX_COL_HIDDEN needs IX_COL_EQ", "an argument never sent");
  p = good(), columns[COL_WHEN].flags = IX_COL_RANGE | IX_COL_EQ;
  refused(&p, ".columns[1] (occurred_at): IX_COL_RANGE and IX_COL_EQ exclude each other",
          "a range column that is also an equality");
  p = good(), columns[COL_WHAT].flags = IX_COL_RANGE;
  refused(&p, ".columns[2] (what): IX_COL_RANGE is already on .columns[1] (occurred_at)",
          "two range columns");
  p = good(), columns[COL_ID].flags |= IX_COL_MATCH_NOCASE;
  refused(&p, ".columns[0] (contact_id): IX_COL_MATCH_* needs IX_COL_EQ without IX_COL_EXACT",
          "a loose match omitted from SQLite's re-check");
  p = good(), columns[COL_WHAT].flags = IX_COL_MATCH_PHONE;
  refused(&p, ".columns[2] (what): IX_COL_MATCH_* needs IX_COL_EQ",
          "a match on a column never sent");
  p = good(), columns[COL_WHAT].flags = IX_COL_EQ | IX_COL_MATCH_PHONE | IX_COL_MATCH_NOCASE;
  refused(&p, ".columns[2] (what): IX_COL_MATCH_NOCASE and IX_COL_MATCH_PHONE exclude each other",
          "two matches");
  p = good(), columns[COL_WHAT].flags = IX_COL_EQ | IX_COL_MATCH_NOCASE;
  ok(descriptor_check(&p, &error) == SQLITE_OK && !error, "a re-checked NOCASE match passes");
  is_int(ix_column_match(columns[COL_WHAT].flags), IX_MATCH_NOCASE, "the match read back");
  p = good(), p.not_found.never = 1, p.not_found.match[0].path[0] = "message";
  p.not_found.match[0].values[0] = "contact not found";
  refused(&p, ".not_found.match[0]: a match with .never = 1 is never read", "never with a match");
  p = good(), p.not_found.match[1].path[0] = "message";
  refused(&p, ".not_found.match[1]: a path needs its values", "a not-found path without values");
  p = good(), columns[COL_WHAT].kind = (ix_value_kind)99;
  refused(&p, ".columns[2] (what): unknown kind 99", "an unknown kind");
  p = good(), columns[COL_WHAT].kind = IX_VALUE_CUSTOM;
  refused(&p, ".columns[2] (what): IX_VALUE_CUSTOM needs the .column callback",
          "a custom column without its callback");
  p.column = fake_column;
  ok(descriptor_check(&p, NULL) == SQLITE_OK, "a custom column with its callback passes");
  p = good(), columns[COL_WHAT].keys[0] = NULL;
  refused(&p, ".columns[2] (what): keys is empty", "a JSON column with no member name");
  p = good(), columns[COL_ID].flags = IX_COL_HIDDEN | IX_COL_EQ;
  refused(&p, ".columns[0] (contact_id): IX_VALUE_NONE on an IX_COL_EQ column needs IX_COL_EXACT",
          "an argument column SQLite's re-check would empty");
  p.column = fake_column;
  ok(descriptor_check(&p, NULL) == SQLITE_OK, "... unless the callback gives it a value");

  p = good(), p.required[0] = IX_COLUMN_BIT(COLUMN_COUNT);
  refused(&p, ".required[0] names a column past .column_count (4)", "a mask past the columns");
  p = good(), p.required[0] = IX_COLUMN_BIT(COL_WHAT);
  refused(&p, ".required[0] names .columns[2] (what), which has no IX_COL_EQ",
          "a key that can never be sent");
  p = good(), p.required[2] = IX_COLUMN_BIT(COL_ID);
  refused(&p, ".required[2] follows the zero mask that ends the list",
          "an alternative after the end of the list");
  p = good(), p.required_hint = NULL;
  refused(&p, ".required_hint is empty", "a required key without its hint");
  p = good(), p.required[0] = 0, p.required_hint = NULL;
  ok(descriptor_check(&p, NULL) == SQLITE_OK, "a table with no required key needs no hint");

  p = good(), settings[1].key = "api_key";
  refused(&p, ".settings[1] (api_key): key repeats .settings[0]", "a repeated setting");
  p = good(), settings[1].key = "";
  refused(&p, ".settings[1]: key is empty", "an empty setting key");
  p = good(), settings[1].key = "base_url", settings[1].flags = 0;
  refused(&p, ".settings[1] (base_url): flags 0x0 differ from the common setting's 0x2",
          "a base_url override that drops IX_SETTING_URL");
  p = good(), settings[1].key = "base_url", settings[1].flags = IX_SETTING_URL;
  ok(descriptor_check(&p, NULL) == SQLITE_OK, "a common setting with its own default passes");

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
