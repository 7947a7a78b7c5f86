/*
 * Unit tests for ext/provider/jsonspan.c's cut-body check: jsonspan_ends_early skips strings with a short
 * look and then memchr, and must answer exactly as a plain byte-by-byte reading of the body does
 * (the oracle below), for every prefix of bodies full of escapes, quotes and backslash runs placed
 * around the point where the short look hands over.
 */
#include "provider/jsonspan.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testdata.h"

/* The body read one byte at a time: whitespace, then an object or array, tracked to depth 0. */
static int oracle_ends_early(const char *p, size_t length) {
  const char *end = p + length;
  while (p < end && (unsigned char)*p <= 0x20) p++;
  if (p == end) return 1;
  if (*p != '{' && *p != '[') return 0;
  long depth = 0;
  int in_string = 0;
  for (; p < end; p++) {
    if (in_string) {
      if (*p == '\\') {
        if (end - p < 2) return 1;
        p++;
      } else if (*p == '"') {
        in_string = 0;
      }
    } else if (*p == '"') {
      in_string = 1;
    } else if (*p == '{' || *p == '[') {
      depth++;
    } else if ((*p == '}' || *p == ']') && --depth == 0) {
      return 0;
    }
  }
  return 1;
}

/* A body of strings whose lengths and backslash runs straddle the 16-byte short look. */
static size_t random_body(char *body, size_t capacity) {
  static const char pieces[] = "\"\\\\\\{}[]:, ax\"";
  size_t at = 0;
  body[at++] = testdata_random(2) ? '{' : '[';
  while (at + 40 < capacity && testdata_random(12)) {
    body[at++] = '"';
    unsigned length = testdata_random(40);
    for (unsigned i = 0; i < length; i++) {
      body[at++] = testdata_random(3) ? 'a' : pieces[testdata_random(sizeof(pieces) - 1)];
    }
    body[at++] = '"';
    body[at++] = pieces[4 + testdata_random(6)];
  }
  return at;
}

int main(void) {
  static const char *const fixed[] = {
      "",
      "   ",
      "{}",
      "[]",
      "{\"a\":\"b\"}",
      "{\"a\":\"\\\"\"}",
      "{\"a\":\"\\\\\"}",
      "{\"0123456789abcdef\\\"\":1}",
      "{\"0123456789abcde\\\"\":1}",
      "{\"0123456789abcdef\\\\\":1}",
      "[\"\\",
      "[\"abc\\\"",
      "x{",
      "{\"}\"}",
      "[[[\"]]]\"]]]",
  };
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    size_t length = strlen(fixed[i]);
    int agrees = 1;
    for (size_t cut = 0; cut <= length; cut++) {
      agrees &= jsonspan_ends_early(fixed[i], cut) == oracle_ends_early(fixed[i], cut);
    }
    ok(agrees, "every prefix of '%s' is read as the byte-by-byte oracle reads it", fixed[i]);
  }
  char body[4096];
  int bodies = 0, disagreements = 0, complete = 0;
  for (; bodies < 3000; bodies++) {
    size_t length = random_body(body, sizeof(body));
    for (size_t cut = 0; cut <= length; cut++) {
      int expected = oracle_ends_early(body, cut);
      complete += !expected;
      /* A copy of exactly cut bytes: ASan sees any read past the cut. */
      char *copy = malloc(cut ? cut : 1);
      memcpy(copy, body, cut);
      disagreements += jsonspan_ends_early(copy, cut) != expected;
      free(copy);
    }
  }
  ok(disagreements == 0, "%d random bodies, every prefix: %d disagreements with the oracle", bodies,
     disagreements);
  ok(complete > 0, "some prefixes were whole documents (%d): both answers were exercised",
     complete);
  return done_testing();
}
