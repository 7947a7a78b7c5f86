/*
 * A cursor's fetching: the plan's customers (one, or an IN list), their pages, and the account
 * they are fetched with. The files of this folder, from the top (each calls only those below it;
 * what must run above comes down as a callback):
 *   cursor.c    start / next / advance: one customer or an IN list (this header)
 *   inlist.c    an IN list's customers, their first pages fetched concurrently (inlist.h)
 *   page.c      one page of one customer (page.h)
 *   accept.c    a final answer made the page: parse, 404 rules, repeats, cache store (accept.h)
 *   request.c   building a request: the provider's, authenticated per attempt (request.h)
 *   exchange.c  token exchanges (exchange.h)
 *   lookup.c    a provider's lookups, kept per account for the process (lookup.h)
 *   transport.c the limiter's wait, the send, the retries (transport.h)
 *   errors.c    error texts (errors.h)
 *   account.c   the account context: settings, zone, fingerprint, limiter (account.h)
 */
#ifndef IX_FETCH_H
#define IX_FETCH_H

#include <stdint.h>

#include "fetch/account.h"
#include "fetch/transport.h"
#include "json/jsonarena.h"
#include "observe/progress.h"

typedef struct inlist_slot inlist_slot;

/* A cursor's fetching state. Settings are resolved once per cursor: a join reuses the cursor and
 * calls xFilter once per outer row. */
typedef struct fetch_cursor {
  fetch_account account;     /* what transport and exchange see: nothing below of the cursor */
  transport_sending sending; /* the pages' own: retry budget, request-log id, parse buffer */
  int told_about_waiting;    /* a "waiting for ..." note is said once per statement */
  ix_args args;              /* the current xFilter's constraint values */
  ix_page page;              /* the page whose rows are being returned */
  int pages_fetched;         /* for the current customer */
  /* Paging that goes round (accept.c): hashes of the page tokens the current customer's pages
   * gave, and whether the previous page held rows (its body is compared with the next one). */
  uint64_t *tokens_seen;
  int tokens_seen_count;
  int tokens_seen_capacity;
  int previous_had_rows;
  /* The body transport parsed to see it was whole, until accept.c gives the tree to the page. */
  ix_json_parse parsed;
  /* An IN list on a key column (in_column, else -1), inlist.c: per customer only its key, in the
   * list's order (NULL once handed to the cursor); requests and answers live in slots. */
  int in_column;
  sqlite3_value **customers;
  int customer_count;
  int customer_capacity;
  int customers_started; /* requested, or taken on the ordinary path: the first not started */
  int customers_taken;   /* handed to the cursor */
  inlist_slot *slots;    /* first pages in flight or arrived, at most 2 x max_concurrency */
  int slot_count;
  progress_state progress; /* what a long statement says on stderr (progress.h) */
} fetch_cursor;

/* A cursor's fetch starts empty: no plan, no IN list. It must not move afterwards (its sending
 * points into it). */
void fetch_init(fetch_cursor *fetch);

/* Resolves the settings, timezone and limiter, unless already done. */
int fetch_configure(fetch_cursor *fetch, const config_options *options, char **error_out);

/* Reads the plan's first page (of its first customer, for an IN list) after xFilter has set the
 * arguments, and tells the progress line what the statement is about to do. */
int fetch_start(fetch_cursor *fetch, char **error_out);

/* What comes after the current page's rows: this customer's next page, the next customer of an IN
 * list, or nothing. Asked before fetch_advance, because the cursor counts a customer's rows
 * across its pages (rowids) and starts over for another customer. */
typedef enum fetch_step {
  IX_FETCH_END,
  IX_FETCH_NEXT_PAGE,
  IX_FETCH_NEXT_CUSTOMER,
} fetch_step;
fetch_step fetch_next_step(const fetch_cursor *fetch);

/* Loads what fetch_next_step said comes next (never called at IX_FETCH_END). */
int fetch_advance(fetch_cursor *fetch, char **error_out);

/* The call context providers see, for the current page. */
static inline ix_call fetch_call(const fetch_cursor *fetch) {
  ix_call call = {fetch->account.provider,
                  fetch->account.table_name,
                  &fetch->args,
                  fetch->account.config,
                  fetch->account.zone,
                  &fetch->page,
                  fetch->pages_fetched,
                  NULL,
                  account_note};
  return call;
}

/* Forgets the current plan and page (xFilter starts a new one); keeps settings and limiter. */
void fetch_reset(fetch_cursor *fetch);
void fetch_free(fetch_cursor *fetch);

#endif
