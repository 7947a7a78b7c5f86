/*
 * IN lists on a key column: many customers in one statement, their first pages fetched
 * concurrently. inlist.c says how.
 */
#ifndef IX_INLIST_H
#define IX_INLIST_H

#include "fetch/fetch.h"

/* Add every key of the list (xFilter), then take the customers one by one. */
int ix_fetch_in_add(ix_fetch *fetch, int column, sqlite3_value *key);
int ix_fetch_has_more_customers(const ix_fetch *fetch);
/* Makes the next customer current and reads its first page (arriving answers first). */
int ix_fetch_next_customer(ix_fetch *fetch, char **error_out);
/* Records the first pages that arrived, giving their limiter slots back; returns how many are
 * still on the wire. */
int ix_fetch_in_collect(ix_fetch *fetch);
/* ix_fetch_in_collect as transport's pump hook (transport.h): every wait of the cursor, and of a
 * token exchange it starts, calls it. */
int ix_fetch_in_pump(void *fetch);
/* Cancels what is on the wire and forgets the list. */
void ix_fetch_in_clear(ix_fetch *fetch);

#endif
