/*
 * The generic virtual-table engine every vendor table runs on.
 *
 * Usage, for any provider (vtab.h):
 *
 *     SELECT * FROM capillary_interactions('mobile', '919988221100');
 *     SELECT crm.name, ci.* FROM crm JOIN capillary_interactions ci ON ci.mobile = crm.mobile;
 *
 * How it works
 *   xBestIndex turns the WHERE clause into a plan: the required customer key (one of the provider's
 *   alternatives), optional equality filters the API understands, one collapsed date range, and
 *   LIMIT/OFFSET as a page-size hint. The plan travels to xFilter as a readable idxStr, which is
 * also what EXPLAIN QUERY PLAN shows, e.g. "identifier_name=?,identifier_value=?,LIMIT". Its
 * grammar:
 *
 *       plan  := term ("," term)*
 *       term  := column op "?"    -- op is one of = > >= < <=; argv[i] is the value
 *              | "LIMIT" | "OFFSET"
 *
 *   The i-th term's value is argv[i]. xFilter resolves the table's settings, asks the provider for
 *   the first page's request and parses it into rows. xNext walks those rows and asks for the next
 *   page only when the current one is used up, so a statement that stops early (LIMIT, EXISTS, a
 *   join that found nothing) makes no further requests.
 *
 *   Every table is marked SQLITE_VTAB_DIRECTONLY: it cannot be used from a view or trigger stored
 *   in a database file, because opening a file someone else wrote must never make network calls
 *   with your credentials (engineering-notes D1).
 */
#include "vtab.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* SQLITE_INDEX_CONSTRAINT_LIMIT/OFFSET exist since 3.38; the headers of Debian 12 have them, but
 * the library we run in may be older, so their use is also guarded at run time. */
#define IX_SQLITE_HAS_LIMIT_AND_IN 3038000
#define IX_COST_PER_REQUEST 1e6
#define IX_ROWS_PER_CUSTOMER 50
#define IX_MAX_EXCERPT 200
#define IX_JSON_SUBTYPE 74 /* 'J': json functions treat the text as JSON, not as a string */

/* A module registration's client data: which provider, and the connection's shared session. */
typedef struct ix_module_data {
  const ix_provider *provider;
  ix_session *session;
} ix_module_data;

typedef struct ix_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
  const ix_provider *provider;
  ix_session *session;
  char *table_name;    /* as the user wrote it: every error text starts with it */
  ix_options *options; /* CREATE VIRTUAL TABLE options; NULL for the eponymous table */
} ix_vtab;

typedef struct ix_cursor {
  sqlite3_vtab_cursor base;
  ix_config *config;  /* resolved on this cursor's first xFilter: a join reuses it per row */
  timefmt_zone *zone; /* the table's timezone, for vendor times that carry none */
  ix_args args;       /* the current xFilter's constraint values */
  ix_page page;       /* the page whose rows are being returned */
  int row_index;
  int pages_fetched; /* for the current customer */
  int eof;
  sqlite3_int64 rowid;
} ix_cursor;

/* ---------------------------------------------------------------------------------------------
 * Session: per database connection.
 */

ix_session *ix_session_new(void) {
  ix_session *session = sqlite3_malloc64(sizeof(*session));
  if (!session) return NULL;
  memset(session, 0, sizeof(*session));
  session->http = http_client_new();
  if (!session->http) {
    sqlite3_free(session);
    return NULL;
  }
  session->refs = 1;
  return session;
}

void ix_session_release(ix_session *session) {
  if (!session || --session->refs > 0) return;
  http_client_free(session->http);
  sqlite3_free(session);
}

/* ---------------------------------------------------------------------------------------------
 * Helpers for providers.
 */

char *ix_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return text;
}

/* Replaces the vtab's error message, freeing the previous one. */
static void ix_set_error(sqlite3_vtab *vtab, char *message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = message;
}

int ix_page_add_row(ix_page *page, const cJSON *item, const cJSON *group, const cJSON *parent) {
  if (page->row_count == page->row_capacity) {
    int capacity = page->row_capacity ? page->row_capacity * 2 : 64;
    ix_row *grown = sqlite3_realloc64(page->rows, (sqlite3_uint64)capacity * sizeof(ix_row));
    if (!grown) return SQLITE_NOMEM;
    page->rows = grown;
    page->row_capacity = capacity;
  }
  ix_row *row = &page->rows[page->row_count++];
  row->item = item;
  row->group = group;
  row->parent = parent;
  return SQLITE_OK;
}

void ix_page_reset(ix_page *page) {
  cJSON_Delete(page->root);
  page->root = NULL;
  page->context = NULL;
  page->row_count = 0;
  sqlite3_free(page->next_token);
  page->next_token = NULL;
}

const char *ix_args_text(const ix_args *args, int column) {
  if (column < 0 || column >= IX_MAX_COLUMNS || !args->eq[column]) return NULL;
  return (const char *)sqlite3_value_text(args->eq[column]);
}

static void ix_args_clear(ix_args *args) {
  for (int i = 0; i < IX_MAX_COLUMNS; i++) {
    sqlite3_value_free(args->eq[i]);
    args->eq[i] = NULL;
  }
  sqlite3_free(args->range_low);
  sqlite3_free(args->range_high);
  memset(args, 0, sizeof(*args));
  args->row_hint = -1;
}

const cJSON *ix_json_member(const cJSON *obj, const char *const *keys) {
  if (!cJSON_IsObject(obj)) return NULL;
  for (int i = 0; i < 3 && keys[i]; i++) {
    const cJSON *member = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
    if (member) return member;
  }
  return NULL;
}

const cJSON *ix_json_first(const cJSON *array_or_object) {
  if (cJSON_IsArray(array_or_object)) return array_or_object->child;
  return cJSON_IsObject(array_or_object) ? array_or_object : NULL;
}

const cJSON *ix_json_next(const cJSON *array_or_object, const cJSON *current) {
  return cJSON_IsArray(array_or_object) ? current->next : NULL;
}

/* Parses a whole number from text; no partial matches ("12abc" is not a number). */
static int ix_parse_int64(const char *text, sqlite3_int64 *out) {
  if (!text || !*text) return 0;
  const char *p = text;
  if (*p == '-' || *p == '+') p++;
  if (!isdigit((unsigned char)*p)) return 0;
  char *end = NULL;
  long long value = strtoll(text, &end, 10);
  if (*end) return 0;
  *out = value;
  return 1;
}

/* A JSON number that holds an exact integer (ids above 2^32 included; doubles are exact to 2^53).
 */
static int ix_number_as_int64(const cJSON *number, sqlite3_int64 *out) {
  double value = number->valuedouble;
  if (value != value || value < -9007199254740992.0 || value > 9007199254740992.0) return 0;
  sqlite3_int64 whole = (sqlite3_int64)value;
  if ((double)whole != value) return 0;
  *out = whole;
  return 1;
}

static void ix_result_json_text(sqlite3_context *ctx, const cJSON *member) {
  char *json = cJSON_PrintUnformatted(member);
  if (!json) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, json, -1, cJSON_free);
  sqlite3_result_subtype(ctx, IX_JSON_SUBTYPE);
}

static void ix_result_number(sqlite3_context *ctx, const cJSON *number) {
  sqlite3_int64 whole;
  if (ix_number_as_int64(number, &whole)) {
    sqlite3_result_int64(ctx, whole);
  } else {
    sqlite3_result_double(ctx, number->valuedouble);
  }
}

void ix_result_lower(sqlite3_context *ctx, const char *text) {
  if (!text) {
    sqlite3_result_null(ctx);
    return;
  }
  size_t length = strlen(text);
  char *lower = sqlite3_malloc64(length + 1);
  if (!lower) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  for (size_t i = 0; i <= length; i++) lower[i] = (char)tolower((unsigned char)text[i]);
  sqlite3_result_text(ctx, lower, (int)length, sqlite3_free);
}

void ix_result_json(sqlite3_context *ctx, const cJSON *member, ix_value_kind kind,
                    const timefmt_zone *zone) {
  if (!member || cJSON_IsNull(member)) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_int64 whole;
  switch (kind) {
    case IX_VALUE_TEXT:
    case IX_VALUE_LOWER:
      if (cJSON_IsString(member)) {
        if (kind == IX_VALUE_LOWER) {
          ix_result_lower(ctx, member->valuestring);
        } else {
          sqlite3_result_text(ctx, member->valuestring, -1, SQLITE_TRANSIENT);
        }
      } else if (cJSON_IsNumber(member) && ix_number_as_int64(member, &whole)) {
        sqlite3_result_text(ctx, sqlite3_mprintf("%lld", whole), -1, sqlite3_free);
      } else if (cJSON_IsNumber(member)) {
        sqlite3_result_text(ctx, sqlite3_mprintf("%!.15g", member->valuedouble), -1, sqlite3_free);
      } else if (cJSON_IsBool(member)) {
        sqlite3_result_text(ctx, cJSON_IsTrue(member) ? "true" : "false", -1, SQLITE_STATIC);
      } else {
        ix_result_json_text(ctx, member);
      }
      return;
    case IX_VALUE_INT:
    case IX_VALUE_INT_OR_TEXT:
      if (cJSON_IsNumber(member) && ix_number_as_int64(member, &whole)) {
        sqlite3_result_int64(ctx, whole);
      } else if (cJSON_IsString(member) && ix_parse_int64(member->valuestring, &whole)) {
        sqlite3_result_int64(ctx, whole);
      } else if (kind == IX_VALUE_INT_OR_TEXT && cJSON_IsString(member) && *member->valuestring) {
        sqlite3_result_text(ctx, member->valuestring, -1, SQLITE_TRANSIENT);
      } else {
        sqlite3_result_null(ctx); /* a wrong type in a known field is NULL, not an error */
      }
      return;
    case IX_VALUE_REAL:
      if (cJSON_IsNumber(member)) {
        sqlite3_result_double(ctx, member->valuedouble);
      } else if (cJSON_IsString(member) && *member->valuestring) {
        char *end = NULL;
        double value = strtod(member->valuestring, &end);
        if (*end) {
          sqlite3_result_null(ctx);
        } else {
          sqlite3_result_double(ctx, value);
        }
      } else {
        sqlite3_result_null(ctx);
      }
      return;
    case IX_VALUE_BOOL:
      if (cJSON_IsBool(member)) {
        sqlite3_result_int(ctx, cJSON_IsTrue(member));
      } else if (cJSON_IsNumber(member)) {
        sqlite3_result_int(ctx, member->valuedouble != 0);
      } else if (cJSON_IsString(member) && strcmp(member->valuestring, "true") == 0) {
        sqlite3_result_int(ctx, 1);
      } else if (cJSON_IsString(member) && strcmp(member->valuestring, "false") == 0) {
        sqlite3_result_int(ctx, 0);
      } else {
        sqlite3_result_null(ctx);
      }
      return;
    case IX_VALUE_TIME: {
      char converted[TIMEFMT_MAX];
      if (cJSON_IsString(member) &&
          timefmt_to_utc(member->valuestring, strlen(member->valuestring), zone, converted) > 0) {
        sqlite3_result_text(ctx, converted, -1, SQLITE_TRANSIENT);
      } else {
        sqlite3_result_null(ctx); /* "null", "", or a date the vendor garbled */
      }
      return;
    }
    case IX_VALUE_JSON:
      if (cJSON_IsObject(member) || cJSON_IsArray(member)) {
        ix_result_json_text(ctx, member);
      } else if (cJSON_IsString(member)) {
        sqlite3_result_text(ctx, member->valuestring, -1, SQLITE_TRANSIENT);
      } else if (cJSON_IsNumber(member)) {
        ix_result_number(ctx, member);
      } else if (cJSON_IsBool(member)) {
        sqlite3_result_int(ctx, cJSON_IsTrue(member));
      } else {
        sqlite3_result_null(ctx);
      }
      return;
    case IX_VALUE_RAW: ix_result_json_text(ctx, member); return;
    case IX_VALUE_NONE:
    case IX_VALUE_CUSTOM: sqlite3_result_null(ctx); return;
  }
}

int ix_url_segment(const ix_call *call, ix_request *request, int column, const char *value,
                   char **error_out) {
  const char *problem = NULL;
  if (url_append_segment(&request->url, value, strlen(value), &problem) != 0) {
    *error_out = ix_errorf("%s: %s %s: give the vendor's id as it is", call->table_name,
                           call->provider->columns[column].name, problem);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

int ix_parse_json_body(const ix_call *call, const char *body, size_t body_len, ix_page *page,
                       char **error_out) {
  page->root = cJSON_ParseWithLength(body, body_len);
  if (page->root) return SQLITE_OK;
  const char *start = body;
  while (start < body + body_len && isspace((unsigned char)*start)) start++;
  if (start < body + body_len && *start == '<') {
    *error_out = ix_errorf(
        "%s: the API answered with an HTML or XML page instead of JSON: "
        "check the base URL (%s)",
        call->table_name, config_origin(call->config, "base_url"));
  } else {
    *error_out = ix_errorf(
        "%s: the API's response is not valid JSON (%lld bytes, cut short or "
        "malformed); retry, and report it if it persists",
        call->table_name, (long long)body_len);
  }
  return SQLITE_ERROR;
}

/* ---------------------------------------------------------------------------------------------
 * Connect, Disconnect.
 */

static int ix_declare(sqlite3 *db, const ix_provider *provider) {
  sqlite3_str *sql = sqlite3_str_new(db);
  sqlite3_str_appendall(sql, "CREATE TABLE x(");
  for (int i = 0; i < provider->column_count; i++) {
    const ix_column_def *column = &provider->columns[i];
    sqlite3_str_appendf(sql, "%s\"%w\" %s%s", i ? ", " : "", column->name, column->decl_type,
                        (column->flags & IX_COL_HIDDEN) ? " HIDDEN" : "");
  }
  sqlite3_str_appendall(sql, ")");
  char *text = sqlite3_str_finish(sql);
  if (!text) return SQLITE_NOMEM;
  int rc = sqlite3_declare_vtab(db, text);
  sqlite3_free(text);
  return rc;
}

/* xCreate and xConnect: the same function, which makes every table eponymous (usable by name
 * straight after loading) and also creatable under another name with options. */
static int ix_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **vtab_out, char **error_out) {
  const ix_module_data *data = aux;
  const ix_provider *provider = data->provider;
  const char *table = argc > 2 ? argv[2] : provider->table;
  int stored_in_file = argc > 1 && sqlite3_stricmp(argv[1], "temp") != 0;
  ix_options *options = NULL;
  int rc = config_options_parse(table, provider->settings, argc - 3, argv + 3, stored_in_file,
                                &options, error_out);
  if (rc != SQLITE_OK) return rc;
  rc = ix_declare(db, provider);
  if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  ix_vtab *vtab = rc == SQLITE_OK ? sqlite3_malloc64(sizeof(*vtab)) : NULL;
  if (!vtab) {
    config_options_free(options);
    return rc == SQLITE_OK ? SQLITE_NOMEM : rc;
  }
  memset(vtab, 0, sizeof(*vtab));
  vtab->db = db;
  vtab->provider = provider;
  vtab->session = data->session;
  vtab->options = options;
  vtab->table_name = sqlite3_mprintf("%s", table);
  if (!vtab->table_name) {
    config_options_free(options);
    sqlite3_free(vtab);
    return SQLITE_NOMEM;
  }
  *vtab_out = &vtab->base;
  return SQLITE_OK;
}

static int ix_disconnect(sqlite3_vtab *base) {
  ix_vtab *vtab = (ix_vtab *)base;
  config_options_free(vtab->options);
  sqlite3_free(vtab->table_name);
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Open, Close.
 */

static int ix_open(sqlite3_vtab *base, sqlite3_vtab_cursor **cursor_out) {
  ix_cursor *cursor = sqlite3_malloc64(sizeof(*cursor));
  if (!cursor) return SQLITE_NOMEM;
  memset(cursor, 0, sizeof(*cursor));
  (void)base;
  cursor->args.row_hint = -1;
  cursor->eof = 1;
  *cursor_out = &cursor->base;
  return SQLITE_OK;
}

/* What xFilter and xClose both undo: the current request's values and page. */
static void ix_cursor_reset(ix_cursor *cursor) {
  ix_args_clear(&cursor->args);
  ix_page_reset(&cursor->page);
  cursor->row_index = 0;
  cursor->pages_fetched = 0;
  cursor->eof = 1;
}

static int ix_close(sqlite3_vtab_cursor *base) {
  ix_cursor *cursor = (ix_cursor *)base;
  ix_cursor_reset(cursor);
  sqlite3_free(cursor->page.rows);
  config_free(cursor->config);
  timefmt_zone_free(cursor->zone);
  sqlite3_free(cursor);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Fetching pages.
 */

static int ix_should_abort(void *arg) {
#if defined(sqlite3_is_interrupted)
  sqlite3 *db = arg;
  if (sqlite3_libversion_number() >= 3041000) return sqlite3_is_interrupted(db);
#else
  (void)arg;
#endif
  return 0;
}

/* A short, printable excerpt of the vendor's own explanation in an error body, or NULL. Vendor
 * bodies may echo what we sent, so the caller scrubs secrets and header values out of it. */
static char *ix_vendor_message(const char *body, size_t body_len, const char *content_type) {
  if (!body || body_len == 0) return NULL;
  if (strstr(content_type, "html")) return sqlite3_mprintf("an HTML page, not JSON");
  cJSON *root = cJSON_ParseWithLength(body, body_len);
  const char *found = NULL;
  if (root) {
    static const char *const paths[][4] = {
        {"message", NULL},
        {"Message", NULL},
        {"error_description", NULL},
        {"error", NULL},
        {"response", "customer", "item_status", "message"},
        {"response", "status", "message", NULL},
        {"errors", NULL},
    };
    for (size_t p = 0; !found && p < sizeof(paths) / sizeof(paths[0]); p++) {
      const cJSON *node = root;
      for (int k = 0; k < 4 && paths[p][k] && node; k++) {
        node = cJSON_GetObjectItemCaseSensitive(node, paths[p][k]);
      }
      if (cJSON_IsArray(node)) node = cJSON_GetObjectItemCaseSensitive(node->child, "message");
      if (cJSON_IsString(node) && *node->valuestring) found = node->valuestring;
    }
  } else {
    found = body;
  }
  char *excerpt = NULL;
  if (found) {
    size_t length = strlen(found);
    if (!root && length > body_len) length = body_len;
    excerpt = sqlite3_mprintf("%.*s%s", (int)(length > IX_MAX_EXCERPT ? IX_MAX_EXCERPT : length),
                              found, length > IX_MAX_EXCERPT ? "..." : "");
    for (char *p = excerpt; p && *p; p++) {
      if ((unsigned char)*p < 0x20) *p = ' ';
    }
  }
  cJSON_Delete(root);
  return excerpt;
}

/* The vendor message excerpt, without secrets or anything we sent in a header. */
static char *ix_scrub(const ix_config *config, const http_headers *headers, char *text) {
  text = config_scrub(config, text);
  for (int i = 0; text && i < headers->count; i++) {
    const char *value = strchr(headers->lines[i], ':');
    if (!value) continue;
    value += 2;
    /* The credential part of "Basic xxx" / "Bearer xxx" as well as the whole value. */
    const char *space = strchr(value, ' ');
    const char *candidates[2] = {value, space ? space + 1 : NULL};
    for (int c = 0; c < 2 && text; c++) {
      const char *secret = candidates[c];
      if (!secret || strlen(secret) < 6) continue;
      char *found;
      while (text && (found = strstr(text, secret)) != NULL) {
        char *replaced =
            sqlite3_mprintf("%.*s***%s", (int)(found - text), text, found + strlen(secret));
        sqlite3_free(text);
        text = replaced;
      }
    }
  }
  return text;
}

/* Names of the settings that hold this table's credentials, for "check ..." hints. */
static char *ix_credential_hint(const ix_provider *provider, const ix_config *config) {
  sqlite3_str *hint = sqlite3_str_new(NULL);
  int named = 0;
  for (const ix_setting_def *def = provider->settings; def && def->key; def++) {
    if (!(def->flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL))) continue;
    if (!config_get(config, def->key)) continue;
    sqlite3_str_appendf(hint, "%s%s", named++ ? " and " : "", config_origin(config, def->key));
  }
  if (!named) sqlite3_str_appendall(hint, "the credentials");
  return sqlite3_str_finish(hint);
}

static char *ix_http_status_error(const ix_cursor *cursor, const ix_vtab *vtab,
                                  const http_response *response, const http_headers *headers,
                                  const char *host) {
  const char *table = vtab->table_name;
  char *vendor = ix_vendor_message(response->body, response->body_len, response->content_type);
  vendor = ix_scrub(cursor->config, headers, vendor);
  char *said = vendor ? sqlite3_mprintf(" (the API said: %s)", vendor) : sqlite3_mprintf("");
  sqlite3_free(vendor);
  char *message;
  long status = response->status;
  if (status == 401 || status == 403) {
    char *hint = ix_credential_hint(vtab->provider, cursor->config);
    message = ix_errorf("%s: HTTP %ld from %s%s: check %s", table, status, host, said ? said : "",
                        hint ? hint : "the credentials");
    sqlite3_free(hint);
  } else if (status >= 300 && status < 400) {
    message = ix_errorf(
        "%s: HTTP %ld from %s: the API redirected the request, and redirects are "
        "not followed because they would carry credentials to another host: "
        "check the base URL (%s)",
        table, status, host, config_origin(cursor->config, "base_url"));
  } else if (status == 429) {
    message = ix_errorf(
        "%s: HTTP 429 from %s%s: the vendor's rate limit was exceeded: lower "
        "rate_limit (%s)",
        table, host, said ? said : "", config_origin(cursor->config, "rate_limit"));
  } else {
    message = ix_errorf("%s: HTTP %ld from %s%s", table, status, host, said ? said : "");
  }
  sqlite3_free(said);
  return message;
}

/* Fetches one page for the current plan: the first when page.next_token is NULL, else the next. */
static int ix_cursor_fetch_page(ix_cursor *cursor) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const ix_provider *provider = vtab->provider;
  const ix_config *config = cursor->config;
  ix_call call = {provider,     vtab->table_name, &cursor->args,        config,
                  cursor->zone, &cursor->page,    cursor->pages_fetched};
  char *error = NULL;

  sqlite3_int64 max_pages = config_get_int(config, "max_pages");
  if (max_pages > 0 && cursor->pages_fetched >= max_pages) {
    ix_set_error(&vtab->base,
                 ix_errorf("%s: stopped after %lld pages for one customer without reaching the "
                           "last page: raise max_pages (%s) if this customer really has that many "
                           "interactions",
                           vtab->table_name, max_pages, config_origin(config, "max_pages")));
    return SQLITE_ERROR;
  }

  sqlite3_int64 page_size = config_get(config, "page_size") ? config_get_int(config, "page_size")
                                                            : provider->max_page_size;
  if (provider->max_page_size > 0 && (page_size <= 0 || page_size > provider->max_page_size)) {
    page_size = provider->max_page_size;
  }
  if (cursor->args.row_hint > 0 && cursor->args.row_hint < page_size) {
    page_size = cursor->args.row_hint;
  }

  ix_request request;
  memset(&request, 0, sizeof(request));
  url_init(&request.url);
  url_append_raw(&request.url, config_get(config, "base_url"));
  char *previous_token = cursor->page.next_token;
  cursor->page.next_token = NULL;
  int rc = provider->authenticate(&call, &request.headers, &error);
  if (rc == SQLITE_OK) {
    rc = provider->build_request(&call, previous_token, page_size, &request, &error);
  }
  sqlite3_free(previous_token);
  if (rc == SQLITE_OK && request.url.out_of_memory) rc = SQLITE_NOMEM;
  if (rc != SQLITE_OK) {
    url_free(&request.url);
    http_headers_clear(&request.headers);
    if (error) ix_set_error(&vtab->base, error);
    return rc;
  }

  char host[256] = "";
  int is_https = 0;
  const char *problem = NULL;
  url_check_base(config_get(config, "base_url"), host, sizeof(host), &is_https, &problem);
  http_request http = {
      .url = request.url.text,
      .headers = &request.headers,
      .connect_timeout_ms = (long)config_get_int(config, "connect_timeout_ms"),
      .timeout_ms = (long)config_get_int(config, "timeout_ms"),
      .stall_seconds = 20,
      .max_body = (size_t)config_get_int(config, "max_response_bytes"),
      .allow_plain_http = !is_https,
      .ca_bundle = getenv("INTERACTIONS_CA_BUNDLE"),
      .should_abort = ix_should_abort,
      .abort_arg = vtab->db,
  };
  http_response response;
  http_outcome outcome = http_client_get(vtab->session->http, &http, &response);
  cursor->pages_fetched++;

  ix_page_reset(&cursor->page);
  rc = SQLITE_OK;
  if (outcome == HTTP_ABORTED) {
    ix_set_error(&vtab->base, ix_errorf("%s: interrupted", vtab->table_name));
    rc = SQLITE_INTERRUPT;
  } else if (outcome == HTTP_TOO_LARGE) {
    ix_set_error(&vtab->base,
                 ix_errorf("%s: the response from %s was larger than %lld bytes and was not read: "
                           "raise max_response_bytes (%s) if that is expected",
                           vtab->table_name, host, config_get_int(config, "max_response_bytes"),
                           config_origin(config, "max_response_bytes")));
    rc = SQLITE_ERROR;
  } else if (outcome != HTTP_OK) {
    ix_set_error(&vtab->base,
                 ix_errorf("%s: request to %s failed: %s%s", vtab->table_name, host, response.error,
                           response.timed_out ? " (raise timeout_ms if the API is slow)" : ""));
    rc = outcome == HTTP_NO_MEMORY ? SQLITE_NOMEM : SQLITE_ERROR;
  } else if (response.status == 404) {
    /* A customer the vendor does not know has no interactions: a join skips them. */
  } else if (response.status < 200 || response.status >= 300) {
    ix_set_error(&vtab->base,
                 ix_http_status_error(cursor, vtab, &response, &request.headers, host));
    rc = SQLITE_ERROR;
  } else {
    ix_page_status status = provider->parse_page(&call, response.body ? response.body : "",
                                                 response.body_len, &cursor->page, &error);
    if (status == IX_PAGE_NOT_FOUND) {
      ix_page_reset(&cursor->page);
    } else if (status == IX_PAGE_ERROR) {
      ix_set_error(&vtab->base, ix_scrub(config, &request.headers, error));
      error = NULL;
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_free(error);
  http_response_clear(&response);
  url_free(&request.url);
  http_headers_clear(&request.headers);
  return rc;
}

/* Moves to the first row at or after row_index, fetching pages as needed; sets eof at the end. */
static int ix_cursor_settle(ix_cursor *cursor) {
  while (cursor->row_index >= cursor->page.row_count) {
    if (!cursor->page.next_token) {
      cursor->eof = 1;
      return SQLITE_OK;
    }
    cursor->row_index = 0;
    int rc = ix_cursor_fetch_page(cursor);
    if (rc != SQLITE_OK) return rc;
  }
  cursor->eof = 0;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Next, Column, Rowid, Eof.
 */

static int ix_next(sqlite3_vtab_cursor *base) {
  ix_cursor *cursor = (ix_cursor *)base;
  cursor->row_index++;
  cursor->rowid++;
  return ix_cursor_settle(cursor);
}

void ix_row_value(const ix_call *call, const ix_row *row, int column, sqlite3_context *ctx) {
  const ix_provider *provider = call->provider;
  const ix_column_def *def = &provider->columns[column];
  sqlite3_value *given = call->args->eq[column];
  if (given && (def->flags & IX_COL_EXACT)) {
    /* Echo the value the API was asked for, as text for TEXT columns: SQLite's re-check (or the
     * user) sees exactly what was sent. */
    if (strcmp(def->decl_type, "TEXT") == 0) {
      sqlite3_result_text(ctx, (const char *)sqlite3_value_text(given), -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_result_value(ctx, given);
    }
    return;
  }
  switch (def->kind) {
    case IX_VALUE_CUSTOM: provider->column(call, row, column, ctx); break;
    case IX_VALUE_RAW: ix_result_json(ctx, row->item, IX_VALUE_RAW, call->zone); break;
    case IX_VALUE_NONE:
      /* Argument columns without a per-row value: the provider may still know one. */
      if (provider->column) {
        provider->column(call, row, column, ctx);
      } else {
        sqlite3_result_null(ctx);
      }
      break;
    default:
      ix_result_json(ctx, ix_json_member(row->item, def->keys), def->kind, call->zone);
      break;
  }
}

static int ix_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int column) {
  ix_cursor *cursor = (ix_cursor *)base;
  ix_vtab *vtab = (ix_vtab *)base->pVtab;
  ix_call call = {vtab->provider,           vtab->table_name, &cursor->args,
                  cursor->config,           cursor->zone,     &cursor->page,
                  cursor->pages_fetched - 1};
  ix_row_value(&call, &cursor->page.rows[cursor->row_index], column, ctx);
  return SQLITE_OK;
}

static int ix_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  *rowid = ((ix_cursor *)base)->rowid;
  return SQLITE_OK;
}

static int ix_eof(sqlite3_vtab_cursor *base) {
  return ((ix_cursor *)base)->eof;
}

/* ---------------------------------------------------------------------------------------------
 * Filter.
 */

typedef enum ix_term_op { IX_OP_EQ, IX_OP_GT, IX_OP_GE, IX_OP_LT, IX_OP_LE } ix_term_op;

static const char *const ix_op_text[] = {"=", ">", ">=", "<", "<="};

static int ix_find_column(const ix_provider *provider, const char *name, size_t length) {
  for (int i = 0; i < provider->column_count; i++) {
    if (strlen(provider->columns[i].name) == length &&
        strncmp(provider->columns[i].name, name, length) == 0) {
      return i;
    }
  }
  return -1;
}

/* Narrows the collapsed range with one bound: the tighter bound wins, exclusive over inclusive. */
static int ix_args_add_bound(ix_args *args, ix_term_op op, const char *value) {
  int lower = op == IX_OP_GT || op == IX_OP_GE || op == IX_OP_EQ;
  int upper = op == IX_OP_LT || op == IX_OP_LE || op == IX_OP_EQ;
  if (lower) {
    int inclusive = op != IX_OP_GT;
    int cmp = args->range_low ? strcmp(value, args->range_low) : 1;
    if (cmp > 0 || (cmp == 0 && !inclusive)) {
      sqlite3_free(args->range_low);
      args->range_low = sqlite3_mprintf("%s", value);
      if (!args->range_low) return SQLITE_NOMEM;
      args->range_low_inclusive = inclusive;
    }
  }
  if (upper) {
    int inclusive = op != IX_OP_LT;
    int cmp = args->range_high ? strcmp(value, args->range_high) : -1;
    if (cmp < 0 || (cmp == 0 && !inclusive)) {
      sqlite3_free(args->range_high);
      args->range_high = sqlite3_mprintf("%s", value);
      if (!args->range_high) return SQLITE_NOMEM;
      args->range_high_inclusive = inclusive;
    }
  }
  return SQLITE_OK;
}

/* Reads the plan (see the grammar at the top) and the values into cursor->args. Sets *no_rows
 * when a value can match nothing (an equality with NULL), so no request is made at all. */
static int ix_filter_read_plan(ix_cursor *cursor, const char *plan, int argc, sqlite3_value **argv,
                               int *no_rows) {
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const ix_provider *provider = vtab->provider;
  sqlite3_int64 limit = -1, offset = 0;
  const char *term = plan ? plan : "";
  for (int i = 0; *term && i < argc; i++) {
    size_t length = strcspn(term, ",");
    sqlite3_value *value = argv[i];
    if (length == 5 && strncmp(term, "LIMIT", 5) == 0) {
      limit = sqlite3_value_int64(value);
    } else if (length == 6 && strncmp(term, "OFFSET", 6) == 0) {
      offset = sqlite3_value_int64(value);
    } else {
      size_t name_length = strcspn(term, "=<>");
      int column = ix_find_column(provider, term, name_length);
      const char *op_text = term + name_length;
      size_t op_length = length - name_length - 1; /* without the final '?' */
      int op = -1;
      for (int o = 0; o < 5; o++) {
        if (strlen(ix_op_text[o]) == op_length && strncmp(op_text, ix_op_text[o], op_length) == 0) {
          op = o;
        }
      }
      if (column < 0 || op < 0) {
        ix_set_error(&vtab->base,
                     ix_errorf("%s: internal error: bad plan '%s'", vtab->table_name, plan));
        return SQLITE_ERROR;
      }
      int type = sqlite3_value_type(value);
      if (type == SQLITE_NULL) {
        *no_rows = 1; /* "= NULL" and "> NULL" are never true */
      } else if (type == SQLITE_BLOB) {
        ix_set_error(&vtab->base, ix_errorf("%s: %s must be text or a number, not a blob",
                                            vtab->table_name, provider->columns[column].name));
        return SQLITE_ERROR;
      } else if (op == IX_OP_EQ && column != provider->range_column) {
        sqlite3_value_free(cursor->args.eq[column]);
        cursor->args.eq[column] = sqlite3_value_dup(value);
        if (!cursor->args.eq[column]) return SQLITE_NOMEM;
        cursor->args.eq_mask |= (uint64_t)1 << column;
      } else {
        int rc = ix_args_add_bound(&cursor->args, (ix_term_op)op,
                                   (const char *)sqlite3_value_text(value));
        if (rc != SQLITE_OK) return rc;
      }
    }
    term += length;
    if (*term == ',') term++;
  }
  if (limit >= 0) cursor->args.row_hint = limit + (offset > 0 ? offset : 0);
  return SQLITE_OK;
}

/* Settings are resolved once per cursor: a join calls xFilter once per outer row. */
static int ix_cursor_configure(ix_cursor *cursor) {
  if (cursor->config) return SQLITE_OK;
  ix_vtab *vtab = (ix_vtab *)cursor->base.pVtab;
  const ix_provider *provider = vtab->provider;
  char *error = NULL;
  int rc = config_resolve(vtab->table_name, provider->vendor, provider->settings,
                          provider->default_base_url, vtab->options, &cursor->config, &error);
  if (rc == SQLITE_OK) {
    char *zone_error = NULL;
    cursor->zone = timefmt_zone_load(config_get(cursor->config, "timezone"), &zone_error);
    if (!cursor->zone) {
      error =
          ix_errorf("%s: %s (from %s)", vtab->table_name, zone_error ? zone_error : "out of memory",
                    config_origin(cursor->config, "timezone"));
      free(zone_error);
      rc = SQLITE_ERROR;
    }
  }
  if (rc != SQLITE_OK) {
    config_free(cursor->config);
    cursor->config = NULL;
    if (error) ix_set_error(&vtab->base, error);
  }
  return rc;
}

static int ix_filter(sqlite3_vtab_cursor *base, int plan_number, const char *plan, int argc,
                     sqlite3_value **argv) {
  (void)plan_number;
  ix_cursor *cursor = (ix_cursor *)base;
  ix_cursor_reset(cursor);
  int no_rows = 0;
  int rc = ix_filter_read_plan(cursor, plan, argc, argv, &no_rows);
  if (rc != SQLITE_OK || no_rows) return rc;
  rc = ix_cursor_configure(cursor);
  if (rc != SQLITE_OK) return rc;
  rc = ix_cursor_fetch_page(cursor);
  if (rc != SQLITE_OK) return rc;
  return ix_cursor_settle(cursor);
}

/* ---------------------------------------------------------------------------------------------
 * BestIndex.
 *
 * The plan (idxStr, grammar above) is built here and read back by ix_filter. The rules:
 *  - Required keys: the first of the provider's alternatives whose columns all have a usable
 *    equality is sent. If one is constrained but not usable in this join order, SQLITE_CONSTRAINT
 *    makes SQLite put the API table in the inner loop. If none is constrained at all, the error
 *    names the table and the WHERE clause to add (returning SQLITE_CONSTRAINT there would leave the
 *    user with SQLite's bare "no query solution").
 *  - Equalities on columns of other alternatives are left to SQLite: it re-checks them against what
 *    the vendor returned. Optional filters (IX_COL_EQ columns in no alternative) are sent too.
 *  - omit only where the API applies the filter exactly (IX_COL_EXACT), and such columns echo the
 *    value they were given. Range bounds are always re-checked by SQLite.
 *  - LIMIT and OFFSET are only a page-size hint, and taken only when SQLite applies nothing after
 *    us that could drop rows: every other usable constraint sent and omitted, and no ORDER BY
 *    (engineering-notes A3). SQLite still applies LIMIT itself.
 */

static int ix_best_index(sqlite3_vtab *base, sqlite3_index_info *info) {
  ix_vtab *vtab = (ix_vtab *)base;
  const ix_provider *provider = vtab->provider;
  uint64_t usable_eq = 0, present_eq = 0;
  int eq_constraint[IX_MAX_COLUMNS];
  for (int i = 0; i < IX_MAX_COLUMNS; i++) eq_constraint[i] = -1;
  int limit_constraint = -1, offset_constraint = -1;
  int has_limit_ops = sqlite3_libversion_number() >= IX_SQLITE_HAS_LIMIT_AND_IN;

  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];
    int column = constraint->iColumn;
    if (has_limit_ops && constraint->usable && constraint->op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      limit_constraint = i;
    } else if (has_limit_ops && constraint->usable &&
               constraint->op == SQLITE_INDEX_CONSTRAINT_OFFSET) {
      offset_constraint = i;
    } else if (column >= 0 && column < provider->column_count &&
               constraint->op == SQLITE_INDEX_CONSTRAINT_EQ &&
               (provider->columns[column].flags & IX_COL_EQ)) {
      present_eq |= (uint64_t)1 << column;
      if (constraint->usable && eq_constraint[column] < 0) {
        usable_eq |= (uint64_t)1 << column;
        eq_constraint[column] = i;
      }
    }
  }

  int chosen = -1;
  uint64_t in_any_alternative = 0;
  for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
    in_any_alternative |= provider->required[a];
    if (chosen < 0 && (provider->required[a] & usable_eq) == provider->required[a]) chosen = a;
  }
  if (chosen < 0 && provider->required[0]) {
    for (int a = 0; a < IX_MAX_REQUIRED_ALTERNATIVES && provider->required[a]; a++) {
      if ((provider->required[a] & present_eq) == provider->required[a]) return SQLITE_CONSTRAINT;
    }
    ix_set_error(base, ix_errorf("%s: %s", vtab->table_name, provider->required_hint));
    return SQLITE_ERROR;
  }

  uint64_t send = usable_eq & ~in_any_alternative;
  if (chosen >= 0) send |= provider->required[chosen];
  sqlite3_str *plan = sqlite3_str_new(NULL);
  int argv_index = 0;
  int all_sent_exactly = 1;
  for (int column = 0; column < provider->column_count; column++) {
    if (!(send & ((uint64_t)1 << column))) continue;
    struct sqlite3_index_constraint_usage *usage = &info->aConstraintUsage[eq_constraint[column]];
    usage->argvIndex = ++argv_index;
    usage->omit = (provider->columns[column].flags & IX_COL_EXACT) && argv_index <= 16;
    if (!usage->omit) all_sent_exactly = 0;
    sqlite3_str_appendf(plan, "%s%s=?", argv_index > 1 ? "," : "", provider->columns[column].name);
  }
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *constraint = &info->aConstraint[i];
    if (!constraint->usable || constraint->iColumn != provider->range_column ||
        provider->range_column < 0) {
      continue;
    }
    int op;
    switch (constraint->op) {
      case SQLITE_INDEX_CONSTRAINT_EQ: op = IX_OP_EQ; break;
      case SQLITE_INDEX_CONSTRAINT_GT: op = IX_OP_GT; break;
      case SQLITE_INDEX_CONSTRAINT_GE: op = IX_OP_GE; break;
      case SQLITE_INDEX_CONSTRAINT_LT: op = IX_OP_LT; break;
      case SQLITE_INDEX_CONSTRAINT_LE: op = IX_OP_LE; break;
      default: continue;
    }
    info->aConstraintUsage[i].argvIndex = ++argv_index;
    all_sent_exactly = 0; /* the API's dates are coarser than the column: SQLite re-checks */
    sqlite3_str_appendf(plan, "%s%s%s?", argv_index > 1 ? "," : "",
                        provider->columns[provider->range_column].name, ix_op_text[op]);
  }
  /* Any other usable constraint is applied by SQLite after us, which a LIMIT hint must not cut. */
  for (int i = 0; i < info->nConstraint; i++) {
    if (info->aConstraint[i].usable && info->aConstraintUsage[i].argvIndex == 0 &&
        i != limit_constraint && i != offset_constraint) {
      all_sent_exactly = 0;
    }
  }
  if (limit_constraint >= 0 && all_sent_exactly && info->nOrderBy == 0 &&
      provider->max_page_size > 0) {
    info->aConstraintUsage[limit_constraint].argvIndex = ++argv_index;
    sqlite3_str_appendf(plan, "%sLIMIT", argv_index > 1 ? "," : "");
    if (offset_constraint >= 0) {
      info->aConstraintUsage[offset_constraint].argvIndex = ++argv_index;
      sqlite3_str_appendall(plan, ",OFFSET");
    }
  }

  info->idxNum = chosen + 1;
  info->idxStr = sqlite3_str_finish(plan);
  info->needToFreeIdxStr = 1;
  if (!info->idxStr && argv_index > 0) return SQLITE_NOMEM;
  /* Any plan with an HTTP call must lose to local work, and a plan that sends more filters to the
   * API (fewer rows to fetch) is cheaper than one that sends fewer (engineering-notes A5). */
  info->estimatedCost = IX_COST_PER_REQUEST / (1.0 + 0.1 * argv_index);
  info->estimatedRows = IX_ROWS_PER_CUSTOMER;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The module.
 */

static const sqlite3_module ix_module = {
    /* iVersion    */ 2,
    /* xCreate     */ ix_connect, /* same as xConnect: eponymous, and creatable with options */
    /* xConnect    */ ix_connect,
    /* xBestIndex  */ ix_best_index,
    /* xDisconnect */ ix_disconnect,
    /* xDestroy    */ ix_disconnect, /* nothing lives outside the connection to destroy */
    /* xOpen       */ ix_open,
    /* xClose      */ ix_close,
    /* xFilter     */ ix_filter,
    /* xNext       */ ix_next,
    /* xEof        */ ix_eof,
    /* xColumn     */ ix_column,
    /* xRowid      */ ix_rowid,
    /* xUpdate     */ NULL, /* read-only: SQLite reports "table ... may not be modified" */
    /* xBegin      */ NULL,
    /* xSync       */ NULL,
    /* xCommit     */ NULL,
    /* xRollback   */ NULL,
    /* xFindMethod */ NULL,
    /* xRename     */ NULL,
    /* xSavepoint  */ NULL,
    /* xRelease    */ NULL,
    /* xRollbackTo */ NULL,
    /* xShadowName */ NULL,
};

static void ix_module_data_free(void *arg) {
  ix_module_data *data = arg;
  ix_session_release(data->session);
  sqlite3_free(data);
}

int ix_register_provider(sqlite3 *db, const ix_provider *provider, ix_session *session) {
  ix_module_data *data = sqlite3_malloc64(sizeof(*data));
  if (!data) return SQLITE_NOMEM;
  data->provider = provider;
  data->session = session;
  session->refs++;
  /* On failure SQLite calls the destructor itself, which releases the reference. */
  return sqlite3_create_module_v2(db, provider->table, &ix_module, data, ix_module_data_free);
}
