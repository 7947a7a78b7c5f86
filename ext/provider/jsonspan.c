/*
 * A response body's bytes: whether it stops before its JSON document does, and a row's own bytes.
 * See jsonspan.h. (The spans themselves are recorded as the body is parsed: jsonarena.c.)
 */
#include "provider/jsonspan.h"

#include "json/jsonarena.h"

int jsonspan_row_raw(const ix_page *page, const ix_row *row, const char **text, size_t *length) {
  (void)page; /* the span lives in the row; the page is the body's owner */
  if (!row->raw) return 0;
  *text = row->raw;
  *length = row->raw_length;
  return 1;
}

int jsonspan_ends_early(const char *body, size_t body_len) {
  const char *p = body ? body : "", *end = p + (body ? body_len : 0);
  while (p < end && (unsigned char)*p <= 0x20) p++;
  if (p == end) return 1;
  if (*p != '{' && *p != '[') return 0;
  /* Depth alone decides: a document that is not JSON is parse_page's to report. */
  long long depth = 0;
  while (p < end) {
    if (*p == '"') {
      p = jsonarena_string_close(p + 1, end);
      if (!p) return 1;
      p++;
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
