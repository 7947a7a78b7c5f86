/*
 * Unit tests for ext/json/jsonarena.c: the arena parser must build the tree cJSON builds, or fail where
 * cJSON fails, for every input: Debian's libcjson itself is the oracle. Inputs: cJSON's quirks one
 * by one, the sandbox's fixtures and every prefix of them, and a bounded stream of generated
 * documents with random bytes changed. On top of cJSON's tree: each value's span is its bytes in the
 * body, and a big integer keeps its digits.
 */
#include "json/jsonarena.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testdata.h"

static char failure[512];

/* Same tree: types, keys, strings, numbers bit for bit, links (a list's head->prev is its last). */
static int same_tree_at(const cJSON *ours, const cJSON *theirs, const char *path, int check_key);

static int same_tree(const cJSON *ours, const cJSON *theirs, const char *path) {
  return same_tree_at(ours, theirs, path, 1);
}

/* check_key 0: the root's key is not compared (a member reparsed alone has none). */
static int same_tree_at(const cJSON *ours, const cJSON *theirs, const char *path, int check_key) {
  if (!ours || !theirs) {
    if (ours != theirs) snprintf(failure, sizeof(failure), "%s: one side has no node", path);
    return ours == theirs;
  }
  if (ours->type != theirs->type || ours->valueint != theirs->valueint ||
      memcmp(&ours->valuedouble, &theirs->valuedouble, sizeof(double)) != 0) {
    snprintf(failure, sizeof(failure), "%s: type %d/%d int %d/%d double %.17g/%.17g", path,
             ours->type, theirs->type, ours->valueint, theirs->valueint, ours->valuedouble,
             theirs->valuedouble);
    return 0;
  }
  if (check_key && ((!ours->string) != (!theirs->string) ||
                    (ours->string && strcmp(ours->string, theirs->string) != 0))) {
    snprintf(failure, sizeof(failure), "%s: key differs", path);
    return 0;
  }
  /* A number's valuestring is the arena's addition (big integers' digits): checked apart. */
  if (!cJSON_IsNumber(ours) &&
      ((!ours->valuestring) != (!theirs->valuestring) ||
       (ours->valuestring && strcmp(ours->valuestring, theirs->valuestring) != 0))) {
    snprintf(failure, sizeof(failure), "%s: string value differs", path);
    return 0;
  }
  const cJSON *a = ours->child, *b = theirs->child, *last_a = NULL;
  for (int i = 0; a || b; i++, a = a->next, b = b->next) {
    char child_path[256];
    snprintf(child_path, sizeof(child_path), "%.200s/%d", path, i);
    if (!same_tree(a, b, child_path)) return 0;
    last_a = a;
  }
  if (ours->child && ours->child->prev != last_a) {
    snprintf(failure, sizeof(failure), "%s: head->prev is not the last child", path);
    return 0;
  }
  return 1;
}

/* Each value's span holds exactly its text: reparsed by cJSON, the same tree (its key aside). */
static int spans_hold(const ix_json_arena *arena, const cJSON *node, const char *body,
                      size_t length) {
  const char *text;
  size_t span;
  if (!jsonarena_span(arena, node, &text, &span) || text < body || text + span > body + length) {
    snprintf(failure, sizeof(failure), "a node has no span inside the body");
    return 0;
  }
  const char *end = NULL;
  cJSON *again = cJSON_ParseWithLengthOpts(text, span, &end, 0);
  int ok = again && end == text + span && same_tree_at(node, again, "(span)", 0);
  cJSON_Delete(again);
  if (!ok) {
    snprintf(failure, sizeof(failure), "the span '%.*s' is not its value",
             (int)(span < 60 ? span : 60), text);
    return 0;
  }
  for (const cJSON *child = node->child; child; child = child->next) {
    if (!spans_hold(arena, child, body, length)) return 0;
  }
  return 1;
}

/* 1 when the arena and cJSON agree on body: both fail, or same tree and same end. */
static int agrees(const char *body, size_t length, int check_spans) {
  failure[0] = '\0';
  /* Copies of exactly length bytes: ASan sees a read past the end. */
  char *copy = malloc(length ? length : 1);
  memcpy(copy, body, length);
  const char *their_end = NULL, *our_end = NULL;
  cJSON *theirs = cJSON_ParseWithLengthOpts(copy, length, &their_end, 0);
  ix_json_arena *arena = NULL;
  cJSON *ours = jsonarena_parse(copy, length, &arena, &our_end);
  int ok;
  if (!theirs || !ours) {
    ok = !theirs && !ours;
    if (!ok)
      snprintf(failure, sizeof(failure), "cJSON %s, the arena %s", theirs ? "parses" : "fails",
               ours ? "parses" : "fails");
    if (ok && arena && jsonarena_out_of_memory(arena)) {
      ok = 0;
      snprintf(failure, sizeof(failure), "a failure reported as out of memory");
    }
  } else {
    ok = same_tree(ours, theirs, "") &&
         (our_end == their_end || (snprintf(failure, sizeof(failure), "ends differ"), 0));
    if (ok && check_spans) ok = spans_hold(arena, ours, copy, length);
  }
  cJSON_Delete(theirs);
  jsonarena_free(arena);
  free(copy);
  return ok;
}

/* A JSON-like document: valid most of the time, with cJSON's corner cases in its leaves. */
static void generate(char *out, size_t *at, size_t capacity, int depth) {
  static const char *const leaves[] = {
      "0",
      "-0",
      "1",
      "-.5",
      "1e",
      "1.e5",
      "01",
      "1e999",
      "-1e999",
      "12345678901234567890",
      "-9007199254740993",
      "9007199254740992",
      "1.5e300",
      "3.25",
      "1E+2",
      "null",
      "true",
      "false",
      "\"\"",
      "\"a\"",
      "\"\\u00e9\"",
      "\"\\uD83D\\uDE00\"",
      "\"\\uZZZZ\"",
      "\"\\n\\t\\/\"",
      "\"\\\\\"",
      "\"x\\\"y\"",
      "\"\\uD800\"",
      "\"\\u0000z\"",
      "\"\x01\x7f\xff\"",
      "123456789012345678901234567890123456789012345678901234567890123456789",
  };
  if (capacity - *at < 200) return;
  unsigned pick = depth > 6 ? 0 : testdata_random(4);
  if (pick == 0 || pick == 1) {
    const char *leaf = leaves[testdata_random(sizeof(leaves) / sizeof(leaves[0]))];
    size_t n = strlen(leaf);
    memcpy(out + *at, leaf, n);
    *at += n;
    return;
  }
  int is_object = pick == 3;
  out[(*at)++] = is_object ? '{' : '[';
  unsigned count = testdata_random(5);
  for (unsigned i = 0; i < count && capacity - *at > 200; i++) {
    if (i) out[(*at)++] = ',';
    if (testdata_random(4) == 0) out[(*at)++] = " \t\n\x01"[testdata_random(4)];
    if (is_object) {
      *at += (size_t)snprintf(out + *at, capacity - *at, "\"k%u\":", testdata_random(3));
    }
    generate(out, at, capacity, depth + 1);
  }
  out[(*at)++] = is_object ? '}' : ']';
}

int main(void) {
  static const char *const quirks[] = {
      "",
      " ",
      "\xEF\xBB\xBF{}",
      "\xEF\xBB\xBF"
      "1",
      "\xEF\xBB\xBF"
      "12",
      "-.5",
      "1e",
      "1.e5",
      "01",
      "+1",
      "-",
      "1e999",
      "[1,]",
      "{\"a\":1,}",
      "{,}",
      "[",
      "{",
      "{\"a\"",
      "{\"a\":",
      "[1 2]",
      "nul",
      "nulll",
      "truex",
      "[true,false,null]",
      "\x01[\x02 1\x1f]",
      "[.5]",
      "[-]",
      "[--1]",
      "[1-2]",
      "[1e+5,1E-5]",
      "0x10",
      "[1.2.3]",
      "\"\\q\"",
      "\"a\\\"",
      "\"\\u12\"",
      "\"\\uD800\\u0041\"",
      "\"\\uDC00\"",
      "{\"a\" : [ 1 , { \"b\" : \"c\" } ] }  ",
      "[1]   x",
      "{\"\":{}}",
      "[[],{}]",
      "{\"a\":1}{",
      "\"unterminated",
      "  [  ]  ",
      "[\"a\\\\\\\"b\"]",
  };
  int all = 1;
  for (size_t i = 0; i < sizeof(quirks) / sizeof(quirks[0]); i++) {
    int ok = agrees(quirks[i], strlen(quirks[i]), 1);
    if (!ok) diag("'%s': %s", quirks[i], failure);
    all &= ok;
  }
  ok(all, "cJSON's quirks, one by one: the arena builds the same tree or fails with it");

  /* Bytes no C string literal can hold: a NUL inside a string and after a document. */
  static const char with_nul[] = "[\"a\0b\",1]\0[";
  ok(agrees(with_nul, sizeof(with_nul) - 1, 1), "NUL bytes inside a string and after the value");

  char deep[2100];
  for (int levels = 999; levels <= 1001; levels++) {
    for (int i = 0; i < levels; i++) deep[i] = '[';
    for (int i = 0; i < levels; i++) deep[levels + i] = ']';
    ok(agrees(deep, (size_t)(2 * levels), 0), "%d nested arrays: as cJSON (its limit is 1000)",
       levels);
  }

  glob_t fixtures;
  if (testdata_fixtures(&fixtures) == 0) skip(1, "no fixtures (run from the repository root)");
  for (size_t f = 0; f < fixtures.gl_pathc; f++) {
    size_t length;
    char *body = testdata_read_file(fixtures.gl_pathv[f], &length);
    if (!body) {
      skip(1, "a fixture is missing (run from the repository root)");
      continue;
    }
    int whole = agrees(body, length, 1), prefixes = 1;
    for (size_t cut = 0; cut < length && prefixes; cut += 1 + cut / 64) {
      prefixes = agrees(body, cut, 0);
    }
    if (!whole || !prefixes) diag("%s", failure);
    ok(whole && prefixes, "%s and its prefixes: the same trees, spans hold", fixtures.gl_pathv[f]);
    free(body);
  }
  globfree(&fixtures);

  static char doc[16384];
  int disagreements = 0, parsed = 0, documents = 20000;
  for (int i = 0; i < documents; i++) {
    size_t length = 0;
    generate(doc, &length, sizeof(doc), 0);
    for (unsigned changes = testdata_random(3); changes > 0 && length > 0; changes--) {
      doc[testdata_random((unsigned)length)] = "\"\\,:[]{}0e.- \x01u"[testdata_random(16)];
    }
    if (testdata_random(8) == 0 && length > 0) length = testdata_random((unsigned)length);
    if (!agrees(doc, length, i % 16 == 0)) {
      if (disagreements++ < 3) diag("'%.*s': %s", (int)(length < 200 ? length : 200), doc, failure);
    } else {
      const char *end = NULL;
      cJSON *tree = cJSON_ParseWithLengthOpts(doc, length, &end, 0);
      parsed += tree != NULL;
      cJSON_Delete(tree);
    }
  }
  ok(disagreements == 0, "%d generated documents (%d of them JSON to cJSON): %d disagreements",
     documents, parsed, disagreements);
  ok(parsed > documents / 4 && parsed < documents, "both outcomes were exercised");

  /* Digits of integers a double rounds, and only those. */
  const char *big =
      "[9007199254740993,-9007199254740993,9007199254740992,123,1e20,"
      "100000000000000000000.0]";
  ix_json_arena *arena = NULL;
  cJSON *root = jsonarena_parse(big, strlen(big), &arena, NULL);
  const char *expected[] = {
      "9007199254740993", "-9007199254740993", "9007199254740992", NULL, NULL, NULL};
  int digits_ok = root != NULL;
  int index = 0;
  for (const cJSON *n = root ? root->child : NULL; n; n = n->next, index++) {
    const char *want = expected[index];
    digits_ok &= want ? (n->valuestring && strcmp(n->valuestring, want) == 0) : !n->valuestring;
  }
  ok(digits_ok && index == 6, "integers of 2^53 and beyond keep their digits, others none");
  jsonarena_free(arena);

  cJSON *foreign = cJSON_CreateObject();
  arena = NULL;
  root = jsonarena_parse("{}", 2, &arena, NULL);
  const char *text;
  size_t span;
  ok(root && !jsonarena_span(arena, foreign, &text, &span) &&
         jsonarena_span(arena, root, &text, &span) && span == 2,
     "a node cJSON allocated has no span; the arena's own has");
  cJSON_Delete(foreign);
  jsonarena_free(arena);
  return done_testing();
}
