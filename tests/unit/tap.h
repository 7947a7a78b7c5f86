/*
** tap.h: a tiny Test Anything Protocol helper for the C unit tests, so `prove` can run them.
**
**   plan(3);                        (optional; without it done_testing() prints the plan last)
**   ok(x > 0, "x is positive (x=%d)", x);
**   is_str(got, "2025-04-14", "date only is unchanged");
**   is_int(len, 10, "length");
**   diag("TZDIR=%s", dir);          (a "# " comment on stdout)
**   skip(2, "no zoneinfo");         (counts as passed)
**   return done_testing();          (0 when every test passed and the plan was met)
**
** Header-only with static state: include it from exactly one file per test program.
*/
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define TAP_PRINTF(format_index, first_arg) __attribute__((format(printf, format_index, first_arg)))
#else
#define TAP_PRINTF(format_index, first_arg)
#endif

static int tap_planned = -1; /* -1 until plan() */
static int tap_run;
static int tap_failed;

static inline void plan(int count) {
  tap_planned = count;
  printf("1..%d\n", count);
  fflush(stdout);
}

static inline TAP_PRINTF(1, 2) void diag(const char *format, ...) {
  va_list args;
  va_start(args, format);
  printf("# ");
  vprintf(format, args);
  printf("\n");
  va_end(args);
  fflush(stdout);
}

static inline void tap_report(int passed, const char *format, va_list args) {
  tap_run++;
  if (!passed) {
    tap_failed++;
  }
  printf("%s %d - ", passed ? "ok" : "not ok", tap_run);
  vprintf(format, args);
  printf("\n");
  fflush(stdout);
}

static inline TAP_PRINTF(2, 3) int ok(int passed, const char *format, ...) {
  va_list args;
  va_start(args, format);
  tap_report(passed, format, args);
  va_end(args);
  return passed;
}

static inline TAP_PRINTF(3, 4) int is_str(const char *got, const char *want, const char *format,
                                          ...) {
  int passed =
      (got == NULL && want == NULL) || (got != NULL && want != NULL && strcmp(got, want) == 0);
  va_list args;
  va_start(args, format);
  tap_report(passed, format, args);
  va_end(args);
  if (!passed) {
    diag("  got:      %s%s%s", got ? "'" : "", got ? got : "NULL", got ? "'" : "");
    diag("  expected: %s%s%s", want ? "'" : "", want ? want : "NULL", want ? "'" : "");
  }
  return passed;
}

static inline TAP_PRINTF(3, 4) int is_int(long long got, long long want, const char *format, ...) {
  int passed = got == want;
  va_list args;
  va_start(args, format);
  tap_report(passed, format, args);
  va_end(args);
  if (!passed) {
    diag("  got:      %lld", got);
    diag("  expected: %lld", want);
  }
  return passed;
}

static inline void skip(int count, const char *reason) {
  for (int i = 0; i < count; i++) {
    tap_run++;
    printf("ok %d # SKIP %s\n", tap_run, reason);
  }
  fflush(stdout);
}

/* Prints the plan if none was given and returns the process exit status. */
static inline int done_testing(void) {
  if (tap_planned < 0) {
    printf("1..%d\n", tap_run);
  } else if (tap_planned != tap_run) {
    diag("planned %d tests but ran %d", tap_planned, tap_run);
    return 1;
  }
  if (tap_failed > 0) {
    diag("failed %d of %d tests", tap_failed, tap_run);
  }
  fflush(stdout);
  return tap_failed > 0 ? 1 : 0;
}

#endif /* TAP_H */
