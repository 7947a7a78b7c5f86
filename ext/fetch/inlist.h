/*
 * IN lists on a key column: many customers in one statement, their first pages fetched
 * concurrently. inlist.c says how.
 */
#ifndef IX_INLIST_H
#define IX_INLIST_H

#include "fetch/fetch.h"

/* Add every key of the list (xFilter), then take the customers one by one. */
int inlist_add(fetch_cursor *fetch, int column, sqlite3_value *key);
int inlist_has_more_customers(const fetch_cursor *fetch);
/* Makes the next customer current and reads its first page (arriving answers first). */
int inlist_next_customer(fetch_cursor *fetch, char **error_out);
/* Records the first pages that arrived, giving their limiter slots back; returns how many are
 * still on the wire. */
int inlist_collect(fetch_cursor *fetch);
/* inlist_collect as transport's pump hook (transport.h): every wait of the cursor, and of a
 * token exchange it starts, calls it. */
int inlist_pump(void *fetch);
/* Cancels what is on the wire and forgets the list. */
void inlist_clear(fetch_cursor *fetch);

#endif
