/*
 * Building a request: the provider's path, query and headers, and its authentication. A request
 * whose credentials are exchanged for a token is authenticated per attempt, once the limiter has
 * admitted it (request_prepare, transport's prepare callback): a token taken before a long wait
 * could expire during it.
 */
#ifndef IX_FETCH_REQUEST_H
#define IX_FETCH_REQUEST_H

#include "fetch/transport.h"

/* One request to build and send: the provider's context (args, page, page index) and where the
 * request goes. The token is the one request_prepare took, between its two calls. */
typedef struct request_plan {
  fetch_account *account;
  const transport_hooks *hooks;
  ix_call call;
  const char *page_token; /* NULL for the first page */
  ix_request *request;
  char *token; /* taken before the wait, checked and used once admitted */
  uint64_t generation;
} request_plan;

/* Builds the request (authenticated now unless a token exchange is wanted: then per attempt). */
int request_build(request_plan *plan, char **error_out);
/* transport_prepare for plan: before the wait, makes sure the account has a token; once admitted,
 * authenticates with it, or gives the admission back when it went stale while waiting. */
int request_prepare(void *plan, int attempt, int admitted, char **error_out);
/* Wipes the plan's token copy (the request itself is account_request_clear's). */
void request_plan_clear(request_plan *plan);
/* Whether the provider wants a token exchange with these settings. */
int request_wants_token(const fetch_account *account);
/* A 401 to a request that carried an exchanged token: the token is invalidated (expired early,
 * or revoked), and the request is worth sending once more with a new one. */
int request_token_refused(const fetch_account *account, const http_response *response,
                          const ix_request *request);

#endif
