/*
 * The providers' toolkit, declared in provider.h: what providers use to turn a response into rows
 * and column values, the generic JSON-to-SQL conversions (ix_value_kind), the page's reused row
 * array, and error texts. The engine's column dispatch is in columns.c. A wrong type in a known
 * field becomes NULL, never an error: vendors drift.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json/jsonarena.h"
#include "provider/provider.h"
#include "provider/rows_internal.h"

SQLITE_EXTENSION_INIT3

char *ix_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return text;
}

void ix_note(const ix_call *call, const char *fmt, ...) {
  if (!call->note) return;
  va_list ap;
  va_start(ap, fmt);
  char *text = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (text) call->note(call->table_name, text);
  sqlite3_free(text);
}

rows_member_cache *rows_page_members(const ix_page *page) {
  return page->rows ? (rows_member_cache *)(void *)(page->rows + page->row_capacity) : NULL;
}

/* Forgets the row the cache is for: its item may be freed and its address reused. */
void rows_members_forget(ix_page *page) {
  rows_member_cache *cache = rows_page_members(page);
  if (cache) {
    cache->item = NULL;
    cache->filled = 0;
  }
}

int ix_page_add_row(ix_page *page, const cJSON *item, const cJSON *group, const cJSON *parent) {
  if (page->row_count == page->row_capacity) {
    int capacity = page->row_capacity ? page->row_capacity * 2 : 64;
    ix_row *grown = sqlite3_realloc64(
        page->rows, (sqlite3_uint64)capacity * sizeof(ix_row) + sizeof(rows_member_cache));
    if (!grown) return SQLITE_NOMEM;
    page->rows = grown;
    page->row_capacity = capacity;
    rows_page_members(page)->provider = NULL; /* moved with the rows: rebuilt on first use */
  }
  rows_members_forget(page);
  ix_row *row = &page->rows[page->row_count++];
  row->item = item;
  row->group = group;
  row->parent = parent;
  /* The item's own bytes, for raw and the rowid, when it is an object of the page's parse (raw of
   * anything else is printed from the tree). */
  if (!cJSON_IsObject(item) || !jsonarena_span(page->arena, item, &row->raw, &row->raw_length)) {
    row->raw = NULL;
    row->raw_length = 0;
  }
  return SQLITE_OK;
}

const char *ix_args_text(const ix_args *args, int column) {
  if (column < 0 || column >= IX_MAX_COLUMNS || !args->eq[column]) return NULL;
  return (const char *)sqlite3_value_text(args->eq[column]);
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

/* Parses a whole number from text; no partial matches ("12abc" is not a number), and none beyond
 * 64 bits (strtoll would clamp them to its limits: such ids stay text). */
static int rows_parse_int64(const char *text, sqlite3_int64 *out) {
  if (!text || !*text) return 0;
  const char *p = text;
  if (*p == '-' || *p == '+') p++;
  if (!isdigit((unsigned char)*p)) return 0;
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (*end || errno == ERANGE) return 0;
  *out = value;
  return 1;
}

/* Whole-number text of any length ("-12", "18446744073709551616"). */
static int rows_is_integer_text(const char *text) {
  if (*text == '-' || *text == '+') text++;
  if (!*text) return 0;
  for (; *text; text++) {
    if (!isdigit((unsigned char)*text)) return 0;
  }
  return 1;
}

/* The body's own digits of an integer a double cannot hold exactly (jsonarena.c), or NULL.
 */
static const char *rows_number_digits(const cJSON *number) {
  return cJSON_IsNumber(number) ? number->valuestring : NULL;
}

/* A JSON number that holds an exact integer: a double's up to 2^53, beyond that the body's digits
 * while they fit in 64 bits. */
static int rows_number_as_int64(const cJSON *number, sqlite3_int64 *out) {
  const char *digits = rows_number_digits(number);
  if (digits) return rows_parse_int64(digits, out);
  double value = number->valuedouble;
  if (value != value || value < -9007199254740992.0 || value > 9007199254740992.0) return 0;
  sqlite3_int64 whole = (sqlite3_int64)value;
  if ((double)whole != value) return 0;
  *out = whole;
  return 1;
}

/* Whether a tree holds a number whose exact digits the body gave (jsonarena.c). */
static int rows_json_has_digits(const cJSON *node) {
  if (rows_number_digits(node)) return 1;
  for (const cJSON *child = node->child; child; child = child->next) {
    if (rows_json_has_digits(child)) return 1;
  }
  return 0;
}

/* Makes each number with exact digits a raw node, which cJSON prints as those digits. */
static void rows_json_digits_to_raw(cJSON *node) {
  if (rows_number_digits(node)) node->type = cJSON_Raw;
  for (cJSON *child = node->child; child; child = child->next) rows_json_digits_to_raw(child);
}

/* cJSON's print of member, with big integers as the vendor wrote them (a copy is printed then:
 * the page's tree stays as parsed). */
static char *rows_json_print(const cJSON *member) {
  if (!rows_json_has_digits(member)) return cJSON_PrintUnformatted(member);
  cJSON *copy = cJSON_Duplicate(member, 1);
  if (!copy) return NULL;
  rows_json_digits_to_raw(copy);
  char *json = cJSON_PrintUnformatted(copy);
  cJSON_Delete(copy);
  return json;
}

static void rows_result_json_text(sqlite3_context *ctx, const cJSON *member) {
  char *json = rows_json_print(member);
  if (!json) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, json, -1, cJSON_free);
  sqlite3_result_subtype(ctx, IX_JSON_SUBTYPE);
}

static void rows_result_number(sqlite3_context *ctx, const cJSON *number) {
  sqlite3_int64 whole;
  if (rows_number_as_int64(number, &whole)) {
    sqlite3_result_int64(ctx, whole);
  } else if (rows_number_digits(number)) {
    sqlite3_result_text(ctx, rows_number_digits(number), -1, SQLITE_TRANSIENT); /* beyond 64 bits */
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

/* The JSON-to-SQL conversions, one per ix_value_kind; member is never NULL or JSON null here. */

static void rows_result_as_text(sqlite3_context *ctx, const cJSON *member, int lower) {
  sqlite3_int64 whole;
  /* A name (channel) that is not a string, or a number that is not finite, has no text. */
  if ((lower && !cJSON_IsString(member)) ||
      (cJSON_IsNumber(member) && !isfinite(member->valuedouble))) {
    sqlite3_result_null(ctx);
  } else if (cJSON_IsString(member)) {
    if (lower) {
      ix_result_lower(ctx, member->valuestring);
    } else {
      sqlite3_result_text(ctx, member->valuestring, -1, SQLITE_TRANSIENT);
    }
  } else if (rows_number_digits(member)) {
    sqlite3_result_text(ctx, rows_number_digits(member), -1, SQLITE_TRANSIENT);
  } else if (cJSON_IsNumber(member) && rows_number_as_int64(member, &whole)) {
    sqlite3_result_text(ctx, sqlite3_mprintf("%lld", whole), -1, sqlite3_free);
  } else if (cJSON_IsNumber(member)) {
    sqlite3_result_text(ctx, sqlite3_mprintf("%!.15g", member->valuedouble), -1, sqlite3_free);
  } else if (cJSON_IsBool(member)) {
    sqlite3_result_text(ctx, cJSON_IsTrue(member) ? "true" : "false", -1, SQLITE_STATIC);
  } else {
    rows_result_json_text(ctx, member);
  }
}

static void rows_result_as_int(sqlite3_context *ctx, const cJSON *member, int or_text) {
  sqlite3_int64 whole;
  if (cJSON_IsNumber(member) && rows_number_as_int64(member, &whole)) {
    sqlite3_result_int64(ctx, whole);
  } else if (rows_number_digits(member)) {
    /* An id beyond 64 bits: its exact digits as text, never a rounded or NULL value. */
    sqlite3_result_text(ctx, rows_number_digits(member), -1, SQLITE_TRANSIENT);
  } else if (cJSON_IsString(member) && rows_parse_int64(member->valuestring, &whole)) {
    sqlite3_result_int64(ctx, whole);
  } else if (cJSON_IsString(member) && !or_text && rows_is_integer_text(member->valuestring)) {
    /* Integer text beyond 64 bits: its digits (and sign), as above; a '+' is no part of the
     * number, as "+123" gives 123. */
    const char *digits = member->valuestring + (*member->valuestring == '+');
    sqlite3_result_text(ctx, digits, -1, SQLITE_TRANSIENT);
  } else if (cJSON_IsString(member) && *member->valuestring && or_text) {
    sqlite3_result_text(ctx, member->valuestring, -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx); /* a wrong type in a known field is NULL, not an error */
  }
}

static void rows_result_as_real(sqlite3_context *ctx, const cJSON *member) {
  if (cJSON_IsNumber(member)) {
    sqlite3_result_double(ctx, member->valuedouble);
    return;
  }
  char *end = NULL;
  double value =
      cJSON_IsString(member) && *member->valuestring ? strtod(member->valuestring, &end) : 0;
  if (end && !*end) {
    sqlite3_result_double(ctx, value);
  } else {
    sqlite3_result_null(ctx);
  }
}

static void rows_result_as_bool(sqlite3_context *ctx, const cJSON *member) {
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
}

static void rows_result_as_time(sqlite3_context *ctx, const cJSON *member,
                                const timefmt_zone *zone) {
  char converted[TIMEFMT_MAX];
  if (cJSON_IsString(member) &&
      timefmt_to_utc(member->valuestring, strlen(member->valuestring), zone, converted) > 0) {
    sqlite3_result_text(ctx, converted, -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx); /* "null", "", or a date the vendor garbled */
  }
}

static void rows_result_as_json(sqlite3_context *ctx, const cJSON *member) {
  if (cJSON_IsObject(member) || cJSON_IsArray(member)) {
    rows_result_json_text(ctx, member);
  } else if (cJSON_IsString(member)) {
    sqlite3_result_text(ctx, member->valuestring, -1, SQLITE_TRANSIENT);
  } else if (cJSON_IsNumber(member)) {
    rows_result_number(ctx, member);
  } else if (cJSON_IsBool(member)) {
    sqlite3_result_int(ctx, cJSON_IsTrue(member));
  } else {
    sqlite3_result_null(ctx);
  }
}

void ix_result_json(sqlite3_context *ctx, const cJSON *member, ix_value_kind kind,
                    const timefmt_zone *zone) {
  if (!member || cJSON_IsNull(member)) {
    sqlite3_result_null(ctx);
    return;
  }
  switch (kind) {
    case IX_VALUE_TEXT: rows_result_as_text(ctx, member, 0); return;
    case IX_VALUE_LOWER: rows_result_as_text(ctx, member, 1); return;
    case IX_VALUE_INT: rows_result_as_int(ctx, member, 0); return;
    case IX_VALUE_INT_OR_TEXT: rows_result_as_int(ctx, member, 1); return;
    case IX_VALUE_REAL: rows_result_as_real(ctx, member); return;
    case IX_VALUE_BOOL: rows_result_as_bool(ctx, member); return;
    case IX_VALUE_TIME: rows_result_as_time(ctx, member, zone); return;
    case IX_VALUE_JSON: rows_result_as_json(ctx, member); return;
    case IX_VALUE_RAW: rows_result_json_text(ctx, member); return; /* a row without its span */
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
  const char *parsed_to = NULL;
  rows_members_forget(page);
  ix_json_parse *ahead = page->preparsed;
  if (ahead && ahead->root && ahead->body == body && ahead->length == body_len) {
    /* fetch/transport.c parsed this very body to see that it was whole: the tree moves to the page. */
    jsonarena_free(page->arena);
    page->root = ahead->root;
    page->arena = ahead->arena;
    parsed_to = ahead->end;
    ahead->arena = NULL;
    jsonarena_parse_clear(ahead);
  } else {
    page->root = jsonarena_parse(body, body_len, &page->arena, &parsed_to); /* reused */
  }
  if (!page->root && jsonarena_out_of_memory(page->arena)) {
    jsonarena_free(page->arena);
    page->arena = NULL;
    *error_out = ix_errorf("%s: out of memory reading the API's response (%lld bytes)",
                           call->table_name, (long long)body_len);
    return SQLITE_ERROR;
  }
  if (page->root) {
    /* cJSON stops after the first document; anything but whitespace after it means the body is
     * not the one document the API sends, and its first part is not to be trusted either. */
    const char *rest = parsed_to ? parsed_to : body + body_len;
    while (rest < body + body_len && (unsigned char)*rest <= 0x20) rest++;
    if (rest == body + body_len) {
      /* A NUL byte is no JSON, though cJSON takes one inside a string: a raw holding it would
       * hide the text after it, so such a page's rows are printed from the tree instead. */
      if (memchr(body, '\0', body_len)) jsonarena_drop_spans(page->arena);
      return SQLITE_OK;
    }
    page->root = NULL;
    *error_out = ix_errorf(
        "%s: the API's response has more text after its JSON document (at byte %lld of %lld): "
        "not the one document this endpoint sends; retry, and report it if it persists",
        call->table_name, (long long)(rest - body), (long long)body_len);
    return SQLITE_ERROR;
  }
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

const char *ix_json_type_name(const cJSON *value) {
  if (cJSON_IsNull(value)) return "null";
  if (cJSON_IsBool(value)) return "a boolean";
  if (cJSON_IsNumber(value)) return "a number";
  if (cJSON_IsString(value)) return "a string";
  if (cJSON_IsArray(value)) return "a list";
  if (cJSON_IsObject(value)) return "an object";
  return "missing";
}

int ix_check_list_items(const ix_call *call, const cJSON *list, const char *what,
                        char **error_out) {
  int position = 0;
  for (const cJSON *item = list ? list->child : NULL; item; item = item->next) {
    position++;
    if (!cJSON_IsObject(item)) {
      *error_out = ix_errorf(
          "%s: item %d of the API's %s is %s, not an object: the answer is not "
          "the shape the endpoint documents, so no row of it is trusted",
          call->table_name, position, what, ix_json_type_name(item));
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

ix_page_status ix_rows_from_array(const ix_call *call, ix_page *page, const char *what,
                                  char **error_out) {
  const cJSON *root = page->root;
  if (!cJSON_IsArray(root)) {
    /* Error bodies name their text "message" (most APIs) or "Message" (ASP.NET). */
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (!cJSON_IsString(message)) message = cJSON_GetObjectItemCaseSensitive(root, "Message");
    int said = cJSON_IsString(message);
    *error_out = ix_errorf("%s: the API's response is not a list of %s%s%.200s%s", call->table_name,
                           what, said ? " (the API said: " : "", said ? message->valuestring : "",
                           said ? ")" : "");
    return IX_PAGE_ERROR;
  }
  if (ix_check_list_items(call, root, what, error_out) != SQLITE_OK) return IX_PAGE_ERROR;
  for (const cJSON *item = root->child; item; item = item->next) {
    if (ix_page_add_row(page, item, NULL, NULL) != SQLITE_OK) {
      *error_out = ix_errorf("%s: out of memory", call->table_name);
      return IX_PAGE_ERROR;
    }
  }
  return IX_PAGE_OK;
}

int ix_token_request_json(cJSON *body, char **json_out) {
  char *printed = body ? cJSON_PrintUnformatted(body) : NULL;
  cJSON_Delete(body); /* cJSON frees without wiping; the secret in it was a copy of a setting */
  *json_out = printed ? sqlite3_mprintf("%s", printed) : NULL;
  if (printed) {
    memset(printed, 0, strlen(printed));
    cJSON_free(printed);
  }
  return *json_out ? SQLITE_OK : SQLITE_NOMEM;
}

static const cJSON *rows_json_at(const cJSON *node, const char *const *path) {
  for (; node && path && *path; path++) node = cJSON_GetObjectItemCaseSensitive(node, *path);
  return path ? node : NULL;
}

int ix_token_from_answer(const ix_call *call, const char *body, size_t body_len,
                         const char *const *token_path, const char *const *ttl_path,
                         const char *what, char **token_out, long long *ttl_seconds,
                         char **error_out) {
  cJSON *root = cJSON_ParseWithLength(body, body_len);
  const cJSON *token = rows_json_at(root, token_path);
  const cJSON *ttl = rows_json_at(root, ttl_path);
  int rc = SQLITE_OK;
  const ix_token_exchange *exchange = call->provider->token_exchange;
  if (!cJSON_IsString(token) || !*token->valuestring) {
    *error_out =
        ix_errorf("%s: the token endpoint's answer has no %s: check %s and %s", call->table_name,
                  what, config_origin(call->config, exchange->key_setting),
                  config_origin(call->config, exchange->secret_setting));
    rc = SQLITE_ERROR;
  } else {
    *token_out = sqlite3_mprintf("%s", token->valuestring);
    if (!*token_out) rc = SQLITE_NOMEM;
    if (cJSON_IsNumber(ttl) && ttl->valuedouble > 0 && ttl->valuedouble < 1e9) {
      *ttl_seconds = (long long)ttl->valuedouble;
    }
    memset(token->valuestring, 0, strlen(token->valuestring));
  }
  cJSON_Delete(root);
  return rc;
}
