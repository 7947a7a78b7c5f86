/*
 * Error texts of the fetch path. See errors.h.
 */
#include "fetch/errors.h"

#include "auth/scrub.h"
#include "json/memlimits.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

#define ERRORS_MAX_EXCERPT 200
/* Vendor text longer than this is cut before it is scrubbed (a fragment it leaves at the cut is
 * still scrubbed, down to 7 bytes) and cut again to ERRORS_MAX_EXCERPT after. */
#define ERRORS_MAX_SCRUBBED 65536

/* Where vendors put their explanation, tried in order. */
static const char *const errors_paths[][4] = {
    {"message", NULL},
    {"Message", NULL},
    {"error_description", NULL},
    {"error", "message", NULL},
    {"error", NULL},
    {"response", "customer", "item_status", "message"},
    {"response", "status", "message", NULL},
    {"errors", NULL},
};

/* Finding: the vendor's message in a parsed body (a string inside root), or NULL. */
static const char *errors_find(const cJSON *root) {
  for (size_t p = 0; p < sizeof(errors_paths) / sizeof(errors_paths[0]); p++) {
    const cJSON *node = root;
    for (int k = 0; k < 4 && errors_paths[p][k] && node; k++) {
      node = cJSON_GetObjectItemCaseSensitive(node, errors_paths[p][k]);
    }
    if (cJSON_IsArray(node)) node = cJSON_GetObjectItemCaseSensitive(node->child, "message");
    if (cJSON_IsString(node) && *node->valuestring) return node->valuestring;
  }
  return NULL;
}

/* Scrubbing: a copy of at most ERRORS_MAX_SCRUBBED bytes of text, without secrets or header
 * values. Vendor bodies may echo what we sent, so the whole is scrubbed before it is cut: a cut
 * first would keep the part of a secret that straddles it. */
static char *errors_scrub_copy(const char *text, size_t length, const ix_config *config,
                               const http_headers *headers) {
  size_t kept = length > ERRORS_MAX_SCRUBBED ? ERRORS_MAX_SCRUBBED : length;
  return scrub_text(config, headers, sqlite3_mprintf("%.*s", (int)kept, text));
}

/* Cutting: at most ERRORS_MAX_EXCERPT bytes of clean text, "..." when anything was cut (also
 * when the original was longer than what was scrubbed), control characters as spaces. */
static char *errors_cut(const char *clean, int cut_before) {
  size_t clean_length = strlen(clean);
  size_t keep = clean_length > ERRORS_MAX_EXCERPT ? ERRORS_MAX_EXCERPT : clean_length;
  /* A "***" the cut would split is kept whole. */
  while (keep > 0 && keep < clean_length && clean[keep] == '*' && clean[keep - 1] == '*') keep++;
  int cut = keep < clean_length || cut_before;
  char *excerpt = sqlite3_mprintf("%.*s%s", (int)keep, clean, cut ? "..." : "");
  for (char *p = excerpt; p && *p; p++) {
    if ((unsigned char)*p < 0x20) *p = ' ';
  }
  return excerpt;
}

char *errors_vendor_message(const char *body, size_t body_len, const char *content_type,
                            const ix_config *config, const http_headers *headers) {
  if (!body || body_len == 0) return NULL;
  if (strstr(content_type, "html")) return sqlite3_mprintf("an HTML page, not JSON");
  /* A body too costly to parse (memlimits.h) is read as text. */
  size_t budget = (size_t)config_engine(config)->max_response_bytes * IX_PARSE_BUDGET_FACTOR;
  cJSON *root = memlimits_json_within(body, body_len, sizeof(ix_row), budget)
                    ? cJSON_ParseWithLength(body, body_len)
                    : NULL;
  const char *found = root ? errors_find(root) : body;
  size_t length = !found ? 0 : root ? strlen(found) : body_len;
  char *clean = found ? errors_scrub_copy(found, length, config, headers) : NULL;
  char *excerpt = clean ? errors_cut(clean, length > ERRORS_MAX_SCRUBBED) : NULL;
  sqlite3_free(clean);
  cJSON_Delete(root);
  return excerpt;
}

char *errors_vendor_said(const fetch_account *account, const http_response *response,
                         const http_headers *headers) {
  char *vendor = errors_vendor_message(response->body, response->body_len, response->content_type,
                                       account->config, headers);
  char *said = vendor ? sqlite3_mprintf(" (the API said: %s)", vendor) : sqlite3_mprintf("%s", "");
  sqlite3_free(vendor);
  return said;
}

/* The leading table name is ours, and is kept: a credential may share 8 letters with it (the key
 * "sandbox-alpharun-token" with the table alpharun_interactions). */
char *errors_scrub(const ix_config *config, const http_headers *headers, char *text) {
  if (!text) return NULL;
  size_t name = strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$");
  if (name == 0 || strncmp(text + name, ": ", 2) != 0) return scrub_text(config, headers, text);
  char *rest = scrub_text(config, headers, sqlite3_mprintf("%s", text + name + 2));
  char *whole = rest ? sqlite3_mprintf("%.*s: %s", (int)name, text, rest) : NULL;
  sqlite3_free(rest);
  sqlite3_free(text);
  return whole;
}

char *errors_credential_hint(const ix_provider *provider, const ix_config *config) {
  sqlite3_str *hint = sqlite3_str_new(NULL);
  int named = 0;
  for (const ix_setting_def *def = provider->settings.list; def && def->key; def++) {
    if (!(def->flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL))) continue;
    if (!config_get(config, def->key)) continue;
    sqlite3_str_appendf(hint, "%s%s", named++ ? " and " : "", config_origin(config, def->key));
  }
  if (!named) sqlite3_str_appendall(hint, "the credentials");
  return sqlite3_str_finish(hint);
}

char *errors_status(const fetch_account *account, const ix_call *call,
                    const http_response *response, const http_headers *headers) {
  const char *table = account->table_name;
  const char *host = account->host;
  char *said = errors_vendor_said(account, response, headers);
  char *message;
  long status = response->status;
  char *special = NULL;
  if ((status == 401 || status == 403) && account->provider->response.status_hint) {
    char *plain = errors_vendor_message(response->body, response->body_len, response->content_type,
                                        account->config, headers);
    special = account->provider->response.status_hint(call, status, plain ? plain : "");
    sqlite3_free(plain);
  }
  if (special) {
    message =
        ix_errorf("%s: HTTP %ld from %s%s: %s", table, status, host, said ? said : "", special);
    sqlite3_free(special);
  } else if (status == 401 || status == 403) {
    char *hint = errors_credential_hint(account->provider, account->config);
    message = ix_errorf("%s: HTTP %ld from %s%s: check %s", table, status, host, said ? said : "",
                        hint ? hint : "the credentials");
    sqlite3_free(hint);
  } else if (status >= 300 && status < 400) {
    message = ix_errorf(
        "%s: HTTP %ld from %s: the API redirected the request, and redirects are "
        "not followed because they would carry credentials to another host: "
        "check the base URL (%s)",
        table, status, host, config_origin(account->config, "base_url"));
  } else if (status == 429) {
    message = ix_errorf(
        "%s: HTTP 429 from %s%s: the vendor's rate limit was exceeded: lower "
        "rate_limit (%s)",
        table, host, said ? said : "", config_origin(account->config, "rate_limit"));
  } else {
    message = ix_errorf("%s: HTTP %ld from %s%s", table, status, host, said ? said : "");
  }
  sqlite3_free(said);
  return message;
}

char *errors_transport(const fetch_account *account, http_outcome outcome,
                       const http_response *response, int attempts) {
  if (outcome == HTTP_FAILED && response->unreachable) {
    /* A host that does not resolve or refuses connections is almost always a wrong base URL:
     * more retries would not help, so the error names the setting instead. */
    char *tries = attempts > 1 ? sqlite3_mprintf(" after %d attempts", attempts) : NULL;
    char *error = ix_errorf("%s: cannot reach %s (%s)%s: check the base URL (%s)",
                            account->table_name, account->host, response->error, tries ? tries : "",
                            config_origin(account->config, "base_url"));
    sqlite3_free(tries);
    return error;
  }
  if (outcome == HTTP_OK) { /* a complete exchange whose body was cut (transport_body_incomplete) */
    return ix_errorf(
        "%s: the response from %s ended early (HTTP %ld, %lld bytes%s): the connection closed "
        "before the whole JSON document arrived",
        account->table_name, account->host, response->status, (long long)response->body_len,
        response->body_len ? " of a document cut short" : "");
  }
  if (outcome == HTTP_TOO_LARGE) {
    return ix_errorf(
        "%s: the response from %s was larger than %lld bytes and was not read: "
        "raise max_response_bytes (%s) if that is expected",
        account->table_name, account->host, config_engine(account->config)->max_response_bytes,
        config_origin(account->config, "max_response_bytes"));
  }
  return ix_errorf("%s: request to %s failed: %s%s", account->table_name, account->host,
                   response->error,
                   response->timed_out ? " (raise timeout_ms if the API is that slow)" : "");
}
