/*
 * Unit tests for the progress line's estimate (ext/observe/progress.c, progress_left_ms). Under a
 * rate limit the estimate from the pace so far jumped (issue 23: 261 customers at 100 a minute
 * said 48 s left, then 82 s five seconds later): the first 100 go in a few seconds, then every
 * request waits for the window. The estimate now never goes below what the windows allow, and
 * counts the time spent waiting for them apart from the work.
 */
#include "observe/progress.h"

#include <string.h>

#include "tap.h"

/* A statement of `total` customers started at 1000 ms, with `done` handed over and requested. */
static progress_state statement(long long total, long long done) {
  progress_state progress;
  memset(&progress, 0, sizeof(progress));
  progress.started_ms = 1000;
  progress.total_known = 1;
  progress.customers_total = total;
  progress.customers = done;
  progress.requests = done;
  return progress;
}

int main(void) {
  /* No rate limit: the pace so far. 10 of 40 in 5 s leaves 15 s. */
  progress_state plain = statement(40, 10);
  is_int((int)progress_left_ms(&plain, 6000), 15000, "no limit: the pace so far");

  /* 261 at 100/min: the first 100 in 5 s, then the limiter. */
  progress_state limited = statement(261, 100);
  progress_limit(&limited, 0, 100, 60000);
  long long at_5s = progress_left_ms(&limited, 6000);
  ok(at_5s >= 115000, "100 of 261 done in 5 s at 100/min: at least two more windows (%lld ms)",
     at_5s);
  /* Waiting for the window: each second of waiting takes a second off, never adds. */
  limited.waiting_for = "the rate limit";
  limited.waiting_since = 6000;
  limited.waiting_until = 61000;
  long long previous = at_5s, worst_rise = 0;
  for (long long now = 7000; now <= 61000; now += 1000) {
    long long left = progress_left_ms(&limited, now);
    if (left - previous > worst_rise) worst_rise = left - previous;
    previous = left;
  }
  is_int((int)worst_rise, 0, "while waiting for the window the estimate never rises");
  /* The second window opens at 61 s: the 101st customer goes; two windows' worth is left. */
  limited.waiting_for = NULL;
  limited.limit_waited_ms = 55000;
  limited.customers = limited.requests = 101;
  long long at_61s = progress_left_ms(&limited, 62000);
  ok(at_61s >= 59000 && at_61s <= previous + 1000,
     "after the wait: one more window at least, and no jump (%lld ms, was %lld)", at_61s, previous);

  /* Two windows: the longer floor wins. 50 of 120 at 50/10s and 100/1h. */
  progress_state two = statement(120, 50);
  progress_limit(&two, 0, 50, 10000);
  progress_limit(&two, 1, 100, 3600000);
  ok(progress_left_ms(&two, 3000) >= 3600000 - 2000, "the hour's window is the floor");

  /* Unknown: a join (no total), nothing done yet, or all done. */
  progress_state join = statement(0, 5);
  join.total_known = 0;
  is_int((int)progress_left_ms(&join, 5000), -1, "a join: no estimate");
  progress_state none = statement(10, 0);
  is_int((int)progress_left_ms(&none, 5000), -1, "nothing done: no estimate");

  /* The hint: the key's IN form with the join's column, "..." where the SQL did not say it, and
   * on SQLite 3.37 (no IN list whole) the upgrade, not the form the user already wrote. */
  char text[1024];
  joinsql_match found = {"external_id", "crm"}, nothing = {"", ""};
  progress_hint_text(text, sizeof(text), "external_id", &found, 3040001, "3.40.1", 16);
  is_str(text,
         "20 customers fetched one at a time (a join's nested loop); WHERE external_id IN (SELECT "
         "external_id FROM crm ...) fetches max_concurrency (16) at once (INTERACTIONS_QUIET=1 "
         "hides this)",
         "the hint names the key and the join's column and table");
  progress_hint_text(text, sizeof(text), "customer_id", &nothing, 3038000, "3.38.0", 8);
  is_str(text,
         "20 customers fetched one at a time (a join's nested loop); WHERE customer_id IN (SELECT "
         "... FROM your_table) fetches max_concurrency (8) at once (INTERACTIONS_QUIET=1 hides "
         "this)",
         "without the join's column: ...");
  progress_hint_text(text, sizeof(text), "mobile", &found, 3037002, "3.37.2", 16);
  is_str(text,
         "20 customers fetched one at a time (a join's nested loop); SQLite 3.37.2 hands a virtual "
         "table an IN list one value at a time, so WHERE mobile IN (...) would not be faster; "
         "SQLite 3.38 or newer fetches max_concurrency (16) at once (INTERACTIONS_QUIET=1 hides "
         "this)",
         "SQLite 3.37: the upgrade");
  return done_testing();
}
