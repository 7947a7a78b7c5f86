/*
 * fuzz_jsonarena: ext/json/jsonarena.c against cJSON itself. Every input is parsed by both
 * cJSON_ParseWithLengthOpts (Debian's libcjson, the oracle) and jsonarena_parse.
 *
 * Invariants (abort() on violation):
 *   - both fail, or both succeed, ending at the same byte;
 *   - the trees are the same node for node: type, valueint, valuedouble bit for bit, key, string
 *     value (a number's valuestring is the arena's: the digits of an integer of 2^53 or more, and
 *     only then), children in order, each list's head->prev its last element;
 *   - every value's span lies inside the input, starts where its text starts and, reparsed by
 *     cJSON, ends where cJSON ends.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "json/jsonarena.h"

static void fuzz_same(const cJSON *ours, const cJSON *theirs, const char *body, size_t size,
                      const ix_json_arena *arena) {
  FUZZ_CHECK(ours->type == theirs->type && ours->valueint == theirs->valueint);
  FUZZ_CHECK(memcmp(&ours->valuedouble, &theirs->valuedouble, sizeof(double)) == 0);
  FUZZ_CHECK(!ours->string == !theirs->string);
  FUZZ_CHECK(!ours->string || strcmp(ours->string, theirs->string) == 0);
  if (cJSON_IsNumber(ours)) {
    FUZZ_CHECK(!ours->valuestring || fabs(ours->valuedouble) >= 9007199254740992.0);
  } else {
    FUZZ_CHECK(!ours->valuestring == !theirs->valuestring);
    FUZZ_CHECK(!ours->valuestring || strcmp(ours->valuestring, theirs->valuestring) == 0);
  }
  const char *text;
  size_t length;
  FUZZ_CHECK(jsonarena_span(arena, ours, &text, &length));
  FUZZ_CHECK(text >= body && length > 0 && text + length <= body + size);
  const char *end = NULL;
  cJSON *again = cJSON_ParseWithLengthOpts(text, length, &end, 0);
  FUZZ_CHECK(again && end == text + length && again->type == ours->type);
  cJSON_Delete(again);
  const cJSON *a = ours->child, *b = theirs->child, *last = NULL;
  for (; a && b; a = a->next, b = b->next) {
    fuzz_same(a, b, body, size, arena);
    last = a;
  }
  FUZZ_CHECK(!a && !b);
  FUZZ_CHECK(!ours->child || ours->child->prev == last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A copy of exactly the input's bytes on the heap, so ASan sees any read past its end. */
  char *body = malloc(size ? size : 1);
  FUZZ_CHECK(body != NULL);
  if (size) memcpy(body, data, size);
  const char *their_end = NULL, *our_end = NULL;
  cJSON *theirs = cJSON_ParseWithLengthOpts(body, size, &their_end, 0);
  ix_json_arena *arena = NULL;
  cJSON *ours = jsonarena_parse(body, size, &arena, &our_end);
  FUZZ_CHECK(!theirs == !ours);
  if (ours) {
    FUZZ_CHECK(our_end == their_end);
    fuzz_same(ours, theirs, body, size, arena);
  }
  cJSON_Delete(theirs);
  jsonarena_free(arena);
  free(body);
  return 0;
}
