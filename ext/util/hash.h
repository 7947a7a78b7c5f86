/*
 * FNV-1a, 64 bits: keys for the limiter and the cache. Not cryptographic; the texts hashed may hold
 * credentials, which is why only the hash is kept.
 */
#ifndef IX_HASH_H
#define IX_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IX_HASH64_SEED 1469598103934665603ULL

/* Goes on hashing bytes after hash (IX_HASH64_SEED to start): bytes may hold NUL. */
static inline uint64_t hash64_continue(uint64_t hash, const void *bytes, size_t length) {
  const unsigned char *p = bytes;
  for (size_t i = 0; i < length; i++) {
    hash ^= p[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

static inline uint64_t hash64_bytes(const void *bytes, size_t length) {
  return hash64_continue(IX_HASH64_SEED, bytes, length);
}

static inline uint64_t hash64(const char *text) {
  return hash64_bytes(text, strlen(text));
}

#endif
