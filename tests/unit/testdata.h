/*
 * What several unit tests need besides tap.h: a repository file read whole, and a small seeded
 * generator (xorshift64), so a test's random inputs are the same on every run. Header-only; include
 * it from one file per test program.
 */
#ifndef TESTDATA_H
#define TESTDATA_H

#include <glob.h>
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

/* The vendors' sample answers the sandbox serves (every .json in tests/sandbox/fixtures, so a
 * new vendor's are included without a line here), relative to the repository root: a glob the
 * caller frees with globfree. 0 paths when run from elsewhere. */
static inline size_t testdata_fixtures(glob_t *paths) {
  if (glob("tests/sandbox/fixtures/*.json", 0, NULL, paths) != 0) {
    paths->gl_pathc = 0;
    paths->gl_pathv = NULL;
  }
  return paths->gl_pathc;
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
