/*
 * What rows.c (the providers' toolkit) and columns.c (the engine's column values) share and
 * providers never see: the member cache that lives in a page's rows allocation, and the subtype of
 * JSON results.
 */
#ifndef IX_ROWS_INTERNAL_H
#define IX_ROWS_INTERNAL_H

#include <stdint.h>

#include "provider/provider.h"

#define IX_JSON_SUBTYPE 74 /* 'J': json functions treat the text as JSON, not as a string */

/* ---- Each row's members, found once ----
 *
 * SELECT * asks for a dozen or more members of the same row item, one xColumn at a time; a search
 * of the item's children per column makes the row cost columns x children string compares. From a
 * row's second xColumn on, one pass over its children records every generic column's member
 * (ix_json_member's choice exactly: the first of a column's keys present wins, and for a key given
 * twice, its first occurrence), and each xColumn then reads its slot. A query reading one column a
 * row never pays for the pass.
 *
 * The cache lives in the rows array's own allocation, after the last row: whoever frees the rows
 * frees it too, and columns_row_value, which sees the page as const, can still fill it. */

#define IX_MEMBER_SLOTS 256 /* a power of two, over IX_MAX_COLUMNS x 3 keys at half load */

typedef struct rows_member_key {
  const char *key; /* NULL: an empty slot */
  uint32_t hash;
  short column;
  short rank; /* which of the column's keys: 0 wins over 1 over 2 */
} rows_member_key;

typedef struct rows_member_cache {
  const ix_provider *provider; /* whose keys the table holds; NULL: not built */
  rows_member_key keys[IX_MEMBER_SLOTS];
  const cJSON *item; /* the row item the members are for; NULL: none */
  int filled;        /* members holds item's members (else only item was seen, once) */
  const cJSON *members[IX_MAX_COLUMNS];
} rows_member_cache;

/* The cache after page's last row, or NULL before the first row (rows.c allocates it). */
rows_member_cache *rows_page_members(const ix_page *page);

/* Forgets the row the cache is for: its item may be freed and its address reused. */
void rows_members_forget(ix_page *page);

#endif
