/*
** test_timefmt.c: unit tests for ext/util/timefmt.c, printing TAP.
**
** Build: gcc -std=c11 -Wall -Wextra -Werror -O1 -g -fsanitize=address,undefined -Iext \
**            ext/util/timefmt.c tests/unit/test_timefmt.c -o /tmp/test_timefmt && /tmp/test_timefmt
**
** Real zones come from the system zoneinfo (expected values were checked against Python's
** zoneinfo, whose fold=0 follows the same gap/overlap rule). Footer-only ("slim") files, the Jn and
** n rule forms, a v1-only file and broken files are built by hand in a temporary TZDIR.
*/
#define _POSIX_C_SOURCE 200809L

#include "tap.h"
#include "util/timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Converts a copy of `input` held in a buffer of exactly its length, with no NUL after it, so
** AddressSanitizer and valgrind catch any read past len. want NULL means "must be rejected". */
static void check_in_zone(const char *input, const timefmt_zone *zone, const char *want,
                          const char *name) {
  size_t len = strlen(input);
  char *exact = malloc(len > 0 ? len : 1);
  char out[TIMEFMT_MAX];
  int rc;
  const char *got;

  if (exact == NULL) {
    ok(0, "%s (out of memory)", name);
    return;
  }
  memcpy(exact, input, len);
  memset(out, 'x', sizeof out);
  rc = timefmt_to_utc(exact, len, zone, out);
  free(exact);
  if (rc < 0) {
    got = out[0] == '\0' ? NULL : "(rejected but out not emptied)";
  } else if ((size_t)rc != strlen(out)) {
    got = "(returned length differs from strlen(out))";
  } else {
    got = out;
  }
  is_str(got, want, "%s: '%s'", name, input);
}

static void check(const char *input, const char *want, const char *name) {
  check_in_zone(input, NULL, want, name);
}

/* Loads a zone that the test expects to exist; a failure is reported and returns NULL. */
static timefmt_zone *load_zone(const char *name) {
  char *err = NULL;
  timefmt_zone *zone = timefmt_zone_load(name, &err);
  if (zone == NULL) {
    diag("cannot load '%s': %s", name, err ? err : "(no message)");
  }
  free(err);
  return zone;
}

/* Returns the error text for a zone that must fail to load ("(loaded)" if it did not fail). */
static char *load_error(const char *name) {
  char *err = NULL;
  timefmt_zone *zone = timefmt_zone_load(name, &err);
  if (zone != NULL) {
    timefmt_zone_free(zone);
    free(err);
    err = malloc(sizeof "(loaded)");
    if (err != NULL) {
      memcpy(err, "(loaded)", sizeof "(loaded)");
    }
  }
  return err;
}

static int error_contains(const char *name, const char *fragment) {
  char *err = load_error(name);
  int found = err != NULL && strstr(err, fragment) != NULL;
  if (!found) {
    diag("error for '%s' was: %s", name, err ? err : "NULL");
  }
  free(err);
  return found;
}

/* ------------------------------------------------------------------------------------------------
** Hand-built TZif files
*/

struct test_type {
  long utoff;
  unsigned char isdst;
};

struct test_tzif {
  char version; /* '\0' for v1 only, '2' for v2 */
  size_t time_count;
  const long long *times;
  const unsigned char *type_of;
  size_t type_count;
  const struct test_type *types;
  size_t leap_count;
  const char *footer; /* v2 only */
};

static void put_be32(FILE *file, uint32_t value) {
  unsigned char bytes[4] = {(unsigned char)(value >> 24), (unsigned char)(value >> 16),
                            (unsigned char)(value >> 8), (unsigned char)value};
  fwrite(bytes, 1, 4, file);
}

static void put_be64(FILE *file, long long value) {
  uint64_t bits = (uint64_t)value;
  put_be32(file, (uint32_t)(bits >> 32));
  put_be32(file, (uint32_t)bits);
}

static void put_header(FILE *file, char version, size_t leap_count, size_t time_count,
                       size_t type_count) {
  static const unsigned char reserved[15] = {0};
  fwrite("TZif", 1, 4, file);
  fputc(version, file);
  fwrite(reserved, 1, sizeof reserved, file);
  put_be32(file, 0); /* isutcnt */
  put_be32(file, 0); /* isstdcnt */
  put_be32(file, (uint32_t)leap_count);
  put_be32(file, (uint32_t)time_count);
  put_be32(file, (uint32_t)type_count);
  put_be32(file, 1); /* charcnt: one empty designation */
}

static void put_block(FILE *file, const struct test_tzif *spec, int time_size) {
  size_t i;
  for (i = 0; i < spec->time_count; i++) {
    if (time_size == 8) {
      put_be64(file, spec->times[i]);
    } else {
      put_be32(file, (uint32_t)spec->times[i]);
    }
  }
  for (i = 0; i < spec->time_count; i++) {
    fputc(spec->type_of[i], file);
  }
  for (i = 0; i < spec->type_count; i++) {
    put_be32(file, (uint32_t)spec->types[i].utoff);
    fputc(spec->types[i].isdst, file);
    fputc(0, file);
  }
  fputc(0, file);
  for (i = 0; i < spec->leap_count; i++) {
    if (time_size == 8) {
      put_be64(file, 78796800LL + (long long)i);
    } else {
      put_be32(file, (uint32_t)(78796800 + i));
    }
    put_be32(file, (uint32_t)(i + 1));
  }
}

static int write_tzif(const char *path, const struct test_tzif *spec) {
  FILE *file = fopen(path, "wb");
  if (file == NULL) {
    return 0;
  }
  if (spec->version == '\0') {
    put_header(file, '\0', spec->leap_count, spec->time_count, spec->type_count);
    put_block(file, spec, 4);
  } else {
    /* A minimal v1 block, as zic -b slim writes, then the real 64-bit data and footer. */
    struct test_tzif v1 = {spec->version, 0, NULL, NULL, 1, spec->types, 0, NULL};
    put_header(file, spec->version, 0, 0, 1);
    put_block(file, &v1, 4);
    put_header(file, spec->version, spec->leap_count, spec->time_count, spec->type_count);
    put_block(file, spec, 8);
    fprintf(file, "\n%s\n", spec->footer);
  }
  return fclose(file) == 0;
}

static int write_bytes(const char *path, const void *bytes, size_t size) {
  FILE *file = fopen(path, "wb");
  if (file == NULL) {
    return 0;
  }
  fwrite(bytes, 1, size, file);
  return fclose(file) == 0;
}

/* ------------------------------------------------------------------------------------------------
** Tests
*/

static void test_civil_helpers(void) {
  int year;
  unsigned month, day;
  long long days, mismatches = 0;
  char today[11];

  is_int(timefmt_days_from_civil(1970, 1, 1), 0, "days_from_civil: 1970-01-01 is day 0");
  is_int(timefmt_days_from_civil(2000, 3, 1), 11017, "days_from_civil: 2000-03-01");
  is_int(timefmt_days_from_civil(1, 1, 1), -719162, "days_from_civil: 0001-01-01");
  timefmt_civil_from_days(-1, &year, &month, &day);
  ok(year == 1969 && month == 12 && day == 31, "civil_from_days(-1) is 1969-12-31 (got %d-%u-%u)",
     year, month, day);

  /* Every day of years 1..9999 must round-trip and follow the previous one. */
  for (days = timefmt_days_from_civil(1, 1, 1); days <= timefmt_days_from_civil(9999, 12, 31);
       days++) {
    timefmt_civil_from_days(days, &year, &month, &day);
    if (timefmt_days_from_civil(year, month, day) != days) {
      mismatches++;
    }
  }
  is_int(mismatches, 0, "civil_from_days and days_from_civil round-trip for years 1..9999");

  timefmt_today_utc(today);
  ok(strlen(today) == 10 && today[4] == '-' && today[7] == '-' && strncmp(today, "2024", 4) >= 0,
     "today_utc looks like a current YYYY-MM-DD (%s)", today);
}

static void test_vendor_formats(void) {
  char out[TIMEFMT_MAX];

  check("2025-04-14 14:23:20", "2025-04-14 14:23:20", "Capillary sent_time");
  check("2012-3-12 11:33:23", "2012-03-12 11:33:23", "Capillary v1.1 unpadded month");
  check("2012-3-2 1:03:23", "2012-03-02 01:03:23", "unpadded day and hour");
  check("2025-04-14T14:23:20", "2025-04-14 14:23:20", "zone-less with T separator");
  check("26-05-2025 15:52:02", "2025-05-26 15:52:02", "Capillary sentDate is day first");
  check("07-03-2025 12:57:06", "2025-03-07 12:57:06", "day first even when both fields <= 12");
  check("2025-04-14T14:23:20Z", "2025-04-14 14:23:20", "Capillary deliveredTime");
  check("2017-11-02T17:49:19.049Z", "2017-11-02 17:49:19.049", "CXengage startTimestamp");
  check("2024-12-27T18:06:00.6960966+00:00", "2024-12-27 18:06:00.696",
        "Which50 DateTimeOffset, 7 digits truncated");
  check("2024-12-27T18:06:00.6960966Z", "2024-12-27 18:06:00.696", "Which50 XML DateTime");
  check("2024-12-28T05:06:00.6960966+11:00", "2024-12-27 18:06:00.696",
        "Which50 +11:00 crosses back a day");
  check("2025-01-01T09:30:00+10:00", "2024-12-31 23:30:00", "+10:00 crosses back a year");
  check("2024-12-31T23:30:00-05:00", "2025-01-01 04:30:00", "-05:00 crosses into a new year");
  check("2025-04-14T14:23:20+0530", "2025-04-14 08:53:20", "+HHMM offset");
  check("2025-03-31T21:00:00-0330", "2025-04-01 00:30:00", "-HHMM offset crosses a month");
  check("2025-04-14T14:23:20+02", "2025-04-14 12:23:20", "+HH offset");
  check("2018-08-20", "2018-08-20", "Optimove date only is unchanged");
  check("2025-04-14T14:23:20.5Z", "2025-04-14 14:23:20.500", "one fraction digit is padded");
  check("2025-04-14T14:23:20.05Z", "2025-04-14 14:23:20.050", "two fraction digits are padded");
  check("2025-12-31T23:59:59.9999999Z", "2025-12-31 23:59:59.999",
        "fraction truncated, never rounded into the next year");

  is_int(timefmt_to_utc("2018-08-20", 10, NULL, out), 10, "date only returns length 10");
  is_int(timefmt_to_utc("2025-04-14 14:23:20", 19, NULL, out), 19,
         "seconds precision returns length 19");
  is_int(timefmt_to_utc("2017-11-02T17:49:19.049Z", 24, NULL, out), 23,
         "millisecond precision returns length 23");
}

static void test_leap_years(void) {
  check("2024-02-29 12:00:00", "2024-02-29 12:00:00", "2024-02-29 exists");
  check("2025-02-29 12:00:00", NULL, "2025-02-29 does not exist");
  check("2000-02-29", "2000-02-29", "2000 is a leap year (divisible by 400)");
  check("1900-02-29", NULL, "1900 is not a leap year (divisible by 100)");
  check("2024-03-01T00:30:00+01:00", "2024-02-29 23:30:00", "offset lands on a leap day");
  check("2023-03-01T00:30:00+01:00", "2023-02-28 23:30:00", "offset lands on Feb 28");
}

static void test_rejections(void) {
  static const char *const rejected[] = {
      "null",
      "",
      "garbage",
      "45837-06-15 02:56:40",
      "2025-13-01 00:00:00",
      "2025-00-10 00:00:00",
      "2025-04-31 00:00:00",
      "2025-04-00",
      "0000-01-01",
      "2025-04-14 24:00:00",
      "2025-04-14 23:60:00",
      "2025-04-14 23:59:60",
      "2025-04-14 14:23:20 ",
      " 2025-04-14 14:23:20",
      "2025-04-14 14:23:20Zjunk",
      "2025-04-14 14:23:20 +0000",
      "2025-04-14 14:23",
      "2025-04-14 14:3:20",
      "2025-04-14 114:23:20",
      "2025-04-14T14:23:20.",
      "2025-04-14T14:23:20+05:3",
      "2025-04-14T14:23:20+5:30",
      "2025-04-14T14:23:20+24:00",
      "2025-04-14T14:23:20+05:60",
      "2025/04/14 14:23:20",
      "26-05-2025",
      "26-05-25 15:52:02",
      "123-04-14 14:23:20",
      "9999-12-31T23:00:00-05:00",
      "0001-01-01T00:30:00+01:00",
  };
  static const char *const reasons[] = {
      "the string null",
      "empty",
      "garbage",
      "vendor sample's 5-digit year",
      "month 13",
      "month 0",
      "April 31",
      "day 0",
      "year 0",
      "hour 24",
      "minute 60",
      "second 60",
      "trailing space",
      "leading space",
      "trailing junk after Z",
      "space before offset",
      "no seconds",
      "one-digit minute",
      "three-digit hour",
      "dot without fraction digits",
      "one-digit offset minute",
      "one-digit offset hour",
      "offset hour 24",
      "offset minute 60",
      "slashes",
      "day-first date without time",
      "two-digit year",
      "three-digit year",
      "conversion leaves year 9999",
      "conversion falls before year 1",
  };
  char out[TIMEFMT_MAX];
  static const char with_nul[] = "2025-04-14\0 14:23:20";

  for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
    check(rejected[i], NULL, reasons[i]);
  }
  is_int(timefmt_to_utc(with_nul, sizeof with_nul - 1, NULL, out), -1,
         "embedded NUL within len is rejected");
  is_int(timefmt_to_utc(NULL, 10, NULL, out), -1, "NULL text is rejected");
}

static void test_length_is_respected(void) {
  static const char with_tail[] = "2025-04-14 14:23:20XYZ";
  char *exact;
  char out[TIMEFMT_MAX];

  is_int(timefmt_to_utc(with_tail, 19, NULL, out), 19, "reads only len bytes of a longer buffer");
  is_str(out, "2025-04-14 14:23:20", "the first 19 bytes are converted");
  is_int(timefmt_to_utc(with_tail, 10, NULL, out), 10, "len 10 reads just the date");
  is_int(timefmt_to_utc(with_tail, 20, NULL, out), -1, "len 20 includes the junk byte");

  /* A heap buffer with no terminating NUL: any read past len is a sanitizer error. */
  exact = malloc(24);
  if (exact == NULL) {
    ok(0, "out of memory");
    return;
  }
  memcpy(exact, "2017-11-02T17:49:19.049Z", 24);
  is_int(timefmt_to_utc(exact, 24, NULL, out), 23, "unterminated heap buffer of exactly len bytes");
  free(exact);
}

static void test_fixed_zones(void) {
  static const char *const utc_names[] = {"UTC", "Z", "GMT", "Etc/UTC", "utc"};
  timefmt_zone *zone;

  for (size_t i = 0; i < sizeof utc_names / sizeof utc_names[0]; i++) {
    zone = load_zone(utc_names[i]);
    check_in_zone("2025-04-14 14:23:20", zone, zone ? "2025-04-14 14:23:20" : "(no zone)",
                  utc_names[i]);
    timefmt_zone_free(zone);
  }

  zone = load_zone("+05:30");
  is_str(zone ? timefmt_zone_name(zone) : NULL, "+05:30", "zone name is kept as given");
  check_in_zone("2025-04-14 14:23:20", zone, "2025-04-14 08:53:20", "fixed +05:30");
  check_in_zone("2017-11-02T17:49:19.049Z", zone, "2017-11-02 17:49:19.049",
                "an explicit Z beats the table zone");
  check_in_zone("2018-08-20", zone, "2018-08-20", "a date only is not shifted");
  timefmt_zone_free(zone);

  zone = load_zone("-0300");
  check_in_zone("2025-12-31 22:00:00", zone, "2026-01-01 01:00:00", "fixed -0300 crosses a year");
  timefmt_zone_free(zone);

  zone = load_zone("+10");
  check_in_zone("2025-03-01 05:00:00", zone, "2025-02-28 19:00:00", "fixed +10 crosses a month");
  timefmt_zone_free(zone);

  ok(error_contains("+5:30", "unknown timezone '+5:30'"), "offset needs two-digit hours");
  ok(error_contains("+24:00", "unknown timezone"), "offset hour 24 is refused");
  ok(error_contains("+05:60", "unknown timezone"), "offset minute 60 is refused");
  is_str(timefmt_zone_name(NULL), "UTC", "a NULL zone is UTC");
}

static void test_system_zones(void) {
  timefmt_zone *kolkata, *london, *sydney, *dublin;

  unsetenv("TZDIR");
  kolkata = load_zone("Asia/Kolkata");
  london = load_zone("Europe/London");
  sydney = load_zone("Australia/Sydney");
  dublin = load_zone("Europe/Dublin");
  if (kolkata == NULL || london == NULL || sydney == NULL || dublin == NULL) {
    skip(26, "system zoneinfo not available");
    timefmt_zone_free(kolkata);
    timefmt_zone_free(london);
    timefmt_zone_free(sydney);
    timefmt_zone_free(dublin);
    return;
  }

  is_str(timefmt_zone_name(kolkata), "Asia/Kolkata", "IANA zone name is kept");
  check_in_zone("2025-04-14 14:23:20", kolkata, "2025-04-14 08:53:20", "Asia/Kolkata is +05:30");
  check_in_zone("2025-01-01 02:00:00", kolkata, "2024-12-31 20:30:00",
                "Asia/Kolkata crosses back a year");
  check_in_zone("26-05-2025 15:52:02", kolkata, "2025-05-26 10:22:02",
                "Capillary sentDate read in IST");
  check_in_zone("2018-08-20", kolkata, "2018-08-20", "date only is not shifted");

  check_in_zone("2025-07-01 12:00:00", london, "2025-07-01 11:00:00", "London summer is BST");
  check_in_zone("2025-01-15 12:00:00", london, "2025-01-15 12:00:00", "London winter is GMT");
  check_in_zone("2025-03-30 00:59:59", london, "2025-03-30 00:59:59", "London just before gap");
  check_in_zone("2025-03-30 01:30:00", london, "2025-03-30 01:30:00",
                "London gap uses the offset before (GMT)");
  check_in_zone("2025-03-30 02:00:00", london, "2025-03-30 01:00:00", "London just after gap");
  check_in_zone("2025-10-26 00:59:59", london, "2025-10-25 23:59:59",
                "London before overlap crosses back a day");
  check_in_zone("2025-10-26 01:30:00", london, "2025-10-26 00:30:00",
                "London overlap uses the offset before (BST)");
  check_in_zone("2025-10-26 02:00:00", london, "2025-10-26 02:00:00", "London after overlap");
  check_in_zone("1970-01-15 12:00:00", london, "1970-01-15 11:00:00",
                "London 1970 British Standard Time");
  check_in_zone("1800-01-01 00:00:00", london, "1800-01-01 00:01:15",
                "London before the first transition is LMT");
  check_in_zone("2040-07-01 12:00:00", london, "2040-07-01 11:00:00",
                "London 2040 summer from the footer");
  check_in_zone("2040-03-25 01:30:00", london, "2040-03-25 01:30:00", "London 2040 gap (footer)");
  check_in_zone("2040-10-28 01:30:00", london, "2040-10-28 00:30:00",
                "London 2040 overlap (footer)");

  check_in_zone("2026-01-15 12:00:00", sydney, "2026-01-15 01:00:00", "Sydney 2026 summer AEDT");
  check_in_zone("2026-07-01 09:00:00", sydney, "2026-06-30 23:00:00",
                "Sydney 2026 winter AEST crosses a month");
  check_in_zone("2026-10-04 02:30:00", sydney, "2026-10-03 16:30:00", "Sydney 2026 gap uses AEST");
  check_in_zone("2026-04-05 02:30:00", sydney, "2026-04-04 15:30:00",
                "Sydney 2026 overlap uses AEDT");
  check_in_zone("2040-01-15 12:00:00", sydney, "2040-01-15 01:00:00",
                "Sydney 2040 summer from the footer");

  check_in_zone("2025-07-01 12:00:00", dublin, "2025-07-01 11:00:00",
                "Dublin summer (negative DST in the data)");
  check_in_zone("2040-01-15 12:00:00", dublin, "2040-01-15 12:00:00",
                "Dublin 2040 winter, negative-DST footer");
  check_in_zone("2040-10-28 01:30:00", dublin, "2040-10-28 00:30:00",
                "Dublin 2040 overlap, negative-DST footer");

  timefmt_zone_free(kolkata);
  timefmt_zone_free(london);
  timefmt_zone_free(sydney);
  timefmt_zone_free(dublin);
}

/* Writes one footer-only v2 file named name under dir/Test. */
static int write_footer_zone(const char *dir, const char *name, long utoff, const char *footer) {
  char path[512];
  struct test_type type = {utoff, 0};
  struct test_tzif spec = {'2', 0, NULL, NULL, 1, &type, 0, footer};
  snprintf(path, sizeof path, "%s/Test/%s", dir, name);
  return write_tzif(path, &spec);
}

static void test_hand_built_zones(const char *dir) {
  static const long long slim_times[] = {946684800LL}; /* 2000-01-01T00:00:00Z */
  static const unsigned char slim_type_of[] = {1};
  static const struct test_type slim_types[] = {{3600, 0}, {36000, 0}};
  static const unsigned char garbage[] = "this is not a TZif file\n";
  static const unsigned char truncated[44] = {'T', 'Z',      'i',      'f',
                                              '2', [35] = 5, [39] = 1, [43] = 1};
  char path[512];
  struct test_tzif slim = {'2', 1,          slim_times, slim_type_of,
                           2,   slim_types, 0,          "AEST-10AEDT,M10.1.0,M4.1.0/3"};
  struct test_tzif v1_only = {'\0', 1, slim_times, slim_type_of, 2, slim_types, 0, NULL};
  struct test_type utc_type = {0, 0};
  struct test_tzif leap = {'2', 0, NULL, NULL, 1, &utc_type, 2, "UTC0"};
  int written = 1;
  timefmt_zone *zone;

  snprintf(path, sizeof path, "%s/Test", dir);
  written &= mkdir(path, 0700) == 0;
  written &= write_footer_zone(dir, "SydneySlim", 36000, "AEST-10AEDT,M10.1.0,M4.1.0/3");
  written &= write_footer_zone(dir, "Julian", 7200, "XST-2XDT-3,J60/2,J300/2");
  written &= write_footer_zone(dir, "ZeroBased", 7200, "XST-2XDT-3,59/2,299/2");
  written &= write_footer_zone(dir, "DublinSlim", 3600, "IST-1GMT0,M10.5.0,M3.5.0/1");
  written &= write_footer_zone(dir, "AllYearDST", -18000, "EST5EDT,0/0,J365/25");
  written &= write_footer_zone(dir, "Quoted", -10800, "<-03>3");
  written &= write_footer_zone(dir, "BadFooter", 0, "XST-2XDT");
  snprintf(path, sizeof path, "%s/Test/Slim", dir);
  written &= write_tzif(path, &slim);
  snprintf(path, sizeof path, "%s/Test/VersionOne", dir);
  written &= write_tzif(path, &v1_only);
  snprintf(path, sizeof path, "%s/Test/Leap", dir);
  written &= write_tzif(path, &leap);
  snprintf(path, sizeof path, "%s/Test/Garbage", dir);
  written &= write_bytes(path, garbage, sizeof garbage - 1);
  snprintf(path, sizeof path, "%s/Test/Truncated", dir);
  written &= write_bytes(path, truncated, sizeof truncated);
  ok(written, "hand-built TZif files written under %s", dir);
  setenv("TZDIR", dir, 1);

  /* The footer alone must give what the full system table gives for Sydney 2026. */
  zone = load_zone("Test/SydneySlim");
  check_in_zone("2026-01-15 12:00:00", zone, "2026-01-15 01:00:00", "slim Sydney 2026 summer");
  check_in_zone("2026-07-01 09:00:00", zone, "2026-06-30 23:00:00", "slim Sydney 2026 winter");
  check_in_zone("2026-10-04 02:30:00", zone, "2026-10-03 16:30:00", "slim Sydney 2026 gap");
  check_in_zone("2026-04-05 02:30:00", zone, "2026-04-04 15:30:00", "slim Sydney 2026 overlap");
  check_in_zone("2026-04-05 03:00:00", zone, "2026-04-04 17:00:00",
                "slim Sydney 2026 end of overlap");
  timefmt_zone_free(zone);

  zone = load_zone("Test/Slim");
  check_in_zone("1999-06-01 12:00:00", zone, "1999-06-01 11:00:00",
                "table offset before the last transition");
  check_in_zone("2026-01-15 12:00:00", zone, "2026-01-15 01:00:00",
                "footer after the last transition");
  timefmt_zone_free(zone);

  zone = load_zone("Test/VersionOne");
  check_in_zone("1999-06-01 12:00:00", zone, "1999-06-01 11:00:00", "v1 file before transition");
  check_in_zone("2026-01-15 12:00:00", zone, "2026-01-15 02:00:00",
                "v1 file keeps the last offset");
  timefmt_zone_free(zone);

  zone = load_zone("Test/Julian");
  check_in_zone("2024-02-29 12:00:00", zone, "2024-02-29 10:00:00", "J60 skips Feb 29");
  check_in_zone("2024-03-01 12:00:00", zone, "2024-03-01 09:00:00", "J60 is Mar 1 in a leap year");
  timefmt_zone_free(zone);

  zone = load_zone("Test/ZeroBased");
  check_in_zone("2024-02-29 12:00:00", zone, "2024-02-29 09:00:00", "day 59 is Feb 29 in 2024");
  check_in_zone("2025-02-28 12:00:00", zone, "2025-02-28 10:00:00", "day 59 is Mar 1 in 2025");
  timefmt_zone_free(zone);

  zone = load_zone("Test/DublinSlim");
  check_in_zone("2025-07-01 12:00:00", zone, "2025-07-01 11:00:00", "negative DST footer summer");
  check_in_zone("2025-03-30 01:30:00", zone, "2025-03-30 01:30:00", "negative DST footer gap");
  check_in_zone("2025-10-26 01:30:00", zone, "2025-10-26 00:30:00", "negative DST footer overlap");
  timefmt_zone_free(zone);

  zone = load_zone("Test/AllYearDST");
  check_in_zone("2025-01-01 12:00:00", zone, "2025-01-01 16:00:00", "all-year DST in January");
  check_in_zone("2025-12-31 23:30:00", zone, "2026-01-01 03:30:00", "all-year DST at year end");
  timefmt_zone_free(zone);

  zone = load_zone("Test/Quoted");
  check_in_zone("2025-04-14 14:23:20", zone, "2025-04-14 17:23:20", "quoted abbreviation <-03>");
  timefmt_zone_free(zone);

  ok(error_contains("Test/Leap", "leap-second"), "right/ style leap-second files are refused");
  ok(error_contains("Test/Garbage", "not a TZif file"), "a non-TZif file is refused");
  ok(error_contains("Test/Truncated", "truncated TZif file"), "a truncated file is refused");
  ok(error_contains("Test/BadFooter", "unsupported TZ rule"), "a DST footer without rules");
  ok(error_contains("Test", "unknown timezone 'Test'"), "a directory is not a zone");
  ok(error_contains("Europe/London", "unknown timezone 'Europe/London'"),
     "TZDIR without the zone gives the unknown-zone error");

  /* Clean up the temporary TZDIR. */
  {
    static const char *const files[] = {"SydneySlim", "Julian", "ZeroBased", "DublinSlim",
                                        "AllYearDST", "Quoted", "BadFooter", "Slim",
                                        "VersionOne", "Leap",   "Garbage",   "Truncated"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      snprintf(path, sizeof path, "%s/Test/%s", dir, files[i]);
      unlink(path);
    }
    snprintf(path, sizeof path, "%s/Test", dir);
    rmdir(path);
  }
  unsetenv("TZDIR");
}

static void test_zone_name_rejections(void) {
  char long_name[201];
  char *err;

  err = load_error("Mars/Base");
  is_str(err,
         "unknown timezone 'Mars/Base': use an IANA name such as 'Europe/London', 'UTC' or an "
         "offset such as '+05:30'",
         "unknown zone error names it and says the fix");
  free(err);

  ok(error_contains("../etc/passwd", "unknown timezone '../etc/passwd'"), "../etc/passwd refused");
  ok(error_contains("/etc/localtime", "unknown timezone '/etc/localtime'"),
     "absolute path refused");
  ok(error_contains("Europe/../../x", "unknown timezone"), "'..' components refused");
  ok(error_contains("Europe//London", "unknown timezone"), "empty component refused");
  ok(error_contains("Europe/London/", "unknown timezone"), "trailing slash refused");
  ok(error_contains("Europe/London ", "unknown timezone"), "space refused");
  ok(error_contains("", "unknown timezone ''"), "empty name refused");

  memset(long_name, 'A', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  ok(error_contains(long_name, "AAA...':"), "a 200-character name is refused and clipped");

  ok(timefmt_zone_load("Mars/Base", NULL) == NULL, "err_out may be NULL");
  err = load_error(NULL);
  ok(err != NULL && strstr(err, "unknown timezone") != NULL, "NULL name gives an error");
  free(err);
  timefmt_zone_free(NULL);
  ok(1, "timefmt_zone_free(NULL) is a no-op");
}

int main(void) {
  char dir_template[] = "/tmp/test_timefmt_XXXXXX";
  char *dir;

  test_civil_helpers();
  test_vendor_formats();
  test_leap_years();
  test_rejections();
  test_length_is_respected();
  test_fixed_zones();
  test_system_zones();

  dir = mkdtemp(dir_template);
  if (dir == NULL) {
    diag("mkdtemp failed; hand-built zones not tested");
    ok(0, "temporary TZDIR created");
  } else {
    test_hand_built_zones(dir);
    rmdir(dir);
  }
  test_zone_name_rejections();
  return done_testing();
}
