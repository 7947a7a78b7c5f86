/*
 * CXengage (Enghouse Interactive, formerly Serenova): a contact's interactions, from
 * GET {base_url}/v1/tenants/{tenant_id}/contacts/{contact_id}/interactions?limit=&page=
 * (docs/vendors.md#cxengage).
 *
 *     SELECT * FROM cxengage_interactions WHERE contact_id = '0b8f9c52-...';
 *     SELECT * FROM cxengage_interactions('5c1b2f4e-...', '0b8f9c52-...');  -- tenant, contact
 *     SELECT crm.name, cx.channel, cx.occurred_at
 *     FROM crm JOIN cxengage_interactions cx ON cx.contact_id = crm.cxengage_contact_id
 *     WHERE cx.occurred_at >= datetime('now', '-30 days');
 *
 * Pseudo-schema (argument columns last and HIDDEN):
 *
 *     CREATE TABLE x(occurred_at, channel, status, campaign_id, subject, interaction_id, customer,
 *                    ..., raw, tenant_id HIDDEN, contact_id HIDDEN)
 *
 * How it works
 *   A page is {"page", "limit", "offset", "total", "results": [...]}, newest first. Pages are
 *   numbered from 0 and asked for with limit (at most 100) and page; the next page exists while
 *   offset + limit < total. The next page is only fetched when SQLite asks for its rows.
 *
 *   The route has no date filter, but because results are newest first, a lower bound on
 *   occurred_at ends paging after the first page that reaches back past it (SQLite re-checks the
 *   rows of that page).
 *
 *   Pages are numbered, so an interaction that arrives while a contact is being paged pushes every
 *   older one down a place, and the last row of one page comes back as the first of the next. The
 *   interaction ids already returned for the contact are kept across its pages
 *   (ix_page.customer_state, the last two pages' only) and a repeat is skipped; a contact with a
 *   single page keeps none.
 *
 *   The tenant is the tenant_id argument, else the tenant_id setting (CXENGAGE_TENANT_ID). Both
 *   ids are path segments, percent-encoded; they are not checked for the documented UUID form
 *   because the sandbox's benchmark contact is not one.
 *
 * Authentication: "Authorization: Token <token>" when a token is set, else HTTP Basic with the
 * CxEngage user name and password. The rate limit is undocumented: 10 requests per second.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "provider/provider.h"
#include "util/hash.h"

SQLITE_EXTENSION_INIT3

#define CXENGAGE_MAX_LIMIT 100
#define CXENGAGE_SEARCH_MAX_LIMIT 1000

enum {
  CX_OCCURRED_AT,
  CX_CHANNEL,
  CX_STATUS,
  CX_CAMPAIGN_ID,
  CX_SUBJECT,
  CX_INTERACTION_ID,
  CX_CUSTOMER,
  CX_CHANNEL_NAME,
  CX_DIRECTION,
  CX_DIRECTION_NAME,
  CX_ENDED_AT,
  CX_LAST_AGENT_ID,
  CX_LAST_AGENT_NAME,
  CX_LAST_QUEUE_ID,
  CX_LAST_QUEUE_NAME,
  CX_LAST_DISPOSITION_ID,
  CX_LAST_DISPOSITION_NAME,
  CX_CSAT,
  CX_NOTE,
  CX_RECORDING,
  CX_TRANSCRIPT,
  CX_RAW,
  CX_TENANT_ID,
  CX_CONTACT_ID,
  CX_COLUMN_COUNT
};

#define ARGUMENT (IX_COL_HIDDEN | IX_COL_EQ | IX_COL_EXACT)

/* The documented result fields in snake_case. csat and note have no documented type (the sample
 * has null and 0): they keep the JSON type the vendor sends. */
/* One entry per column; its description on the line after (clang-format would spread each
 * over six lines). */
// clang-format off
static const ix_column_def cxengage_columns[CX_COLUMN_COUNT] = {
    [CX_OCCURRED_AT] = {"occurred_at", "TEXT", IX_COL_RANGE, IX_VALUE_TIME, {"startTimestamp"},
        "startTimestamp, in UTC with milliseconds"},
    [CX_CHANNEL] = {"channel", "TEXT", 0, IX_VALUE_CUSTOM, {"channelType"},
        "channelType: voice, email, sms, messaging, work_item..."},
    [CX_STATUS] = {"status", "TEXT", 0, IX_VALUE_TEXT, {"lastDispositionName"},
        "lastDispositionName: the outcome an agent chose, NULL when none"},
    [CX_CAMPAIGN_ID] = {"campaign_id", "INTEGER", 0, IX_VALUE_NONE, {NULL},
        "always NULL: the API has no campaigns"},
    [CX_SUBJECT] = {"subject", "TEXT", 0, IX_VALUE_NONE, {NULL},
        "always NULL: the API has no subject"},
    /* A key: the statement's interaction ids are asked for one request each (GetInteraction). */
    [CX_INTERACTION_ID] = {"interaction_id", "TEXT", IX_COL_EQ, IX_VALUE_TEXT, {"interactionId"},
        "interactionId (UUID); = or IN asks for each interaction itself"},
    [CX_CUSTOMER] = {"customer", "TEXT", 0, IX_VALUE_TEXT, {"customer"},
        "the phone number (E.164) or address the interaction was with"},
    [CX_CHANNEL_NAME] = {"channel_name", "TEXT", 0, IX_VALUE_TEXT, {"channelName"},
        "channelName: Voice, Email..."},
    [CX_DIRECTION] = {"direction", "TEXT", 0, IX_VALUE_CUSTOM, {"directionType"},
        "directionType: inbound, outbound, agent-initiated"},
    [CX_DIRECTION_NAME] = {"direction_name", "TEXT", 0, IX_VALUE_TEXT, {"directionName"},
        "directionName"},
    [CX_ENDED_AT] = {"ended_at", "TEXT", 0, IX_VALUE_TIME, {"endTimestamp"},
        "endTimestamp, in UTC"},
    [CX_LAST_AGENT_ID] = {"last_agent_id", "TEXT", 0, IX_VALUE_TEXT, {"lastAgentId"},
        "the last agent on the interaction, NULL when none took it"},
    [CX_LAST_AGENT_NAME] = {"last_agent_name", "TEXT", 0, IX_VALUE_TEXT, {"lastAgentName"},
        "the last agent's name"},
    [CX_LAST_QUEUE_ID] = {"last_queue_id", "TEXT", 0, IX_VALUE_TEXT, {"lastQueueId"},
        "the last queue"},
    [CX_LAST_QUEUE_NAME] = {"last_queue_name", "TEXT", 0, IX_VALUE_TEXT, {"lastQueueName"},
        "the last queue's name"},
    [CX_LAST_DISPOSITION_ID] =
        {"last_disposition_id", "TEXT", 0, IX_VALUE_TEXT, {"lastDispositionId"},
        "the last disposition"},
    [CX_LAST_DISPOSITION_NAME] =
        {"last_disposition_name", "TEXT", 0, IX_VALUE_TEXT, {"lastDispositionName"},
        "the last disposition's name (also status)"},
    [CX_CSAT] = {"csat", "", 0, IX_VALUE_JSON, {"csat"},
        "csat as sent (JSON value)"},
    [CX_NOTE] = {"note", "", 0, IX_VALUE_JSON, {"note"},
        "note as sent (JSON value)"},
    [CX_RECORDING] = {"recording", "TEXT", 0, IX_VALUE_TEXT, {"recording"},
        "recording, NULL when none"},
    [CX_TRANSCRIPT] = {"transcript", "TEXT", 0, IX_VALUE_TEXT, {"transcript"},
        "transcript, NULL when none"},
    [CX_RAW] = {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL},
        "the interaction object as the vendor sent it (JSON)"},
    [CX_TENANT_ID] = {"tenant_id", "TEXT", ARGUMENT, IX_VALUE_NONE, {NULL},
        "the tenant UUID; default CXENGAGE_TENANT_ID"},
    [CX_CONTACT_ID] = {"contact_id", "TEXT", ARGUMENT, IX_VALUE_NONE, {NULL},
        "the contact, required unless interaction_id is given"},
};
// clang-format on

static const ix_setting_def cxengage_settings[] = {
    {"username", IX_SETTING_CREDENTIAL, NULL, "CxEngage user name for Basic authentication"},
    {"password", IX_SETTING_SECRET, NULL, "CxEngage password for Basic authentication"},
    {"token", IX_SETTING_SECRET, NULL,
     "API token, sent as Authorization: Token ...; wins over Basic"},
    /* The key works as a user name, but an API key is handled as a secret wherever it goes. */
    {"api_key", IX_SETTING_SECRET | IX_SETTING_CREDENTIAL, NULL,
     "API key, exchanged with api_secret for tokens (POST /v1/tokens); wins over token"},
    {"api_secret", IX_SETTING_SECRET, NULL, "API secret, with api_key"},
    /* contact: the documented per-contact route; search: its replacement, which filters dates at
     * the API and pages 1,000 at a time but needs the INTERACTIONS_API_READ_ALL permission. */
    {"route", 0, "contact", "contact or search: which interactions route to read"},
    /* Part of the account like the credentials: a table with its own base_url (another region)
     * must name its tenant too rather than borrow this one, which that region does not know. */
    {"tenant_id", IX_SETTING_CREDENTIAL, NULL, "tenant UUID used when a query names none"},
    /* Where the API is, instead of base_url (config_apply_region): the two regions documented, or
     * another region's URL. A URL like base_url: it decides where the credentials go. */
    {"region", IX_SETTING_URL, NULL,
     "na (North America) or eu (Europe), the documented regions, or the API's URL for another "
     "region (GET /v1/regions on the API lists them)"},
    /* No rate limit is documented: a conservative one. */
    {"rate_limit", 0, "10/1s", "requests per window"},
    {NULL, 0, NULL, NULL},
};

/* The regions the vendor documents (docs/vendors.md#cxengage), and no others: another region is
 * named by its URL. */
static const char *const cxengage_regions[] = {
    "na", "https://api.cxengage.net", "eu", "https://eu-west-1-prod-api.cxengage.net", NULL,
};

/* ---- Interaction ids already returned for the current contact ---- */

/* An open-addressing set of id strings, at most half full. */
typedef struct cxengage_seen {
  char **slots;
  sqlite3_uint64 capacity; /* a power of two, or 0 before the first id */
  sqlite3_uint64 count;
} cxengage_seen;

static void cxengage_seen_free(void *state) {
  cxengage_seen *seen = state;
  for (sqlite3_uint64 i = 0; i < seen->capacity; i++) sqlite3_free(seen->slots[i]);
  sqlite3_free(seen->slots);
  sqlite3_free(seen);
}

/* The slot holding id, or the empty slot where it belongs. */
static char **cxengage_seen_slot(char **slots, sqlite3_uint64 capacity, const char *id) {
  sqlite3_uint64 i = hash64(id) & (capacity - 1);
  while (slots[i] && strcmp(slots[i], id) != 0) i = (i + 1) & (capacity - 1);
  return &slots[i];
}

static int cxengage_seen_grow(cxengage_seen *seen) {
  sqlite3_uint64 capacity = seen->capacity ? seen->capacity * 2 : 256;
  char **slots = sqlite3_malloc64(capacity * sizeof(char *));
  if (!slots) return SQLITE_NOMEM;
  memset(slots, 0, capacity * sizeof(char *));
  for (sqlite3_uint64 i = 0; i < seen->capacity; i++) {
    if (seen->slots[i]) *cxengage_seen_slot(slots, capacity, seen->slots[i]) = seen->slots[i];
  }
  sqlite3_free(seen->slots);
  seen->slots = slots;
  seen->capacity = capacity;
  return SQLITE_OK;
}

/* Whether id is in the set. */
static int cxengage_seen_has(const cxengage_seen *seen, const char *id) {
  return seen && seen->capacity && *cxengage_seen_slot(seen->slots, seen->capacity, id) != NULL;
}

static cxengage_seen *cxengage_seen_new(void) {
  cxengage_seen *seen = sqlite3_malloc64(sizeof(*seen));
  if (seen) memset(seen, 0, sizeof(*seen));
  return seen;
}

/* The ids of the last two pages. New interactions arriving while a contact is paged shift older
 * ones into the next page, so a repeat is always among them; keeping only these two pages keeps
 * memory flat however long the history. (More than a page of new interactions during one
 * statement could shift a row two pages; that is not worth unbounded memory.) */
typedef struct cxengage_recent {
  cxengage_seen *previous_page;
  cxengage_seen *this_page;
  /* Every id of the pages before the previous one: a shift moves a row into the next page only,
   * so an id from further back means the API answered an earlier page again (issue 19). */
  cxengage_seen *older;
} cxengage_recent;

static void cxengage_recent_free(void *state) {
  cxengage_recent *recent = state;
  if (recent->previous_page) cxengage_seen_free(recent->previous_page);
  if (recent->this_page) cxengage_seen_free(recent->this_page);
  if (recent->older) cxengage_seen_free(recent->older);
  sqlite3_free(recent);
}

static int cxengage_seen_add(cxengage_seen *seen, const char *id, int *added);

/* Moves every id of page into older (copies: the sets own their ids), then frees page. */
static int cxengage_seen_merge(cxengage_seen *older, cxengage_seen *page) {
  int rc = SQLITE_OK, added;
  for (sqlite3_uint64 i = 0; rc == SQLITE_OK && i < page->capacity; i++) {
    if (page->slots[i]) rc = cxengage_seen_add(older, page->slots[i], &added);
  }
  cxengage_seen_free(page);
  return rc;
}

/* Adds id; *added says whether it was new. */
static int cxengage_seen_add(cxengage_seen *seen, const char *id, int *added) {
  if (2 * (seen->count + 1) > seen->capacity && cxengage_seen_grow(seen) != SQLITE_OK) {
    return SQLITE_NOMEM;
  }
  char **slot = cxengage_seen_slot(seen->slots, seen->capacity, id);
  *added = *slot == NULL;
  if (!*added) return SQLITE_OK;
  *slot = sqlite3_mprintf("%s", id);
  if (!*slot) return SQLITE_NOMEM;
  seen->count++;
  return SQLITE_OK;
}

/* ---- Requests ---- */

static int cxengage_wants_exchange(const ix_config *config) {
  return config_get(config, "api_key") && config_get(config, "api_secret");
}

static const char *cxengage_credential_form(const ix_config *config) {
  if (cxengage_wants_exchange(config)) return "api key and secret (tokens renewed)";
  if (config_get(config, "token")) return "token";
  if (config_get(config, "username") && config_get(config, "password")) return "basic";
  return "none";
}

static int cxengage_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  if (call->token) {
    return auth_add_scheme(headers, "Token", call->token) == 0 ? SQLITE_OK : SQLITE_NOMEM;
  }
  if (config_get(call->config, "api_key") || config_get(call->config, "api_secret")) {
    int has_key = config_get(call->config, "api_key") != NULL;
    *error_out =
        ix_errorf("%s: %s is set but %s is not: set both to use an API key", call->table_name,
                  config_origin(call->config, has_key ? "api_key" : "api_secret"),
                  config_origin(call->config, has_key ? "api_secret" : "api_key"));
    return SQLITE_ERROR;
  }
  const char *token = config_get(call->config, "token");
  if (token) {
    /* The vendor's scheme is "Token", not "Bearer". */
    return auth_add_scheme(headers, "Token", token) == 0 ? SQLITE_OK : SQLITE_NOMEM;
  }
  const char *user = config_get(call->config, "username");
  const char *password = config_get(call->config, "password");
  if (!user || !password) {
    *error_out =
        ix_errorf("%s: no credentials: set %s and %s, or %s and %s, or %s", call->table_name,
                  config_origin(call->config, "username"), config_origin(call->config, "password"),
                  config_origin(call->config, "api_key"), config_origin(call->config, "api_secret"),
                  config_origin(call->config, "token"));
    return SQLITE_ERROR;
  }
  return auth_add_basic(headers, user, password) == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* The tenant the plan sends: the argument, else the configured one (NULL when neither). */
static const char *cxengage_tenant(const ix_call *call) {
  const char *tenant = ix_args_text(call->args, CX_TENANT_ID);
  return tenant ? tenant : config_get(call->config, "tenant_id");
}

/* POST {base_url}/v1/tokens {"username": key, "password": secret, "tenantId": tenant}
 * (docs/vendors.md#cxengage). A token is the tenant's, so the tenant comes from the setting: the
 * account's token is shared by every query of that account. */
static int cxengage_token_build(const ix_call *call, ix_request *request, char **json_out,
                                char **error_out) {
  const char *tenant = config_get(call->config, "tenant_id");
  if (!tenant) {
    *error_out = ix_errorf("%s: an API key needs its tenant: set %s to the tenant's UUID",
                           call->table_name, config_origin(call->config, "tenant_id"));
    return SQLITE_ERROR;
  }
  cJSON *body = cJSON_CreateObject();
  if (!body || !cJSON_AddStringToObject(body, "username", config_get(call->config, "api_key")) ||
      !cJSON_AddStringToObject(body, "password", config_get(call->config, "api_secret")) ||
      !cJSON_AddStringToObject(body, "tenantId", tenant)) {
    cJSON_Delete(body);
    return SQLITE_NOMEM;
  }
  if (ix_token_request_json(body, json_out) != SQLITE_OK) return SQLITE_NOMEM;
  url_append_raw(&request->url, "/v1/tokens");
  return SQLITE_OK;
}

/* {"token": "..."}: no lifetime is given, so the token is kept until a 401. */
static int cxengage_token_parse(const ix_call *call, const char *body, size_t body_len,
                                char **token_out, long long *ttl_seconds, char **error_out) {
  static const char *const token_path[] = {"token", NULL};
  return ix_token_from_answer(call, body, body_len, token_path, NULL, "\"token\"", token_out,
                              ttl_seconds, error_out);
}

static const ix_token_exchange cxengage_token_exchange = {
    .wanted = cxengage_wants_exchange,
    .build = cxengage_token_build,
    .parse = cxengage_token_parse,
    .key_setting = "api_key",
    .secret_setting = "api_secret",
};

static int cxengage_is_search(const ix_call *call) {
  const char *route = config_get(call->config, "route");
  return route && strcmp(route, "search") == 0;
}

/* A 403 on the search route is most likely the permission it needs, which the contact route does
 * not. */
static char *cxengage_status_hint(const ix_call *call, long status, const char *vendor_said) {
  (void)vendor_said;
  if (status == 403 && cxengage_is_search(call)) {
    return sqlite3_mprintf(
        "the search route needs the permission INTERACTIONS_API_READ_ALL: grant it to these "
        "credentials, or set route (%s) to 'contact'",
        config_origin(call->config, "route"));
  }
  if (status == 401 && cxengage_wants_exchange(call->config)) {
    return sqlite3_mprintf("a fresh token for %s and %s was refused too: check them",
                           config_origin(call->config, "api_key"),
                           config_origin(call->config, "api_secret"));
  }
  return NULL;
}

/* An occurred_at bound as the search route's ISO time: whole seconds, the lower bound rounded
 * down and the upper one up, so the API's filter keeps every row SQLite's re-check can pass
 * (sandbox assumption, like the vendor's examples: start and end are inclusive). 0 when the bound
 * is not a time, which is then left to SQLite alone. */
static int cxengage_iso_bound(const char *bound, int round_up, char out[TIMEFMT_MAX]) {
  char utc[TIMEFMT_MAX], midnight[TIMEFMT_MAX];
  /* ISO 8601's end of a day, 24:00, is the next day at 00:00: read so, and never sent as 24. */
  size_t bound_length = strlen(bound);
  int end_of_day = bound_length >= 16 && bound_length < TIMEFMT_MAX &&
                   (bound[10] == ' ' || bound[10] == 'T') && strncmp(bound + 11, "24:00", 5) == 0 &&
                   strspn(bound + 16, ":.0") == bound_length - 16;
  if (end_of_day) {
    sqlite3_snprintf(TIMEFMT_MAX, midnight, "%.10s 23:59:59", bound);
    bound = midnight;
  }
  int length = timefmt_to_utc(bound, strlen(bound), NULL, utc);
  if (length != 10 && length < 19) return 0;
  int year = 0, hour = 0, minute = 0, second = 0;
  unsigned month = 0, day = 0;
  if (sscanf(utc, "%4d-%2u-%2u", &year, &month, &day) != 3) return 0;
  if (length >= 19 && sscanf(utc + 11, "%2d:%2d:%2d", &hour, &minute, &second) != 3) return 0;
  long long seconds = timefmt_days_from_civil(year, month, day) * 86400LL + hour * 3600LL +
                      minute * 60LL + second + end_of_day;
  if (round_up && length > 19 && strspn(utc + 20, "0") != strlen(utc + 20)) seconds++;
  long long days = seconds / 86400, rest = seconds % 86400;
  timefmt_civil_from_days(days, &year, &month, &day);
  sqlite3_snprintf(TIMEFMT_MAX, out, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, month, day,
                   (int)(rest / 3600), (int)(rest / 60 % 60), (int)(rest % 60));
  return 1;
}

/* GET /v1/tenants/{tenant}/interactions?contactId=&start=&end=&limit=&page= (the search route). */
static int cxengage_build_search(const ix_call *call, const char *contact, const char *page_token,
                                 sqlite3_int64 page_size, ix_request *request) {
  char limit[24], start[TIMEFMT_MAX], end[TIMEFMT_MAX];
  sqlite3_snprintf(sizeof(limit), limit, "%lld", (long long)page_size);
  url_append_raw(&request->url, "/interactions");
  url_append_query(&request->url, "contactId", contact);
  if (call->args->range_low && cxengage_iso_bound(call->args->range_low, 0, start)) {
    url_append_query(&request->url, "start", start);
  }
  if (call->args->range_high && cxengage_iso_bound(call->args->range_high, 1, end)) {
    url_append_query(&request->url, "end", end);
  }
  url_append_query(&request->url, "limit", limit);
  url_append_query(&request->url, "page", page_token ? page_token : "0");
  return SQLITE_OK;
}

/* page_token is the page number to fetch, written by cxengage_parse_page; NULL is page 0. */
static int cxengage_build_request(const ix_call *call, const char *page_token,
                                  sqlite3_int64 page_size, ix_request *request, char **error_out) {
  const char *route = config_get(call->config, "route");
  if (!route || (strcmp(route, "contact") != 0 && strcmp(route, "search") != 0)) {
    *error_out =
        ix_errorf("%s: route must be 'contact' or 'search', got '%s' (from %s)", call->table_name,
                  route ? route : "", config_origin(call->config, "route"));
    return SQLITE_ERROR;
  }
  const char *tenant = cxengage_tenant(call);
  const char *contact = ix_args_text(call->args, CX_CONTACT_ID);
  const char *interaction = ix_args_text(call->args, CX_INTERACTION_ID);
  if (!contact && !interaction) {
    *error_out = ix_errorf("%s: %s", call->table_name, call->provider->required_hint);
    return SQLITE_ERROR;
  }
  if (!tenant) {
    *error_out =
        ix_errorf("%s: no tenant: set %s to the tenant's UUID, or add WHERE tenant_id = '...'",
                  call->table_name, config_origin(call->config, "tenant_id"));
    return SQLITE_ERROR;
  }
  url_append_raw(&request->url, "/v1/tenants");
  int rc = ix_url_segment(call, request, CX_TENANT_ID, tenant, error_out);
  if (rc != SQLITE_OK) return rc;
  if (interaction) {
    /* Get a Specific Interaction: one request, one object, whichever route pages contacts. */
    url_append_raw(&request->url, "/interactions");
    return ix_url_segment(call, request, CX_INTERACTION_ID, interaction, error_out);
  }
  if (cxengage_is_search(call)) {
    return cxengage_build_search(call, contact, page_token, page_size, request);
  }
  if (page_size > CXENGAGE_MAX_LIMIT) page_size = CXENGAGE_MAX_LIMIT;
  url_append_raw(&request->url, "/contacts");
  rc = ix_url_segment(call, request, CX_CONTACT_ID, contact, error_out);
  if (rc != SQLITE_OK) return rc;
  char limit[24];
  sqlite3_snprintf(sizeof(limit), limit, "%lld", (long long)page_size);
  /* A failed append marks the builder out of memory, which the engine reports. */
  url_append_raw(&request->url, "/interactions");
  url_append_query(&request->url, "limit", limit);
  url_append_query(&request->url, "page", page_token ? page_token : "0");
  return SQLITE_OK;
}

/* ---- Responses ---- */

/* A whole number from a JSON number, or -1. */
static sqlite3_int64 cxengage_count(const cJSON *root, const char *key) {
  const cJSON *number = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!cJSON_IsNumber(number) || number->valuedouble < 0 || number->valuedouble > 1e15) return -1;
  return (sqlite3_int64)number->valuedouble;
}

/* The paging field key as a whole number, or an error naming the field and what it held: a
 * missing or mistyped count would end the history silently (issue 19). */
static int cxengage_paging_field(const ix_call *call, const cJSON *root, const char *key,
                                 sqlite3_int64 *value, char **error_out) {
  *value = cxengage_count(root, key);
  if (*value >= 0 && (*value > 0 || strcmp(key, "limit") != 0)) return SQLITE_OK;
  const cJSON *field = cJSON_GetObjectItemCaseSensitive(root, key);
  char *held = field ? cJSON_PrintUnformatted(field) : NULL;
  *error_out = ix_errorf(
      "%s: page %d of the API's answer has \"%s\": %.40s (%s), where the "
      "endpoint documents a whole number: the history cannot be paged; report "
      "it to the vendor",
      call->table_name, call->page_index, key, held ? held : "missing", ix_json_type_name(field));
  cJSON_free(held);
  return SQLITE_ERROR;
}

/* The next page's number, or -1 when this page is the last. The vendor says to compute it from
 * offset + limit < total; page echoes null when the request gave none, so the page number comes
 * from offset / limit. A page without results while offset is below total is an error: the API
 * promised more than arrived. */
static int cxengage_next_page(const ix_call *call, const cJSON *root, const cJSON *results,
                              sqlite3_int64 *next, char **error_out) {
  sqlite3_int64 offset, limit, total;
  if (cxengage_paging_field(call, root, "offset", &offset, error_out) != SQLITE_OK ||
      cxengage_paging_field(call, root, "limit", &limit, error_out) != SQLITE_OK ||
      cxengage_paging_field(call, root, "total", &total, error_out) != SQLITE_OK) {
    return SQLITE_ERROR;
  }
  if (!results->child && offset < total) {
    *error_out = ix_errorf(
        "%s: the API promised %lld interactions (\"total\") but page %d, at "
        "offset %lld, is empty: the history would end short; report it to the "
        "vendor",
        call->table_name, (long long)total, call->page_index, (long long)offset);
    return SQLITE_ERROR;
  }
  *next = results->child && offset + limit < total ? offset / limit + 1 : -1;
  return SQLITE_OK;
}

/* Whether the page's oldest row (the last one that has a start time) is older than the lower bound
 * on occurred_at: every later page is older still. */
static int cxengage_past_lower_bound(const ix_call *call, const cJSON *results) {
  const char *low = call->args->range_low;
  if (!low) return 0;
  char oldest[TIMEFMT_MAX] = "", converted[TIMEFMT_MAX];
  for (const cJSON *item = results->child; item; item = item->next) {
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(item, "startTimestamp");
    if (cJSON_IsString(start) &&
        timefmt_to_utc(start->valuestring, strlen(start->valuestring), call->zone, converted) > 0) {
      memcpy(oldest, converted, sizeof(oldest));
    }
  }
  if (!*oldest) return 0; /* no row says when it started: keep paging */
  int cmp = strcmp(oldest, low);
  return cmp < 0 || (cmp == 0 && !call->args->range_low_inclusive);
}

/* Ids are remembered only once there is more than one page: the previous page's apart (a shift
 * repeats its rows, dropped), every older one together (a repeat from there is an error). Moves
 * the pages along for a new page; *recent_out is NULL while there is one page only. */
static int cxengage_rotate_pages(ix_page *page, int more_pages, cxengage_recent **recent_out) {
  cxengage_recent *recent = page->customer_state;
  *recent_out = NULL;
  if (!recent && more_pages) {
    recent = sqlite3_malloc64(sizeof(*recent));
    if (!recent) return SQLITE_NOMEM;
    memset(recent, 0, sizeof(*recent));
    page->customer_state = recent;
    page->free_customer_state = cxengage_recent_free;
  }
  if (!recent) return SQLITE_OK;
  if (recent->previous_page) {
    if (!recent->older) recent->older = cxengage_seen_new();
    int rc =
        recent->older ? cxengage_seen_merge(recent->older, recent->previous_page) : SQLITE_NOMEM;
    recent->previous_page = NULL;
    if (rc != SQLITE_OK) return rc;
  }
  recent->previous_page = recent->this_page;
  recent->this_page = cxengage_seen_new();
  if (!recent->this_page) return SQLITE_NOMEM;
  *recent_out = recent;
  return SQLITE_OK;
}

/* Get a Specific Interaction answers one object (tenantId, interactionId, startTimestamp, ...,
 * details{contactId, direction, channelType}); it is read bare, or in a "result" envelope as the
 * platform's other routes wrap theirs. Anything else is an error, never "no rows". */
static ix_page_status cxengage_parse_interaction(const ix_call *call, ix_page *page,
                                                 char **error_out) {
  const cJSON *item = page->root;
  const cJSON *result = cJSON_GetObjectItemCaseSensitive(item, "result");
  if (cJSON_IsObject(result)) item = result;
  if (!cJSON_IsObject(item) ||
      !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "interactionId"))) {
    *error_out = ix_errorf(
        "%s: the API's answer for interaction '%s' is not an interaction object (no "
        "\"interactionId\"): not the shape Get a Specific Interaction documents",
        call->table_name, ix_args_text(call->args, CX_INTERACTION_ID));
    return IX_PAGE_ERROR;
  }
  if (ix_page_add_row(page, item, NULL, NULL) != SQLITE_OK) {
    *error_out = ix_errorf("%s: out of memory", call->table_name);
    return IX_PAGE_ERROR;
  }
  return IX_PAGE_OK;
}

static ix_page_status cxengage_parse_page(const ix_call *call, const char *body, size_t body_len,
                                          ix_page *page, char **error_out) {
  if (ix_parse_json_body(call, body, body_len, page, error_out) != SQLITE_OK) return IX_PAGE_ERROR;
  if (ix_args_text(call->args, CX_INTERACTION_ID))
    return cxengage_parse_interaction(call, page, error_out);
  const cJSON *results = cJSON_GetObjectItemCaseSensitive(page->root, "results");
  if (!cJSON_IsArray(results)) {
    *error_out = ix_errorf(
        "%s: the API's response has no \"results\" list: not the shape this "
        "endpoint documents",
        call->table_name);
    return IX_PAGE_ERROR;
  }
  if (ix_check_list_items(call, results, "results", error_out) != SQLITE_OK) return IX_PAGE_ERROR;
  sqlite3_int64 next = -1;
  if (cxengage_next_page(call, page->root, results, &next, error_out) != SQLITE_OK) {
    return IX_PAGE_ERROR;
  }
  if (next >= 0 && cxengage_past_lower_bound(call, results)) next = -1;
  if (next >= 0) {
    page->next_token = sqlite3_mprintf("%lld", (long long)next);
    if (!page->next_token) goto out_of_memory;
  }

  cxengage_recent *recent = NULL;
  if (cxengage_rotate_pages(page, next >= 0, &recent) != SQLITE_OK) goto out_of_memory;
  for (const cJSON *item = results->child; item; item = item->next) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "interactionId");
    int added = 1;
    if (recent && cJSON_IsString(id)) {
      if (cxengage_seen_has(recent->older, id->valuestring)) {
        *error_out = ix_errorf(
            "%s: the API repeated itself: page %d for this contact holds "
            "interaction %.64s of a page before the previous one, so its rows "
            "would come twice; report it to the vendor",
            call->table_name, call->page_index, id->valuestring);
        return IX_PAGE_ERROR;
      }
      if (cxengage_seen_has(recent->previous_page, id->valuestring)) continue;
      if (cxengage_seen_add(recent->this_page, id->valuestring, &added) != SQLITE_OK) {
        goto out_of_memory;
      }
    }
    if (added && ix_page_add_row(page, item, NULL, NULL) != SQLITE_OK) goto out_of_memory;
  }
  return IX_PAGE_OK;

out_of_memory:
  *error_out = ix_errorf("%s: out of memory", call->table_name);
  return IX_PAGE_ERROR;
}

/* ---- Columns ---- */

/* A member of the row, else of its "details" object, where Get a Specific Interaction keeps the
 * contact, channel and direction. */
static const cJSON *cxengage_member(const ix_row *row, const char *key, const char *detail_key) {
  const cJSON *member = cJSON_GetObjectItemCaseSensitive(row->item, key);
  if (member) return member;
  const cJSON *details = cJSON_GetObjectItemCaseSensitive(row->item, "details");
  return cJSON_GetObjectItemCaseSensitive(details, detail_key);
}

/* The columns without a generic source: the tenant that was used when none was given; the
 * contact, channel and direction, which an interaction asked for by id has in its details;
 * campaign_id and subject, which this vendor does not have. */
static void cxengage_column(const ix_call *call, const ix_row *row, int column,
                            sqlite3_context *ctx) {
  if (column == CX_CHANNEL) {
    ix_result_json(ctx, cxengage_member(row, "channelType", "channelType"), IX_VALUE_LOWER, NULL);
    return;
  }
  if (column == CX_DIRECTION) {
    ix_result_json(ctx, cxengage_member(row, "directionType", "direction"), IX_VALUE_TEXT, NULL);
    return;
  }
  if (column == CX_CONTACT_ID) {
    ix_result_json(ctx, cxengage_member(row, "contactId", "contactId"), IX_VALUE_TEXT, NULL);
    return;
  }
  const char *tenant = column == CX_TENANT_ID ? cxengage_tenant(call) : NULL;
  if (tenant) {
    sqlite3_result_text(ctx, tenant, -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx);
  }
}

const ix_provider cxengage_interactions_provider = {
    .table = "cxengage_interactions",
    .vendor = "cxengage",
    .default_base_url = "https://api.cxengage.net",
    .settings = cxengage_settings,
    .columns = cxengage_columns,
    .column_count = CX_COLUMN_COUNT,
    /* Interaction ids first: a statement that names them asks for each one, not the history. */
    .required = {IX_COLUMN_BIT(CX_INTERACTION_ID), IX_COLUMN_BIT(CX_CONTACT_ID), 0},
    .required_hint =
        "a contact is required: add WHERE contact_id = '...' (or interaction_id = '...'; the "
        "tenant comes from CXENGAGE_TENANT_ID), or call "
        "cxengage_interactions('<tenant_id>', '<contact_id>')",
    /* The search route's; the contact route asks for at most CXENGAGE_MAX_LIMIT. */
    .max_page_size = CXENGAGE_SEARCH_MAX_LIMIT,
    .endpoint = "GET /v1/tenants/{tenant_id}/contacts/{contact_id}/interactions",
    .paging = "page number (route = 'search': 1,000 a page)",
    .docs_url =
        "https://api-docs.cxengage.net/Reporting/Content/Historical_API/Interactions/"
        "LastNInteractions.htm",
    .data = NULL,
    .authenticate = cxengage_authenticate,
    .build_request = cxengage_build_request,
    .parse_page = cxengage_parse_page,
    /* The error body is undocumented ("standard HTTP codes"): our assumption is the gateway's
     * {"message": "Contact not found"} (or "Interaction not found"). A 404 for an unknown tenant would otherwise read as "no
     * such contact" for every contact. */
    .not_found = {.match = {{{"message"}, {"contact not found", "interaction not found"}},
                            {{"error"}, {"contact not found", "interaction not found"}}},
                  .setting_phrase = "tenant",
                  .setting = "tenant_id"},
    .column = cxengage_column,
    .token_exchange = &cxengage_token_exchange,
    .status_hint = cxengage_status_hint,
    .credential_form = cxengage_credential_form,
    .regions = cxengage_regions,
};
