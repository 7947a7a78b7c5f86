/*
 * Alpharun: a contact's customer interactions, from
 * GET {base_url}/api/v1/contacts/{contact_id}/customer-interactions?limit=&cursor=
 * (docs/vendors.md#alpharun).
 *
 *     SELECT * FROM alpharun_interactions WHERE contact_ext_id = 'cust-1';
 *     SELECT * FROM alpharun_interactions('e0c10580-533e-4af2-9611-a9996bb0888d');
 *     SELECT crm.name, json_extract(ar.fields, '$.issue_resolved'), ar.summary
 *     FROM crm JOIN alpharun_interactions ar ON ar.contact_ext_id = crm.alpharun_ext_id;
 *
 * Pseudo-schema (the argument column last and HIDDEN):
 *
 *     CREATE TABLE x(occurred_at, channel, status, campaign_id, subject, interaction_id,
 *                    contact_ext_id, account_id, ..., fields, data_extraction_fields, contacts,
 *                    raw, contact_id HIDDEN)
 *
 * How it works
 *   The API names a contact by its UUID or as "alt:ext_id:<ext_id>". The contact_id argument is
 *   either form, sent as it is; an equality on contact_ext_id sends the second form. The path
 *   segment is percent-encoded (the colons too).
 *
 *   A page is {"data": {"customer_interactions": [...]}, "next_cursor": "..." or null}, asked
 *   for with limit 1..100. The cursor is opaque: it is sent back as a query value, percent-encoded,
 *   and the next page is only fetched when SQLite asks for its rows.
 *
 *   The documented item has no time, channel or status: occurred_at, channel and status come from
 *   the item when it has them (created_at and the like), else NULL. fields turns the list
 *   data_extraction_fields [{key, name, type, value}] into one JSON object key -> value, the values
 *   keeping their JSON type, so json_extract(fields, '$.issue_resolved') reads one.
 *
 * Authentication: "Authorization: Bearer <api_token>". The rate limit is undocumented: 10 requests
 * per second.
 */
#include <string.h>

#include "auth/auth.h"
#include "provider/provider.h"

SQLITE_EXTENSION_INIT3

#define ALPHARUN_MAX_LIMIT 100
#define ALPHARUN_EXT_ID_PREFIX "alt:ext_id:"

enum {
  AR_OCCURRED_AT,
  AR_CHANNEL,
  AR_STATUS,
  AR_CAMPAIGN_ID,
  AR_SUBJECT,
  AR_INTERACTION_ID,
  AR_CONTACT_EXT_ID,
  AR_ACCOUNT_ID,
  AR_ACCOUNT_EXT_ID,
  AR_SUMMARY,
  AR_TEAMMATE_ID,
  AR_TEAMMATE_EMAIL,
  AR_FIELDS,
  AR_DATA_EXTRACTION_FIELDS,
  AR_CONTACTS,
  AR_RAW,
  AR_CONTACT_ID,
  AR_COLUMN_COUNT
};

/* One entry per column; its description on the line after (clang-format would spread each
 * over six lines). */
// clang-format off
static const ix_column_def alpharun_columns[AR_COLUMN_COUNT] = {
    [AR_OCCURRED_AT] =
        {"occurred_at", "TEXT", 0, IX_VALUE_TIME, {"created_at", "started_at", "occurred_at"},
        "created_at (or started_at) in UTC when the item has one, else NULL"},
    [AR_CHANNEL] = {"channel", "TEXT", 0, IX_VALUE_LOWER, {"channel"},
        "the item's channel when it has one, else NULL"},
    [AR_STATUS] = {"status", "TEXT", 0, IX_VALUE_TEXT, {"status"},
        "the item's status when it has one, else NULL"},
    [AR_CAMPAIGN_ID] = {"campaign_id", "INTEGER", 0, IX_VALUE_NONE, {NULL},
        "always NULL: the API has no campaigns"},
    [AR_SUBJECT] = {"subject", "TEXT", 0, IX_VALUE_NONE, {NULL},
        "always NULL: the API has no subject (see summary)"},
    [AR_INTERACTION_ID] = {"interaction_id", "TEXT", 0, IX_VALUE_TEXT, {"id"},
        "id"},
    [AR_CONTACT_EXT_ID] =
        {"contact_ext_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the contact's own id in your system; an equality on it names the contact"},
    [AR_ACCOUNT_ID] = {"account_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "account.id"},
    [AR_ACCOUNT_EXT_ID] = {"account_ext_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "account.ext_id"},
    [AR_SUMMARY] = {"summary", "TEXT", 0, IX_VALUE_TEXT, {"summary"},
        "the interaction's summary text"},
    [AR_TEAMMATE_ID] = {"teammate_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "teammate.id: who handled it, NULL when nobody"},
    [AR_TEAMMATE_EMAIL] = {"teammate_email", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "teammate.email"},
    [AR_FIELDS] = {"fields", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "data_extraction_fields as one JSON object, key to value"},
    [AR_DATA_EXTRACTION_FIELDS] =
        {"data_extraction_fields", "TEXT", 0, IX_VALUE_JSON, {"data_extraction_fields"},
        "the extracted fields as sent (JSON list)"},
    [AR_CONTACTS] = {"contacts", "TEXT", 0, IX_VALUE_JSON, {"contacts"},
        "the interaction's contacts as sent (JSON)"},
    [AR_RAW] = {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL},
        "the interaction object as the vendor sent it (JSON)"},
    [AR_CONTACT_ID] = {"contact_id", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "the contact: its UUID or alt:ext_id:<ext_id>, required"},
};
// clang-format on

/* The contact, by its UUID or by its own id in your system (contact_ext_id). Not IX_KEY_ECHO on
 * contact_id: Alpharun matches a UUID ignoring case, so the column carries the contact's id from
 * the item and SQLite re-checks it (alpharun_result_contact_id). */
// clang-format off
static const ix_key_column alpharun_keys[] = {
    /* column          operators  require        alt  match            flags */
    {"contact_id",     IX_KEY_EQ, IX_KEY_ONE_OF, 1,   IX_MATCH_NOCASE, IX_KEY_PER_CUSTOMER},
    {"contact_ext_id", IX_KEY_EQ, IX_KEY_ONE_OF, 2,   IX_MATCH_EXACT,  IX_KEY_ECHO},
    {NULL},
};
// clang-format on

/* Columns read from an object inside the item. */
static const struct {
  int column;
  const char *object, *member;
} alpharun_nested[] = {
    {AR_ACCOUNT_ID, "account", "id"},
    {AR_ACCOUNT_EXT_ID, "account", "ext_id"},
    {AR_TEAMMATE_ID, "teammate", "id"},
    {AR_TEAMMATE_EMAIL, "teammate", "email"},
};

static const ix_setting_def alpharun_settings[] = {
    {"api_token", IX_SETTING_SECRET, NULL, "API token, sent as Authorization: Bearer ..."},
    /* No rate limit is documented: a conservative one. */
    {"rate_limit", 0, "10/1s", "requests per window"},
    {NULL, 0, NULL, NULL},
};

/* ---- Requests ---- */

static int alpharun_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  const char *token = config_get(call->config, "api_token");
  if (!token) {
    *error_out = ix_errorf("%s: no credentials: set %s", call->table_name,
                           config_origin(call->config, "api_token"));
    return SQLITE_ERROR;
  }
  return auth_add_scheme(headers, "Bearer", token) == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* The contact as the API names it (sqlite3_malloc'd): the contact_id argument, else
 * "alt:ext_id:" and the contact_ext_id equality; *column (unless NULL) is the one it came from.
 * NULL with *error_out set when neither is usable. */
static char *alpharun_contact(const ix_call *call, int *column, char **error_out) {
  const char *contact = ix_args_text(call->args, AR_CONTACT_ID);
  const char *ext_id = ix_args_text(call->args, AR_CONTACT_EXT_ID);
  if (!contact && ext_id && !*ext_id) {
    *error_out = ix_errorf("%s: the contact_ext_id to look up is empty", call->table_name);
    return NULL;
  }
  if (!contact && !ext_id) {
    *error_out = ix_errorf("%s: %s", call->table_name, call->provider->required_hint);
    return NULL;
  }
  if (column) *column = contact ? AR_CONTACT_ID : AR_CONTACT_EXT_ID;
  char *text = contact ? sqlite3_mprintf("%s", contact)
                       : sqlite3_mprintf("%s%s", ALPHARUN_EXT_ID_PREFIX, ext_id);
  if (!text) *error_out = ix_errorf("%s: out of memory", call->table_name);
  return text;
}

/* page_token is the previous page's next_cursor, opaque: it goes back as a query value. */
static int alpharun_build_request(const ix_call *call, const char *page_token,
                                  sqlite3_int64 page_size, ix_request *request, char **error_out) {
  int column;
  char *contact = alpharun_contact(call, &column, error_out);
  if (!contact) return SQLITE_ERROR;
  url_append_raw(&request->url, "/api/v1/contacts");
  int rc = ix_url_segment(call, request, column, contact, error_out);
  sqlite3_free(contact);
  if (rc != SQLITE_OK) return rc;
  char limit[24];
  sqlite3_snprintf(sizeof(limit), limit, "%lld", (long long)page_size);
  /* A failed append marks the builder out of memory, which the engine reports. */
  url_append_raw(&request->url, "/customer-interactions");
  url_append_query(&request->url, "limit", limit);
  if (page_token) url_append_query(&request->url, "cursor", page_token);
  return SQLITE_OK;
}

/* ---- Responses ---- */

/* Empty pages that still carry a cursor, in a row: a few are tolerated (a filtered window), more
 * means the paging never ends (issue 20). */
#define ALPHARUN_MAX_EMPTY_PAGES 3

typedef struct alpharun_paging {
  int empty_pages;
} alpharun_paging;

/* The next page's cursor from next_cursor: a non-empty string goes on, null (documented) ends the
 * history; anything else is an error naming what came, since ending there would pass part of a
 * history off as the whole of it. */
static int alpharun_next_cursor(const ix_call *call, ix_page *page, char **error_out) {
  const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(page->root, "next_cursor");
  if (cJSON_IsNull(cursor)) return SQLITE_OK;
  if (cJSON_IsString(cursor) && *cursor->valuestring) {
    page->next_token = sqlite3_mprintf("%s", cursor->valuestring);
    return page->next_token ? SQLITE_OK : SQLITE_NOMEM;
  }
  char *held = cursor ? cJSON_PrintUnformatted(cursor) : NULL;
  *error_out = ix_errorf(
      "%s: page %d of the API's answer has \"next_cursor\": %.40s (%s), where "
      "the endpoint documents a cursor or null: the history cannot be paged; "
      "report it to the vendor",
      call->table_name, call->page_index, held ? held : "missing",
      cursor ? ix_json_type_name(cursor) : "the key is missing");
  cJSON_free(held);
  return SQLITE_ERROR;
}

/* Counts empty pages that carry a cursor; too many in a row is an error. */
static int alpharun_check_empty_page(const ix_call *call, ix_page *page, char **error_out) {
  alpharun_paging *paging = page->customer_state;
  if (!paging) {
    paging = sqlite3_malloc64(sizeof(*paging));
    if (!paging) return SQLITE_NOMEM;
    paging->empty_pages = 0;
    page->customer_state = paging;
    page->free_customer_state = sqlite3_free;
  }
  paging->empty_pages = page->row_count == 0 && page->next_token ? paging->empty_pages + 1 : 0;
  if (paging->empty_pages <= ALPHARUN_MAX_EMPTY_PAGES) return SQLITE_OK;
  *error_out = ix_errorf(
      "%s: the API answered %d empty pages in a row that each name a next page "
      "(page %d): paging would not end; report it to the vendor",
      call->table_name, paging->empty_pages, call->page_index);
  return SQLITE_ERROR;
}

static ix_page_status alpharun_parse_page(const ix_call *call, const char *body, size_t body_len,
                                          ix_page *page, char **error_out) {
  if (ix_parse_json_body(call, body, body_len, page, error_out) != SQLITE_OK) return IX_PAGE_ERROR;
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(page->root, "data");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(data, "customer_interactions");
  if (!cJSON_IsObject(data) || !cJSON_IsArray(list)) {
    *error_out = ix_errorf(
        "%s: the API's response has no \"data\": {\"customer_interactions\": [...]}: not "
        "the shape this endpoint documents",
        call->table_name);
    return IX_PAGE_ERROR;
  }
  int rc = alpharun_next_cursor(call, page, error_out);
  if (rc == SQLITE_NOMEM) goto out_of_memory;
  if (rc != SQLITE_OK) return IX_PAGE_ERROR;
  if (ix_check_list_items(call, list, "customer_interactions", error_out) != SQLITE_OK) {
    return IX_PAGE_ERROR;
  }
  for (const cJSON *item = list->child; item; item = item->next) {
    if (ix_page_add_row(page, item, NULL, NULL) != SQLITE_OK) {
      goto out_of_memory;
    }
  }
  rc = alpharun_check_empty_page(call, page, error_out);
  if (rc == SQLITE_NOMEM) goto out_of_memory;
  return rc == SQLITE_OK ? IX_PAGE_OK : IX_PAGE_ERROR;

out_of_memory:
  *error_out = ix_errorf("%s: out of memory", call->table_name);
  return IX_PAGE_ERROR;
}

/* ---- Columns ---- */

/* data_extraction_fields [{"key", "name", "type", "value"}] as {"key": value, ...}; a key that
 * comes twice keeps its last value. */
static void alpharun_result_fields(sqlite3_context *ctx, const cJSON *list) {
  if (!cJSON_IsArray(list)) {
    sqlite3_result_null(ctx);
    return;
  }
  cJSON *fields = cJSON_CreateObject();
  for (const cJSON *field = list->child; fields && field; field = field->next) {
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(field, "key");
    if (!cJSON_IsString(key)) continue;
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(field, "value");
    cJSON *copy = value ? cJSON_Duplicate(value, 1) : cJSON_CreateNull();
    cJSON_DeleteItemFromObjectCaseSensitive(fields, key->valuestring);
    if (!copy || !cJSON_AddItemToObject(fields, key->valuestring, copy)) {
      cJSON_Delete(copy);
      cJSON_Delete(fields);
      fields = NULL;
    }
  }
  if (fields) {
    ix_result_json(ctx, fields, IX_VALUE_RAW, NULL); /* JSON text with the JSON subtype */
    cJSON_Delete(fields);
  } else {
    sqlite3_result_error_nomem(ctx);
  }
}

/* The contact the request named, among the item's contacts (a household may share one
 * interaction): by UUID ignoring case, as Alpharun matches it, or by ext_id (the "alt:ext_id:"
 * form, or an equality on contact_ext_id). NULL when the item does not list it. */
static const cJSON *alpharun_named_contact(const ix_call *call, const cJSON *item) {
  const char *contact = ix_args_text(call->args, AR_CONTACT_ID);
  const char *ext_id = contact ? NULL : ix_args_text(call->args, AR_CONTACT_EXT_ID);
  size_t prefix = strlen(ALPHARUN_EXT_ID_PREFIX);
  if (contact && strncmp(contact, ALPHARUN_EXT_ID_PREFIX, prefix) == 0) {
    ext_id = contact + prefix;
    contact = NULL;
  }
  const cJSON *contacts = cJSON_GetObjectItemCaseSensitive(item, "contacts");
  for (const cJSON *each = ix_json_first(contacts); (contact || ext_id) && each;
       each = ix_json_next(contacts, each)) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(each, contact ? "id" : "ext_id");
    if (cJSON_IsString(id) && (contact ? sqlite3_stricmp(id->valuestring, contact) == 0
                                       : strcmp(id->valuestring, ext_id) == 0)) {
      return each;
    }
  }
  return NULL;
}

/* The contact's ext_id when the query named the contact by contact_id: the id itself in the
 * "alt:ext_id:" form, else the ext_id of the item's contact with that UUID. */
static void alpharun_result_ext_id(const ix_call *call, const ix_row *row, sqlite3_context *ctx) {
  const char *contact = ix_args_text(call->args, AR_CONTACT_ID);
  size_t prefix = strlen(ALPHARUN_EXT_ID_PREFIX);
  if (contact && strncmp(contact, ALPHARUN_EXT_ID_PREFIX, prefix) == 0) {
    sqlite3_result_text(ctx, contact + prefix, -1, SQLITE_TRANSIENT);
    return;
  }
  const cJSON *named = alpharun_named_contact(call, row->item);
  ix_result_json(ctx, cJSON_GetObjectItemCaseSensitive(named, "ext_id"), IX_VALUE_TEXT, NULL);
}

/* The contact's UUID as the vendor spells it (the item's contact), so that SQLite's re-check
 * compares what a local copy would hold. The "alt:ext_id:" argument is echoed, as it names no
 * UUID to compare; so is any id whose contact the item does not list. */
static void alpharun_result_contact_id(const ix_call *call, const ix_row *row,
                                       sqlite3_context *ctx) {
  const char *given = ix_args_text(call->args, AR_CONTACT_ID);
  int alternative =
      given && strncmp(given, ALPHARUN_EXT_ID_PREFIX, strlen(ALPHARUN_EXT_ID_PREFIX)) == 0;
  const cJSON *id =
      alternative ? NULL
                  : cJSON_GetObjectItemCaseSensitive(alpharun_named_contact(call, row->item), "id");
  if (cJSON_IsString(id)) {
    sqlite3_result_text(ctx, id->valuestring, -1, SQLITE_TRANSIENT);
    return;
  }
  char *error = NULL;
  char *contact = alpharun_contact(call, NULL, &error); /* the id in the form that was sent */
  sqlite3_free(error);
  sqlite3_result_text(ctx, contact, -1, sqlite3_free);
}

static void alpharun_column(const ix_call *call, const ix_row *row, int column,
                            sqlite3_context *ctx) {
  for (size_t i = 0; i < sizeof(alpharun_nested) / sizeof(alpharun_nested[0]); i++) {
    if (alpharun_nested[i].column != column) continue;
    const cJSON *object = cJSON_GetObjectItemCaseSensitive(row->item, alpharun_nested[i].object);
    const cJSON *member = cJSON_IsObject(object)
                              ? cJSON_GetObjectItemCaseSensitive(object, alpharun_nested[i].member)
                              : NULL;
    ix_result_json(ctx, member, IX_VALUE_TEXT, NULL);
    return;
  }
  if (column == AR_FIELDS) {
    alpharun_result_fields(ctx,
                           cJSON_GetObjectItemCaseSensitive(row->item, "data_extraction_fields"));
  } else if (column == AR_CONTACT_EXT_ID) {
    alpharun_result_ext_id(call, row, ctx);
  } else if (column == AR_CONTACT_ID) {
    alpharun_result_contact_id(call, row, ctx);
  } else {
    sqlite3_result_null(ctx); /* campaign_id, subject: the vendor has neither */
  }
}

/* The contact's UUID from the answer (lower-cased, as Alpharun compares it), so that its rows found
 * by contact_id and by contact_ext_id in one statement are the same rows. */
static int alpharun_customer_identity(const ix_call *call, char *out, size_t out_size) {
  for (int r = 0; call->page && r < call->page->row_count; r++) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(
        alpharun_named_contact(call, call->page->rows[r].item), "id");
    if (!cJSON_IsString(id) || strlen(id->valuestring) + 2 > out_size) continue;
    out[0] = 'u';
    size_t i = 0;
    for (; id->valuestring[i]; i++) {
      char c = id->valuestring[i];
      out[i + 1] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[i + 1] = '\0';
    return 1;
  }
  return 0;
}

/* The contact's UUID as the first item spells it, for the note when SQLite drops every row. */
static int alpharun_customer_key(const ix_call *call, int column, char *out, size_t out_size) {
  if (column != AR_CONTACT_ID || !call->page || call->page->row_count == 0) return 0;
  const char *given = ix_args_text(call->args, AR_CONTACT_ID);
  if (!given || strncmp(given, ALPHARUN_EXT_ID_PREFIX, strlen(ALPHARUN_EXT_ID_PREFIX)) == 0) {
    return 0;
  }
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(
      alpharun_named_contact(call, call->page->rows[0].item), "id");
  if (!cJSON_IsString(id)) return 0;
  sqlite3_snprintf((int)out_size, out, "%s", id->valuestring);
  return 1;
}

const ix_provider alpharun_interactions_provider = {
    .table = "alpharun_interactions",
    .vendor = "alpharun",
    .default_base_url = "https://api.alpharun.com",
    .columns = alpharun_columns,
    .column_count = AR_COLUMN_COUNT,
    .keys = alpharun_keys,
    .required_hint =
        "a contact is required: add WHERE contact_ext_id = '...' (or contact_id = "
        "'<uuid>'), or call alpharun_interactions('<uuid or alt:ext_id:...>')",
    .max_page_size = ALPHARUN_MAX_LIMIT,
    .endpoint = "GET /api/v1/contacts/{contact_id}/customer-interactions",
    .paging = "cursor",
    .docs_url =
        "https://dev.alpharun.com/api-reference/endpoint/list-contact-customer-interactions",
    .data = NULL,
    .request = {.authenticate = alpharun_authenticate, .build = alpharun_build_request},
    .response =
        {
            .parse_page = alpharun_parse_page,
            /* Error bodies are undocumented: our assumption is {"error": {"message": "Contact
             * not found"}}; a framework's stock 404 is not that. */
            .not_found = {.match = {{{"error", "message"}, {"contact not found"}}}},
        },
    .row =
        {
            .column = alpharun_column,
            .customer_identity = alpharun_customer_identity,
            .customer_key = alpharun_customer_key,
        },
    .settings = {.list = alpharun_settings},
};
