/*
 * Reading a response body's bytes where cJSON's tree is not enough: the span of each row item (raw
 * is the vendor's own text, not a re-print), the digits of integers a double rounds, and whether a
 * body stops before its JSON document does. ix_page_index_body is declared in vtab.h.
 */
#ifndef IX_JSONSPAN_H
#define IX_JSONSPAN_H

#include <stddef.h>

/* 1 when body holds no JSON at all (empty or only whitespace), or stops inside an object, an array
 * or a string: the connection closed early, and the same request is worth sending again. 0 for a
 * whole document, and for text that is not JSON (an HTML page is a different error). */
int ix_json_ends_early(const char *body, size_t body_len);

#endif
