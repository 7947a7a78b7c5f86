/*
 * Tokens exchanged for credentials (Capillary's OAuth key and secret, CXengage's API key and
 * secret): one token per account, shared by every connection of the process, asked for when the
 * first request needs it, renewed shortly before the lifetime the vendor gave runs out, and
 * dropped when the vendor answers 401 to it, so the next request asks for a fresh one.
 */
#ifndef IX_TOKEN_H
#define IX_TOKEN_H

#include <stdint.h>

#include "fetch/fetch.h"

/* The token for fetch's account (a sqlite3_malloc'd copy the caller wipes with
 * ix_token_free_copy) and its generation, which names it to ix_token_invalidate. Asks the vendor
 * for one when there is none or it is about to expire; concurrent askers for the same account wait
 * for one answer instead of asking again. */
int ix_token_acquire(ix_fetch *fetch, char **token_out, uint64_t *generation_out, char **error_out);

/* Forgets the account's token if it is still the one of this generation (another connection may
 * already have renewed it). */
void ix_token_invalidate(uint64_t account, uint64_t generation);

void ix_token_free_copy(char *token);

#endif
