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
 * An ASP.NET Web API: "~" in the docs is the application root, https://app.which50.com/Which50API.
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
 *   Which50 does not document its authentication. The API key goes in Authorization: Bearer, or,
 *   when the auth_header setting names a header, as that header's whole value.
 */
#include <ctype.h>
#include <string.h>

#include "auth/auth.h"
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
        {"contact_id", "TEXT", IX_COL_HIDDEN | IX_COL_EQ | IX_COL_EXACT, IX_VALUE_NONE, {NULL},
        "Which50's encrypted contact id, required"},
};
// clang-format on

static const ix_setting_def which50_settings[] = {
    {"api_key", IX_SETTING_SECRET, NULL, "API key, sent as Authorization: Bearer (or auth_header)"},
    /* Part of the credential: a table with its own base URL does not inherit it either. */
    {"auth_header", IX_SETTING_CREDENTIAL, NULL,
     "header that carries the API key as its value, instead of Authorization: Bearer"},
    /* Which50 documents no limit: a conservative one. */
    {"rate_limit", 0, "5/1s", "requests per window"},
    {NULL, 0, NULL, NULL},
};

/* ---- Requests ---- */

/* An HTTP field name (RFC 9110 token): anything else could end the header line early. */
static int which50_is_header_name(const char *name) {
  if (!*name) return 0;
  for (const char *p = name; *p; p++) {
    if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p)) return 0;
  }
  return 1;
}

static int which50_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  const char *key = config_get(call->config, "api_key");
  if (!key) {
    *error_out = ix_errorf("%s: no API key: set %s (Which50 issues the API key)", call->table_name,
                           config_origin(call->config, "api_key"));
    return SQLITE_ERROR;
  }
  const char *header = config_get(call->config, "auth_header");
  if (header) {
    if (!which50_is_header_name(header)) {
      *error_out = ix_errorf(
          "%s: auth_header must be an HTTP header name such as X-Api-Key, got '%s' (from %s)",
          call->table_name, header, config_origin(call->config, "auth_header"));
      return SQLITE_ERROR;
    }
    return http_headers_add(headers, header, key) == 0 ? SQLITE_OK : SQLITE_NOMEM;
  }
  return auth_add_scheme(headers, "Bearer", key) == 0 ? SQLITE_OK : SQLITE_NOMEM;
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
    .default_base_url = "https://app.which50.com/Which50API",
    .settings = which50_settings,
    .columns = which50_columns,
    .column_count = W50_COLUMN_COUNT,
    .required = {IX_COLUMN_BIT(W50_CONTACT_ID), 0},
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
    .authenticate = which50_authenticate,
    .build_request = which50_build_request,
    .parse_page = which50_parse_page,
    .column = which50_column,
    /* Documented: 404 (contact not found); the body is ASP.NET's HttpError, whose text is our
     * assumption ({"Message": "The specified Contact was not found."}). */
    .not_found = {.match = {{{"Message"}, {"contact was not found"}}}},
};
