/*
 * Whole number settings: see numbers.h.
 */
#include "settings/numbers.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The range of every whole number setting. Limits that 0 would switch off (a timeout, a page cap)
 * start at 1: curl reads a 0 timeout as none, and a statement without limits could wait forever.
 * The upper ends keep every deadline computed from them far from overflow. */
typedef struct numbers_range_def {
  const char *key;
  long long minimum;
  long long maximum;
} numbers_range_def;

#define IX_ONE_DAY_MS 86400000LL

static const numbers_range_def numbers_range_defs[] = {
    {"timeout_ms", 1, IX_ONE_DAY_MS},
    {"connect_timeout_ms", 1, IX_ONE_DAY_MS},
    {"stall_timeout_ms", 1, IX_ONE_DAY_MS},
    {"max_retries", 0, 100},
    {"retry_base_ms", 0, 3600000},
    {"retry_budget_ms", 0, IX_ONE_DAY_MS},
    {"cache_ttl", 0, 31536000}, /* a year, in seconds */
    {"max_concurrency", 1, 64},
    {"page_size", 0, 1000000}, /* 0, like unset, asks for the API's maximum */
    {"max_pages", 1, 1000000},
    {"max_response_bytes", 1, 2147483647}, /* SQLite's largest string */
};

/* Vendor numbers without a row above (Optimove's window_days). */
#define IX_DEFAULT_MAXIMUM 1000000

void numbers_range(const char *key, int is_switch, long long *minimum, long long *maximum) {
  *minimum = 0;
  *maximum = is_switch ? 1 : IX_DEFAULT_MAXIMUM;
  for (size_t i = 0; i < sizeof(numbers_range_defs) / sizeof(numbers_range_defs[0]); i++) {
    if (strcmp(numbers_range_defs[i].key, key) == 0) {
      *minimum = numbers_range_defs[i].minimum;
      *maximum = numbers_range_defs[i].maximum;
    }
  }
}

int numbers_parse_whole(const char *text, long long minimum, long long maximum, long long *out) {
  if (!text || !isdigit((unsigned char)*text)) return -1; /* no sign, space, "nan" or "inf" */
  for (const char *p = text; *p; p++) {
    if (!isdigit((unsigned char)*p)) return -1;
  }
  errno = 0;
  long long number = strtoll(text, NULL, 10);
  if (errno == ERANGE || number < minimum || number > maximum) return -1;
  *out = number;
  return 0;
}

/* A size in MiB: digits with at most one decimal point (fractions let tests fill a cache with a
 * few answers), nothing else: no sign, exponent, "nan" or "inf". */
static int numbers_parse_megabytes(const char *text, double maximum) {
  int points = 0, digits = 0;
  for (const char *p = text; *p; p++) {
    if (*p == '.') {
      points++;
    } else if (isdigit((unsigned char)*p)) {
      digits++;
    } else {
      return -1;
    }
  }
  if (!digits || points > 1) return -1;
  return strtod(text, NULL) <= maximum ? 0 : -1;
}

int numbers_check_process(char *problem, size_t size) {
  static const struct {
    const char *variable;
    double maximum;
    int whole;
  } process_numbers[] = {
      {"INTERACTIONS_CACHE_MB", 1024.0 * 1024, 0},
      {"INTERACTIONS_CACHE_DISK_MB", 1024.0 * 1024 * 1024, 0},
      {"INTERACTIONS_REQUEST_LOG_SIZE", 1000000, 1},
  };
  for (size_t i = 0; i < sizeof(process_numbers) / sizeof(process_numbers[0]); i++) {
    const char *text = getenv(process_numbers[i].variable);
    if (!text || !*text) continue; /* an empty variable counts as unset, like every setting */
    long long whole;
    int bad = process_numbers[i].whole
                  ? numbers_parse_whole(text, 1, (long long)process_numbers[i].maximum, &whole)
                  : numbers_parse_megabytes(text, process_numbers[i].maximum);
    if (!bad) continue;
    snprintf(problem, size, "%s must be %s from %s to %.0f, got '%.64s'",
             process_numbers[i].variable,
             process_numbers[i].whole ? "a whole number" : "a number of MiB (a fraction is fine)",
             process_numbers[i].whole ? "1" : "0", process_numbers[i].maximum, text);
    return -1;
  }
  return 0;
}
