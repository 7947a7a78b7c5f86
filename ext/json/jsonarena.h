/*
 * A page's JSON body read into a cJSON tree that lives in one arena.
 *
 * cJSON stays the project's JSON library: its tree type, its accessors and printers, and its
 * parser for every other body (tokens, error answers). A page of rows is read here instead because
 * cJSON's parser makes one malloc for every node, key and string, and one free for each again:
 * 72% of a count(*) over nginx's pages (bench/README.md). Its allocator can only be changed for the
 * whole process (cJSON_InitHooks), which a library loaded into someone else's program must not
 * do. The tree built here is the one cJSON_ParseWithLengthOpts(body, length, &end, 0) builds,
 * node for node, held to that by tests/unit/test_jsonarena.c on every input it generates. Two
 * things are added where cJSON has no room for them: each value remembers its bytes in the body
 * (a row's raw column), and an integer too large for a double to hold exactly keeps its digits in
 * its valuestring (rows.c reads them).
 *
 * A tree from here is freed with its arena, never with cJSON_Delete.
 */
#ifndef IX_JSONARENA_H
#define IX_JSONARENA_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct ix_json_arena ix_json_arena;

/* The quote that closes a string whose text starts at start (just after its opening quote), or
 * NULL when end comes first: cJSON's rule, the first quote after an even run of backslashes. */
const char *jsonarena_string_close(const char *start, const char *end);

/* Parses body as cJSON would, into *arena_io: a new arena when it is NULL (set even when the
 * parse fails), else that arena emptied, keeping some of its chunks for the new tree (whatever it
 * held before is gone). Returns the root, or NULL when cJSON would return NULL (not JSON, or out
 * of memory). *end_out is set to the byte after the value, as cJSON's return_parse_end. */
cJSON *jsonarena_parse(const char *body, size_t length, ix_json_arena **arena_io,
                       const char **end_out);

/* The bytes of a value of this arena's tree in the body it was parsed from: 1 with text and length
 * set, 0 when node is not the arena's (or arena is NULL). */
int jsonarena_span(const ix_json_arena *arena, const cJSON *node, const char **text,
                   size_t *length);

/* From now on jsonarena_span answers 0 for every node. */
void jsonarena_drop_spans(ix_json_arena *arena);

/* After a failed parse: whether memory ran out (else the body is not what cJSON accepts). */
int jsonarena_out_of_memory(const ix_json_arena *arena);

void jsonarena_free(ix_json_arena *arena);

/* One body parsed ahead of its use (fetch/transport.c parses a page's body when it checks that the body is
 * whole, and the provider's parse then takes the tree): the body it is for, and the result. */
typedef struct ix_json_parse {
  const char *body;
  size_t length;
  cJSON *root;
  ix_json_arena *arena;
  const char *end;
} ix_json_parse;

/* Parses body into parse, reusing its arena: 1 when it is JSON to cJSON. */
int jsonarena_parse_body(ix_json_parse *parse, const char *body, size_t length);
/* Drops the result but keeps the arena for the next parse. */
void jsonarena_parse_forget(ix_json_parse *parse);
/* Gives parse an emptied page's arena to reuse (freed if parse has one already). */
void jsonarena_parse_keep_arena(ix_json_parse *parse, ix_json_arena *arena);
/* Frees everything. */
void jsonarena_parse_clear(ix_json_parse *parse);

#endif
