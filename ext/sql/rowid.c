/*
 * Rowids: see rowid.h.
 */
#include "sql/rowid.h"

#include "provider/jsonspan.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

void rowid_reset(rowid_state *identity) {
  if (identity->counts) memset(identity->counts, 0, sizeof(sqlite3_int64) * identity->capacity);
  identity->used = 0;
  identity->active = identity->counted = identity->customer_known = 0;
}

void rowid_free(rowid_state *identity) {
  sqlite3_free(identity->identities);
  sqlite3_free(identity->counts);
  memset(identity, 0, sizeof(*identity));
}

/* The row's raw text, the raw column's value: the vendor's own bytes for the row (a slice of the
 * body), or cJSON's print of the item where the page has no span for it. */
static const char *rowid_raw_text(const ix_page *page, const ix_row *row, size_t *length,
                                  char **to_free) {
  const char *slice = NULL;
  *to_free = NULL;
  if (jsonspan_row_raw(page, row, &slice, length)) return slice;
  char *text = cJSON_PrintUnformatted(row->item);
  *to_free = text;
  *length = text ? strlen(text) : 0;
  return text;
}

/* The scalar members of an enclosing object (Capillary's type and network): what tells apart
 * rows whose own objects are byte-identical but sit in different places of the answer. */
static uint64_t rowid_add_scalars(uint64_t hash, const cJSON *object) {
  for (const cJSON *member = object ? object->child : NULL; member; member = member->next) {
    if (cJSON_IsObject(member) || cJSON_IsArray(member)) continue;
    if (member->string) hash = rowid_add_identity(hash, member->string, strlen(member->string) + 1);
    if (cJSON_IsString(member)) {
      hash = rowid_add_identity(hash, member->valuestring, strlen(member->valuestring) + 1);
    } else {
      hash = rowid_add_identity(hash, &member->valuedouble, sizeof(member->valuedouble));
      hash = rowid_add_identity(hash, &member->type, sizeof(member->type));
    }
  }
  return hash;
}

static uint64_t rowid_row_identity(rowid_state *identity, const ix_call *call, const ix_row *row,
                                   int *out_of_memory) {
  if (!identity->customer_known) {
    const ix_provider *provider = call->provider;
    uint64_t hash = rowid_add_identity(IX_IDENTITY_SEED, provider->table, strlen(provider->table));
    char vendor_id[256];
    int known = provider->customer_identity &&
                provider->customer_identity(call, vendor_id, sizeof(vendor_id));
    if (known) hash = rowid_add_identity(hash, vendor_id, strlen(vendor_id) + 1);
    for (int c = 0; !known && c < provider->column_count; c++) {
      sqlite3_value *value = call->args->eq[c];
      if (!value || !(identity->key & IX_COLUMN_BIT(c))) continue;
      const unsigned char *text = sqlite3_value_text(value);
      hash = rowid_add_identity(hash, &c, sizeof(c));
      hash = rowid_add_identity(hash, text ? (const char *)text : "",
                                (size_t)sqlite3_value_bytes(value));
    }
    identity->customer = hash;
    identity->customer_known = 1;
  }
  uint64_t hash = rowid_add_scalars(identity->customer, row->parent);
  hash = rowid_add_scalars(hash, row->group);
  size_t length = 0;
  char *to_free = NULL;
  const char *raw = rowid_raw_text(call->page, row, &length, &to_free);
  if (!raw) *out_of_memory = 1;
  hash = rowid_add_identity(hash, raw ? raw : "", length);
  cJSON_free(to_free);
  return hash;
}

/* Counts one more row of identity and returns how many came before it (-1: out of memory). */
static sqlite3_int64 rowid_count(rowid_state *identity, uint64_t hash) {
  if (2 * (identity->used + 1) > identity->capacity) {
    sqlite3_uint64 capacity = identity->capacity ? identity->capacity * 2 : 64;
    uint64_t *identities = sqlite3_malloc64(sizeof(uint64_t) * capacity);
    sqlite3_int64 *counts = sqlite3_malloc64(sizeof(sqlite3_int64) * capacity);
    if (!identities || !counts) {
      sqlite3_free(identities);
      sqlite3_free(counts);
      return -1;
    }
    memset(counts, 0, sizeof(sqlite3_int64) * capacity);
    for (sqlite3_uint64 i = 0; i < identity->capacity; i++) {
      if (!identity->counts[i]) continue;
      sqlite3_uint64 slot = identity->identities[i] & (capacity - 1);
      while (counts[slot]) slot = (slot + 1) & (capacity - 1);
      identities[slot] = identity->identities[i];
      counts[slot] = identity->counts[i];
    }
    sqlite3_free(identity->identities);
    sqlite3_free(identity->counts);
    identity->identities = identities;
    identity->counts = counts;
    identity->capacity = capacity;
  }
  sqlite3_uint64 slot = hash & (identity->capacity - 1);
  while (identity->counts[slot] && identity->identities[slot] != hash) {
    slot = (slot + 1) & (identity->capacity - 1);
  }
  if (!identity->counts[slot]) {
    identity->identities[slot] = hash;
    identity->used++;
  }
  return identity->counts[slot]++;
}

int rowid_count_through(rowid_state *identity, const ix_call *call, int through) {
  while (identity->counted <= through && identity->counted < call->page->row_count) {
    int out_of_memory = 0;
    uint64_t hash =
        rowid_row_identity(identity, call, &call->page->rows[identity->counted], &out_of_memory);
    sqlite3_int64 before = out_of_memory ? -1 : rowid_count(identity, hash);
    if (before < 0) return SQLITE_NOMEM;
    identity->rowid = rowid_for_identity(hash, before);
    identity->counted++;
  }
  return SQLITE_OK;
}

/* ---- Hashing ---- */

uint64_t rowid_add_identity(uint64_t hash, const void *bytes, size_t length) {
  return hash64_continue(hash, bytes, length);
}

sqlite3_int64 rowid_for_identity(uint64_t identity, sqlite3_int64 occurrence) {
  /* splitmix64's finaliser over the identity and the occurrence. */
  uint64_t x = identity ^ ((uint64_t)occurrence * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return (sqlite3_int64)(x >> 1);
}
