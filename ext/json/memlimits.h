/*
 * Memory limits under hostile answers: what a body costs to parse, and how long a cursor may be.
 *
 * A body is capped at max_response_bytes while it arrives (http.c), but cJSON spends far more
 * than the body on some shapes: each value is a node of about 80 bytes with malloc's overhead, so
 * a 10 MB body of "[{},{},...]" is 3.3 million nodes, a quarter of a gigabyte, plus the row array.
 * Before a body is parsed, one pass counts what the parse would allocate; a body whose parse
 * would cost more than twice max_response_bytes is refused (with the body itself, peak memory
 * stays within about three times the setting).
 */
#ifndef IX_MEMLIMITS_H
#define IX_MEMLIMITS_H

#include <stddef.h>

/* A next-page cursor longer than this is refused (it would be sent back in every URL). */
#define IX_MAX_CURSOR_BYTES 65536
/* What a body may cost to parse, as a multiple of max_response_bytes. */
#define IX_PARSE_BUDGET_FACTOR 2

/* Bytes cJSON and the row array would allocate for body (an upper estimate for any body,
 * valid JSON or not), each object becoming a row of row_bytes (the caller's sizeof(ix_row): this
 * layer knows nothing of pages). */
size_t memlimits_json_cost(const char *body, size_t length, size_t row_bytes);

/* Whether memlimits_json_cost(body, length, row_bytes) <= budget. A body short enough that no shape of it
 * could exceed the budget is not scanned (most pages: the scan is then pure cost). */
int memlimits_json_within(const char *body, size_t length, size_t row_bytes, size_t budget);

#endif
