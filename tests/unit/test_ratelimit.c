/*
 * Unit tests for ext/ratelimit.c: the sliding window is exact (never more than N starts in any W),
 * pauses hold every caller, parsing of "N/W" forms.
 */
#include "ratelimit.h"

#include "tap.h"

/* Drives a limiter with a fake clock: every 7 ms someone wants to start a request. Returns the
 * largest number of starts seen in any window of window_ms. */
static int busiest_window(rate_limiter *limiter, long long window_ms, long long *starts,
                          int count) {
  int started = 0;
  for (long long now = 0; started < count; now += 7) {
    if (rate_limiter_reserve(limiter, now, NULL) == 0) starts[started++] = now;
  }
  int busiest = 0;
  for (int i = 0; i < count; i++) {
    int in_window = 0;
    for (int j = i; j < count && starts[j] < starts[i] + window_ms; j++) in_window++;
    if (in_window > busiest) busiest = in_window;
  }
  return busiest;
}

int main(void) {
  int max_requests = 0;
  long long window_ms = 0;
  ok(rate_limit_parse("50/10s", &max_requests, &window_ms) == 0 && max_requests == 50 &&
         window_ms == 10000,
     "50/10s");
  ok(rate_limit_parse("100/60s", &max_requests, &window_ms) == 0 && window_ms == 60000, "100/60s");
  ok(rate_limit_parse("5/250ms", &max_requests, &window_ms) == 0 && window_ms == 250, "5/250ms");
  ok(rate_limit_parse("1000/1m", &max_requests, &window_ms) == 0 && window_ms == 60000, "1000/1m");
  ok(rate_limit_parse("3/2", &max_requests, &window_ms) == 0 && window_ms == 2000, "bare seconds");
  ok(rate_limit_parse("0/1s", &max_requests, &window_ms) != 0, "zero requests refused");
  ok(rate_limit_parse("fast", &max_requests, &window_ms) != 0, "words refused");
  ok(rate_limit_parse("5/1parsec", &max_requests, &window_ms) != 0, "unknown unit refused");
  ok(rate_limit_parse("5/-1s", &max_requests, &window_ms) != 0, "negative window refused");
  ok(rate_limit_parse(NULL, &max_requests, &window_ms) != 0, "NULL refused");

  rate_limiter *limiter = rate_limiter_get("unit|a", 3, 1000);
  ok(limiter != NULL, "limiter created");
  is_int(rate_limiter_reserve(limiter, 0, NULL), 0, "1st at 0 starts");
  is_int(rate_limiter_reserve(limiter, 10, NULL), 0, "2nd at 10 starts");
  is_int(rate_limiter_reserve(limiter, 20, NULL), 0, "3rd at 20 starts");
  is_int(rate_limiter_reserve(limiter, 30, NULL), 970,
         "4th at 30 waits until the 1st is 1000 ms old");
  is_int(rate_limiter_reserve(limiter, 999, NULL), 1, "still 1 ms at 999");
  is_int(rate_limiter_reserve(limiter, 1000, NULL), 0, "starts at 1000");
  is_int(rate_limiter_reserve(limiter, 1000, NULL), 10, "the next waits for the 2nd to age");
  ok(rate_limiter_get("unit|a", 3, 1000) == limiter, "the same scope is the same limiter");
  ok(rate_limiter_get("unit|b", 3, 1000) != limiter, "another scope is another limiter");

  rate_limiter *paused = rate_limiter_get("unit|paused", 100, 1000);
  rate_limiter_pause(paused, 5000);
  is_int(rate_limiter_reserve(paused, 1000, NULL), 4000, "a pause holds a limiter with room");
  rate_limiter_pause(paused, 3000);
  is_int(rate_limiter_reserve(paused, 1000, NULL), 4000, "a shorter pause does not shorten it");
  is_int(rate_limiter_reserve(paused, 5000, NULL), 0, "after the pause it starts");

  long long starts[500];
  rate_limiter *optimove = rate_limiter_get("unit|optimove", 50, 10000);
  is_int(busiest_window(optimove, 10000, starts, 500), 50,
         "Optimove 50/10s: never more than 50 in any 10 s (a bucket would allow 100)");
  is_int(starts[49], 49 * 7, "the first 50 go at once (burst)");
  ok(starts[50] >= 10000, "the 51st waits for the window (started at %lld)", starts[50]);

  /* A request holds its slot until it completes: the window runs from its completion, which is
   * never before the vendor saw it arrive. */
  rate_limiter *slow = rate_limiter_get("unit|slow", 2, 1000);
  rate_ticket first, second;
  is_int(rate_limiter_reserve(slow, 0, &first), 0, "1st starts at 0 and stays pending");
  is_int(rate_limiter_reserve(slow, 5, &second), 0, "2nd starts at 5");
  ok(rate_limiter_reserve(slow, 2000, NULL) > 0, "a 3rd waits while the 1st is still running");
  rate_limiter_done(slow, &first, 800);
  is_int(rate_limiter_reserve(slow, 1500, NULL), 300, "then waits for 1000 ms after it completed");
  is_int(rate_limiter_reserve(slow, 1800, NULL), 0, "and starts at 1800");
  rate_limiter_done(slow, &second, 1900);
  ok(rate_limiter_reserve(slow, 2000, NULL) > 0, "the 4th waits for the 2nd's completion + W");
  is_int(rate_limiter_reserve(slow, 2900, NULL), 0, "and starts at 2900, in the 2nd's slot");
  rate_limiter_done(slow, &second, 9000); /* stale: that slot belongs to the 4th now */
  is_int(rate_limiter_reserve(slow, 3000, NULL), 0, "the 5th starts at 3000 (3rd's slot, 1800)");
  is_int(rate_limiter_reserve(slow, 3900, NULL), 0,
         "the 6th at 3900: a stale ticket did not move the 4th's time to 9000");

  rate_limiter *resized = rate_limiter_get("unit|resized", 5, 1000);
  for (int i = 0; i < 5; i++) rate_limiter_reserve(resized, i, NULL);
  resized = rate_limiter_get("unit|resized", 2, 1000);
  ok(rate_limiter_reserve(resized, 10, NULL) > 0, "shrinking keeps the newest starts");
  resized = rate_limiter_get("unit|resized", 10, 1000);
  is_int(rate_limiter_reserve(resized, 10, NULL), 0, "growing makes room");
  return done_testing();
}
