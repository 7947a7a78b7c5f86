/*
 * A cursor's fetching: start, next, advance, over one customer or an IN list. See fetch.h.
 */
#include "fetch/fetch.h"

#include "fetch/inlist.h"
#include "fetch/lookup.h"
#include "fetch/page.h"
#include "provider/columns.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

void fetch_init(fetch_cursor *fetch) {
  memset(fetch, 0, sizeof(*fetch));
  fetch->args.row_hint = -1;
  fetch->in_column = -1;
  /* Every request of the statement says its progress, and every wait keeps the IN list's
   * transfers moving (inlist.c): handed down to transport as hooks. */
  transport_hooks hooks = {&fetch->progress, &fetch->told_about_waiting, inlist_pump, fetch};
  fetch->sending.hooks = hooks;
  fetch->sending.parsed = &fetch->parsed;
}

int fetch_configure(fetch_cursor *fetch, const config_options *options, char **error_out) {
  return account_configure(&fetch->account, options, error_out);
}

void fetch_reset(fetch_cursor *fetch) {
  jsonarena_parse_clear(&fetch->parsed);
  inlist_clear(fetch);
  columns_args_clear(&fetch->args);
  columns_page_reset(&fetch->page);
  if (fetch->page.customer_state && fetch->page.free_customer_state) {
    fetch->page.free_customer_state(fetch->page.customer_state);
  }
  fetch->page.customer_state = NULL;
  fetch->page.free_customer_state = NULL;
  fetch->pages_fetched = 0;
}

void fetch_free(fetch_cursor *fetch) {
  fetch_reset(fetch);
  sqlite3_free(fetch->page.rows);
  fetch->page.rows = NULL;
  sqlite3_free(fetch->tokens_seen);
  fetch->tokens_seen = NULL;
  fetch->tokens_seen_count = fetch->tokens_seen_capacity = 0;
  account_free(&fetch->account);
}

int fetch_start(fetch_cursor *fetch, char **error_out) {
  const ix_lookup *lookup = fetch->account.provider->lookup;
  if (lookup && lookup->wanted(fetch->account.config)) {
    int rc = lookup_acquire(&fetch->account, &fetch->sending.hooks, &fetch->page.lookup, error_out);
    if (rc != SQLITE_OK) return rc;
  }
  int in_list = fetch->in_column >= 0;
  for (int w = 0; w < fetch->account.rate_limit.count; w++) {
    progress_limit(&fetch->progress, w, fetch->account.rate_limit.windows[w].max_requests,
                   fetch->account.rate_limit.windows[w].window_ms);
  }
  progress_filter(&fetch->progress, fetch->account.provider, fetch->account.table_name,
                  in_list ? fetch->customer_count : 0,
                  config_engine(fetch->account.config)->max_concurrency);
  return in_list ? inlist_next_customer(fetch, error_out) : page_fetch(fetch, error_out);
}

fetch_step fetch_next_step(const fetch_cursor *fetch) {
  if (fetch->page.next_token) return IX_FETCH_NEXT_PAGE;
  if (fetch->in_column >= 0 && inlist_has_more_customers(fetch)) return IX_FETCH_NEXT_CUSTOMER;
  return IX_FETCH_END;
}

int fetch_advance(fetch_cursor *fetch, char **error_out) {
  return fetch_next_step(fetch) == IX_FETCH_NEXT_PAGE ? page_fetch(fetch, error_out)
                                                      : inlist_next_customer(fetch, error_out);
}
