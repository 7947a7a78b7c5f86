/*
 * Exchanged tokens (Capillary's OAuth key and secret, CXengage's API key and secret), one per
 * account for the whole process: get, put, invalidate. No HTTP here: the exchange that fills the
 * store is fetch/exchange.c.
 *
 * The account is the hash of vendor, host and every credential setting, so two tables with the
 * same key and secret share a token and a table with other credentials never sees it. Asking for
 * a token holds no lock: one connection asks, the others that need the account's token meanwhile
 * are told to wait (and do so in their own interruptible sleeps).
 */
#ifndef IX_TOKENSTORE_H
#define IX_TOKENSTORE_H

#include <stdint.h>

typedef enum tokenstore_state {
  TOKENSTORE_FRESH, /* *token_out is a copy of a token not due for renewal */
  TOKENSTORE_ASK,   /* the caller is now the account's asker: tokenstore_put or _abandon next */
  TOKENSTORE_WAIT,  /* another connection is asking: look again a little later */
  TOKENSTORE_NOMEM,
} tokenstore_state;

/* The account's token at now_ms (a sqlite3_malloc'd copy the caller wipes with
 * tokenstore_free_copy) and its generation, which names it to tokenstore_invalidate. */
tokenstore_state tokenstore_get(uint64_t account, long long now_ms, char **token_out,
                                uint64_t *generation_out);
/* The asker's answer: token (taken over) renewed after renew_at_ms (0 = not before the vendor
 * refuses it). Sets a copy and its generation as tokenstore_get would; SQLITE_NOMEM-like -1 when
 * the copy could not be made. */
int tokenstore_put(uint64_t account, char *token, long long renew_at_ms, char **token_out,
                   uint64_t *generation_out);
/* The asker failed: another connection may ask. */
void tokenstore_abandon(uint64_t account);
/* Whether the token of this generation is still the account's and not due for renewal. */
int tokenstore_fresh(uint64_t account, uint64_t generation, long long now_ms);
/* Forgets the account's token if it is still the one of this generation (another connection may
 * already have renewed it). */
void tokenstore_invalidate(uint64_t account, uint64_t generation);
/* When a token that lives lifetime_ms from received_ms is asked for again: at its lifetime minus
 * max(30 s, 10%), or at half its life when that margin would leave less (tokens of a few seconds);
 * 0 for an unknown lifetime (lifetime_ms <= 0). */
long long tokenstore_renew_at(long long received_ms, long long lifetime_ms);
void tokenstore_free_copy(char *token);

#endif
