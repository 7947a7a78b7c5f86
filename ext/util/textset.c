/*
 * A set of byte strings (textset.h): open addressing over FNV-1a hashes, compared byte for byte,
 * grown at half full.
 */
#include "util/textset.h"

#include <sqlite3ext.h>
#include <string.h>

#include "util/hash.h"

SQLITE_EXTENSION_INIT3

static uint64_t textset_slot(const textset *set, const char *text, size_t length) {
  uint64_t slot = hash64_bytes(text, length) & (set->capacity - 1);
  while (set->texts[slot] &&
         !(set->lengths[slot] == length && memcmp(set->texts[slot], text, length) == 0)) {
    slot = (slot + 1) & (set->capacity - 1);
  }
  return slot;
}

static int textset_grow(textset *set) {
  uint64_t capacity = set->capacity ? set->capacity * 2 : 16;
  char **texts = sqlite3_malloc64(sizeof(char *) * capacity);
  size_t *lengths = sqlite3_malloc64(sizeof(size_t) * capacity);
  if (!texts || !lengths) {
    sqlite3_free(texts);
    sqlite3_free(lengths);
    return 0;
  }
  memset(texts, 0, sizeof(char *) * capacity);
  textset bigger = {texts, lengths, capacity, set->used};
  for (uint64_t i = 0; i < set->capacity; i++) {
    if (!set->texts[i]) continue;
    uint64_t slot = textset_slot(&bigger, set->texts[i], set->lengths[i]);
    texts[slot] = set->texts[i];
    lengths[slot] = set->lengths[i];
  }
  sqlite3_free(set->texts);
  sqlite3_free(set->lengths);
  *set = bigger;
  return 1;
}

int textset_add(textset *set, const char *text, size_t length) {
  if (2 * (set->used + 1) > set->capacity && !textset_grow(set)) return -1;
  uint64_t slot = textset_slot(set, text, length);
  if (set->texts[slot]) return 0;
  char *copy = sqlite3_malloc64(length + 1);
  if (!copy) return -1;
  if (length) memcpy(copy, text, length);
  copy[length] = '\0';
  set->texts[slot] = copy;
  set->lengths[slot] = length;
  set->used++;
  return 1;
}

void textset_clear(textset *set) {
  for (uint64_t i = 0; i < set->capacity; i++) sqlite3_free(set->texts[i]);
  sqlite3_free(set->texts);
  sqlite3_free(set->lengths);
  memset(set, 0, sizeof(*set));
}
