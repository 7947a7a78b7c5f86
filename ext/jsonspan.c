/*
 * Byte spans in a response body. See jsonspan.h.
 *
 * How it works
 *   cJSON keeps values, not text: numbers become doubles (an id of 19 digits is rounded) and
 *   printing a tree writes cJSON's own spelling. After parse_page, ix_page_index_body walks the
 *   body's text and the tree cJSON built from it together, depth first: cJSON keeps members and
 *   elements in document order, so the n-th value in the text is the n-th node of the walk. The
 *   walk tokenizes as cJSON does (whitespace is any byte up to 0x20, a UTF-8 BOM may open the
 *   body). Only two things are stored: the span of each object that is a row's item (a sorted
 *   table of the page's row items says which), and, for an integer of 2^53 or more in magnitude,
 *   its digits in the node's otherwise unused valuestring, which cJSON_Delete frees with the tree.
 *   Nothing is allocated per JSON node. If text and tree ever disagree, the walk stops and the rows
 *   it did not reach keep no span (raw falls back to printing the tree).
 */
#include "jsonspan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* 2^53: from here on a double no longer holds every integer. */
#define IX_EXACT_DOUBLE_LIMIT 9007199254740992.0

/* A row item and the row that shows it; sorted by item so the walk finds rows by node. */
typedef struct ix_item_ref {
  const cJSON *item;
  int row;
} ix_item_ref;

typedef struct ix_span_walk {
  const char *p;
  const char *end;
  ix_page *page;
  ix_item_ref *refs; /* NULL: no spans (no rows, or a body SQLite could not take as text) */
  int ref_count;
  int out_of_memory;
} ix_span_walk;

static int ix_item_ref_compare(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const ix_item_ref *)a)->item;
  uintptr_t y = (uintptr_t)((const ix_item_ref *)b)->item;
  return x < y ? -1 : x > y;
}

static void ix_walk_blank(ix_span_walk *walk) {
  while (walk->p < walk->end && (unsigned char)*walk->p <= 0x20) walk->p++;
}

static int ix_walk_expect(ix_span_walk *walk, char c) {
  ix_walk_blank(walk);
  if (walk->p >= walk->end || *walk->p != c) return 0;
  walk->p++;
  return 1;
}

/* Past the quote that closes a string whose opening quote is just before p, or NULL when the
 * text ends first. cJSON ends a string at the first quote not escaped, which is the first quote
 * after an even run of backslashes; memchr finds the candidates, so the bytes of a string (most
 * of a body) are not looked at one by one. */
static const char *ix_string_end(const char *p, const char *end) {
  while (p < end) {
    const char *quote = memchr(p, '"', (size_t)(end - p));
    if (!quote) return NULL;
    const char *run = quote;
    while (run > p && run[-1] == '\\') run--;
    if ((quote - run) % 2 == 0) return quote + 1;
    p = quote + 1;
  }
  return NULL;
}

/* Past one string, its quotes included. */
static int ix_walk_string(ix_span_walk *walk) {
  if (!ix_walk_expect(walk, '"')) return 0;
  const char *past = ix_string_end(walk->p, walk->end);
  if (!past) return 0;
  walk->p = past;
  return 1;
}

/* The rows whose item is node get the span [start, walk->p). */
static void ix_walk_record_rows(ix_span_walk *walk, const cJSON *node, const char *start) {
  if (!walk->refs) return;
  ix_item_ref key = {node, 0};
  ix_item_ref *found =
      bsearch(&key, walk->refs, (size_t)walk->ref_count, sizeof(*walk->refs), ix_item_ref_compare);
  if (!found) return;
  while (found > walk->refs && found[-1].item == node) found--;
  for (; found < walk->refs + walk->ref_count && found->item == node; found++) {
    ix_row *row = &walk->page->rows[found->row];
    row->raw = start;
    row->raw_length = (size_t)(walk->p - start);
  }
}

/* A number's token, as cJSON reads it; an integer a double rounds keeps its digits. */
static int ix_walk_number(ix_span_walk *walk, cJSON *node) {
  const char *start = walk->p;
  int integral = 1;
  while (walk->p < walk->end && *walk->p && strchr("0123456789+-eE.", *walk->p)) {
    if (!(*walk->p >= '0' && *walk->p <= '9') && !(*walk->p == '-' && walk->p == start)) {
      integral = 0;
    }
    walk->p++;
  }
  if (walk->p == start) return 0;
  if (integral && fabs(node->valuedouble) >= IX_EXACT_DOUBLE_LIMIT && !node->valuestring) {
    size_t length = (size_t)(walk->p - start);
    char *digits = cJSON_malloc(length + 1);
    if (!digits) {
      walk->out_of_memory = 1;
      return 0;
    }
    memcpy(digits, start, length);
    digits[length] = '\0';
    node->valuestring = digits;
  }
  return 1;
}

static int ix_walk_literal(ix_span_walk *walk, const char *word) {
  size_t length = strlen(word);
  if ((size_t)(walk->end - walk->p) < length || memcmp(walk->p, word, length) != 0) return 0;
  walk->p += length;
  return 1;
}

/* Past one value whose node is node; 0 when the text does not match the tree. */
static int ix_walk_value(ix_span_walk *walk, cJSON *node) {
  ix_walk_blank(walk);
  const char *start = walk->p;
  if (start >= walk->end) return 0;
  switch (node->type & 0xFF) {
    case cJSON_Object:
    case cJSON_Array: {
      int is_object = (node->type & 0xFF) == cJSON_Object;
      if (!ix_walk_expect(walk, is_object ? '{' : '[')) return 0;
      for (cJSON *child = node->child; child; child = child->next) {
        if (is_object && (!ix_walk_string(walk) || !ix_walk_expect(walk, ':'))) return 0;
        if (!ix_walk_value(walk, child)) return 0;
        if (child->next && !ix_walk_expect(walk, ',')) return 0;
      }
      if (!ix_walk_expect(walk, is_object ? '}' : ']')) return 0;
      if (is_object) ix_walk_record_rows(walk, node, start);
      return 1;
    }
    case cJSON_String: return ix_walk_string(walk);
    case cJSON_Number: return ix_walk_number(walk, node);
    case cJSON_True: return ix_walk_literal(walk, "true");
    case cJSON_False: return ix_walk_literal(walk, "false");
    case cJSON_NULL: return ix_walk_literal(walk, "null");
    default: return 0;
  }
}

int ix_page_index_body(ix_page *page, const char *body, size_t body_len) {
  if (!page->root || !body) return SQLITE_OK;
  ix_span_walk walk = {body, body + body_len, page, NULL, 0, 0};
  /* A NUL byte is no JSON, though cJSON may pass it inside a string: such a row's raw would
   * hide text after it, so it is printed from the tree instead. */
  if (page->row_count > 0 && !memchr(body, '\0', body_len)) {
    walk.refs = sqlite3_malloc64((sqlite3_uint64)page->row_count * sizeof(*walk.refs));
    if (!walk.refs) return SQLITE_NOMEM;
    for (int i = 0; i < page->row_count; i++) {
      walk.refs[i].item = page->rows[i].item;
      walk.refs[i].row = i;
    }
    walk.ref_count = page->row_count;
    qsort(walk.refs, (size_t)walk.ref_count, sizeof(*walk.refs), ix_item_ref_compare);
  }
  if (body_len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) walk.p += 3;
  (void)ix_walk_value(&walk, page->root);
  sqlite3_free(walk.refs);
  return walk.out_of_memory ? SQLITE_NOMEM : SQLITE_OK;
}

int ix_page_index_spans(ix_page *page) {
  if (page->spans_indexed) return SQLITE_OK;
  page->spans_indexed = 1;
  return ix_page_index_body(page, page->body, page->body_len);
}

int ix_row_raw(const ix_page *page, const ix_row *row, const char **text, size_t *length) {
  (void)page; /* the span lives in the row; the page is the body's owner */
  if (!row->raw) return 0;
  *text = row->raw;
  *length = row->raw_length;
  return 1;
}

int ix_json_ends_early(const char *body, size_t body_len) {
  const char *p = body ? body : "", *end = p + (body ? body_len : 0);
  while (p < end && (unsigned char)*p <= 0x20) p++;
  if (p == end) return 1;
  if (*p != '{' && *p != '[') return 0;
  /* Depth alone decides: a document that is not JSON is parse_page's to report. */
  long long depth = 0;
  while (p < end) {
    if (*p == '"') {
      p = ix_string_end(p + 1, end);
      if (!p) return 1;
      continue;
    }
    if (*p == '{' || *p == '[') {
      depth++;
    } else if ((*p == '}' || *p == ']') && --depth == 0) {
      return 0;
    }
    p++;
  }
  return 1;
}
