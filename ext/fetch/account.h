/*
 * The account context: what every request of one table's account needs, and nothing of a cursor.
 * Transport (transport.c) and the token exchange (exchange.c) take this, never the cursor, so a
 * token exchange cannot touch a page's accounting (its request-log id, retry budget, parse buffer
 * or IN-list slots).
 */
#ifndef IX_FETCH_ACCOUNT_H
#define IX_FETCH_ACCOUNT_H

#include <stdint.h>

#include "fetch/limiting.h"
#include "limit/ratelimit.h"
#include "provider/provider.h"
#include "util/interrupt.h"

typedef struct fetch_account {
  const ix_provider *provider;
  const char *table_name;
  sqlite3 *db;
  interrupt_watch interrupt; /* its db is db: notices sqlite3_interrupt while waiting */
  http_client *http;
  ix_config *config;
  timefmt_zone *zone;    /* the table's timezone, for vendor times that carry none */
  uint64_t account;      /* hash of vendor, host and credentials: the cache's and tokens' key */
  rate_limiter *limiter; /* shared by every process using this vendor account */
  rate_limit rate_limit; /* the windows this table's requests must fit in */
  char host[256];        /* the base URL's host, for messages */
  int is_https;
  uint64_t random_state; /* backoff jitter */
} fetch_account;

/* Resolves the settings, timezone and limiter, unless already done. */
int account_configure(fetch_account *account, const config_options *options, char **error_out);
void account_free(fetch_account *account);

/* The parts of the account the limiting takes (fetch/limiting.h). */
limiting_account account_limiting(fetch_account *account);

/* A call context for the provider's callbacks with nothing of a page (args and page NULL). */
ix_call account_call(const fetch_account *account);
/* An empty request whose URL is the account's base URL: pages, token exchanges and lookups all
 * start there, the provider appends path and query. */
void account_request_init(const fetch_account *account, ix_request *request);
/* Frees a request's URL and headers (account_request_init's, and what the provider added). */
void account_request_clear(ix_request *request);

/* Where a provider's ix_note goes (ix_call.note): the engine's stderr channel. */
void account_note(const char *table_name, const char *text);

#endif
