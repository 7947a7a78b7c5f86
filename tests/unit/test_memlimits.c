/*
 * Unit tests for ext/json/memlimits.c: the parse-cost estimate is an upper bound on the most cJSON
 * holds at once (counted through cJSON's hooks, in glibc's chunk sizes), for hostile shapes and for
 * the vendors' own JSON, and not so loose that ordinary bodies would be refused for nothing.
 */
#include "json/memlimits.h"
#include "provider/provider.h" /* ix_row: the rows a page makes of the objects */

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "tap.h"
#include "testdata.h"

static size_t live, peak;

/* What glibc's malloc takes for a request of n bytes: 8 bytes of header, 16-byte chunks, 32 at
 * least. */
static size_t chunk_size(size_t n) {
  size_t chunk = (n + 8 + 15) & ~(size_t)15;
  return chunk < 32 ? 32 : chunk;
}

/* Each block remembers its size in front of it, so frees count too: cJSON 1.7.15 as Debian
 * patches it allocates a short-lived copy of every number it reads. */
static void *counting_malloc(size_t n) {
  size_t *block = malloc(n + 16);
  if (!block) return NULL;
  block[0] = n;
  live += chunk_size(n);
  if (live > peak) peak = live;
  return block + 2;
}

static void counting_free(void *pointer) {
  if (!pointer) return;
  size_t *block = (size_t *)pointer - 2;
  live -= chunk_size(block[0]);
  free(block);
}

static size_t parse_cost(const char *body, size_t length) {
  live = peak = 0;
  cJSON *root = cJSON_ParseWithLength(body, length);
  cJSON_Delete(root);
  return peak;
}

static char *repeated(const char *opening, const char *item, int count, const char *closing,
                      size_t *length) {
  size_t item_length = strlen(item);
  char *body = malloc(strlen(opening) + (item_length + 1) * (size_t)count + strlen(closing) + 1);
  size_t at = 0;
  memcpy(body + at, opening, strlen(opening));
  at += strlen(opening);
  for (int i = 0; i < count; i++) {
    if (i) body[at++] = ',';
    memcpy(body + at, item, item_length);
    at += item_length;
  }
  memcpy(body + at, closing, strlen(closing) + 1);
  at += strlen(closing);
  *length = at;
  return body;
}

/* memlimits_json_within skips the scan for bodies too short to exceed the budget: it must answer
 * as the scan would at every budget around the estimate, and for the shortest bodies too. */
static void check_within(const char *name, const char *body, size_t length) {
  size_t estimate = memlimits_json_cost(body, length, sizeof(ix_row));
  size_t lengths[] = {length, length < 64 ? length : 64, 1, 0};
  int agrees = 1;
  for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
    size_t cost = memlimits_json_cost(body, lengths[l], sizeof(ix_row));
    for (size_t budget = cost > 4 ? cost - 4 : 0; budget <= cost + 4; budget++) {
      agrees &= memlimits_json_within(body, lengths[l], sizeof(ix_row), budget) == (cost <= budget);
    }
  }
  ok(agrees && memlimits_json_within(body, length, sizeof(ix_row), (size_t)-1) &&
         memlimits_json_within(body, length, sizeof(ix_row), estimate) &&
         (estimate == 0 || !memlimits_json_within(body, length, sizeof(ix_row), estimate - 1)),
     "%s: memlimits_json_within answers as the scan at every budget near its estimate", name);
}

static void check(const char *name, const char *body, size_t length, double loosest) {
  check_within(name, body, length);
  size_t estimate = memlimits_json_cost(body, length, sizeof(ix_row));
  size_t real = parse_cost(body, length);
  ok(estimate >= real, "%s: the estimate (%zu) covers the most cJSON holds (%zu)", name, estimate,
     real);
  if (loosest > 0) {
    ok((double)estimate <= loosest * (double)real,
       "%s: the estimate is at most %.1fx the real cost", name, loosest);
  }
}

int main(void) {
  cJSON_Hooks hooks = {counting_malloc, counting_free};
  cJSON_InitHooks(&hooks);
  static const struct {
    const char *name, *opening, *item, *closing;
  } shapes[] = {
      {"[{},{},...]", "[", "{}", "]"},
      {"[\"\",\"\",...]", "[", "\"\"", "]"},
      {"[0,0,...]", "[", "0", "]"},
      {"[[],[],...]", "[", "[]", "]"},
      {"{\"a\":{},...}", "{", "\"a\":{}", "}"},
      {"[\"\\u0041\\n\\\"\",...]", "[", "\"\\u0041\\n\\\"\"", "]"},
      {"[{\"id\":1,\"subject\":\"hello\"},...]", "[", "{\"id\":1,\"subject\":\"hello\"}", "]"},
      {"[[[[1]]],...]", "[", "[[[1]]]", "]"},
  };
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    size_t length;
    char *body = repeated(shapes[i].opening, shapes[i].item, 100000, shapes[i].closing, &length);
    check(shapes[i].name, body, length, 0);
    free(body);
  }
  size_t length;
  char *body = repeated("[\"", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                        20000, "\"]", &length);
  check("one long string", body, length, 0);
  free(body);
  check("not JSON", "{\"a\": [1, 2", 11, 0);
  /* The costliest byte there is, repeated: the shortcut's bound is tightest here. */
  check_within("{{{{{{{{", "{{{{{{{{", 8);
  check("empty", "", 0, 0);
  glob_t fixtures;
  if (testdata_fixtures(&fixtures) == 0) skip(1, "no fixtures (run from the repository root)");
  for (size_t i = 0; i < fixtures.gl_pathc; i++) {
    char *fixture = testdata_read_file(fixtures.gl_pathv[i], &length);
    if (!fixture) {
      skip(2, "a fixture is missing (run from the repository root)");
      continue;
    }
    /* Rows are in the estimate, not in cJSON's allocations: 2x leaves room for them. */
    check(fixtures.gl_pathv[i], fixture, length, 2.0);
    free(fixture);
  }
  globfree(&fixtures);
  return done_testing();
}
