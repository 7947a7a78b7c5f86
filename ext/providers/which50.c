/*
 * Which50: GET {base_url}/contacts/{contactId}/communications (docs/vendors.md#which50).
 *
 *     SELECT * FROM which50_interactions('sample');
 *     SELECT * FROM which50_interactions
 *      WHERE contact_id = 'zVCvT20YU6S747BYwrV60W5vRioi4KV/U+hl...';
 *     SELECT crm.name, w.*
 *       FROM crm JOIN which50_interactions w ON w.contact_id = crm.which50_contact_id;
 *
 * Pseudo-schema (the argument column last and HIDDEN):
 *
 *     CREATE TABLE x(occurred_at, channel, status, campaign_id, subject, communication_id,
 *                    interaction, campaign_name, raw, contact_id HIDDEN)
 *
 * An ASP.NET Web API: "~" in the docs is the application root (https://<host>/Which50API), whose
 * host Which50 gives each customer: no public page says it, so base_url has no default.
 * The answer is every communication of the contact in one JSON array (no paging) of
 * {Id, Interaction, Name, Occurred, Status, CampaignId, CampaignName}; the API speaks XML unless
 * asked for JSON, and the engine always sends Accept: application/json. A contact it does not know
 * is a 404: no rows.
 *
 * How it works
 *   contact_id, the "encrypted contact id", is base64-like ('/', '+', '='), so it goes into the
 *   path percent-encoded (ix_url_segment), and ids a path cannot carry are refused. Occurred is a
 *   .NET DateTimeOffset (7 fractional digits and an offset): occurred_at is its UTC instant, to the
 *   millisecond. CampaignId is a plain int, 0 outside any campaign: that is NULL here.
 *   Which50 does not document its authentication either: auth_header is a template, by default
 *   'Authorization: Bearer {key}', so whatever Which50 tells a customer is configuration. Headers
 *   that route or frame a request (Host, Content-Length...) are refused.
 */
#include <ctype.h>
#include <string.h>

#include "provider/provider.h"

SQLITE_EXTENSION_INIT3

enum {
  W50_OCCURRED_AT,
  W50_CHANNEL,
  W50_STATUS,
  W50_CAMPAIGN_ID,
  W50_SUBJECT,
  W50_COMMUNICATION_ID,
  W50_INTERACTION,
  W50_CAMPAIGN_NAME,
  W50_RAW,
  W50_CONTACT_ID,
  W50_COLUMN_COUNT
};

/* One entry per column; its description on the line after (clang-format would spread each
 * over six lines). */
// clang-format off
static const ix_column_def which50_columns[W50_COLUMN_COUNT] = {
    [W50_OCCURRED_AT] = {"occurred_at", "TEXT", 0, IX_VALUE_TIME, {"Occurred"},
        "Occurred, in UTC to the millisecond"},
    [W50_CHANNEL] = {"channel", "TEXT", 0, IX_VALUE_LOWER, {"Interaction"},
        "Interaction, lower-cased: email, sms, landingpage, event..."},
    [W50_STATUS] = {"status", "TEXT", 0, IX_VALUE_TEXT, {"Status"},
        "Status as Which50 spells it: Sent, Delivered, Opened, Clicked..."},
    [W50_CAMPAIGN_ID] = {"campaign_id", "INTEGER", 0, IX_VALUE_CUSTOM, {"CampaignId"},
        "CampaignId; NULL when 0 (not part of a campaign)"},
    [W50_SUBJECT] = {"subject", "TEXT", 0, IX_VALUE_TEXT, {"Name"},
        "Name: the email's subject, the SMS, form or page name"},
    [W50_COMMUNICATION_ID] = {"communication_id", "INTEGER", 0, IX_VALUE_INT, {"Id"},
        "Id"},
    [W50_INTERACTION] = {"interaction", "TEXT", 0, IX_VALUE_TEXT, {"Interaction"},
        "Interaction as sent (Email, SMS, LandingPage...)"},
    [W50_CAMPAIGN_NAME] = {"campaign_name", "TEXT", 0, IX_VALUE_TEXT, {"CampaignName"},
        "CampaignName, NULL outside campaigns"},
    [W50_RAW] = {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL},
        "the communication object as the vendor sent it (JSON)"},
    [W50_CONTACT_ID] =
        {"contact_id", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "Which50's encrypted contact id, required"},
};
// clang-format on

/* One key: the contact, which the API applies exactly and the column echoes. */
static const ix_key_column which50_keys[] = {
    {"contact_id", IX_KEY_EQ, IX_KEY_REQUIRED, 0, IX_MATCH_EXACT, IX_KEY_ECHO},
    {NULL},
};

/* Which50 publishes neither its host nor its authentication scheme (docs/vendors.md#which50): both
 * are settings, whatever Which50 tells a customer, with no default that would look authoritative
 * for the host. */
#define WHICH50_AUTH_DEFAULT "Authorization: Bearer {key}"
#define WHICH50_KEY_MARK "{key}"

static const ix_setting_def which50_settings[] = {
    {"base_url", IX_SETTING_URL, NULL,
     "the API root Which50 gives your account, e.g. https://<host>/Which50API: its host is not "
     "public"},
    {"api_key", IX_SETTING_SECRET, NULL, "API key, sent as auth_header says"},
    /* Part of the credential: a table with its own base URL does not inherit it either. */
    {"auth_header", IX_SETTING_CREDENTIAL, WHICH50_AUTH_DEFAULT,
     "how the key is sent: 'Name: value' with {key} where the key goes; a bare header name "
     "carries the key as its whole value"},
    /* Which50 documents no limit: a conservative one. */
    {"rate_limit", 0, "5/1s", "requests per window"},
    {NULL, 0, NULL, NULL},
};

/* ---- Requests ---- */

/* Headers that route or frame the request, or that the engine sets itself: a key sent in one of
 * them would break the request or land in proxies' access logs. */
static const char *const which50_refused_headers[] = {
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "Upgrade",
    "TE",
    "Trailer",
    "Expect",
    "Proxy-Connection",
    "Content-Type",
    "Content-Encoding",
    "Accept",
    "Accept-Encoding",
    "User-Agent",
    "Via",
    "Forwarded",
    "X-Forwarded-For",
    "X-Forwarded-Host",
};
#define WHICH50_REFUSED_LIST                                                                \
  "Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE, Trailer, " \
  "Expect, Proxy-Connection, Content-Type, Content-Encoding, Accept, Accept-Encoding, "     \
  "User-Agent, Via, Forwarded, X-Forwarded-For, X-Forwarded-Host"

/* An HTTP field name (RFC 9110 token): anything else could end the header line early. */
static int which50_is_header_name(const char *name, size_t length) {
  if (!length) return 0;
  for (size_t i = 0; i < length; i++) {
    if (!isalnum((unsigned char)name[i]) && !strchr("!#$%&'*+-.^_`|~", name[i])) return 0;
  }
  return 1;
}

/* The auth_header setting read: the header's name and its value's template. */
typedef struct which50_auth {
  const char *name, *value;
  size_t name_length;
} which50_auth;

/* Reads auth_header ("Name: template with {key}", or a bare name carrying the key as its whole
 * value); on a problem returns 0 with *error_out set, naming the setting's origin. */
static int which50_auth_read(const ix_call *call, which50_auth *auth, char **error_out) {
  const char *setting = config_get(call->config, "auth_header");
  const char *origin = config_origin(call->config, "auth_header");
  if (!setting) setting = WHICH50_AUTH_DEFAULT;
  const char *colon = strchr(setting, ':');
  auth->name = setting;
  auth->name_length = colon ? (size_t)(colon - setting) : strlen(setting);
  while (auth->name_length && isspace((unsigned char)auth->name[auth->name_length - 1])) {
    auth->name_length--;
  }
  auth->value = colon ? colon + 1 : WHICH50_KEY_MARK;
  while (isspace((unsigned char)*auth->value)) auth->value++;
  int control = 0;
  for (const char *p = setting; *p; p++) control |= iscntrl((unsigned char)*p) != 0;
  if (!which50_is_header_name(auth->name, auth->name_length) || control) {
    *error_out = ix_errorf(
        "%s: auth_header must be a header name such as X-Api-Key, or 'Name: value' with {key} "
        "where the key goes such as '%s', got '%s' (from %s)",
        call->table_name, WHICH50_AUTH_DEFAULT, setting, origin);
    return 0;
  }
  for (size_t i = 0; i < sizeof(which50_refused_headers) / sizeof(*which50_refused_headers); i++) {
    const char *refused = which50_refused_headers[i];
    if (strlen(refused) == auth->name_length &&
        sqlite3_strnicmp(refused, auth->name, (int)auth->name_length) == 0) {
      *error_out = ix_errorf(
          "%s: auth_header cannot send the key as %s, a header that routes or frames the request "
          "(refused: " WHICH50_REFUSED_LIST
          "); any other header name is allowed, such as Authorization or X-Api-Key (from %s)",
          call->table_name, refused, origin);
      return 0;
    }
  }
  if (!strstr(auth->value, WHICH50_KEY_MARK)) {
    *error_out = ix_errorf(
        "%s: auth_header must say where the key goes with {key}, such as '%s', got '%s' (from "
        "%s)",
        call->table_name, WHICH50_AUTH_DEFAULT, setting, origin);
    return 0;
  }
  return 1;
}

static const char *which50_check_settings(const ix_call *call, char **error_out) {
  which50_auth auth;
  return which50_auth_read(call, &auth, error_out) ? NULL : "auth_header";
}

static int which50_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  const char *key = config_get(call->config, "api_key");
  if (!key) {
    *error_out = ix_errorf("%s: no API key: set %s (Which50 issues the API key)", call->table_name,
                           config_origin(call->config, "api_key"));
    return SQLITE_ERROR;
  }
  which50_auth auth;
  if (!which50_auth_read(call, &auth, error_out)) return SQLITE_ERROR;
  sqlite3_str *value = sqlite3_str_new(NULL);
  for (const char *p = auth.value; *p;) {
    const char *mark = strstr(p, WHICH50_KEY_MARK);
    size_t literal = mark ? (size_t)(mark - p) : strlen(p);
    sqlite3_str_append(value, p, (int)literal);
    if (!mark) break;
    sqlite3_str_appendall(value, key);
    p = mark + strlen(WHICH50_KEY_MARK);
  }
  int length = sqlite3_str_length(value);
  char *text = sqlite3_str_finish(value);
  char *name = sqlite3_mprintf("%.*s", (int)auth.name_length, auth.name);
  int rc = SQLITE_NOMEM;
  if (text && name) {
    rc = SQLITE_OK;
    if (http_headers_add(headers, name, text) != 0) {
      /* The template is checked, so only the key can hold what a header cannot carry. */
      rc = strpbrk(key, "\r\n") ? SQLITE_ERROR : SQLITE_NOMEM;
      if (rc == SQLITE_ERROR) {
        *error_out = ix_errorf("%s: the API key has a line break: check %s", call->table_name,
                               config_origin(call->config, "api_key"));
      }
    }
  }
  if (text) memset(text, 0, (size_t)length); /* it held the key */
  sqlite3_free(text);
  sqlite3_free(name);
  return rc;
}

static int which50_build_request(const ix_call *call, const char *page_token,
                                 sqlite3_int64 page_size, ix_request *request, char **error_out) {
  (void)page_token, (void)page_size; /* no paging: one answer holds every communication */
  const char *contact = ix_args_text(call->args, W50_CONTACT_ID);
  if (!contact) {
    *error_out = ix_errorf("%s: %s", call->table_name, call->provider->required_hint);
    return SQLITE_ERROR;
  }
  if (url_append_raw(&request->url, "/contacts") != 0) return SQLITE_NOMEM;
  int rc = ix_url_segment(call, request, W50_CONTACT_ID, contact, error_out);
  if (rc != SQLITE_OK) return rc;
  return url_append_raw(&request->url, "/communications") == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- Responses ---- */

static ix_page_status which50_parse_page(const ix_call *call, const char *body, size_t body_len,
                                         ix_page *page, char **error_out) {
  if (ix_parse_json_body(call, body, body_len, page, error_out) != SQLITE_OK) return IX_PAGE_ERROR;
  return ix_rows_from_array(call, page, "communications", error_out);
}

/* ---- Columns ---- */

static void which50_column(const ix_call *call, const ix_row *row, int column,
                           sqlite3_context *ctx) {
  (void)call;
  if (column != W50_CAMPAIGN_ID) {
    sqlite3_result_null(ctx);
    return;
  }
  /* CampaignId is a non-nullable .NET int: 0 stands for "no campaign". */
  const cJSON *campaign = ix_json_member(row->item, which50_columns[W50_CAMPAIGN_ID].keys);
  int none = (cJSON_IsNumber(campaign) && campaign->valuedouble == 0) ||
             (cJSON_IsString(campaign) && strcmp(campaign->valuestring, "0") == 0);
  ix_result_json(ctx, none ? NULL : campaign, IX_VALUE_INT_OR_TEXT, NULL);
}

/* ---- The descriptor ---- */

const ix_provider which50_interactions_provider = {
    .table = "which50_interactions",
    .vendor = "which50",
    .default_base_url = NULL, /* not public: the base_url setting says where it comes from */
    .columns = which50_columns,
    .column_count = W50_COLUMN_COUNT,
    .keys = which50_keys,
    .required_hint =
        "a contact id is required: add WHERE contact_id = '...' (Which50's encrypted contact id), "
        "or call which50_interactions('...')",
    .max_page_size = 0,
    .endpoint = "GET /contacts/{contact_id}/communications",
    .paging = "none",
    .docs_url =
        "https://app.which50.com/Which50API/documentation/"
        "Api?apiId=GET-contacts-contactId-communications",
    .data = NULL,
    .request = {.authenticate = which50_authenticate, .build = which50_build_request},
    .response =
        {
            .parse_page = which50_parse_page,
            /* Documented: 404 (contact not found); the body is ASP.NET's HttpError, whose text
             * is our assumption ({"Message": "The specified Contact was not found."}). */
            .not_found = {.match = {{{"Message"}, {"contact was not found"}}}},
        },
    .row = {.column = which50_column},
    .settings = {.list = which50_settings, .check = which50_check_settings},
};
