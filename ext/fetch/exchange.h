/*
 * Token exchanges (credentials for a short-lived token): the account's token, from the store
 * (auth/tokenstore.h) or asked for now. An exchange is a request to the vendor like any other: it
 * goes through the account's limiter with the retries of transport.c, bounded like every request,
 * on a sending of its own (its own request-log id, retry budget and parse buffer: it never changes
 * a page's accounting).
 *
 * The token's lifetime is read from the answer in this order: `ttlSeconds`, `expiresIn` or
 * `expires_in` (at the top or under `data`), the `exp` of a JWT token (its middle part decoded; no
 * signature check), the field the provider reads, else the provider's documented default. Without
 * any, the token is kept until the vendor refuses it.
 */
#ifndef IX_FETCH_EXCHANGE_H
#define IX_FETCH_EXCHANGE_H

#include "fetch/transport.h"

/* The account's token, not due for renewal (a copy the caller wipes with tokenstore_free_copy),
 * and its generation. A connection that finds another one asking waits for that answer in
 * interruptible slices that keep the hooks' transfers moving. */
int exchange_token(fetch_account *account, const transport_hooks *hooks, char **token_out,
                   uint64_t *generation_out, char **error_out);

#endif
