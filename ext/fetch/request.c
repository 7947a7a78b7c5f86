/*
 * Building and authenticating requests. See request.h.
 */
#include "fetch/request.h"

#include "auth/tokenstore.h"
#include "fetch/exchange.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

int request_wants_token(const fetch_account *account) {
  const ix_token_exchange *exchange = account->provider->request.token_exchange;
  return exchange && exchange->wanted(account->config);
}

/* The page size to ask for: the setting (or the API's maximum), lowered to a LIMIT hint. */
static sqlite3_int64 request_page_size(const fetch_account *account, const ix_args *args) {
  const ix_provider *provider = account->provider;
  sqlite3_int64 page_size = config_engine(account->config)->page_size >= 0
                                ? config_engine(account->config)->page_size
                                : provider->max_page_size;
  if (provider->max_page_size > 0 && (page_size <= 0 || page_size > provider->max_page_size)) {
    page_size = provider->max_page_size;
  }
  if (args && args->row_hint > 0 && args->row_hint < page_size) page_size = args->row_hint;
  return page_size;
}

/* A provider's authenticate answers SQLITE_NOMEM when http_headers_add refuses a value, which it
 * also does for a line break (header injection): that is said, naming the setting, rather than
 * reported as out of memory. SQLITE_NOMEM stays when no credential holds one. */
static int request_header_refused(const fetch_account *account, char **error_out) {
  for (int i = 0; i < config_count(account->config); i++) {
    config_setting_view setting;
    config_at(account->config, i, &setting);
    if (!(setting.flags & (IX_SETTING_SECRET | IX_SETTING_CREDENTIAL)) || !setting.value) continue;
    if (!strpbrk(setting.value, "\r\n")) continue;
    *error_out =
        ix_errorf("%s: %s holds a line break, which cannot be sent in a header: set it without one",
                  account->table_name, config_origin(account->config, setting.key));
    return SQLITE_ERROR;
  }
  return SQLITE_NOMEM;
}

/* The request from scratch: authentication (with token, when given), path, query. */
static int request_make(const request_plan *plan, const char *token, char **error_out) {
  const fetch_account *account = plan->account;
  ix_request *request = plan->request;
  ix_call call = plan->call;
  call.token = token;
  account_request_init(account, request);
  int rc = SQLITE_OK;
  if (token || !request_wants_token(account)) {
    rc = account->provider->request.authenticate(&call, &request->headers, error_out);
    if (rc == SQLITE_NOMEM && !*error_out) rc = request_header_refused(account, error_out);
  }
  if (rc == SQLITE_OK) {
    rc = account->provider->request.build(
        &call, plan->page_token, request_page_size(account, call.args), request, error_out);
  }
  if (rc == SQLITE_OK && request->url.out_of_memory) rc = SQLITE_NOMEM;
  return rc;
}

int request_build(request_plan *plan, char **error_out) {
  return request_make(plan, NULL, error_out);
}

int request_prepare(void *arg, int attempt, int admitted, char **error_out) {
  (void)attempt;
  request_plan *plan = arg;
  if (!request_wants_token(plan->account)) return SQLITE_OK;
  if (!admitted) {
    request_plan_clear(plan);
    return exchange_token(plan->account, plan->hooks, &plan->token, &plan->generation, error_out);
  }
  if (!plan->token) return TRANSPORT_AGAIN;
  if (!tokenstore_fresh(plan->account->account, plan->generation, clock_ms())) {
    request_plan_clear(plan); /* it aged while the request waited: renew, and wait again */
    return TRANSPORT_AGAIN;
  }
  account_request_clear(plan->request);
  int rc = request_make(plan, plan->token, error_out);
  plan->request->token_generation = plan->generation;
  request_plan_clear(plan);
  return rc;
}

void request_plan_clear(request_plan *plan) {
  tokenstore_free_copy(plan->token);
  plan->token = NULL;
}

int request_token_refused(const fetch_account *account, const http_response *response,
                          const ix_request *request) {
  if (response->outcome != HTTP_OK || response->status != 401 || !request->token_generation) {
    return 0;
  }
  tokenstore_invalidate(account->account, request->token_generation);
  return 1;
}
