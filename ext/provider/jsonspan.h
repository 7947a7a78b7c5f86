/*
 * A response body's bytes where the tree is not enough: a row's own text (raw is the vendor's
 * bytes, not a re-print; its span is recorded by the parse, jsonarena.h), and whether a body stops
 * before its JSON document does. Engine only.
 */
#ifndef IX_JSONSPAN_H
#define IX_JSONSPAN_H

#include <stddef.h>

#include "provider/provider.h"

/* The vendor's own bytes for the row's item: 1 with text and length set, 0 when unknown (an item
 * the provider did not take from the page's parse). Not NUL-terminated. */
int jsonspan_row_raw(const ix_page *page, const ix_row *row, const char **text, size_t *length);

/* 1 when body holds no JSON at all (empty or only whitespace), or stops inside an object, an array
 * or a string: the connection closed early, and the same request is worth sending again. 0 for a
 * whole document, and for text that is not JSON (an HTML page is a different error). */
int jsonspan_ends_early(const char *body, size_t body_len);

#endif
