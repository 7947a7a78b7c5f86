/*
 * A page's JSON body read into a cJSON tree in one arena. See jsonarena.h.
 *
 * How it works
 *   The grammar is cJSON 1.7's, quirks included, because the tree must be the one cJSON builds:
 *   whitespace is any byte up to 0x20; a UTF-8 BOM is skipped when the body has 5 bytes or more; a
 *   number is the longest run of [0-9+-eE.] read by strtod in the current locale (so "-.5" is a
 *   number and "1e" stops after "1"); a string ends at the first quote that an even run of
 *   backslashes precedes, an unknown escape fails, a \u with a bad hex digit reads as U+0000, and
 *   surrogates must pair; objects and arrays nest at most 1000 deep; after the value nothing is
 *   read (the caller looks at what follows). The buffer positions move as cJSON's do, skipping
 *   whitespace steps back onto the last byte at the end of the body included, so each failure is
 *   cJSON's failure.
 *
 *   Nodes and strings come from chunks that grow with the body; nothing is freed until the arena
 *   is. Each node is a cJSON followed by the span of its value in the body.
 */
#include "json/jsonarena.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* cJSON's CJSON_NESTING_LIMIT. */
#define IX_JSON_NESTING_LIMIT 1000
/* 2^53: from here on a double no longer holds every integer (rows.c reads the digits). */
#define IX_EXACT_DOUBLE_LIMIT 9007199254740992.0
#define IX_ARENA_ALIGN 16
#define IX_ARENA_CHUNK_MIN ((size_t)16 << 10) /* the smallest chunk */
#define IX_ARENA_CHUNK_MAX ((size_t)64 << 20)
/* What an arena parsed again keeps of its chunks: an ordinary page's tree, so the next page reuses
 * the same memory (no malloc, no page faults), and never more (a huge page's chunks go back). */
#define IX_ARENA_KEEP ((size_t)512 << 10)

typedef struct jsonarena_node {
  cJSON json; /* first: the tree's readers see only this */
  const char *text;
  size_t length;
} jsonarena_node;

typedef struct jsonarena_chunk {
  struct jsonarena_chunk *previous;
  size_t capacity;
  size_t used;
  size_t unused; /* keeps the header a multiple of IX_ARENA_ALIGN */
} jsonarena_chunk;

struct ix_json_arena {
  jsonarena_chunk *newest;
  jsonarena_chunk *spare; /* emptied chunks kept from the last parse, taken before malloc */
  size_t next_capacity;
  int out_of_memory; /* the parse failed for memory, not for the body */
  int no_spans;      /* jsonarena_drop_spans */
};

static char *jsonarena_chunk_data(jsonarena_chunk *chunk) {
  return (char *)(chunk + 1);
}

static inline void *jsonarena_alloc(ix_json_arena *arena, size_t size, size_t align) {
  jsonarena_chunk *chunk = arena->newest;
  size_t at = chunk ? (chunk->used + align - 1) & ~(align - 1) : 0;
  if (!chunk || at > chunk->capacity || chunk->capacity - at < size) {
    if (arena->spare && arena->spare->capacity >= size) {
      chunk = arena->spare;
      arena->spare = chunk->previous;
    } else {
      size_t capacity = arena->next_capacity > size ? arena->next_capacity : size;
      chunk = malloc(sizeof(jsonarena_chunk) + capacity);
      if (!chunk) return NULL;
      chunk->capacity = capacity;
    }
    chunk->previous = arena->newest;
    chunk->used = 0;
    arena->newest = chunk;
    at = 0;
  }
  chunk->used = at + size;
  return jsonarena_chunk_data(chunk) + at;
}

/* ---- The parse, step for step with cJSON's ---- */

typedef struct jsonarena_reader {
  const unsigned char *content;
  size_t length;
  size_t offset;
  int depth;
  char decimal_point;
  int out_of_memory;
  ix_json_arena *arena;
} jsonarena_reader;

static int jsonarena_can_access(const jsonarena_reader *r, size_t index) {
  return r->offset + index < r->length;
}

static int jsonarena_can_read(const jsonarena_reader *r, size_t count) {
  return r->offset + count <= r->length;
}

/* cJSON's buffer_skip_whitespace, which leaves the offset on the last byte when the body ends in
 * whitespace. */
static void jsonarena_skip_whitespace(jsonarena_reader *r) {
  if (!jsonarena_can_access(r, 0)) return;
  while (jsonarena_can_access(r, 0) && r->content[r->offset] <= 32) r->offset++;
  if (r->offset == r->length) r->offset--;
}

static jsonarena_node *jsonarena_node_new(jsonarena_reader *r) {
  jsonarena_node *node = jsonarena_alloc(r->arena, sizeof(jsonarena_node), IX_ARENA_ALIGN);
  if (!node) {
    r->out_of_memory = 1;
    return NULL;
  }
  memset(node, 0, sizeof(*node));
  return node;
}

static unsigned jsonarena_hex4(const unsigned char *p) {
  unsigned value = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char c = p[i];
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = (unsigned)(c - '0');
    } else if (c >= 'A' && c <= 'F') {
      digit = 10u + (unsigned)(c - 'A');
    } else if (c >= 'a' && c <= 'f') {
      digit = 10u + (unsigned)(c - 'a');
    } else {
      return 0; /* cJSON reads a bad digit as the whole code 0 */
    }
    value = (value << 4) | digit;
  }
  return value;
}

/* A \u escape at p (its backslash), inside a string that ends at end: writes the UTF-8 to *out and
 * returns how many input bytes it took (6 or 12), or 0 when cJSON refuses it. */
static size_t jsonarena_unicode_escape(const unsigned char *p, const unsigned char *end,
                                       unsigned char **out) {
  if (end - p < 6) return 0;
  unsigned long code = jsonarena_hex4(p + 2);
  size_t taken = 6;
  if (code >= 0xDC00 && code <= 0xDFFF) return 0;
  if (code >= 0xD800 && code <= 0xDBFF) {
    const unsigned char *low = p + 6;
    if (end - low < 6 || low[0] != '\\' || low[1] != 'u') return 0;
    unsigned long second = jsonarena_hex4(low + 2);
    if (second < 0xDC00 || second > 0xDFFF) return 0;
    code = 0x10000 + (((code & 0x3FF) << 10) | (second & 0x3FF));
    taken = 12;
  }
  unsigned char *o = *out;
  if (code < 0x80) {
    *o++ = (unsigned char)code;
  } else if (code < 0x800) {
    *o++ = (unsigned char)(0xC0 | (code >> 6));
    *o++ = (unsigned char)(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    *o++ = (unsigned char)(0xE0 | (code >> 12));
    *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
    *o++ = (unsigned char)(0x80 | (code & 0x3F));
  } else {
    *o++ = (unsigned char)(0xF0 | (code >> 18));
    *o++ = (unsigned char)(0x80 | ((code >> 12) & 0x3F));
    *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3F));
    *o++ = (unsigned char)(0x80 | (code & 0x3F));
  }
  *out = o;
  return taken;
}

/* The string whose opening quote is at the offset, unescaped into the arena; the offset moves past
 * its closing quote. NULL when cJSON refuses it (r->out_of_memory tells the two failures apart). */
static char *jsonarena_read_string(jsonarena_reader *r) {
  if (r->content[r->offset] != '"') return NULL;
  const unsigned char *start = r->content + r->offset + 1;
  const unsigned char *end = (const unsigned char *)jsonarena_string_close(
      (const char *)start, (const char *)r->content + r->length);
  if (!end) return NULL;
  unsigned char *text = jsonarena_alloc(r->arena, (size_t)(end - start) + 1, 1);
  if (!text) {
    r->out_of_memory = 1;
    return NULL;
  }
  unsigned char *out = text;
  for (const unsigned char *p = start; p < end;) {
    const unsigned char *escape = memchr(p, '\\', (size_t)(end - p));
    size_t plain = (size_t)((escape ? escape : end) - p);
    memcpy(out, p, plain);
    out += plain;
    p += plain;
    if (!escape) break;
    size_t taken = 2;
    switch (p[1]) {
      case 'b': *out++ = '\b'; break;
      case 'f': *out++ = '\f'; break;
      case 'n': *out++ = '\n'; break;
      case 'r': *out++ = '\r'; break;
      case 't': *out++ = '\t'; break;
      case '"':
      case '\\':
      case '/': *out++ = p[1]; break;
      case 'u':
        taken = jsonarena_unicode_escape(p, end, &out);
        if (!taken) return NULL;
        break;
      default: return NULL;
    }
    p += taken;
  }
  *out = '\0';
  r->offset = (size_t)(end - r->content) + 1;
  return (char *)text;
}

const char *jsonarena_string_close(const char *start, const char *end) {
  /* memchr finds the candidates, so the bytes of a string (most of a body) are not looked at one
   * by one; a quote is escaped when an odd run of backslashes comes just before it. */
  for (const char *p = start; p < end;) {
    const char *quote = memchr(p, '"', (size_t)(end - p));
    if (!quote) return NULL;
    const char *run = quote;
    while (run > start && run[-1] == '\\') run--;
    if ((quote - run) % 2 == 0) return quote;
    p = quote + 1;
  }
  return NULL;
}

static int jsonarena_is_number_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

static int jsonarena_read_number(jsonarena_reader *r, jsonarena_node *node, size_t start_offset) {
  const unsigned char *start = r->content + r->offset;
  size_t run = 0;
  int integral = 1;
  while (r->offset + run < r->length && jsonarena_is_number_byte(start[run])) {
    if (!(start[run] >= '0' && start[run] <= '9') && !(start[run] == '-' && run == 0)) {
      integral = 0;
    }
    run++;
  }
  char small[64];
  char *copy = run < sizeof(small) ? small : malloc(run + 1);
  if (!copy) {
    r->out_of_memory = 1;
    return 0;
  }
  memcpy(copy, start, run);
  copy[run] = '\0';
  for (size_t i = 0; i < run; i++) {
    if (copy[i] == '.') copy[i] = r->decimal_point;
  }
  char *after = NULL;
  double number = strtod(copy, &after);
  size_t taken = (size_t)(after - copy);
  if (copy != small) free(copy);
  if (taken == 0) return 0;
  cJSON *json = &node->json;
  json->valuedouble = number;
  json->valueint = number >= INT_MAX ? INT_MAX : number <= (double)INT_MIN ? INT_MIN : (int)number;
  json->type = cJSON_Number;
  if (integral && fabs(number) >= IX_EXACT_DOUBLE_LIMIT) {
    char *digits = jsonarena_alloc(r->arena, taken + 1, 1);
    if (!digits) {
      r->out_of_memory = 1;
      return 0;
    }
    memcpy(digits, start, taken);
    digits[taken] = '\0';
    json->valuestring = digits;
  }
  r->offset += taken;
  node->text = (const char *)r->content + start_offset;
  node->length = taken;
  return 1;
}

static int jsonarena_read_value(jsonarena_reader *r, jsonarena_node *node);

/* An array or an object (is_object) whose bracket is at the offset. */
static int jsonarena_read_container(jsonarena_reader *r, jsonarena_node *node, int is_object) {
  if (r->depth >= IX_JSON_NESTING_LIMIT) return 0;
  r->depth++;
  char close = is_object ? '}' : ']';
  cJSON *head = NULL, *last = NULL;
  r->offset++;
  jsonarena_skip_whitespace(r);
  if (!(jsonarena_can_access(r, 0) && r->content[r->offset] == close)) {
    if (!jsonarena_can_access(r, 0)) return 0;
    r->offset--;
    do {
      jsonarena_node *item = jsonarena_node_new(r);
      if (!item) return 0;
      if (!head) {
        head = &item->json;
      } else {
        last->next = &item->json;
        item->json.prev = last;
      }
      last = &item->json;
      if (is_object) {
        if (!jsonarena_can_access(r, 1)) return 0;
        r->offset++;
        jsonarena_skip_whitespace(r);
        char *key = jsonarena_read_string(r);
        if (!key) return 0;
        jsonarena_skip_whitespace(r);
        item->json.string = key;
        if (!jsonarena_can_access(r, 0) || r->content[r->offset] != ':') return 0;
      }
      r->offset++;
      jsonarena_skip_whitespace(r);
      if (!jsonarena_read_value(r, item)) return 0;
      jsonarena_skip_whitespace(r);
    } while (jsonarena_can_access(r, 0) && r->content[r->offset] == ',');
    if (!jsonarena_can_access(r, 0) || r->content[r->offset] != close) return 0;
  }
  r->depth--;
  if (head) head->prev = last;
  node->json.type = is_object ? cJSON_Object : cJSON_Array;
  node->json.child = head;
  r->offset++;
  return 1;
}

/* cJSON tries null, false, true, then looks at the first byte; each of those needs its own first
 * byte, so looking at the first byte first gives the same answers. */
static int jsonarena_read_value(jsonarena_reader *r, jsonarena_node *node) {
  if (!jsonarena_can_access(r, 0)) return 0;
  size_t start = r->offset;
  const unsigned char *at = r->content + r->offset;
  int ok = 0;
  switch (*at) {
    case '"': {
      char *text = jsonarena_read_string(r);
      if (text) {
        node->json.type = cJSON_String;
        node->json.valuestring = text;
        ok = 1;
      }
      break;
    }
    case '[':
    case '{': ok = jsonarena_read_container(r, node, *at == '{'); break;
    case 'n':
      ok = jsonarena_can_read(r, 4) && memcmp(at, "null", 4) == 0;
      if (ok) node->json.type = cJSON_NULL;
      break;
    case 'f':
      ok = jsonarena_can_read(r, 5) && memcmp(at, "false", 5) == 0;
      if (ok) node->json.type = cJSON_False;
      break;
    case 't':
      ok = jsonarena_can_read(r, 4) && memcmp(at, "true", 4) == 0;
      if (ok) {
        node->json.type = cJSON_True;
        node->json.valueint = 1;
      }
      break;
    default:
      if (*at == '-' || (*at >= '0' && *at <= '9')) return jsonarena_read_number(r, node, start);
      return 0;
  }
  if (!ok) return 0;
  if (*at == 'n' || *at == 't') r->offset += 4;
  if (*at == 'f') r->offset += 5;
  node->text = (const char *)r->content + start;
  node->length = r->offset - start;
  return 1;
}

/* Empties arena for another parse, keeping up to IX_ARENA_KEEP of its chunks as spares. */
static void jsonarena_recycle(ix_json_arena *arena) {
  size_t kept = 0;
  for (jsonarena_chunk *spare = arena->spare; spare; spare = spare->previous)
    kept += spare->capacity;
  for (jsonarena_chunk *chunk = arena->newest; chunk;) {
    jsonarena_chunk *previous = chunk->previous;
    if (kept + chunk->capacity <= IX_ARENA_KEEP) {
      kept += chunk->capacity;
      chunk->used = 0;
      chunk->previous = arena->spare;
      arena->spare = chunk;
    } else {
      free(chunk);
    }
    chunk = previous;
  }
  arena->newest = NULL;
  arena->out_of_memory = 0;
  arena->no_spans = 0;
}

cJSON *jsonarena_parse(const char *body, size_t length, ix_json_arena **arena_io,
                       const char **end_out) {
  ix_json_arena *arena = *arena_io;
  if (arena) {
    jsonarena_recycle(arena);
  } else {
    arena = malloc(sizeof(*arena));
    if (!arena) return NULL;
    memset(arena, 0, sizeof(*arena));
    *arena_io = arena;
  }
  if (!body || length == 0) return NULL;
  /* Chunks of half the body's size: a page's tree (3 to 9 times its body, see
   * docs/failures-and-security.md) takes a handful, and what the last one leaves unused is at most
   * half the body, so the parse-cost estimate (memlimits.h) still bounds what the page holds. */
  arena->next_capacity = length / 2 < IX_ARENA_CHUNK_MIN ? IX_ARENA_CHUNK_MIN : length / 2;
  if (arena->next_capacity > IX_ARENA_CHUNK_MAX) arena->next_capacity = IX_ARENA_CHUNK_MAX;
  const struct lconv *locale = localeconv();
  jsonarena_reader r = {
      .content = (const unsigned char *)body,
      .length = length,
      .decimal_point = locale && locale->decimal_point && locale->decimal_point[0]
                           ? locale->decimal_point[0]
                           : '.',
      .arena = arena,
  };
  if (length >= 5 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) r.offset = 3;
  jsonarena_skip_whitespace(&r);
  jsonarena_node *root = jsonarena_node_new(&r);
  if (!root || !jsonarena_read_value(&r, root)) {
    arena->out_of_memory = r.out_of_memory;
    return NULL;
  }
  if (end_out) *end_out = body + r.offset;
  return &root->json;
}

int jsonarena_span(const ix_json_arena *arena, const cJSON *node, const char **text,
                   size_t *length) {
  if (!arena || !node || arena->no_spans) return 0;
  for (jsonarena_chunk *chunk = arena->newest; chunk; chunk = chunk->previous) {
    uintptr_t first = (uintptr_t)jsonarena_chunk_data(chunk), at = (uintptr_t)node;
    if (at < first || at >= first + chunk->used) continue;
    const jsonarena_node *own = (const jsonarena_node *)node;
    if (!own->text) return 0;
    *text = own->text;
    *length = own->length;
    return 1;
  }
  return 0;
}

void jsonarena_drop_spans(ix_json_arena *arena) {
  if (arena) arena->no_spans = 1;
}

int jsonarena_out_of_memory(const ix_json_arena *arena) {
  return !arena || arena->out_of_memory;
}

static void jsonarena_chunks_free(jsonarena_chunk *chunk) {
  while (chunk) {
    jsonarena_chunk *previous = chunk->previous;
    free(chunk);
    chunk = previous;
  }
}

void jsonarena_free(ix_json_arena *arena) {
  if (!arena) return;
  jsonarena_chunks_free(arena->newest);
  jsonarena_chunks_free(arena->spare);
  free(arena);
}

int jsonarena_parse_body(ix_json_parse *parse, const char *body, size_t length) {
  ix_json_arena *arena = parse->arena; /* reused: its chunks serve the new tree */
  memset(parse, 0, sizeof(*parse));
  parse->root = jsonarena_parse(body, length, &arena, &parse->end);
  parse->arena = arena;
  if (!parse->root) return 0;
  parse->body = body;
  parse->length = length;
  return 1;
}

void jsonarena_parse_clear(ix_json_parse *parse) {
  jsonarena_free(parse->arena);
  memset(parse, 0, sizeof(*parse));
}

void jsonarena_parse_keep_arena(ix_json_parse *parse, ix_json_arena *arena) {
  if (!arena) return;
  if (parse->arena) {
    jsonarena_free(arena);
    return;
  }
  memset(parse, 0, sizeof(*parse));
  parse->arena = arena;
}

void jsonarena_parse_forget(ix_json_parse *parse) {
  ix_json_arena *arena = parse->arena;
  memset(parse, 0, sizeof(*parse));
  parse->arena = arena;
}
