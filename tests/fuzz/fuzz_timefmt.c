/*
 * fuzz_timefmt: ext/util/timefmt.c, which turns every vendor timestamp into occurred_at.
 *
 * Each input is converted by timefmt_to_utc (exactly its bytes, not NUL-terminated) with no zone,
 * the fixed zone "+05:30" and "Europe/London" (both loaded once), and is also tried as a timezone
 * option with timefmt_zone_load (the `timezone` setting comes from SQL or the environment).
 *
 * Invariants (abort() on violation):
 *   - the result is -1 with out == "", or 10, 19 or 23 with out NUL-terminated at that length and
 *     shaped YYYY-MM-DD[ HH:MM:SS[.SSS]] with fields in range (month 1-12, a day that exists,
 *     hour < 24, minute and second < 60, year 0001-9999);
 *   - the result is a fixed point: converting it again (UTC) gives the same text;
 *   - a zone moves a time by its offset or not at all (when the text carried its own): +05:30
 *     gives the UTC result or 5h30 earlier, Europe/London the same or 0/1 hour earlier; a date
 *     alone is never moved;
 *   - a zone name that loads keeps its name, converts an ordinary time, and frees cleanly; one
 *     that does not load says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "util/timefmt.h"

static timefmt_zone *fuzz_fixed;  /* "+05:30" */
static timefmt_zone *fuzz_london; /* "Europe/London" */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  char *error = NULL;
  fuzz_fixed = timefmt_zone_load("+05:30", &error);
  FUZZ_CHECK(fuzz_fixed != NULL);
  fuzz_london = timefmt_zone_load("Europe/London", &error);
  if (!fuzz_london) fprintf(stderr, "fuzz_timefmt: Europe/London: %s (tzdata?)\n", error);
  FUZZ_CHECK(fuzz_london != NULL);
  return 0;
}

static int fuzz_digit(char c) {
  return c >= '0' && c <= '9';
}

static unsigned fuzz_number(const char *at, int width) {
  unsigned value = 0;
  for (int i = 0; i < width; i++) value = value * 10 + (unsigned)(at[i] - '0');
  return value;
}

/* Checks the shape and ranges of a result; returns seconds since 0001-01-01 (for comparisons). */
static long long fuzz_check_result(int length, const char out[TIMEFMT_MAX]) {
  if (length < 0) {
    FUZZ_CHECK(length == -1 && out[0] == '\0');
    return -1;
  }
  FUZZ_CHECK(length == 10 || length == 19 || length == 23);
  FUZZ_CHECK(memchr(out, '\0', TIMEFMT_MAX) != NULL && strlen(out) == (size_t)length);
  static const char shape[] = "DDDD-DD-DD DD:DD:DD.DDD";
  for (int i = 0; i < length; i++) {
    FUZZ_CHECK(shape[i] == 'D' ? fuzz_digit(out[i]) : out[i] == shape[i]);
  }
  unsigned year = fuzz_number(out, 4), month = fuzz_number(out + 5, 2),
           day = fuzz_number(out + 8, 2);
  FUZZ_CHECK(year >= 1 && month >= 1 && month <= 12 && day >= 1);
  static const unsigned month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  FUZZ_CHECK(day <= month_days[month - 1] && !(month == 2 && day == 29 && !leap));
  long long days = timefmt_days_from_civil((int)year, month, day);
  if (length == 10) return days * 86400;
  unsigned hour = fuzz_number(out + 11, 2), minute = fuzz_number(out + 14, 2),
           second = fuzz_number(out + 17, 2);
  FUZZ_CHECK(hour < 24 && minute < 60 && second < 60);
  return days * 86400 + hour * 3600LL + minute * 60LL + second;
}

/* Converting a result again must give it back unchanged. */
static void fuzz_check_fixed_point(int length, const char out[TIMEFMT_MAX]) {
  if (length < 0) return;
  char again[TIMEFMT_MAX];
  int again_length = timefmt_to_utc(out, (size_t)length, NULL, again);
  FUZZ_CHECK(again_length == length && strcmp(again, out) == 0);
}

/* A zone either left the time alone (the text carried an offset, or it is a date) or moved it by
 * one of its offsets; results compare equal in fraction and kind. */
static void fuzz_check_shift(int utc_length, const char *utc, long long utc_seconds,
                             int zoned_length, const char *zoned, long long zoned_seconds,
                             const long long *offsets, int offset_count) {
  if (utc_length < 0 || zoned_length < 0) return; /* a shift may push one out of 1..9999 */
  FUZZ_CHECK(utc_length == zoned_length);
  if (utc_length == 10) {
    FUZZ_CHECK(strcmp(utc, zoned) == 0);
    return;
  }
  if (utc_length == 23) FUZZ_CHECK(strcmp(utc + 19, zoned + 19) == 0);
  long long shift = utc_seconds - zoned_seconds;
  int known = shift == 0;
  for (int i = 0; i < offset_count; i++) known |= shift == offsets[i];
  if (!known) {
    fprintf(stderr, "fuzz_timefmt: UTC gives '%s' but a zone gives '%s'\n", utc, zoned);
    FUZZ_CHECK(known);
  }
}

static void fuzz_zone_name(const uint8_t *data, size_t size) {
  if (size == 0 || size > 160 || memchr(data, '\0', size)) return;
  char name[161];
  memcpy(name, data, size);
  name[size] = '\0';
  char *error = NULL;
  timefmt_zone *zone = timefmt_zone_load(name, &error);
  if (!zone) {
    FUZZ_CHECK(error != NULL && *error);
    free(error);
    return;
  }
  FUZZ_CHECK(error == NULL);
  FUZZ_CHECK(strcmp(timefmt_zone_name(zone), name) == 0);
  char out[TIMEFMT_MAX];
  static const char sample[] = "2025-03-30 01:30:00";
  int length = timefmt_to_utc(sample, sizeof(sample) - 1, zone, out);
  FUZZ_CHECK(length == 19);
  fuzz_check_result(length, out);
  timefmt_zone_free(zone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Exactly the input's bytes on the heap: ASan sees any read past len. */
  char *text = malloc(size ? size : 1);
  FUZZ_CHECK(text != NULL);
  if (size) memcpy(text, data, size);

  char utc[TIMEFMT_MAX], fixed[TIMEFMT_MAX], london[TIMEFMT_MAX];
  memset(utc, 'x', sizeof(utc));
  memset(fixed, 'x', sizeof(fixed));
  memset(london, 'x', sizeof(london));
  int utc_length = timefmt_to_utc(text, size, NULL, utc);
  int fixed_length = timefmt_to_utc(text, size, fuzz_fixed, fixed);
  int london_length = timefmt_to_utc(text, size, fuzz_london, london);
  free(text);

  long long utc_seconds = fuzz_check_result(utc_length, utc);
  long long fixed_seconds = fuzz_check_result(fixed_length, fixed);
  long long london_seconds = fuzz_check_result(london_length, london);
  fuzz_check_fixed_point(utc_length, utc);
  fuzz_check_fixed_point(fixed_length, fixed);
  fuzz_check_fixed_point(london_length, london);

  static const long long fixed_offsets[] = {5 * 3600 + 30 * 60};
  fuzz_check_shift(utc_length, utc, utc_seconds, fixed_length, fixed, fixed_seconds, fixed_offsets,
                   1);
  /* London has been GMT (0), BST (+1), BDST (+2) and, before 1847, LMT (-0:01:15). */
  static const long long london_shifts[] = {3600, 7200, -75};
  fuzz_check_shift(utc_length, utc, utc_seconds, london_length, london, london_seconds,
                   london_shifts, 3);

  fuzz_zone_name(data, size);
  return 0;
}
