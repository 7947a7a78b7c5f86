/*
 * Fetching one page for a cursor: settings, the rate limiter, retries, and every way a request can
 * fail turned into an error text that names the table, says what happened and how to fix it.
 */
#ifndef IX_FETCH_H
#define IX_FETCH_H

#include <stdint.h>

#include "json/jsonarena.h"
#include "limit/ratelimit.h"
#include "observe/progress.h"
#include "provider/provider.h"
#include "util/interrupt.h"

typedef struct ix_in_slot ix_in_slot;

/* A cursor's fetching state. Settings are resolved once per cursor: a join reuses the cursor and
 * calls xFilter once per outer row. */
typedef struct ix_fetch {
  const ix_provider *provider;
  const char *table_name;
  sqlite3 *db;
  ix_interrupt interrupt; /* its db is db: notices sqlite3_interrupt while waiting */
  http_client *http;
  ix_config *config;
  timefmt_zone *zone;    /* the table's timezone, for vendor times that carry none */
  uint64_t account;      /* hash of vendor, host and credentials: the cache's key */
  rate_limiter *limiter; /* shared by every process using this vendor account */
  rate_limit rate_limit; /* the windows this table's requests must fit in */
  char host[256];        /* the base URL's host, for messages */
  int is_https;
  ix_args args;            /* the current xFilter's constraint values */
  ix_page page;            /* the page whose rows are being returned */
  int pages_fetched;       /* for the current customer */
  long long retry_wait_ms; /* this statement's time spent waiting to retry */
  int told_about_waiting;  /* the "waiting for the rate limit" note is said once per statement */
  uint64_t random_state;   /* backoff jitter */
  sqlite3_int64 last_request_id; /* in the request log, to record the page's row count */
  /* Paging that goes round (ix_accept): hashes of the page tokens the current customer's pages
   * gave, and whether the previous page held rows (its body is compared with the next one). */
  uint64_t *tokens_seen;
  int tokens_seen_count;
  int tokens_seen_capacity;
  int previous_had_rows;
  /* The body ix_send parsed to see it was whole, until ix_accept gives the tree to the page. */
  ix_json_parse parsed;
  /* An IN list on a key column (in_column, else -1), inlist.c: per customer only its key, in the
   * list's order (NULL once handed to the cursor); requests and answers live in slots. */
  int in_column;
  sqlite3_value **customers;
  int customer_count;
  int customer_capacity;
  int customers_started; /* requested, or taken on the ordinary path: the first not started */
  int customers_taken;   /* handed to the cursor */
  ix_in_slot *slots;     /* first pages in flight or arrived, at most 2 x max_concurrency */
  int slot_count;
  ix_progress progress; /* what a long statement says on stderr (progress.h) */
} ix_fetch;

/* A cursor's fetch starts empty: no plan, no IN list. */
void ix_fetch_init(ix_fetch *fetch);

/* Resolves the settings, timezone and limiter, unless already done. */
int ix_fetch_configure(ix_fetch *fetch, const ix_options *options, char **error_out);

/* Fetches the next page of the current plan (the first when page.next_token is NULL): waits for
 * the limiter, retries what is worth retrying, and leaves the rows in fetch->page. */
int ix_fetch_page(ix_fetch *fetch, char **error_out);

/* Reads the plan's first page (of its first customer, for an IN list) after xFilter has set the
 * arguments, and tells the progress line what the statement is about to do. */
int ix_fetch_start(ix_fetch *fetch, char **error_out);

/* What comes after the current page's rows: this customer's next page, the next customer of an IN
 * list, or nothing. Asked before ix_fetch_advance, because the cursor counts a customer's rows
 * across its pages (rowids) and starts over for another customer. */
typedef enum ix_fetch_step {
  IX_FETCH_END,
  IX_FETCH_NEXT_PAGE,
  IX_FETCH_NEXT_CUSTOMER,
} ix_fetch_step;
ix_fetch_step ix_fetch_next_step(const ix_fetch *fetch);

/* Loads what ix_fetch_next_step said comes next (never called at IX_FETCH_END). */
int ix_fetch_advance(ix_fetch *fetch, char **error_out);

/* The call context providers see, for the current page. */
ix_call ix_fetch_call(const ix_fetch *fetch);

/* Sends a POST of json (token exchanges), or a GET when json is NULL (lookups), with the limiter,
 * retries and request log every request has. On SQLITE_OK the response is the final answer, whatever its status. */
int ix_fetch_post(ix_fetch *fetch, const ix_request *request, const char *json,
                  http_response *response, char **error_out);
/* " (the API said: ...)" for an error response, without secrets or the request's header values,
 * or "" (sqlite3_malloc'd). */
char *ix_fetch_vendor_said(const ix_fetch *fetch, const http_response *response,
                           const http_headers *headers);

/* Forgets the current plan and page (xFilter starts a new one); keeps settings and limiter. */
void ix_fetch_reset(ix_fetch *fetch);
void ix_fetch_free(ix_fetch *fetch);

#endif
