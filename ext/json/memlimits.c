/*
 * Memory limits under hostile answers: see memlimits.h.
 */
#include "json/memlimits.h"

#include <cjson/cJSON.h>

/* malloc's own bookkeeping and rounding, per allocation (glibc: 8 bytes, 16-byte chunks). */
#define LIMITS_MALLOC_OVERHEAD 16
#define LIMITS_TRANSIENT 256

#define LIMITS_NODE_COST (sizeof(cJSON) + LIMITS_MALLOC_OVERHEAD)
/* Each object may become a row of row_bytes; the row array doubles as it grows. */
#define LIMITS_ROW_COST(row_bytes) (2 * (row_bytes))
/* A string's own allocation: its NUL, malloc's overhead, and the short-lived copy cJSON makes of
 * the number it is reading. */
#define LIMITS_STRING_COST (1 + LIMITS_MALLOC_OVERHEAD + 15)

size_t memlimits_json_cost(const char *body, size_t length, size_t row_bytes) {
  /* Every value but the first follows a comma or opens a container, so this over-counts nodes
   * only for empty containers. Keys and string values are copied into their own allocations. */
  size_t nodes = 1, objects = 0, strings = 0, string_bytes = 0;
  int in_string = 0;
  for (size_t i = 0; i < length; i++) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        i++;
        string_bytes++;
      } else if (c == '"') {
        in_string = 0;
      } else {
        string_bytes++;
      }
      continue;
    }
    if (c == '"') {
      in_string = 1;
      strings++;
    } else if (c == '{' || c == '[' || c == ',') {
      nodes++;
      objects += c == '{';
    }
  }
  return nodes * LIMITS_NODE_COST + objects * LIMITS_ROW_COST(row_bytes) +
         strings * LIMITS_STRING_COST + string_bytes + LIMITS_TRANSIENT;
}

int memlimits_json_within(const char *body, size_t length, size_t row_bytes, size_t budget) {
  /* No byte costs more than a '{' (a node and a row); a '"' costs a string, and a string byte
   * one byte. So (length + 1) times that, plus the constant, bounds the scan's answer. */
  size_t per_byte = LIMITS_NODE_COST + LIMITS_ROW_COST(row_bytes);
  if (LIMITS_STRING_COST > per_byte) per_byte = LIMITS_STRING_COST;
  if (length < ((size_t)-1 - LIMITS_TRANSIENT) / per_byte - 1 &&
      (length + 1) * per_byte + LIMITS_TRANSIENT <= budget) {
    return 1;
  }
  return memlimits_json_cost(body, length, row_bytes) <= budget;
}
