/*
 * What several unit tests need besides tap.h: a repository file read whole, and a small seeded
 * generator (xorshift64), so a test's random inputs are the same on every run. Header-only; include
 * it from one file per test program.
 */
#ifndef TESTDATA_H
#define TESTDATA_H

#include <stdio.h>
#include <stdlib.h>

/* The file's bytes (NUL-terminated, malloc'd) and their count, or NULL when it cannot be read. */
static inline char *testdata_read_file(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *body = size >= 0 ? malloc((size_t)size + 1) : NULL;
  if (!body) {
    fclose(file);
    return NULL;
  }
  *length = fread(body, 1, (size_t)size, file);
  body[*length] = '\0';
  fclose(file);
  return body;
}

static unsigned long long testdata_state = 88172645463325252ULL;

/* A number in [0, bound). */
static inline unsigned testdata_random(unsigned bound) {
  testdata_state ^= testdata_state << 13;
  testdata_state ^= testdata_state >> 7;
  testdata_state ^= testdata_state << 17;
  return (unsigned)(testdata_state % bound);
}

#endif
