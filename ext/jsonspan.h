/*
 * Reading a response body's bytes where cJSON's tree is not enough: the span of each row item (raw
 * is the vendor's own text, not a re-print), the digits of integers a double rounds, and whether a
 * body stops before its JSON document does. Engine only.
 */
#ifndef IX_JSONSPAN_H
#define IX_JSONSPAN_H

#include <stddef.h>

#include "provider.h"

/* After parse_page: walks body (the text page->root was parsed from) and the tree in parallel,
 * once, and records each row item's byte span, and the exact digits of every integer whose
 * magnitude a double cannot hold exactly (2^53 and beyond). The body must outlive the page's rows
 * (the engine hands it to page->body). Returns SQLITE_OK, or SQLITE_NOMEM. */
int ix_page_index_body(ix_page *page, const char *body, size_t body_len);

/* ix_page_index_body over the page's own body, once per page: call before reading a row's column
 * or identity. Returns SQLITE_OK, or SQLITE_NOMEM. */
int ix_page_index_spans(ix_page *page);

/* The vendor's own bytes for the row's item: 1 with text and length set, 0 when unknown (the page
 * was not indexed). Not NUL-terminated. */
int ix_row_raw(const ix_page *page, const ix_row *row, const char **text, size_t *length);

/* 1 when body holds no JSON at all (empty or only whitespace), or stops inside an object, an array
 * or a string: the connection closed early, and the same request is worth sending again. 0 for a
 * whole document, and for text that is not JSON (an HTML page is a different error). */
int ix_json_ends_early(const char *body, size_t body_len);

#endif
