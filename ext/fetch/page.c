/*
 * One page of one customer. See page.h.
 */
#include "fetch/page.h"

#include "fetch/accept.h"
#include "provider/columns.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

request_plan page_plan(fetch_cursor *fetch, const ix_args *args, const char *page_token,
                       ix_request *request) {
  request_plan plan = {
      &fetch->account, &fetch->sending.hooks, fetch_call(fetch), page_token, request, NULL, 0};
  plan.call.args = args;
  return plan;
}

static int page_check_cap(const fetch_cursor *fetch, char **error_out) {
  sqlite3_int64 max_pages = config_engine(fetch->account.config)->max_pages;
  if (max_pages > 0 && fetch->pages_fetched >= max_pages) {
    *error_out = ix_errorf(
        "%s: stopped after %lld pages for one customer without reaching the last page: raise "
        "max_pages (%s) if this customer really has that many interactions",
        fetch->account.table_name, max_pages, config_origin(fetch->account.config, "max_pages"));
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

/* Sends the plan's request, authenticated per attempt (request_prepare). A 401 to a token that
 * was fresh invalidates it and the request goes once more with a new one; a second 401 is the
 * page's error (accept.c), which names the credential settings. */
static int page_send(fetch_cursor *fetch, request_plan *plan, http_response *response,
                     char **error_out) {
  fetch->sending.prepare = request_prepare;
  fetch->sending.prepare_arg = plan;
  int rc =
      transport_send(&fetch->account, &fetch->sending, plan->request, NULL, response, error_out);
  if (rc == SQLITE_OK && request_token_refused(&fetch->account, response, plan->request)) {
    http_response_clear(response);
    rc = transport_send(&fetch->account, &fetch->sending, plan->request, NULL, response, error_out);
  }
  fetch->sending.prepare = NULL;
  fetch->sending.prepare_arg = NULL;
  request_plan_clear(plan);
  return rc;
}

int page_fetch(fetch_cursor *fetch, char **error_out) {
  int rc = page_check_cap(fetch, error_out);
  if (rc != SQLITE_OK) return rc;
  char *previous_token = fetch->page.next_token;
  fetch->page.next_token = NULL;
  ix_request request;
  memset(&request, 0, sizeof(request));
  request_plan plan = page_plan(fetch, &fetch->args, previous_token, &request);
  rc = request_build(&plan, error_out);
  http_response response;
  memset(&response, 0, sizeof(response));
  int fresh = 0;
  /* SQLite has read the held page's rows: its tree goes before the next one is parsed (transport
   * parses the new body, in the same memory), so two trees are never held at once. */
  jsonarena_parse_keep_arena(&fetch->parsed, columns_page_release_tree(&fetch->page));
  if (rc == SQLITE_OK) {
    if (!transport_from_cache(&fetch->account, &fetch->sending, request.url.text, &response)) {
      rc = page_send(fetch, &plan, &response, error_out);
      fresh = 1;
    }
    fetch->pages_fetched++;
  }
  if (rc == SQLITE_OK) rc = accept_response(fetch, &response, &request, fresh, error_out);
  /* What transport parsed ahead is for this response only: its body goes now. */
  jsonarena_parse_forget(&fetch->parsed);
  if (rc == SQLITE_OK) progress_rows(&fetch->progress, fetch->page.row_count);
  sqlite3_free(previous_token);
  http_response_clear(&response);
  account_request_clear(&request);
  return rc;
}
