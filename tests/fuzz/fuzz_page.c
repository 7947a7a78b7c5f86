/*
 * fuzz_page_<provider>: one vendor's response body -> parse_page -> every column of every row.
 *
 * Built once per provider with -DFUZZ_PROVIDER=<name>_provider (tests/fuzz/fuzz.mk finds every
 * `const ix_provider <name>_provider` in ext/providers/). Runs what the engine runs for one
 * customer (fetch.c), without HTTP, the same body answering every page: build_request, parse_page,
 * columns_row_value into a real sqlite3_context (a SQL function evaluated by a prepared SELECT) for
 * every column of every row, and again with the page's next_token for up to 2 (or 4) pages; then
 * columns_page_reset, the provider's customer_state freed as when the next customer starts.
 *
 * Input: a response body, optionally preceded by a header. An input whose first byte is a control
 * byte other than TAB, LF or CR (no JSON body starts with one) carries the header:
 *
 *   byte 0  bits 0-1: the table's timezone: none (NULL), "UTC", "+05:30", "Europe/London"
 *           bits 2-4: s; when s > 0 the (s-1)-th equality column takes the embedded value below
 *   byte 1  bit k: an equality on the k-th equality column (IX_COL_EQ, in column order; k mod 8),
 *           with a plausible value for its name (fuzz_plausible) unless it takes the embedded one
 *   byte 2  bit 0/1: a range low/high bound on the provider's range column (if it has one);
 *           bit 2: up to 4 pages instead of 2 (below); bit 3: a LIMIT hint of 1;
 *           bit 4: the range bounds are exclusive; bit 5: no configuration (NULL) instead of the
 *           provider's settings resolved with the fuzz_settings values
 *   byte 3  L, then L bytes: the embedded value (any bytes, bound as TEXT)
 *   rest    the body (never NUL-terminated: the fuzzer's buffer is exactly the body)
 *
 * So the vendor samples (the JSON files in tests/sandbox/fixtures/) are seeds as they are, and the
 * fuzzer reaches the filters (network, type, ...) by inserting a header.
 *
 * Invariants (abort() so libFuzzer keeps the input): IX_PAGE_ERROR comes with an error text; a
 * failed build_request with SQLITE_ERROR comes with one; a built URL starts with the base URL and
 * holds only printable ASCII with no '#' and at most one '?'; each column's value has the type its
 * kind promises (TIME: NULL or 10/19/23 chars; INT: NULL, INTEGER or digits; BOOL: NULL, 0 or 1),
 * an echoed argument equals what was asked, and TEXT never hides a NUL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "provider/columns.h"
#include "provider/descriptor.h"
#include "provider/jsonspan.h"

extern char **environ; /* POSIX: the application declares it */

#ifndef FUZZ_PROVIDER
#error "build with -DFUZZ_PROVIDER=<name>_provider (see tests/fuzz/fuzz.mk)"
#endif

extern const ix_provider FUZZ_PROVIDER;

#define FUZZ_BASE_URL "https://api.fuzz.example"

/* Values for equality columns, by column name; others get "fuzz" (TEXT) or 1 (INTEGER). A new
 * vendor whose filters need a particular value to reach its code adds a line here. */
static const struct {
  const char *column;
  const char *value;
} fuzz_plausible[] = {
    {"identifier_name", "mobile"},
    {"identifier_value", "919988221100"},
    {"mobile", "919988221100"},
    {"email", "james.lopez@inbox.example"},
    {"external_id", "ext-42"},
    {"network", "capillary"},
    {"type", "email"},
    {"channel", "email"},
    {"status", "DELIVERED"},
    {"tenant_id", "5c1b2f4e-3a7d-4e2b-9c61-8f0a2d4b6e13"},
    {"contact_id", "0b8f9c52-7d0e-4b8a-9a47-2b1e8f6d5c01"},
};

/* Settings given to the provider's resolved configuration through its environment variables
 * (<VENDOR>_<KEY>; the developer's own <VENDOR>_* variables are removed first), for settings that
 * open code paths: the base URL the request checks expect, Optimove's request windows, CXengage's
 * default tenant. */
static const struct {
  const char *key;
  const char *value;
} fuzz_settings[] = {
    {"base_url", FUZZ_BASE_URL},
    {"window_days", "3"},
    {"tenant_id", "5c1b2f4e-3a7d-4e2b-9c61-8f0a2d4b6e13"},
};

static sqlite3 *fuzz_db;
static ix_config *fuzz_config; /* the provider's settings resolved as a table would resolve them */
static sqlite3_stmt *fuzz_select;    /* SELECT fuzz_value(?1, ?2) */
static sqlite3_stmt *fuzz_bind_stmt; /* SELECT ?1: makes the sqlite3_values of equalities */
static timefmt_zone *fuzz_zones[4];  /* [0] stays NULL */
static const ix_call *fuzz_current;  /* what fuzz_value reads */

static void fuzz_value(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  int row = sqlite3_value_int(argv[0]);
  int column = sqlite3_value_int(argv[1]);
  columns_row_value(fuzz_current, &fuzz_current->page->rows[row], column, ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  if (sqlite3_open(":memory:", &fuzz_db) != SQLITE_OK ||
      sqlite3_create_function(fuzz_db, "fuzz_value", 2, SQLITE_UTF8, NULL, fuzz_value, NULL,
                              NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(fuzz_db, "SELECT fuzz_value(?1, ?2)", -1, &fuzz_select, NULL) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(fuzz_db, "SELECT ?1", -1, &fuzz_bind_stmt, NULL) != SQLITE_OK) {
    fprintf(stderr, "fuzz_page: sqlite setup failed: %s\n", sqlite3_errmsg(fuzz_db));
    abort();
  }
  const ix_provider *provider = &FUZZ_PROVIDER;
  /* Only fuzz_settings, never the developer's own <VENDOR>_* variables, so runs reproduce. */
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "%s_", provider->vendor);
  for (char *p = prefix; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
  for (int again = 1; again;) {
    again = 0;
    for (char **entry = environ; *entry; entry++) {
      const char *equals = strchr(*entry, '=');
      if (strncmp(*entry, prefix, strlen(prefix)) != 0 || !equals) continue;
      char name[256];
      snprintf(name, sizeof(name), "%.*s", (int)(equals - *entry), *entry);
      unsetenv(name);
      again = 1; /* environ changed under us: start over */
      break;
    }
  }
  for (size_t i = 0; i < sizeof(fuzz_settings) / sizeof(fuzz_settings[0]); i++) {
    char name[128];
    snprintf(name, sizeof(name), "%s_%s", provider->vendor, fuzz_settings[i].key);
    for (char *p = name; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    setenv(name, fuzz_settings[i].value, 1);
  }
  char *config_error = NULL;
  if (config_resolve(provider->table, provider->vendor, provider->settings,
                     provider->default_base_url, NULL, &fuzz_config, &config_error) != SQLITE_OK) {
    fprintf(stderr, "fuzz_page: %s: settings: %s\n", provider->table,
            config_error ? config_error : "out of memory");
    abort();
  }
  static const char *const names[4] = {NULL, "UTC", "+05:30", "Europe/London"};
  for (int i = 1; i < 4; i++) {
    char *error = NULL;
    fuzz_zones[i] = timefmt_zone_load(names[i], &error);
    if (!fuzz_zones[i]) {
      fprintf(stderr, "fuzz_page: timezone %s: %s\n", names[i], error ? error : "out of memory");
      abort();
    }
  }
  return 0;
}

/* A protected sqlite3_value copy of text (or of an integer when text is NULL). */
static sqlite3_value *fuzz_make_value(const char *text, int length, sqlite3_int64 integer) {
  if (text) {
    sqlite3_bind_text(fuzz_bind_stmt, 1, text, length, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_int64(fuzz_bind_stmt, 1, integer);
  }
  sqlite3_value *value = NULL;
  if (sqlite3_step(fuzz_bind_stmt) == SQLITE_ROW) {
    value = sqlite3_value_dup(sqlite3_column_value(fuzz_bind_stmt, 0));
  }
  sqlite3_reset(fuzz_bind_stmt);
  sqlite3_clear_bindings(fuzz_bind_stmt);
  FUZZ_CHECK(value != NULL);
  return value;
}

static sqlite3_value *fuzz_plausible_value(const ix_column_def *def) {
  for (size_t i = 0; i < sizeof(fuzz_plausible) / sizeof(fuzz_plausible[0]); i++) {
    if (strcmp(fuzz_plausible[i].column, def->name) == 0) {
      return fuzz_make_value(fuzz_plausible[i].value, -1, 0);
    }
  }
  if (strcmp(def->decl_type, "INTEGER") == 0) return fuzz_make_value(NULL, 0, 1);
  return fuzz_make_value("fuzz", -1, 0);
}

/* The same checks the engine would need before handing the URL to libcurl. */
static void fuzz_check_request(int rc, const char *error, const ix_request *request) {
  if (rc == SQLITE_ERROR) FUZZ_CHECK(error != NULL);
  if (rc != SQLITE_OK || request->url.out_of_memory) return;
  FUZZ_CHECK(error == NULL);
  const char *url = request->url.text;
  FUZZ_CHECK(url != NULL && strncmp(url, FUZZ_BASE_URL, strlen(FUZZ_BASE_URL)) == 0);
  FUZZ_CHECK(strlen(url) == request->url.length);
  int questions = 0;
  for (const char *p = url; *p; p++) {
    FUZZ_CHECK((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '#');
    questions += *p == '?';
  }
  FUZZ_CHECK(questions <= 1);
}

static void fuzz_build_request(const ix_call *call, const char *page_token) {
  ix_request request;
  memset(&request, 0, sizeof(request));
  url_init(&request.url);
  url_append_raw(&request.url, FUZZ_BASE_URL);
  sqlite3_int64 page_size = call->provider->max_page_size;
  if (call->args->row_hint > 0 && call->args->row_hint < page_size) { /* as the engine does */
    page_size = call->args->row_hint;
  }
  char *error = NULL;
  int rc = call->provider->build_request(call, page_token, page_size, &request, &error);
  fuzz_check_request(rc, error, &request);
  sqlite3_free(error);
  url_free(&request.url);
  http_headers_clear(&request.headers);
}

/* One column of one row, read back through sqlite3_column_* like any client would. */
static void fuzz_check_value(const ix_call *call, int row, int column) {
  const ix_column_def *def = &call->provider->columns[column];
  sqlite3_bind_int(fuzz_select, 1, row);
  sqlite3_bind_int(fuzz_select, 2, column);
  int rc = sqlite3_step(fuzz_select);
  /* A vendor time no documented format reads fails the statement (issue 19), naming it. */
  if (rc == SQLITE_ERROR && def->kind == IX_VALUE_TIME &&
      strstr(sqlite3_errmsg(fuzz_db), "which no time format the vendor documents reads")) {
    sqlite3_reset(fuzz_select);
    return;
  }
  if (rc != SQLITE_ROW) {
    fprintf(stderr, "fuzz_page: column %s: %s\n", def->name, sqlite3_errmsg(fuzz_db));
    FUZZ_CHECK(rc == SQLITE_ROW);
  }
  int type = sqlite3_column_type(fuzz_select, 0);
  const char *text = NULL;
  if (type == SQLITE_TEXT) {
    text = (const char *)sqlite3_column_text(fuzz_select, 0);
    FUZZ_CHECK(text != NULL && strlen(text) == (size_t)sqlite3_column_bytes(fuzz_select, 0));
  }
  sqlite3_value *given = call->args->eq[column];
  if (given && (def->flags & IX_COL_EXACT)) {
    if (strcmp(def->decl_type, "TEXT") == 0) {
      FUZZ_CHECK(type == SQLITE_TEXT && strcmp(text, (const char *)sqlite3_value_text(given)) == 0);
    } else {
      FUZZ_CHECK(type == sqlite3_value_type(given));
    }
  } else {
    switch (def->kind) {
      case IX_VALUE_TIME: {
        size_t length = text ? strlen(text) : 0;
        FUZZ_CHECK(type == SQLITE_NULL ||
                   (type == SQLITE_TEXT && (length == 10 || length == 19 || length == 23)));
        break;
      }
      case IX_VALUE_INT:
        /* An integer beyond 64 bits is its digits as text, never rounded. */
        FUZZ_CHECK(type == SQLITE_NULL || type == SQLITE_INTEGER || type == SQLITE_TEXT);
        for (const char *p = text; p && *p; p++) FUZZ_CHECK((*p >= '0' && *p <= '9') || *p == '-');
        break;
      case IX_VALUE_INT_OR_TEXT: FUZZ_CHECK(type != SQLITE_FLOAT && type != SQLITE_BLOB); break;
      case IX_VALUE_REAL: FUZZ_CHECK(type == SQLITE_NULL || type == SQLITE_FLOAT); break;
      case IX_VALUE_BOOL: {
        sqlite3_int64 flag = sqlite3_column_int64(fuzz_select, 0);
        FUZZ_CHECK(type == SQLITE_NULL || (type == SQLITE_INTEGER && (flag == 0 || flag == 1)));
        break;
      }
      case IX_VALUE_TEXT:
      case IX_VALUE_RAW: FUZZ_CHECK(type == SQLITE_NULL || type == SQLITE_TEXT); break;
      case IX_VALUE_LOWER:
        FUZZ_CHECK(type == SQLITE_NULL || type == SQLITE_TEXT);
        for (const char *p = text; p && *p; p++) FUZZ_CHECK(*p < 'A' || *p > 'Z');
        break;
      case IX_VALUE_NONE:
      case IX_VALUE_JSON:
      case IX_VALUE_CUSTOM: FUZZ_CHECK(type != SQLITE_BLOB); break;
    }
  }
  sqlite3_reset(fuzz_select);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const ix_provider *provider = &FUZZ_PROVIDER;
  ix_args args;
  memset(&args, 0, sizeof(args));
  args.row_hint = -1;
  const timefmt_zone *zone = NULL;
  int max_pages = 2;
  int use_config = 1;

  if (size >= 4 && data[0] < 0x20 && data[0] != '\t' && data[0] != '\n' && data[0] != '\r') {
    unsigned control = data[0], mask = data[1], flags = data[2], embedded_length = data[3];
    data += 4, size -= 4;
    if (embedded_length > size) embedded_length = (unsigned)size;
    const char *embedded = (const char *)data;
    data += embedded_length, size -= embedded_length;

    zone = fuzz_zones[control & 3];
    int embedded_slot = (int)((control >> 2) & 7) - 1;
    for (int column = 0, k = 0; column < provider->column_count && column < IX_MAX_COLUMNS;
         column++) {
      const ix_column_def *def = &provider->columns[column];
      if (!(def->flags & IX_COL_EQ)) continue;
      if (k == embedded_slot) {
        args.eq[column] = fuzz_make_value(embedded, (int)embedded_length, 0);
      } else if (mask & (1u << (k % 8))) {
        args.eq[column] = fuzz_plausible_value(def);
      }
      k++;
    }
    if (descriptor_range_column(provider) >= 0) {
      if (flags & 1) args.range_low = sqlite3_mprintf("%s", "2025-01-01");
      if (flags & 2) args.range_high = sqlite3_mprintf("%s", "2025-12-31 23:59:59");
      args.range_low_inclusive = args.range_high_inclusive = !(flags & 16);
    }
    if (flags & 4) max_pages = 4;
    if (flags & 8) args.row_hint = 1;
    if (flags & 32) use_config = 0;
  }

  ix_page page;
  memset(&page, 0, sizeof(page));
  /* No note callback: a provider's notes (ix_note) are dropped, not written over the fuzzer's log. */
  ix_call call = {provider, provider->table, &args, use_config ? fuzz_config : NULL,
                  zone,     &page,           0,     NULL,
                  NULL};

  /* A copy of exactly the body's bytes on the heap, so ASan sees any read past its end. */
  char *body = malloc(size ? size : 1);
  FUZZ_CHECK(body != NULL);
  if (size) memcpy(body, data, size);

  /* The engine's loop for one customer (fetch.c): the same body answers every page, so a provider
   * that keeps state across pages (ix_page.customer_state) sees its own rows again. */
  char *token = NULL;
  for (int pages_fetched = 0; pages_fetched < max_pages;) {
    call.page_index = pages_fetched;
    fuzz_build_request(&call, token);
    sqlite3_free(token);
    token = NULL;
    pages_fetched++;
    columns_page_reset(&page);
    call.page_index = pages_fetched;
    char *error = NULL;
    ix_page_status status = provider->parse_page(&call, body, size, &page, &error);
    FUZZ_CHECK(status == IX_PAGE_OK || status == IX_PAGE_NOT_FOUND || status == IX_PAGE_ERROR);
    if (status == IX_PAGE_ERROR) FUZZ_CHECK(error != NULL);
    sqlite3_free(error);
    /* The engine reads rows only from a page that parsed OK (NOT_FOUND is reset, ERROR fails). */
    if (status != IX_PAGE_OK) break;
    FUZZ_CHECK(page.row_count >= 0 && page.row_count <= page.row_capacity);
    FUZZ_CHECK(page.row_count == 0 || page.rows != NULL);
    /* Each row item's span in the body (recorded by the parse, jsonarena.c), for raw. */
    for (int row = 0; row < page.row_count; row++) {
      const char *raw;
      size_t length;
      if (!jsonspan_row_raw(&page, &page.rows[row], &raw, &length)) continue;
      FUZZ_CHECK(raw >= body && length >= 2 && raw + length <= body + size);
      FUZZ_CHECK(raw[0] == '{' && raw[length - 1] == '}');
    }
    fuzz_current = &call;
    for (int row = 0; row < page.row_count; row++) {
      for (int column = 0; column < provider->column_count; column++) {
        fuzz_check_value(&call, row, column);
      }
    }
    fuzz_current = NULL;
    if (!page.next_token) break;
    token = page.next_token;
    page.next_token = NULL;
  }
  sqlite3_free(token);
  free(body);

  /* What the engine does when the next customer starts (fetch_reset), then frees the page. */
  columns_page_reset(&page);
  if (page.customer_state && page.free_customer_state) {
    page.free_customer_state(page.customer_state);
  }
  sqlite3_free(page.rows);
  columns_args_clear(&args);
  return 0;
}
