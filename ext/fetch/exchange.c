/*
 * Token exchanges: see exchange.h.
 */
#include "fetch/exchange.h"

#include "auth/tokenstore.h"
#include "fetch/errors.h"
#include "util/notes.h"

#include <string.h>
#include <time.h>

SQLITE_EXTENSION_INIT3

#define EXCHANGE_WAIT_SLICE_MS 20

/* A number member of obj named name, or of obj's "data" object: seconds, or -1. */
static long long exchange_seconds(const cJSON *root, const char *name) {
  const cJSON *places[2] = {root, cJSON_GetObjectItemCaseSensitive(root, "data")};
  for (int i = 0; i < 2; i++) {
    const cJSON *value =
        cJSON_IsObject(places[i]) ? cJSON_GetObjectItemCaseSensitive(places[i], name) : NULL;
    if (cJSON_IsNumber(value) && value->valuedouble > 0 && value->valuedouble < 1e9) {
      return (long long)value->valuedouble;
    }
  }
  return -1;
}

/* The value of a base64url character, or -1. */
static int exchange_b64(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

/* The seconds until a JWT's exp (its middle part decoded, no signature check), or -1. */
static long long exchange_jwt_lifetime(const char *token) {
  const char *start = strchr(token, '.');
  const char *end = start ? strchr(start + 1, '.') : NULL;
  if (!end || end - start > 8192) return -1;
  char decoded[6144];
  size_t length = 0;
  unsigned bits = 0;
  int count = 0;
  for (const char *p = start + 1; p < end && *p != '='; p++) {
    int value = exchange_b64(*p);
    if (value < 0) return -1;
    bits = (bits << 6) | (unsigned)value;
    count += 6;
    if (count >= 8) {
      count -= 8;
      decoded[length++] = (char)((bits >> count) & 0xFF);
    }
  }
  cJSON *claims = cJSON_ParseWithLength(decoded, length);
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
  long long lifetime =
      cJSON_IsNumber(exp) ? (long long)exp->valuedouble - (long long)time(NULL) : -1;
  cJSON_Delete(claims);
  return lifetime > 0 ? lifetime : -1;
}

/* The token's lifetime in seconds, in the order exchange.h gives; 0 when unknown. */
static long long exchange_lifetime(const fetch_account *account, const http_response *response,
                                   const char *token, long long provider_ttl) {
  cJSON *root = cJSON_ParseWithLength(response->body ? response->body : "", response->body_len);
  long long seconds = exchange_seconds(root, "ttlSeconds");
  if (seconds < 0) seconds = exchange_seconds(root, "expiresIn");
  if (seconds < 0) seconds = exchange_seconds(root, "expires_in");
  cJSON_Delete(root);
  if (seconds < 0) seconds = exchange_jwt_lifetime(token);
  if (seconds < 0 && provider_ttl > 0) seconds = provider_ttl;
  if (seconds < 0) seconds = account->provider->request.token_exchange->default_ttl_seconds;
  return seconds > 0 ? seconds : 0;
}

/* A token answer must be one JSON document, and its token fit in a header. */
static int exchange_check_answer(const fetch_account *account, const http_response *response,
                                 char **error_out) {
  const char *body = response->body ? response->body : "";
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(body, response->body_len, &end, 0);
  cJSON_Delete(root);
  if (root && end) {
    while (end < body + response->body_len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) {
      end++;
    }
    if (end == body + response->body_len) return SQLITE_OK;
  }
  *error_out = ix_errorf(
      "%s: the answer of the token endpoint at %s is not one JSON document (%s): report it to the "
      "vendor",
      account->table_name, account->host, root ? "text follows it" : "it does not parse");
  return SQLITE_ERROR;
}

static int exchange_check_token(const fetch_account *account, const char *token, char **error_out) {
  for (const char *p = token; *p; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      *error_out = ix_errorf(
          "%s: the token endpoint's answer at %s holds a control character in its token, which "
          "cannot be sent in a header: report it to the vendor",
          account->table_name, account->host);
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

/* The error for a refused exchange names the key and secret settings, never their values. */
static char *exchange_status_error(const fetch_account *account, const http_response *response,
                                   const ix_request *request) {
  const ix_token_exchange *exchange = account->provider->request.token_exchange;
  const char *key = config_origin(account->config, exchange->key_setting);
  const char *secret = config_origin(account->config, exchange->secret_setting);
  char *said = errors_vendor_said(account, response, &request->headers);
  char *error;
  if (response->status == 400 || response->status == 401 || response->status == 403) {
    error = ix_errorf(
        "%s: HTTP %ld from %s when exchanging the key and secret for a token%s: check %s and %s",
        account->table_name, response->status, account->host, said ? said : "", key, secret);
  } else {
    error = ix_errorf("%s: HTTP %ld from %s when exchanging the key and secret for a token%s",
                      account->table_name, response->status, account->host, said ? said : "");
  }
  sqlite3_free(said);
  return error;
}

/* Asks the vendor for a token: the provider's request, transport's sending, the provider's reading
 * of the answer. */
static int exchange_ask(fetch_account *account, const transport_hooks *hooks, char **token_out,
                        long long *lifetime, char **error_out) {
  const ix_token_exchange *exchange = account->provider->request.token_exchange;
  ix_call call = account_call(account);
  ix_request request;
  account_request_init(account, &request);
  char *json = NULL;
  int rc = exchange->build(&call, &request, &json, error_out);
  if (rc == SQLITE_OK && (request.url.out_of_memory || !json)) rc = SQLITE_NOMEM;
  http_response response;
  memset(&response, 0, sizeof(response));
  if (rc == SQLITE_OK)
    rc = transport_send_alone(account, hooks, &request, json, &response, error_out);
  if (rc == SQLITE_OK && (response.status < 200 || response.status >= 300)) {
    *error_out = exchange_status_error(account, &response, &request);
    rc = SQLITE_ERROR;
  }
  if (rc == SQLITE_OK) rc = exchange_check_answer(account, &response, error_out);
  long long provider_ttl = 0;
  if (rc == SQLITE_OK) {
    rc = exchange->parse(&call, response.body ? response.body : "", response.body_len, token_out,
                         &provider_ttl, error_out);
  }
  if (rc == SQLITE_OK) rc = exchange_check_token(account, *token_out, error_out);
  if (rc == SQLITE_OK) *lifetime = exchange_lifetime(account, &response, *token_out, provider_ttl);
  if (json) tokenstore_free_copy(json);                           /* it held the secret */
  if (response.body) memset(response.body, 0, response.body_len); /* it held the token */
  http_response_clear(&response);
  account_request_clear(&request);
  return rc;
}

int exchange_token(fetch_account *account, const transport_hooks *hooks, char **token_out,
                   uint64_t *generation_out, char **error_out) {
  long long started = clock_ms();
  for (;;) {
    switch (tokenstore_get(account->account, clock_ms(), token_out, generation_out)) {
      case TOKENSTORE_FRESH: return SQLITE_OK;
      case TOKENSTORE_NOMEM: return SQLITE_NOMEM;
      case TOKENSTORE_WAIT:
        /* Another connection is asking for this account's token: its answer is ours too. A long
         * wait says so, as a wait for the rate limit does (a statement that seems stuck). */
        if (transport_tell_waiting(hooks, clock_ms() - started)) {
          notes_say(NOTES_NOTE, account->table_name,
                    "waiting for the access token another statement of this process is asking "
                    "for (INTERACTIONS_QUIET=1 hides this)");
        }
        if (transport_wait(account, hooks, EXCHANGE_WAIT_SLICE_MS)) {
          *error_out = ix_errorf("%s: interrupted", account->table_name);
          return SQLITE_INTERRUPT;
        }
        continue;
      case TOKENSTORE_ASK: break;
    }
    char *token = NULL;
    long long lifetime = 0;
    int rc = exchange_ask(account, hooks, &token, &lifetime, error_out);
    if (rc != SQLITE_OK) {
      tokenstore_free_copy(token);
      tokenstore_abandon(account->account);
      return rc;
    }
    long long renew_at = tokenstore_renew_at(clock_ms(), lifetime * 1000);
    if (tokenstore_put(account->account, token, renew_at, token_out, generation_out) != 0) {
      return SQLITE_NOMEM;
    }
    return SQLITE_OK;
  }
}
