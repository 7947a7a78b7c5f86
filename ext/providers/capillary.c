/*
 * Capillary Technologies: GET {base_url}/v2/customers/interaction (docs/vendors.md#capillary).
 *
 *     SELECT * FROM capillary_interactions('mobile', '919988221100');
 *     SELECT * FROM capillary_interactions WHERE email = 'ann@example.com' AND channel = 'email';
 *     SELECT * FROM capillary_interaction_summary('mobile', '919988221100');
 *
 * Two tables read the same call: capillary_interactions has one row per message or survey,
 * capillary_interaction_summary one row per interaction type with its counts.
 *
 * The vendor's page shows two response shapes for this endpoint, and both are read:
 *   A: {"response": {"status": ..., "customer": {"id", "mobile", ..., "interactions": {"network":
 *       [{"name", "interaction": [{"type", "count", "messages": {"message": [...]}}]}]},
 *       "item_status": {...}}}}  -- sent_time "YYYY-MM-DD HH:MM:SS", the "reciever" spelling,
 *       single objects where arrays are expected (an XML-to-JSON habit), "null" as a string.
 *   B: {"name": "capillary", "interaction": [{"name", "count", "messageList": [...]}], "warnings"}
 *       -- sentDate "DD-MM-YYYY HH:MM:SS" (day first), campaignId -1 when there is none.
 *
 * Authentication: Basic with the till id and the lowercase hex MD5 of the till password, or an
 * OAuth token in X-CAP-API-OAUTH-TOKEN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "provider/provider.h"

SQLITE_EXTENSION_INIT3

/* Capillary's "customer not found" codes: 1012 on this endpoint, 8015 on other v2 customer GETs. */
#define CAPILLARY_NOT_FOUND 1012
#define CAPILLARY_NOT_FOUND_V2 8015
#define CAPILLARY_ITEM_OK 1000

/* Where each shared column sits in a table, so both tables share one column callback. */
typedef struct capillary_layout {
  int is_summary;
  int channel, campaign_id, customer_id, mobile, email, external_id;
  int identifier_name, identifier_value, network, type;
} capillary_layout;

/* The customer identifiers the API accepts, and the columns that carry them. */
static const char *const capillary_identifiers[] = {"mobile", "email", "external_id"};

/* The vendor's documented `type` filter values: an equality on channel with one of these is sent.
 */
static const char *const capillary_types[] = {
    "email", "emailbulk", "checkin",  "like", "comment", "mention", "retweet",
    "tweet", "feedback",  "whatsapp", "zalo", "line",    "viber",   NULL,
};

/* ---- capillary_interactions ---- */

enum {
  CI_OCCURRED_AT,
  CI_CHANNEL,
  CI_STATUS,
  CI_CAMPAIGN_ID,
  CI_SUBJECT,
  CI_CUSTOMER_ID,
  CI_MOBILE,
  CI_EMAIL,
  CI_EXTERNAL_ID,
  CI_MESSAGE_ID,
  CI_SENDER,
  CI_RECEIVER,
  CI_DELIVERED_AT,
  CI_USER_ID,
  CI_RAW,
  CI_IDENTIFIER_NAME,
  CI_IDENTIFIER_VALUE,
  CI_NETWORK,
  CI_TYPE,
  CI_COLUMN_COUNT
};

/* One entry per column; its description on the line after (clang-format would spread each
 * over six lines). */
// clang-format off
static const ix_column_def capillary_columns[CI_COLUMN_COUNT] = {
    [CI_OCCURRED_AT] =
        {"occurred_at", "TEXT", 0, IX_VALUE_TIME, {"sent_time", "sentDate", "sentTime"},
        "when the message was sent, in UTC"},
    [CI_CHANNEL] = {"channel", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the interaction type, lower-case: email, sms, whatsapp, viber, phone, survey..."},
    [CI_STATUS] = {"status", "TEXT", 0, IX_VALUE_TEXT, {"status"},
        "delivery status as Capillary spells it: DELIVERED, OPENED, NOT-DELIVERED..."},
    [CI_CAMPAIGN_ID] =
        {"campaign_id", "INTEGER", 0, IX_VALUE_CUSTOM, {"campaign_id", "campaignId"},
        "the campaign id; NULL for -1 (no campaign)"},
    [CI_SUBJECT] = {"subject", "TEXT", 0, IX_VALUE_TEXT, {"subject", "name"},
        "the message subject or survey name"},
    [CI_CUSTOMER_ID] = {"customer_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "Capillary's customer id, when the response carries the customer"},
    [CI_MOBILE] = {"mobile", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the customer's mobile; an equality on it names the customer"},
    [CI_EMAIL] = {"email", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the customer's email; an equality on it names the customer"},
    [CI_EXTERNAL_ID] = {"external_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the customer's external id; an equality on it names the customer"},
    [CI_MESSAGE_ID] = {"message_id", "INTEGER", 0, IX_VALUE_INT, {"id"},
        "the message id (64-bit integer)"},
    [CI_SENDER] = {"sender", "TEXT", 0, IX_VALUE_TEXT, {"sender", "sent_by"},
        "the sender as sent"},
    [CI_RECEIVER] = {"receiver", "TEXT", 0, IX_VALUE_TEXT, {"reciever", "receiver"},
        "the receiver as sent (the legacy shape spells it reciever)"},
    [CI_DELIVERED_AT] = {"delivered_at",
                         "TEXT",
                         0,
                         IX_VALUE_TIME,
                         {"delivered_time", "deliveredTime", "completion_time"},
        "delivery time in UTC, NULL when not delivered"},
    [CI_USER_ID] = {"user_id", "INTEGER", 0, IX_VALUE_INT, {"userId", "user_id"},
        "userId, when the response has it"},
    [CI_RAW] = {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL},
        "the message or survey object as the vendor sent it (JSON)"},
    [CI_IDENTIFIER_NAME] = {"identifier_name", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "mobile, email or external_id: which identifier names the customer"},
    [CI_IDENTIFIER_VALUE] = {"identifier_value", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "the value of that identifier"},
    [CI_NETWORK] = {"network", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "the vendor's network filter; reports each row's network"},
    [CI_TYPE] = {"type", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "the vendor's type filter; reports each row's type"},
};
// clang-format on

/* The customer is named by identifier_name with identifier_value, or by mobile, email or
 * external_id (tried in that order). A customer key column carries the customer object's own
 * value and SQLite re-checks it: Capillary matches an email ignoring case (and may normalise a
 * mobile), so an echo of the value asked for could keep rows SQLite's comparison over a local
 * copy would not. Only an answer without a customer object (shape B) echoes what was asked.
 * channel, network and type are filters the API applies; only the arguments echo theirs. */
// clang-format off
/* The customer's keys, the same in both tables.
 * column               operators  require        alt  match            flags */
#define CAPILLARY_CUSTOMER_KEYS \
  {"identifier_name",  IX_KEY_EQ, IX_KEY_ONE_OF,   1,   IX_MATCH_EXACT,  IX_KEY_ECHO}, \
  {"identifier_value", IX_KEY_EQ, IX_KEY_ONE_OF,   1,   IX_MATCH_EXACT,  IX_KEY_ECHO}, \
  {"mobile",           IX_KEY_EQ, IX_KEY_ONE_OF,   2,   IX_MATCH_PHONE,  IX_KEY_PER_CUSTOMER}, \
  {"email",            IX_KEY_EQ, IX_KEY_ONE_OF,   3,   IX_MATCH_NOCASE, IX_KEY_PER_CUSTOMER}, \
  {"external_id",      IX_KEY_EQ, IX_KEY_ONE_OF,   4,   IX_MATCH_EXACT,  IX_KEY_PER_CUSTOMER},

static const ix_key_column capillary_keys[] = {
    /* column            operators  require          alt  match            flags */
    CAPILLARY_CUSTOMER_KEYS
    {"channel",          IX_KEY_EQ, IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT,  0},
    {"network",          IX_KEY_EQ, IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT,  IX_KEY_ECHO},
    {"type",             IX_KEY_EQ, IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT,  IX_KEY_ECHO},
    {NULL},
};
// clang-format on

static const capillary_layout capillary_interactions_layout = {
    0,        CI_CHANNEL,     CI_CAMPAIGN_ID,     CI_CUSTOMER_ID,      CI_MOBILE,
    CI_EMAIL, CI_EXTERNAL_ID, CI_IDENTIFIER_NAME, CI_IDENTIFIER_VALUE, CI_NETWORK,
    CI_TYPE,
};

/* ---- capillary_interaction_summary ---- */

enum {
  CS_CHANNEL,
  CS_COUNT,
  CS_LAST_INTERACTION_AT,
  CS_USED,
  CS_CUSTOMER_ID,
  CS_MOBILE,
  CS_EMAIL,
  CS_EXTERNAL_ID,
  CS_RAW,
  CS_IDENTIFIER_NAME,
  CS_IDENTIFIER_VALUE,
  CS_NETWORK,
  CS_COLUMN_COUNT
};

/* One entry per column; its description on the line after (clang-format would spread each
 * over six lines). */
// clang-format off
static const ix_column_def capillary_summary_columns[CS_COLUMN_COUNT] = {
    [CS_CHANNEL] = {"channel", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the interaction type, lower-case"},
    [CS_COUNT] = {"count", "INTEGER", 0, IX_VALUE_INT, {"count"},
        "how many interactions of this type the customer has"},
    [CS_LAST_INTERACTION_AT] = {"last_interaction_at",
                                "TEXT",
                                0,
                                IX_VALUE_TIME,
                                {"last_interaction_time", "lastInteractionTime"},
        "the latest interaction of this type, in UTC"},
    [CS_USED] = {"used", "INTEGER", 0, IX_VALUE_BOOL, {"used_status", "usedStatus"},
        "0/1: whether the type is in use, NULL when the vendor does not say"},
    [CS_CUSTOMER_ID] = {"customer_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "Capillary's customer id, when the response carries the customer"},
    [CS_MOBILE] = {"mobile", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the customer's mobile; an equality on it names the customer"},
    [CS_EMAIL] = {"email", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the customer's email; an equality on it names the customer"},
    [CS_EXTERNAL_ID] = {"external_id", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "the customer's external id; an equality on it names the customer"},
    [CS_RAW] = {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL},
        "the interaction type object as the vendor sent it (JSON)"},
    [CS_IDENTIFIER_NAME] = {"identifier_name", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "mobile, email or external_id: which identifier names the customer"},
    [CS_IDENTIFIER_VALUE] = {"identifier_value", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "the value of that identifier"},
    [CS_NETWORK] = {"network", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "the vendor's network filter"},
};
// clang-format on

/* The summary's keys: the interactions' (above) without channel and type, which it has not. */
// clang-format off
static const ix_key_column capillary_summary_keys[] = {
    /* column            operators  require          alt  match            flags */
    CAPILLARY_CUSTOMER_KEYS
    {"network",          IX_KEY_EQ, IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT,  IX_KEY_ECHO},
    {NULL},
};
// clang-format on

static const capillary_layout capillary_summary_layout = {
    1,
    CS_CHANNEL,
    -1,
    CS_CUSTOMER_ID,
    CS_MOBILE,
    CS_EMAIL,
    CS_EXTERNAL_ID,
    CS_IDENTIFIER_NAME,
    CS_IDENTIFIER_VALUE,
    CS_NETWORK,
    -1,
};

static const ix_setting_def capillary_settings[] = {
    {"username", IX_SETTING_CREDENTIAL, NULL, "till id for Basic authentication"},
    {"password", IX_SETTING_SECRET, NULL, "till password (sent as its MD5, as Capillary requires)"},
    {"oauth_token", IX_SETTING_SECRET, NULL,
     "OAuth token, sent as X-CAP-API-OAUTH-TOKEN (lives 300 s by default: prefer oauth_key)"},
    /* The key is the API client's name, the secret its password: like username and password. */
    {"oauth_key", IX_SETTING_CREDENTIAL, NULL,
     "OAuth client key, exchanged with oauth_secret for tokens the table renews"},
    {"oauth_secret", IX_SETTING_SECRET, NULL, "OAuth client secret, with oauth_key"},
    /* The general rate-limit page's figure; the interaction page says 1,000/min for demo
     * clusters. Brands have their own limits: the conservative one is the default. */
    {"rate_limit", 0, "100/60s", "requests per window"},
    {"accept_partial_history", IX_SETTING_INT | IX_SETTING_SWITCH, "0",
     "1: take the messages listed when a type's count says there are more (noted on stderr)"},
    {NULL, 0, NULL, NULL},
};

static const capillary_layout *capillary_layout_of(const ix_call *call) {
  return call->provider->data;
}

/* ---- Requests ---- */

/* Key and secret win over a static token: they keep working after any token expires. */
static int capillary_wants_exchange(const ix_config *config) {
  return config_get(config, "oauth_key") && config_get(config, "oauth_secret");
}

static const char *capillary_credential_form(const ix_config *config) {
  if (capillary_wants_exchange(config)) return "oauth key and secret (tokens renewed)";
  if (config_get(config, "oauth_token")) return "oauth token";
  if (config_get(config, "username") && config_get(config, "password")) return "basic till";
  return "none";
}

static int capillary_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  if (call->token) {
    return http_headers_add(headers, "X-CAP-API-OAUTH-TOKEN", call->token) == 0 ? SQLITE_OK
                                                                                : SQLITE_NOMEM;
  }
  if (config_get(call->config, "oauth_key") || config_get(call->config, "oauth_secret")) {
    int has_key = config_get(call->config, "oauth_key") != NULL;
    *error_out = ix_errorf("%s: %s is set but %s is not: set both to use OAuth key and secret",
                           call->table_name,
                           config_origin(call->config, has_key ? "oauth_key" : "oauth_secret"),
                           config_origin(call->config, has_key ? "oauth_secret" : "oauth_key"));
    return SQLITE_ERROR;
  }
  const char *token = config_get(call->config, "oauth_token");
  if (token) {
    return http_headers_add(headers, "X-CAP-API-OAUTH-TOKEN", token) == 0 ? SQLITE_OK
                                                                          : SQLITE_NOMEM;
  }
  const char *user = config_get(call->config, "username");
  const char *password = config_get(call->config, "password");
  if (!user || !password) {
    *error_out = ix_errorf(
        "%s: no credentials: set %s and %s (the till id and its password), or %s and %s, or "
        "%s",
        call->table_name, config_origin(call->config, "username"),
        config_origin(call->config, "password"), config_origin(call->config, "oauth_key"),
        config_origin(call->config, "oauth_secret"), config_origin(call->config, "oauth_token"));
    return SQLITE_ERROR;
  }
  char md5[33];
  if (auth_md5_hex(password, md5) != 0) {
    *error_out =
        ix_errorf("%s: could not compute the MD5 of the password (OpenSSL)", call->table_name);
    return SQLITE_ERROR;
  }
  int rc = auth_add_basic(headers, user, md5);
  memset(md5, 0, sizeof(md5));
  return rc == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* POST {base_url}/v3/oauth/token/generate {"key", "secret"} (docs/vendors.md#capillary). */
static int capillary_token_build(const ix_call *call, ix_request *request, char **json_out,
                                 char **error_out) {
  (void)error_out;
  cJSON *body = cJSON_CreateObject();
  if (!body || !cJSON_AddStringToObject(body, "key", config_get(call->config, "oauth_key")) ||
      !cJSON_AddStringToObject(body, "secret", config_get(call->config, "oauth_secret"))) {
    cJSON_Delete(body);
    return SQLITE_NOMEM;
  }
  if (ix_token_request_json(body, json_out) != SQLITE_OK) return SQLITE_NOMEM;
  url_append_raw(&request->url, "/v3/oauth/token/generate");
  return SQLITE_OK;
}

/* {"data": {"accessToken": "...", "ttlSeconds": 300}, "errors": null}. */
static int capillary_token_parse(const ix_call *call, const char *body, size_t body_len,
                                 char **token_out, long long *ttl_seconds, char **error_out) {
  static const char *const token_path[] = {"data", "accessToken", NULL};
  static const char *const ttl_path[] = {"data", "ttlSeconds", NULL};
  return ix_token_from_answer(call, body, body_len, token_path, ttl_path, "data.accessToken",
                              token_out, ttl_seconds, error_out);
}

static const ix_token_exchange capillary_token_exchange = {
    .wanted = capillary_wants_exchange,
    .build = capillary_token_build,
    .parse = capillary_token_parse,
    .key_setting = "oauth_key",
    .secret_setting = "oauth_secret",
    .default_ttl_seconds = 300, /* "a token lives 300 s by default" (docs/vendors.md#capillary) */
};

/* A static token is the likeliest credential to fail mid-statement: it expires. */
static char *capillary_status_hint(const ix_call *call, long status, const char *vendor_said) {
  (void)vendor_said;
  if (status != 401) return NULL;
  if (capillary_wants_exchange(call->config)) {
    return sqlite3_mprintf("a fresh token for %s and %s was refused too: check them",
                           config_origin(call->config, "oauth_key"),
                           config_origin(call->config, "oauth_secret"));
  }
  if (!config_get(call->config, "oauth_token")) return NULL;
  return sqlite3_mprintf(
      "the OAuth token from %s may have expired (a token lives 300 s by default): set %s and %s "
      "instead, and the table asks for tokens and renews them",
      config_origin(call->config, "oauth_token"), config_origin(call->config, "oauth_key"),
      config_origin(call->config, "oauth_secret"));
}

/* The identifier the plan sends: the argument pair, or the keyed column that was constrained. */
static void capillary_identifier(const ix_call *call, const char **name, const char **value) {
  const capillary_layout *layout = capillary_layout_of(call);
  *name = ix_args_text(call->args, layout->identifier_name);
  *value = ix_args_text(call->args, layout->identifier_value);
  if (*name && *value) return;
  const int columns[3] = {layout->mobile, layout->email, layout->external_id};
  for (int i = 0; i < 3; i++) {
    const char *given = ix_args_text(call->args, columns[i]);
    if (given) {
      *name = capillary_identifiers[i];
      *value = given;
      return;
    }
  }
  *name = *value = NULL;
}

static int capillary_is_type(const char *value) {
  for (int i = 0; value && capillary_types[i]; i++) {
    if (strcmp(capillary_types[i], value) == 0) return 1;
  }
  return 0;
}

/* The type filter sent to the API: the type argument, else an equality on channel that names one
 * of the vendor's types (any other channel value is left to SQLite). */
static const char *capillary_type_filter(const ix_call *call) {
  const capillary_layout *layout = capillary_layout_of(call);
  const char *type = layout->type >= 0 ? ix_args_text(call->args, layout->type) : NULL;
  if (type) return type;
  const char *channel = layout->is_summary ? NULL : ix_args_text(call->args, layout->channel);
  return capillary_is_type(channel) ? channel : NULL;
}

static int capillary_build_request(const ix_call *call, const char *page_token,
                                   sqlite3_int64 page_size, ix_request *request, char **error_out) {
  (void)page_token, (void)page_size; /* v2 documents no paging: one response holds everything */
  const char *name, *value;
  capillary_identifier(call, &name, &value);
  if (!name || !value) {
    *error_out = ix_errorf("%s: %s", call->table_name, call->provider->required_hint);
    return SQLITE_ERROR;
  }
  int known = 0;
  for (int i = 0; i < 3; i++) known |= strcmp(name, capillary_identifiers[i]) == 0;
  if (!known) {
    *error_out = ix_errorf(
        "%s: identifier_name must be 'mobile', 'email' or 'external_id', got "
        "'%s'",
        call->table_name, name);
    return SQLITE_ERROR;
  }
  if (!*value) {
    *error_out = ix_errorf("%s: the %s to look up is empty", call->table_name, name);
    return SQLITE_ERROR;
  }
  const capillary_layout *layout = capillary_layout_of(call);
  const char *network = ix_args_text(call->args, layout->network);
  const char *type = capillary_type_filter(call);
  /* Real integrations ask for English (docs/vendors.md#capillary): the vendor's messages, which
   * errors quote, then read the same for every user. */
  int failed = http_headers_add(&request->headers, "Accept-Language", "en") != 0 ||
               url_append_raw(&request->url, "/v2/customers/interaction") != 0 ||
               url_append_query(&request->url, "identifierName", name) != 0 ||
               url_append_query(&request->url, "identifierValue", value) != 0 ||
               (network && url_append_query(&request->url, "network", network) != 0) ||
               (type && url_append_query(&request->url, "type", type) != 0);
  return failed ? SQLITE_NOMEM : SQLITE_OK;
}

/* ---- Responses ---- */

static const cJSON *capillary_get(const cJSON *object, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(object, key);
}

/* "code" arrives as a number or a numeric string; anything else, or out of range, is 0. */
static int capillary_code(const cJSON *status) {
  const cJSON *code = capillary_get(status, "code");
  double value = 0;
  if (cJSON_IsNumber(code)) {
    value = code->valuedouble;
  } else if (cJSON_IsString(code)) {
    char *end = NULL;
    value = strtod(code->valuestring, &end);
    if (end == code->valuestring || *end) value = 0;
  }
  return value >= -2147483648.0 && value <= 2147483647.0 ? (int)value : 0;
}

static int capillary_is_false(const cJSON *flag) {
  return cJSON_IsFalse(flag) || (cJSON_IsString(flag) && strcmp(flag->valuestring, "false") == 0);
}

static const char *capillary_message(const cJSON *status) {
  const cJSON *message = capillary_get(status, "message");
  return cJSON_IsString(message) ? message->valuestring : "no message";
}

/* An interaction type's name: "type" in shape A, "name" in shape B. */
static const char *capillary_type_name(const cJSON *interaction) {
  const cJSON *type = capillary_get(interaction, "type");
  if (!cJSON_IsString(type)) type = capillary_get(interaction, "name");
  return cJSON_IsString(type) ? type->valuestring : NULL;
}

/* Types that carry only counts, never a list of messages (v1.1's facebook and twitter types, and
 * missed calls): their count says nothing about rows missing. */
static const char *const capillary_count_only_types[] = {
    "missed_call", "checkin", "like", "comment", "mention", "retweet", "tweet", NULL,
};

/* A type's "count" as a whole number (a number, or a numeric string as v1.1 writes it); -1 when
 * it has none that reads as one. */
static long long capillary_type_count(const cJSON *interaction) {
  const cJSON *count = capillary_get(interaction, "count");
  if (cJSON_IsNumber(count) && count->valuedouble >= 0 && count->valuedouble < 1e15) {
    return (long long)count->valuedouble;
  }
  if (cJSON_IsString(count) && *count->valuestring) {
    char *end = NULL;
    long long value = strtoll(count->valuestring, &end, 10);
    if (!*end && value >= 0) return value;
  }
  return -1;
}

/* Every type carries "count": one larger than the messages listed means the answer is not the
 * whole history (v1.1 pages the same data 50 at a time). An error, unless the user accepts
 * partial histories, which is said on stderr. */
static int capillary_check_count(const ix_call *call, const cJSON *interaction, int containers,
                                 long long listed, char **error_out) {
  const char *type = capillary_type_name(interaction);
  for (int i = 0; !containers && type && capillary_count_only_types[i]; i++) {
    if (strcmp(type, capillary_count_only_types[i]) == 0) return SQLITE_OK;
  }
  long long count = capillary_type_count(interaction);
  if (count <= listed) return SQLITE_OK;
  const char *setting = config_origin(call->config, "accept_partial_history");
  if (call->config && config_get_int(call->config, "accept_partial_history")) {
    ix_note(call,
            "the answer lists %lld of the %lld '%s' interactions it counts: returning the %lld "
            "listed (accept_partial_history from %s; INTERACTIONS_QUIET=1 hides this)",
            listed, count, type ? type : "?", listed, setting);
    return SQLITE_OK;
  }
  *error_out = ix_errorf(
      "%s: the API's answer lists %lld of the %lld '%s' interactions it counts, so it is not the "
      "whole history: set %s to 1 to accept the %lld listed",
      call->table_name, listed, count, type ? type : "?", setting, listed);
  return SQLITE_ERROR;
}

/* The rows of one interaction type, from whichever container the shape uses. */
static int capillary_add_type_rows(const ix_call *call, ix_page *page, const cJSON *network,
                                   const cJSON *interaction, char **error_out) {
  if (capillary_layout_of(call)->is_summary) {
    return ix_page_add_row(page, interaction, NULL, network);
  }
  const cJSON *containers[4] = {
      capillary_get(capillary_get(interaction, "messages"), "message"),
      capillary_get(interaction, "messageList"),
      capillary_get(capillary_get(interaction, "surveys"), "survey"),
      capillary_get(interaction, "surveys"),
  };
  int present = 0;
  long long listed = 0;
  for (int c = 0; c < 4; c++) {
    const cJSON *list = containers[c];
    if (c == 3 && !cJSON_IsArray(list)) continue; /* shape A's "surveys" is an object, seen above */
    present += list != NULL;
    for (const cJSON *item = ix_json_first(list); item; item = ix_json_next(list, item)) {
      if (!cJSON_IsObject(item)) continue;
      listed++;
      int rc = ix_page_add_row(page, item, interaction, network);
      if (rc != SQLITE_OK) return rc;
    }
  }
  return capillary_check_count(call, interaction, present, listed, error_out);
}

/* Adds the rows of one network object, keeping only the network and type the plan asked for: the
 * table echoes those arguments, so it must not return rows of another network or type. */
static int capillary_add_network(const ix_call *call, ix_page *page, const cJSON *network,
                                 const cJSON *interactions, char **error_out) {
  const capillary_layout *layout = capillary_layout_of(call);
  const char *wanted_network = ix_args_text(call->args, layout->network);
  const cJSON *name = capillary_get(network, "name");
  if (wanted_network && (!cJSON_IsString(name) || strcmp(name->valuestring, wanted_network) != 0)) {
    return SQLITE_OK;
  }
  const char *wanted_type = layout->type >= 0 ? ix_args_text(call->args, layout->type) : NULL;
  for (const cJSON *interaction = ix_json_first(interactions); interaction;
       interaction = ix_json_next(interactions, interaction)) {
    const char *type = capillary_type_name(interaction);
    if (wanted_type && (!type || strcmp(type, wanted_type) != 0)) continue;
    int rc = capillary_add_type_rows(call, page, network, interaction, error_out);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

/* Shape B and v2 error bodies carry failures in "errors": [{"code", "message"}]. */
static ix_page_status capillary_check_errors(const ix_call *call, const cJSON *errors,
                                             char **error_out) {
  for (const cJSON *error = ix_json_first(errors); error; error = ix_json_next(errors, error)) {
    int code = capillary_code(error);
    if (code == CAPILLARY_NOT_FOUND || code == CAPILLARY_NOT_FOUND_V2) return IX_PAGE_NOT_FOUND;
    *error_out = ix_errorf("%s: the API reported error %d: %s", call->table_name, code,
                           capillary_message(error));
    return IX_PAGE_ERROR;
  }
  return IX_PAGE_OK;
}

static ix_page_status capillary_parse_shape_a(const ix_call *call, const cJSON *response,
                                              ix_page *page, char **error_out) {
  const cJSON *status = capillary_get(response, "status");
  const cJSON *customer = capillary_get(response, "customer");
  if (!cJSON_IsObject(customer))
    customer = ix_json_first(capillary_get(capillary_get(response, "customers"), "customer"));
  const cJSON *item_status = capillary_get(customer, "item_status");
  if (capillary_code(item_status) == CAPILLARY_NOT_FOUND) return IX_PAGE_NOT_FOUND;
  if (item_status && (capillary_is_false(capillary_get(item_status, "success")) ||
                      capillary_code(item_status) != CAPILLARY_ITEM_OK)) {
    *error_out = ix_errorf("%s: the API reported error %d: %s", call->table_name,
                           capillary_code(item_status), capillary_message(item_status));
    return IX_PAGE_ERROR;
  }
  if (!cJSON_IsObject(customer)) {
    *error_out = ix_errorf("%s: the API reported failure %d: %s", call->table_name,
                           capillary_code(status), capillary_message(status));
    return IX_PAGE_ERROR;
  }
  page->context = customer;
  const cJSON *networks = capillary_get(capillary_get(customer, "interactions"), "network");
  for (const cJSON *network = ix_json_first(networks); network;
       network = ix_json_next(networks, network)) {
    if (capillary_add_network(call, page, network, capillary_get(network, "interaction"),
                              error_out) != SQLITE_OK) {
      return IX_PAGE_ERROR;
    }
  }
  return IX_PAGE_OK;
}

static ix_page_status capillary_parse_page(const ix_call *call, const char *body, size_t body_len,
                                           ix_page *page, char **error_out) {
  if (ix_parse_json_body(call, body, body_len, page, error_out) != SQLITE_OK) return IX_PAGE_ERROR;
  const cJSON *root = page->root;
  ix_page_status status = capillary_check_errors(call, capillary_get(root, "errors"), error_out);
  if (status != IX_PAGE_OK) return status;
  const cJSON *response = capillary_get(root, "response");
  if (cJSON_IsObject(response)) {
    status = capillary_parse_shape_a(call, response, page, error_out);
  } else if (capillary_get(root, "interaction")) {
    status = capillary_add_network(call, page, root, capillary_get(root, "interaction"),
                                   error_out) == SQLITE_OK
                 ? IX_PAGE_OK
                 : IX_PAGE_ERROR;
  } else if (cJSON_IsString(capillary_get(root, "message"))) {
    /* v2's third error shape, {"message": "..."} (validation errors), even with a 200. */
    *error_out = ix_errorf("%s: the API reported an error: %.200s", call->table_name,
                           capillary_get(root, "message")->valuestring);
    return IX_PAGE_ERROR;
  } else {
    *error_out = ix_errorf(
        "%s: the API's response has neither \"response\" nor \"interaction\": "
        "not a shape this endpoint documents",
        call->table_name);
    return IX_PAGE_ERROR;
  }
  if (status == IX_PAGE_ERROR && !*error_out)
    *error_out = ix_errorf("%s: out of memory", call->table_name);
  return status;
}

/* ---- Columns ---- */

/* The customer's identifier: from the customer object (shape A), else the one the plan sent. */
static void capillary_result_identifier(const ix_call *call, int identifier, sqlite3_context *ctx) {
  const cJSON *value = capillary_get(call->page->context, capillary_identifiers[identifier]);
  if (cJSON_IsString(value) && *value->valuestring) {
    sqlite3_result_text(ctx, value->valuestring, -1, SQLITE_TRANSIENT);
    return;
  }
  const char *name, *sent;
  capillary_identifier(call, &name, &sent);
  if (name && strcmp(name, capillary_identifiers[identifier]) == 0) {
    sqlite3_result_text(ctx, sent, -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx);
  }
}

static void capillary_column(const ix_call *call, const ix_row *row, int column,
                             sqlite3_context *ctx) {
  const capillary_layout *layout = capillary_layout_of(call);
  const cJSON *interaction = layout->is_summary ? row->item : row->group;
  if (column == layout->channel || column == layout->type) {
    ix_result_lower(ctx, capillary_type_name(interaction));
  } else if (column == layout->campaign_id) {
    /* Shape B writes -1 for messages outside any campaign: that is "none". */
    const cJSON *campaign = ix_json_member(row->item, call->provider->columns[column].keys);
    int none = (cJSON_IsNumber(campaign) && campaign->valuedouble < 0) ||
               (cJSON_IsString(campaign) && strcmp(campaign->valuestring, "-1") == 0);
    ix_result_json(ctx, none ? NULL : campaign, IX_VALUE_INT_OR_TEXT, NULL);
  } else if (column == layout->customer_id) {
    ix_result_json(ctx, capillary_get(call->page->context, "id"), IX_VALUE_TEXT, NULL);
  } else if (column == layout->mobile) {
    capillary_result_identifier(call, 0, ctx);
  } else if (column == layout->email) {
    capillary_result_identifier(call, 1, ctx);
  } else if (column == layout->external_id) {
    capillary_result_identifier(call, 2, ctx);
  } else if (column == layout->identifier_name || column == layout->identifier_value) {
    const char *name, *value;
    capillary_identifier(call, &name, &value);
    sqlite3_result_text(ctx, column == layout->identifier_name ? name : value, -1,
                        SQLITE_TRANSIENT);
  } else if (column == layout->network) {
    ix_result_json(ctx, capillary_get(row->parent, "name"), IX_VALUE_TEXT, NULL);
  } else {
    sqlite3_result_null(ctx);
  }
}

/* The customer's id from the answer (shape A), so that its rows found by mobile and by email in
 * one statement are the same rows. */
static int capillary_customer_identity(const ix_call *call, char *out, size_t out_size) {
  const cJSON *id = capillary_get(call->page->context, "id");
  if (cJSON_IsString(id) && *id->valuestring) {
    sqlite3_snprintf((int)out_size, out, "s%s", id->valuestring);
  } else if (cJSON_IsNumber(id)) {
    sqlite3_snprintf((int)out_size, out, "n%!.17g", id->valuedouble);
  } else {
    return 0;
  }
  return 1;
}

/* The customer's mobile, email or external id as the answer's customer object has it (shape A). */
static int capillary_customer_key(const ix_call *call, int column, char *out, size_t out_size) {
  const capillary_layout *layout = capillary_layout_of(call);
  const int columns[3] = {layout->mobile, layout->email, layout->external_id};
  for (int i = 0; i < 3; i++) {
    if (columns[i] != column) continue;
    const cJSON *value = capillary_get(call->page->context, capillary_identifiers[i]);
    if (!cJSON_IsString(value) || !*value->valuestring) return 0;
    sqlite3_snprintf((int)out_size, out, "%s", value->valuestring);
    return 1;
  }
  return 0;
}

/* ---- The two descriptors ---- */

/* Capillary's own "no such customer" 404: the 1012 (or 8015) code in an errors list or in the
 * customer's item_status. A 404 with another code is not an answer about the customer. */
#define CAPILLARY_NOT_FOUND_RULE                                  \
  {                                                               \
    .match = {                                                    \
      {{"errors", "code"}, {"1012", "8015"}},                     \
      {{"response", "customer", "item_status", "code"}, {"1012"}} \
    }                                                             \
  }

/* What the two tables share: one endpoint, its settings, credentials and parsing; they differ in
 * columns, keys, the hint naming the table, and the layout (.data) their column callback reads. */
#define CAPILLARY_SHARED_FIELDS                                                       \
  .vendor = "capillary", .default_base_url = "https://eu.api.capillarytech.com",      \
  .max_page_size = 0, .endpoint = "GET /v2/customers/interaction", .paging = "none",  \
  .docs_url = "https://docs.capillarytech.com/reference/v2get-customer-interactions", \
  .request = {.authenticate = capillary_authenticate,                                 \
              .build = capillary_build_request,                                       \
              .token_exchange = &capillary_token_exchange},                           \
  .response = {.parse_page = capillary_parse_page,                                    \
               .not_found = CAPILLARY_NOT_FOUND_RULE,                                 \
               .status_hint = capillary_status_hint},                                 \
  .row = {.column = capillary_column,                                                 \
          .customer_identity = capillary_customer_identity,                           \
          .customer_key = capillary_customer_key},                                    \
  .settings = {.list = capillary_settings, .credential_form = capillary_credential_form}

const ix_provider capillary_interactions_provider = {
    CAPILLARY_SHARED_FIELDS,
    .table = "capillary_interactions",
    .columns = capillary_columns,
    .column_count = CI_COLUMN_COUNT,
    .keys = capillary_keys,
    .required_hint =
        "a customer identifier is required: add WHERE mobile = '...' (or email, "
        "external_id), or call capillary_interactions('mobile', '...')",
    .data = &capillary_interactions_layout,
};

const ix_provider capillary_summary_provider = {
    CAPILLARY_SHARED_FIELDS,
    .table = "capillary_interaction_summary",
    .columns = capillary_summary_columns,
    .column_count = CS_COLUMN_COUNT,
    .keys = capillary_summary_keys,
    .required_hint =
        "a customer identifier is required: add WHERE mobile = '...' (or email, "
        "external_id), or call capillary_interaction_summary('mobile', '...')",
    .data = &capillary_summary_layout,
};
