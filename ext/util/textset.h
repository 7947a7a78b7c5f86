/*
 * A set of byte strings, for "seen already" within one statement: the keys of an IN list after the
 * key column's affinity (one customer, one request) and the vendor's own customer ids (one
 * customer's rows once). Copies what it is given; memory from sqlite3_malloc64.
 */
#ifndef IX_TEXTSET_H
#define IX_TEXTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct textset {
  char **texts;      /* open addressing; NULL = free slot */
  size_t *lengths;   /* of each text (texts may hold NUL) */
  uint64_t capacity; /* a power of two, or 0 */
  uint64_t used;
} textset;

/* Adds text: 1 when it was new, 0 when the set held it already, -1 out of memory. */
int textset_add(textset *set, const char *text, size_t length);
/* Empties the set, keeping nothing (the next statement starts over). */
void textset_clear(textset *set);

#endif
