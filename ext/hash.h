/*
 * FNV-1a, 64 bits: keys for the limiter and the cache. Not cryptographic; the texts hashed may hold
 * credentials, which is why only the hash is kept.
 */
#ifndef IX_HASH_H
#define IX_HASH_H

#include <stdint.h>

static inline uint64_t ix_hash64(const char *text) {
  uint64_t hash = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    hash ^= *p;
    hash *= 1099511628211ULL;
  }
  return hash;
}

#endif
