#ifndef IX_ROWID_H
#define IX_ROWID_H

#include <stdint.h>

#include "provider/provider.h"
#include "util/hash.h"

/*
 * Rowids: a row's identity, counted per customer.
 *
 * SQLite merges the branches of an OR by rowid, so within a statement a rowid must stand for one
 * row: the same vendor row reached by two branches has the same rowid, and two different rows
 * never share one. A row's identity is a hash of the table, the customer (the vendor's own id for
 * it when the provider knows one, else the plan's key values; not the other filters, so branches
 * that filter one customer differently agree), the objects that enclose the row and its raw text;
 * byte-identical rows of one customer are told apart by how many came before. Counting starts with
 * the first rowid asked for in a customer's rows (SQLite asks for every row of an OR branch), so a
 * plain SELECT pays nothing.
 */

/* Rowids: how many rows of each identity one customer's rows have had so far (xRowid). */
typedef struct rowid_state {
  int active;              /* a rowid was asked for since this customer's rows began */
  int counted;             /* rows of the current page counted so far */
  int customer_known;      /* customer holds the current customer's hash */
  uint64_t key;            /* the plan's key columns (a mask) */
  uint64_t customer;       /* the table and the plan's key values */
  sqlite3_int64 rowid;     /* of the row counted last */
  uint64_t *identities;    /* open addressing; a slot is free while its count is 0 */
  sqlite3_int64 *counts;   /* occurrences + 1 */
  sqlite3_uint64 capacity; /* a power of two, or 0 */
  sqlite3_uint64 used;
} rowid_state;

/* Forgets the counts (xFilter, another customer); keeps the memory. */
void rowid_reset(rowid_state *state);
void rowid_free(rowid_state *state);
/* Counts the rows of call->page up to and including row through; state->rowid is then the rowid
 * of row through. SQLITE_OK or SQLITE_NOMEM. */
int rowid_count_through(rowid_state *state, const ix_call *call, int through);

/* FNV-1a over bytes, continuing from hash (start with IX_IDENTITY_SEED). */
#define IX_IDENTITY_SEED IX_HASH64_SEED
uint64_t rowid_add_identity(uint64_t hash, const void *bytes, size_t length);
/* The rowid of the occurrence-th (0-based) byte-identical row of one identity: 63 bits, never
 * negative, well mixed so different identities do not collide in practice. */
sqlite3_int64 rowid_for_identity(uint64_t identity, sqlite3_int64 occurrence);

#endif
