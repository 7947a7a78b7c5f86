/*
 * The windows a request must fit in: parsing, sharing, the pause cap. See window.h.
 */
#include "limit/window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int rate_window_parse(const char *text, rate_window *window) {
  char *end = NULL;
  long count = strtol(text, &end, 10);
  if (end == text || *end != '/' || count < 1 || count > RATE_MAX_REQUESTS) return -1;
  const char *amount_text = end + 1;
  /* Digits and a point only: strtod alone would also read a sign, "nan", "inf", "1e999" and
   * "0x1p3", and a NaN window passes every comparison below, becoming a wait of hundreds of
   * millions of years. */
  size_t digits = strspn(amount_text, "0123456789.");
  char number[32];
  if (digits == 0 || digits >= sizeof(number)) return -1;
  memcpy(number, amount_text, digits);
  number[digits] = '\0';
  double amount = strtod(number, &end);
  if (*end || !isfinite(amount) || !(amount > 0)) return -1;
  const char *unit = amount_text + digits;
  double scale;
  if (strcmp(unit, "ms") == 0) {
    scale = 1;
  } else if (strcmp(unit, "s") == 0 || *unit == '\0') {
    scale = 1000;
  } else if (strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0) {
    scale = 60000;
  } else if (strcmp(unit, "h") == 0) {
    scale = 3600000;
  } else {
    return -1;
  }
  double milliseconds = amount * scale;
  if (milliseconds < 1 || milliseconds > 86400000.0) return -1;
  window->max_requests = (int)count;
  window->window_ms = (long long)milliseconds;
  return 0;
}

int rate_limit_parse(const char *text, rate_limit *limit) {
  if (!text) return -1;
  rate_limit parsed = {0};
  const char *start = text;
  for (;;) {
    const char *comma = strchr(start, ',');
    size_t length = comma ? (size_t)(comma - start) : strlen(start);
    while (length > 0 && *start == ' ') start++, length--;
    while (length > 0 && start[length - 1] == ' ') length--;
    char piece[64];
    if (length == 0 || length >= sizeof(piece) || parsed.count == RATE_MAX_WINDOWS) return -1;
    memcpy(piece, start, length);
    piece[length] = '\0';
    if (rate_window_parse(piece, &parsed.windows[parsed.count]) != 0) return -1;
    parsed.count++;
    if (!comma) break;
    start = comma + 1;
  }
  *limit = parsed;
  return 0;
}

long long rate_limit_longest_ms(const rate_limit *limit) {
  long long longest = 0;
  for (int i = 0; i < limit->count; i++) {
    if (limit->windows[i].window_ms > longest) longest = limit->windows[i].window_ms;
  }
  return longest;
}

void rate_limit_share(rate_limit *limit, double share) {
  if (!(share > 0) || share >= 1) return;
  for (int i = 0; i < limit->count; i++) {
    int count = (int)((double)limit->windows[i].max_requests * share);
    limit->windows[i].max_requests = count < 1 ? 1 : count;
  }
}

long long rate_limit_shortest_ms(const rate_limit *limit) {
  long long shortest = 0;
  for (int i = 0; i < limit->count; i++) {
    if (!shortest || limit->windows[i].window_ms < shortest) shortest = limit->windows[i].window_ms;
  }
  return shortest;
}

long long rate_pause_cap_ms(const rate_limit *limit) {
  return rate_limit_longest_ms(limit) + RATE_RETRY_AFTER_CAP_MS;
}
