/*
 * Memory limits under hostile answers: see memlimits.h.
 */
#include "memlimits.h"

#include <cjson/cJSON.h>

#include "provider.h"

/* malloc's own bookkeeping and rounding, per allocation (glibc: 8 bytes, 16-byte chunks). */
#define LIMITS_MALLOC_OVERHEAD 16
#define LIMITS_TRANSIENT 256

size_t memlimits_json_cost(const char *body, size_t length) {
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
  size_t node_cost = sizeof(cJSON) + LIMITS_MALLOC_OVERHEAD;
  /* Each object may become a row; the row array doubles as it grows. */
  size_t row_cost = 2 * sizeof(ix_row);
  /* Plus the short-lived copy cJSON makes of the number it is reading. */
  return nodes * node_cost + objects * row_cost + strings * (1 + LIMITS_MALLOC_OVERHEAD + 15) +
         string_bytes + LIMITS_TRANSIENT;
}
