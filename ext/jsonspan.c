/*
 * A response body's bytes: whether it stops before its JSON document does, and a row's own bytes.
 * See jsonspan.h. (The spans themselves are recorded as the body is parsed: jsonarena.c.)
 */
#include "jsonspan.h"

#include <stdlib.h>
#include <string.h>

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
