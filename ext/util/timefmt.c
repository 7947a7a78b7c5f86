/*
** timefmt.c: vendor timestamps to the UTC text SQLite's datetime() writes.
**
** USAGE
**   char *err = NULL;
**   timefmt_zone *zone = timefmt_zone_load("Asia/Kolkata", &err);   (once, in xCreate/xConnect)
**   char out[TIMEFMT_MAX];
**   if (timefmt_to_utc(text, len, zone, out) < 0) ...the column is NULL...
**
** ACCEPTED TEXT (recognised by shape; anything else is rejected, never guessed)
**   YYYY-MM-DD                  date only (Optimove): returned as is, never shifted by a zone
**   YYYY-MM-DD HH:MM:SS         Capillary sent_time; month, day and hour may have one digit
**   DD-MM-YYYY HH:MM:SS         Capillary sentDate: a 4-digit year last always means day first
**   Either date, then ' ' or 'T', HH:MM:SS, an optional '.' fraction of any length (truncated, not
**   rounded, to milliseconds, so .NET's 7 digits never carry into the next second) and an optional
**   zone: Z, +HH:MM, -HH:MM, +HHMM, -HHMM, +HH or -HH (east of UTC is positive).
**   Every field is range-checked (no month 13, Feb 30, Feb 29 in a common year, hour 24, minute 60,
**   leap second 60), the year has exactly 4 digits and the UTC result must lie in years 1..9999.
**   Only `len` bytes are read, so an embedded NUL or anything after the timestamp is a rejection.
**
** OUTPUT
**   "YYYY-MM-DD HH:MM:SS", plus ".SSS" when the text had a fraction; "YYYY-MM-DD" for a date only.
**
** ZONES
**   A timestamp that carries a zone is converted with it. One without a zone is wall time in the
**   table's zone: "UTC", "Z", "GMT", "Etc/UTC" (any case), a fixed offset ("+05:30", "-0300" or
**   "+10") or an IANA name read from the TZif file under $TZDIR (default /usr/share/zoneinfo).
**   TZif v1 and v2+ are read; v2+ uses the 64-bit data and the POSIX TZ footer (rules of the forms
**   Mm.w.d, Jn and n) for instants after the last transition, which is where "slim" files put all
**   future DST.
**   Files with leap-second records (the right/ zones) are refused rather than read off by ~27 s.
**
** DST RULE
**   A wall time that a transition skips (a gap) or repeats (an overlap) is read with the offset in
**   force just before that transition. So 2025-03-30 01:30 Europe/London (gap) is read as GMT and
**   gives 01:30:00, and 2025-10-26 01:30 Europe/London (overlap) is read as BST and gives 00:30:00,
**   the first of its two instants. This is Python's fold=0 and what java.time does, so rows agree
**   with what analysts computing the same conversion elsewhere will get.
**
** THREADS
**   No global mutable state and no libc time zone calls: a loaded zone is read-only, and
**   timefmt_to_utc only uses the stack. getenv("TZDIR") is read once per load.
*/
#include "util/timefmt.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECONDS_PER_DAY 86400LL
#define DEFAULT_ZONEINFO_DIR "/usr/share/zoneinfo"
#define ZONE_NAME_MAX 128             /* names at or above this length are refused before any I/O */
#define ZONE_NAME_SHOWN_MAX 128       /* longer names are clipped in error messages */
#define ZONE_UTOFF_LIMIT (26 * 3600L) /* RFC 8536 allows -25:59:59..+25:59:59 */
#define TZIF_FILE_MAX (1024 * 1024)   /* real TZif files are a few KiB; more means it is not one */
#define TZIF_COUNT_MAX (1UL << 20)    /* bounds each header count so size arithmetic cannot wrap */
#define TZIF_TIME_LIMIT (1LL << 62)   /* keeps time + offset arithmetic far from overflow */

/* ------------------------------------------------------------------------------------------------
** Civil calendar
*/

/* Division rounding toward negative infinity, so instants before 1970 land on the right day. */
static long long floor_div(long long numerator, long long denominator) {
  long long quotient = numerator / denominator;
  if ((numerator % denominator != 0) && ((numerator < 0) != (denominator < 0))) {
    quotient--;
  }
  return quotient;
}

static long long floor_mod(long long numerator, long long denominator) {
  return numerator - floor_div(numerator, denominator) * denominator;
}

static int is_leap_year(long long year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned days_in_month(long long year, unsigned month) {
  static const unsigned char month_lengths[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) {
    return 29;
  }
  return month_lengths[month - 1];
}

/* Hinnant's days_from_civil on long long years, so rule arithmetic near year 9999 cannot overflow.
 */
static long long civil_to_days(long long year, unsigned month, unsigned day) {
  long long shifted_year = year - (month <= 2);
  long long era = (shifted_year >= 0 ? shifted_year : shifted_year - 399) / 400;
  long long year_of_era = shifted_year - era * 400;
  long long day_of_year = (153LL * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  long long day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

static void days_to_civil(long long days, long long *year, unsigned *month, unsigned *day) {
  long long shifted = days + 719468;
  long long era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
  long long day_of_era = shifted - era * 146097;
  long long year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  long long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  long long month_index = (5 * day_of_year + 2) / 153; /* 0 = March */
  *day = (unsigned)(day_of_year - (153 * month_index + 2) / 5 + 1);
  *month = (unsigned)(month_index < 10 ? month_index + 3 : month_index - 9);
  *year = year_of_era + era * 400 + (*month <= 2);
}

long long timefmt_days_from_civil(int year, unsigned month, unsigned day) {
  return civil_to_days(year, month, day);
}

void timefmt_civil_from_days(long long days, int *year, unsigned *month, unsigned *day) {
  long long full_year;
  days_to_civil(days, &full_year, month, day);
  *year = (int)full_year;
}

/* Writes value as exactly `width` decimal digits; callers guarantee it fits. */
static char *put_digits(char *at, unsigned value, unsigned width) {
  unsigned position = width;
  while (position > 0) {
    position--;
    at[position] = (char)('0' + value % 10);
    value /= 10;
  }
  return at + width;
}

static char *put_date(char *at, unsigned year, unsigned month, unsigned day) {
  at = put_digits(at, year, 4);
  *at++ = '-';
  at = put_digits(at, month, 2);
  *at++ = '-';
  return put_digits(at, day, 2);
}

void timefmt_today_utc(char out[11]) {
  /* POSIX defines time_t as seconds since 1970-01-01 UTC, which is all the arithmetic needs. */
  long long days = floor_div((long long)time(NULL), SECONDS_PER_DAY);
  long long year;
  unsigned month, day;
  days_to_civil(days, &year, &month, &day);
  *put_date(out, (unsigned)year, month, day) = '\0';
}

/* ------------------------------------------------------------------------------------------------
** Zones
*/

/* One date of a POSIX TZ rule: "Jn" (1..365, Feb 29 never counted), "n" (0..365, counted) or
** "Mm.w.d" (weekday d of week w of month m, week 5 meaning the last). */
struct posix_rule_date {
  char kind;             /* 'J', 'n' or 'M' */
  unsigned day;          /* for 'J' and 'n' */
  unsigned month;        /* for 'M': 1..12 */
  unsigned week;         /* for 'M': 1..5 */
  unsigned weekday;      /* for 'M': 0 = Sunday */
  long seconds_into_day; /* local time of the change; may be negative or past 24h (TZif v3) */
};

/* A TZif footer such as "AEST-10AEDT,M10.1.0,M4.1.0/3", with offsets turned east-positive. */
struct posix_tz {
  long std_utoff;               /* seconds east of UTC outside DST */
  long dst_utoff;               /* seconds east of UTC during DST */
  int has_dst;                  /* 0: std_utoff all year */
  struct posix_rule_date start; /* change to DST, in standard wall time */
  struct posix_rule_date end;   /* change back, in DST wall time */
};

/* Every zone, fixed ones included, is a list of transitions plus an optional rule after them. */
struct timefmt_zone {
  char *name;         /* as given to timefmt_zone_load */
  long initial_utoff; /* offset before the first transition (TZif type 0), or fixed */
  size_t transition_count;
  long long *transition_utc; /* instants of change, strictly ascending, seconds since 1970 */
  long *utoff_after;         /* offset in force from each transition on */
  int has_footer;            /* 1: footer governs every instant after the last transition */
  struct posix_tz footer;
};

/* Local wall time at or after which a transition's new offset applies under the DST rule above:
** using the larger of the two offsets keeps gap and overlap times on the old offset. */
static long long local_threshold(long long utc, long utoff_before, long utoff_after) {
  return utc + (utoff_before > utoff_after ? utoff_before : utoff_after);
}

static long long posix_rule_day(long long year, const struct posix_rule_date *date) {
  long long first_of_year = civil_to_days(year, 1, 1);
  if (date->kind == 'J') {
    long long day_index = (long long)date->day - 1;
    if (is_leap_year(year) && date->day >= 60) {
      day_index++;
    }
    return first_of_year + day_index;
  }
  if (date->kind == 'n') {
    return first_of_year + date->day;
  }
  {
    long long first_of_month = civil_to_days(year, date->month, 1);
    long long weekday_of_first = floor_mod(first_of_month + 4, 7); /* 1970-01-01 was a Thursday */
    long long day_of_month = 1 + floor_mod((long long)date->weekday - weekday_of_first, 7) +
                             7 * ((long long)date->week - 1);
    while (day_of_month > (long long)days_in_month(year, date->month)) {
      day_of_month -= 7;
    }
    return first_of_month + day_of_month - 1;
  }
}

/* The rule's changes in the years around the wall time are ordered and the DST rule applied to
** them as to a transition table; neighbouring years matter for southern-hemisphere rules and for
** change times past midnight. */
static long posix_utoff_for_local(const struct posix_tz *tz, long long local_seconds) {
  struct rule_change {
    long long utc;
    long utoff_before;
    long utoff_after;
    int is_start; /* orders ties so a year-round DST rule stays in DST */
  } changes[6];
  size_t change_count = 0;
  long long year;
  unsigned month, day;
  long utoff;
  size_t i;

  if (!tz->has_dst) {
    return tz->std_utoff;
  }
  days_to_civil(floor_div(local_seconds, SECONDS_PER_DAY), &year, &month, &day);
  for (int year_step = -1; year_step <= 1; year_step++) {
    long long rule_year = year + year_step;
    struct rule_change start, end;
    start.utc = posix_rule_day(rule_year, &tz->start) * SECONDS_PER_DAY +
                tz->start.seconds_into_day - tz->std_utoff;
    start.utoff_before = tz->std_utoff;
    start.utoff_after = tz->dst_utoff;
    start.is_start = 1;
    end.utc = posix_rule_day(rule_year, &tz->end) * SECONDS_PER_DAY + tz->end.seconds_into_day -
              tz->dst_utoff;
    end.utoff_before = tz->dst_utoff;
    end.utoff_after = tz->std_utoff;
    end.is_start = 0;
    changes[change_count++] = start;
    changes[change_count++] = end;
  }
  for (i = 1; i < change_count; i++) {
    struct rule_change moving = changes[i];
    size_t slot = i;
    while (slot > 0 &&
           (changes[slot - 1].utc > moving.utc || (changes[slot - 1].utc == moving.utc &&
                                                   changes[slot - 1].is_start > moving.is_start))) {
      changes[slot] = changes[slot - 1];
      slot--;
    }
    changes[slot] = moving;
  }
  utoff = changes[0].utoff_before;
  for (i = 0; i < change_count; i++) {
    if (local_threshold(changes[i].utc, changes[i].utoff_before, changes[i].utoff_after) <=
        local_seconds) {
      utoff = changes[i].utoff_after;
    }
  }
  return utoff;
}

/* Offset (seconds east of UTC) to subtract from a wall time in this zone to get UTC. */
static long zone_utoff_for_local(const timefmt_zone *zone, long long local_seconds) {
  size_t low = 0, high = zone->transition_count;

  /* Binary search for the number of transitions whose threshold the wall time has reached. */
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    long utoff_before = middle == 0 ? zone->initial_utoff : zone->utoff_after[middle - 1];
    if (local_threshold(zone->transition_utc[middle], utoff_before, zone->utoff_after[middle]) <=
        local_seconds) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  if (low == zone->transition_count && zone->has_footer) {
    return posix_utoff_for_local(&zone->footer, local_seconds);
  }
  return low == 0 ? zone->initial_utoff : zone->utoff_after[low - 1];
}

/* ------------------------------------------------------------------------------------------------
** Text scanning shared by timestamps, offsets and TZ footers
*/

struct text_cursor {
  const char *at;
  const char *end;
};

static int is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

static int cursor_at_end(const struct text_cursor *cursor) {
  return cursor->at == cursor->end;
}

static int cursor_take_char(struct text_cursor *cursor, char wanted) {
  if (cursor->at < cursor->end && *cursor->at == wanted) {
    cursor->at++;
    return 1;
  }
  return 0;
}

/* Takes a whole run of digits; returns its length, or 0 if it is shorter than min_digits or
** longer than max_digits (a 5-digit year must not pass as a 4-digit one). max_digits <= 9. */
static unsigned cursor_take_number(struct text_cursor *cursor, unsigned min_digits,
                                   unsigned max_digits, unsigned *value) {
  unsigned digit_count = 0;
  unsigned number = 0;
  while (cursor->at < cursor->end && is_digit(*cursor->at)) {
    if (digit_count == max_digits) {
      return 0;
    }
    number = number * 10 + (unsigned)(*cursor->at - '0');
    digit_count++;
    cursor->at++;
  }
  if (digit_count < min_digits) {
    return 0;
  }
  *value = number;
  return digit_count;
}

/* Takes exactly `count` digits whatever follows, for fields such as the MM of "+HHMM". */
static int cursor_take_digits(struct text_cursor *cursor, unsigned count, unsigned *value) {
  unsigned number = 0;
  if ((size_t)(cursor->end - cursor->at) < count) {
    return 0;
  }
  for (unsigned i = 0; i < count; i++) {
    if (!is_digit(cursor->at[i])) {
      return 0;
    }
    number = number * 10 + (unsigned)(cursor->at[i] - '0');
  }
  cursor->at += count;
  *value = number;
  return 1;
}

/* Takes "+HH", "+HHMM" or "+HH:MM" (or '-') running to the end of the cursor; east is positive. */
static int cursor_take_utc_offset(struct text_cursor *cursor, long *utoff) {
  unsigned hours, minutes = 0;
  int negative;

  if (cursor_take_char(cursor, '-')) {
    negative = 1;
  } else if (cursor_take_char(cursor, '+')) {
    negative = 0;
  } else {
    return 0;
  }
  if (!cursor_take_digits(cursor, 2, &hours) || hours > 23) {
    return 0;
  }
  if (!cursor_at_end(cursor)) {
    cursor_take_char(cursor, ':');
    if (!cursor_take_digits(cursor, 2, &minutes) || minutes > 59 || !cursor_at_end(cursor)) {
      return 0;
    }
  }
  *utoff = (long)(hours * 3600 + minutes * 60) * (negative ? -1 : 1);
  return 1;
}

/* ------------------------------------------------------------------------------------------------
** Timestamps
*/

struct parsed_timestamp {
  unsigned year, month, day;
  unsigned hour, minute, second;
  unsigned milliseconds;
  int has_time;
  int has_fraction;
  int has_utoff;
  long utoff; /* seconds east of UTC, when has_utoff */
};

static int stamp_date_valid(const struct parsed_timestamp *stamp) {
  return stamp->year >= 1 && stamp->month >= 1 && stamp->month <= 12 && stamp->day >= 1 &&
         stamp->day <= days_in_month(stamp->year, stamp->month);
}

/* The date: YYYY-MM-DD, or day first (D-M-YYYY: only Capillary's sentDate, always with a time). */
static int parse_date_part(struct text_cursor *cursor, struct parsed_timestamp *stamp) {
  unsigned first_number;
  unsigned first_digits = cursor_take_number(cursor, 1, 4, &first_number);
  if (first_digits == 4) {
    stamp->year = first_number;
    return cursor_take_char(cursor, '-') && cursor_take_number(cursor, 1, 2, &stamp->month) &&
           cursor_take_char(cursor, '-') && cursor_take_number(cursor, 1, 2, &stamp->day);
  }
  if (first_digits == 1 || first_digits == 2) {
    stamp->day = first_number;
    return cursor_take_char(cursor, '-') && cursor_take_number(cursor, 1, 2, &stamp->month) &&
           cursor_take_char(cursor, '-') && cursor_take_number(cursor, 4, 4, &stamp->year) &&
           !cursor_at_end(cursor);
  }
  return 0;
}

/* The time after the date: a separator, H:MM:SS, an optional fraction (kept to milliseconds). */
static int parse_time_part(struct text_cursor *cursor, struct parsed_timestamp *stamp) {
  if (!cursor_take_char(cursor, ' ') && !cursor_take_char(cursor, 'T')) return 0;
  if (!cursor_take_number(cursor, 1, 2, &stamp->hour) || !cursor_take_char(cursor, ':') ||
      !cursor_take_digits(cursor, 2, &stamp->minute) || !cursor_take_char(cursor, ':') ||
      !cursor_take_digits(cursor, 2, &stamp->second)) {
    return 0;
  }
  stamp->has_time = 1;
  if (!cursor_take_char(cursor, '.')) return 1;
  unsigned fraction_digits = 0;
  while (!cursor_at_end(cursor) && is_digit(*cursor->at)) {
    if (fraction_digits < 3) {
      stamp->milliseconds = stamp->milliseconds * 10 + (unsigned)(*cursor->at - '0');
    }
    fraction_digits++;
    cursor->at++;
  }
  if (fraction_digits == 0) return 0;
  for (; fraction_digits < 3; fraction_digits++) stamp->milliseconds *= 10;
  stamp->has_fraction = 1;
  return 1;
}

/* The zone after the time: Z, an offset, or nothing (the table's timezone applies). */
static int parse_zone_part(struct text_cursor *cursor, struct parsed_timestamp *stamp) {
  if (cursor_take_char(cursor, 'Z')) {
    stamp->has_utoff = 1;
    stamp->utoff = 0;
  } else if (!cursor_at_end(cursor)) {
    if (!cursor_take_utc_offset(cursor, &stamp->utoff)) return 0;
    stamp->has_utoff = 1;
  }
  return cursor_at_end(cursor);
}

static int parse_timestamp(const char *text, size_t len, struct parsed_timestamp *stamp) {
  struct text_cursor cursor;
  *stamp = (struct parsed_timestamp){0};
  cursor.at = text;
  cursor.end = text + len;
  if (!parse_date_part(&cursor, stamp)) return 0;
  if (cursor_at_end(&cursor)) return stamp_date_valid(stamp); /* a date alone */
  if (!parse_time_part(&cursor, stamp) || !parse_zone_part(&cursor, stamp)) return 0;
  return stamp_date_valid(stamp) && stamp->hour <= 23 && stamp->minute <= 59 && stamp->second <= 59;
}

int timefmt_to_utc(const char *text, size_t len, const timefmt_zone *zone, char out[TIMEFMT_MAX]) {
  struct parsed_timestamp stamp;
  long long local_seconds, utc_seconds, days, second_of_day;
  long long year;
  unsigned month, day;
  long utoff;
  char *at;

  if (out == NULL) {
    return -1;
  }
  out[0] = '\0';
  if (text == NULL || !parse_timestamp(text, len, &stamp)) {
    return -1;
  }
  if (!stamp.has_time) {
    *put_date(out, stamp.year, stamp.month, stamp.day) = '\0';
    return 10;
  }

  local_seconds = civil_to_days(stamp.year, stamp.month, stamp.day) * SECONDS_PER_DAY +
                  stamp.hour * 3600LL + stamp.minute * 60LL + stamp.second;
  if (stamp.has_utoff) {
    utoff = stamp.utoff;
  } else if (zone != NULL) {
    utoff = zone_utoff_for_local(zone, local_seconds);
  } else {
    utoff = 0;
  }
  utc_seconds = local_seconds - utoff;
  days = floor_div(utc_seconds, SECONDS_PER_DAY);
  second_of_day = utc_seconds - days * SECONDS_PER_DAY;
  days_to_civil(days, &year, &month, &day);
  if (year < 1 || year > 9999) {
    return -1;
  }

  at = put_date(out, (unsigned)year, month, day);
  *at++ = ' ';
  at = put_digits(at, (unsigned)(second_of_day / 3600), 2);
  *at++ = ':';
  at = put_digits(at, (unsigned)(second_of_day / 60 % 60), 2);
  *at++ = ':';
  at = put_digits(at, (unsigned)(second_of_day % 60), 2);
  if (stamp.has_fraction) {
    *at++ = '.';
    at = put_digits(at, stamp.milliseconds, 3);
  }
  *at = '\0';
  return (int)(at - out);
}

/* ------------------------------------------------------------------------------------------------
** POSIX TZ strings (TZif footers)
*/

/* A zone abbreviation: letters ("AEST") or anything but '>' in angle brackets ("<+0530>"). */
static int tz_take_abbreviation(struct text_cursor *cursor) {
  const char *start = cursor->at;
  if (cursor_take_char(cursor, '<')) {
    while (!cursor_at_end(cursor) && *cursor->at != '>') {
      cursor->at++;
    }
    return cursor->at - start > 1 && cursor_take_char(cursor, '>');
  }
  while (!cursor_at_end(cursor) && ((*cursor->at >= 'A' && *cursor->at <= 'Z') ||
                                    (*cursor->at >= 'a' && *cursor->at <= 'z'))) {
    cursor->at++;
  }
  return cursor->at > start;
}

/* "[+-]h[:mm[:ss]]" with hours up to max_hours (24 for offsets, 167 for change times). */
static int tz_take_duration(struct text_cursor *cursor, unsigned max_hours, long *seconds) {
  unsigned hours, minutes = 0, secs = 0;
  int negative = 0;

  if (cursor_take_char(cursor, '-')) {
    negative = 1;
  } else {
    cursor_take_char(cursor, '+');
  }
  if (!cursor_take_number(cursor, 1, 3, &hours) || hours > max_hours) {
    return 0;
  }
  if (cursor_take_char(cursor, ':')) {
    if (!cursor_take_number(cursor, 1, 2, &minutes) || minutes > 59) {
      return 0;
    }
    if (cursor_take_char(cursor, ':') && (!cursor_take_number(cursor, 1, 2, &secs) || secs > 59)) {
      return 0;
    }
  }
  *seconds = (long)(hours * 3600 + minutes * 60 + secs) * (negative ? -1 : 1);
  return 1;
}

static int tz_take_rule_date(struct text_cursor *cursor, struct posix_rule_date *date) {
  *date = (struct posix_rule_date){0};
  if (cursor_take_char(cursor, 'J')) {
    date->kind = 'J';
    if (!cursor_take_number(cursor, 1, 3, &date->day) || date->day < 1 || date->day > 365) {
      return 0;
    }
  } else if (cursor_take_char(cursor, 'M')) {
    date->kind = 'M';
    if (!cursor_take_number(cursor, 1, 2, &date->month) || date->month < 1 || date->month > 12 ||
        !cursor_take_char(cursor, '.') || !cursor_take_number(cursor, 1, 1, &date->week) ||
        date->week < 1 || date->week > 5 || !cursor_take_char(cursor, '.') ||
        !cursor_take_number(cursor, 1, 1, &date->weekday) || date->weekday > 6) {
      return 0;
    }
  } else {
    date->kind = 'n';
    if (!cursor_take_number(cursor, 1, 3, &date->day) || date->day > 365) {
      return 0;
    }
  }
  date->seconds_into_day = 2 * 3600; /* POSIX default: 02:00 */
  if (cursor_take_char(cursor, '/')) {
    return tz_take_duration(cursor, 167, &date->seconds_into_day);
  }
  return 1;
}

/* Parses a footer such as "IST-5:30" or "GMT0BST,M3.5.0/1,M10.5.0". POSIX offsets count west of
** UTC as positive, so they are negated here. A DST zone without rules is refused because POSIX
** leaves its default to the implementation and zic never writes one. */
static int parse_posix_tz(const char *text, size_t len, struct posix_tz *tz) {
  struct text_cursor cursor;
  long west_seconds;

  *tz = (struct posix_tz){0};
  cursor.at = text;
  cursor.end = text + len;
  if (!tz_take_abbreviation(&cursor) || !tz_take_duration(&cursor, 24, &west_seconds)) {
    return 0;
  }
  tz->std_utoff = -west_seconds;
  if (cursor_at_end(&cursor)) {
    return 1;
  }
  if (!tz_take_abbreviation(&cursor)) {
    return 0;
  }
  tz->has_dst = 1;
  tz->dst_utoff = tz->std_utoff + 3600;
  if (!cursor_at_end(&cursor) && *cursor.at != ',') {
    if (!tz_take_duration(&cursor, 24, &west_seconds)) {
      return 0;
    }
    tz->dst_utoff = -west_seconds;
  }
  return cursor_take_char(&cursor, ',') && tz_take_rule_date(&cursor, &tz->start) &&
         cursor_take_char(&cursor, ',') && tz_take_rule_date(&cursor, &tz->end) &&
         cursor_at_end(&cursor);
}

/* ------------------------------------------------------------------------------------------------
** TZif files (RFC 8536)
*/

struct byte_reader {
  const unsigned char *at;
  size_t left;
};

static const unsigned char *reader_take(struct byte_reader *reader, size_t count) {
  const unsigned char *start = reader->at;
  if (count > reader->left) {
    return NULL;
  }
  reader->at += count;
  reader->left -= count;
  return start;
}

static uint32_t read_be32(const unsigned char *bytes) {
  return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) |
         (uint32_t)bytes[3];
}

/* Two's complement without relying on implementation-defined unsigned-to-signed conversion. */
static long long to_signed32(uint32_t value) {
  return value <= 0x7fffffffUL ? (long long)value : (long long)value - 0x100000000LL;
}

static long long read_be64_signed(const unsigned char *bytes) {
  uint64_t value = ((uint64_t)read_be32(bytes) << 32) | read_be32(bytes + 4);
  if (value <= (uint64_t)INT64_MAX) {
    return (long long)value;
  }
  return -(long long)(~value) - 1;
}

struct tzif_header {
  char version; /* '\0', '2', '3', '4'... */
  size_t isut_count;
  size_t isstd_count;
  size_t leap_count;
  size_t time_count;
  size_t type_count;
  size_t char_count;
};

static const char *tzif_read_header(struct byte_reader *reader, struct tzif_header *header) {
  const unsigned char *bytes = reader_take(reader, 44);
  size_t *counts[6];
  if (bytes == NULL || memcmp(bytes, "TZif", 4) != 0) {
    return "not a TZif file";
  }
  header->version = (char)bytes[4];
  counts[0] = &header->isut_count;
  counts[1] = &header->isstd_count;
  counts[2] = &header->leap_count;
  counts[3] = &header->time_count;
  counts[4] = &header->type_count;
  counts[5] = &header->char_count;
  for (int i = 0; i < 6; i++) {
    uint32_t count = read_be32(bytes + 20 + 4 * i);
    if (count > TZIF_COUNT_MAX) {
      return "corrupt TZif header";
    }
    *counts[i] = count;
  }
  return NULL;
}

static size_t tzif_block_size(const struct tzif_header *header, size_t time_size) {
  return header->time_count * (time_size + 1) + header->type_count * 6 + header->char_count +
         header->leap_count * (time_size + 4) + header->isstd_count + header->isut_count;
}

/* Reads one data block into the zone; only the fields conversion uses are validated strictly. */
static const char *tzif_read_block(struct byte_reader *reader, const struct tzif_header *header,
                                   size_t time_size, timefmt_zone *zone) {
  const unsigned char *times, *type_indices, *types;
  long type_utoffs[256];
  size_t i;

  if (header->leap_count != 0) {
    return "it has leap-second records (a right/ zone), which are not supported";
  }
  if (header->type_count == 0 || header->type_count > 256) {
    return "corrupt TZif data";
  }
  times = reader_take(reader, header->time_count * time_size);
  type_indices = reader_take(reader, header->time_count);
  types = reader_take(reader, header->type_count * 6);
  if (times == NULL || type_indices == NULL || types == NULL ||
      reader_take(reader, header->char_count + header->isstd_count + header->isut_count) == NULL) {
    return "truncated TZif file";
  }
  for (i = 0; i < header->type_count; i++) {
    long long utoff = to_signed32(read_be32(types + 6 * i));
    if (utoff <= -ZONE_UTOFF_LIMIT || utoff >= ZONE_UTOFF_LIMIT || types[6 * i + 4] > 1) {
      return "corrupt TZif local time type";
    }
    type_utoffs[i] = (long)utoff;
  }
  zone->initial_utoff = type_utoffs[0];
  if (header->time_count == 0) {
    return NULL;
  }
  zone->transition_utc = malloc(header->time_count * sizeof *zone->transition_utc);
  zone->utoff_after = malloc(header->time_count * sizeof *zone->utoff_after);
  if (zone->transition_utc == NULL || zone->utoff_after == NULL) {
    return "out of memory";
  }
  for (i = 0; i < header->time_count; i++) {
    long long utc =
        time_size == 8 ? read_be64_signed(times + 8 * i) : to_signed32(read_be32(times + 4 * i));
    if (utc <= -TZIF_TIME_LIMIT || utc >= TZIF_TIME_LIMIT ||
        (i > 0 && utc <= zone->transition_utc[i - 1]) || type_indices[i] >= header->type_count) {
      return "corrupt TZif transitions";
    }
    zone->transition_utc[i] = utc;
    zone->utoff_after[i] = type_utoffs[type_indices[i]];
  }
  zone->transition_count = header->time_count;
  return NULL;
}

/* Fills the zone from a whole TZif file; returns NULL or why the file cannot be used. */
static const char *tzif_parse(const unsigned char *data, size_t size, timefmt_zone *zone) {
  struct byte_reader reader;
  struct tzif_header header;
  const char *problem;
  const unsigned char *newline;
  const char *footer;
  size_t footer_len;

  reader.at = data;
  reader.left = size;
  problem = tzif_read_header(&reader, &header);
  if (problem != NULL) {
    return problem;
  }
  if (header.version == '\0') {
    return tzif_read_block(&reader, &header, 4, zone);
  }

  /* Version 2+: skip the 32-bit block, whose times stop at 2038, for the 64-bit one. */
  if (reader_take(&reader, tzif_block_size(&header, 4)) == NULL) {
    return "truncated TZif file";
  }
  problem = tzif_read_header(&reader, &header);
  if (problem == NULL) {
    problem = tzif_read_block(&reader, &header, 8, zone);
  }
  if (problem != NULL) {
    return problem;
  }
  if (reader_take(&reader, 1) == NULL || reader.at[-1] != '\n') {
    return "TZif footer missing";
  }
  newline = memchr(reader.at, '\n', reader.left);
  if (newline == NULL) {
    return "TZif footer missing";
  }
  footer = (const char *)reader.at;
  footer_len = (size_t)(newline - reader.at);
  if (footer_len == 0) {
    return NULL; /* no rule: the last transition's offset holds forever */
  }
  if (!parse_posix_tz(footer, footer_len, &zone->footer)) {
    return "unsupported TZ rule in TZif footer";
  }
  zone->has_footer = 1;
  return NULL;
}

enum file_read_result { FILE_READ_OK, FILE_READ_MISSING, FILE_READ_TOO_LARGE, FILE_READ_NO_MEMORY };

/* Reads a whole small file; a directory or unreadable path counts as missing. */
static enum file_read_result read_small_file(const char *path, unsigned char **data_out,
                                             size_t *size_out) {
  FILE *file = fopen(path, "rb");
  unsigned char *data = NULL;
  size_t capacity = 0, size = 0;
  enum file_read_result result = FILE_READ_OK;

  *data_out = NULL;
  *size_out = 0;
  if (file == NULL) {
    return FILE_READ_MISSING;
  }
  for (;;) {
    size_t got;
    if (size == capacity) {
      unsigned char *grown;
      if (capacity >= TZIF_FILE_MAX) {
        result = FILE_READ_TOO_LARGE;
        break;
      }
      capacity = capacity == 0 ? 8192 : capacity * 2;
      grown = realloc(data, capacity);
      if (grown == NULL) {
        result = FILE_READ_NO_MEMORY;
        break;
      }
      data = grown;
    }
    got = fread(data + size, 1, capacity - size, file);
    size += got;
    if (got == 0) {
      if (ferror(file)) {
        result = FILE_READ_MISSING;
      }
      break;
    }
  }
  fclose(file);
  if (result != FILE_READ_OK) {
    free(data);
    return result;
  }
  *data_out = data;
  *size_out = size;
  return FILE_READ_OK;
}

/* ------------------------------------------------------------------------------------------------
** Loading a zone
*/

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
set_error(char **err_out, const char *format, ...) {
  va_list args;
  int length;
  char *message;

  if (err_out == NULL) {
    return;
  }
  va_start(args, format);
  length = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (length < 0) {
    return;
  }
  message = malloc((size_t)length + 1);
  if (message == NULL) {
    return;
  }
  va_start(args, format);
  vsnprintf(message, (size_t)length + 1, format, args);
  va_end(args);
  free(*err_out);
  *err_out = message;
}

/* Error messages quote the name, clipped so a hostile option cannot make a huge message. */
static int shown_name_length(const char *name) {
  size_t length = strlen(name);
  return (int)(length > ZONE_NAME_SHOWN_MAX ? ZONE_NAME_SHOWN_MAX : length);
}

static const char *shown_name_ellipsis(const char *name) {
  return strlen(name) > ZONE_NAME_SHOWN_MAX ? "..." : "";
}

static void set_unknown_zone_error(char **err_out, const char *name) {
  set_error(err_out,
            "unknown timezone '%.*s%s': use an IANA name such as 'Europe/London', 'UTC' or an "
            "offset such as '+05:30'",
            shown_name_length(name), name, shown_name_ellipsis(name));
}

static int ascii_equal_ignoring_case(const char *left, const char *right) {
  for (; *left != '\0' && *right != '\0'; left++, right++) {
    char left_lower = (*left >= 'A' && *left <= 'Z') ? (char)(*left - 'A' + 'a') : *left;
    char right_lower = (*right >= 'A' && *right <= 'Z') ? (char)(*right - 'A' + 'a') : *right;
    if (left_lower != right_lower) {
      return 0;
    }
  }
  return *left == *right;
}

static int is_utc_alias(const char *name) {
  static const char *const aliases[] = {"UTC", "Z", "GMT", "Etc/UTC"};
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
    if (ascii_equal_ignoring_case(name, aliases[i])) {
      return 1;
    }
  }
  return 0;
}

/* The name becomes a path under the zoneinfo directory, so it may only name a file below it:
** [A-Za-z0-9_+-] components separated by single '/', never absolute. Since '.' is not allowed,
** "." and ".." components cannot occur. */
static int is_safe_zone_name(const char *name) {
  size_t length = strlen(name);
  if (length == 0 || length >= ZONE_NAME_MAX || name[0] == '/' || name[length - 1] == '/') {
    return 0;
  }
  for (size_t i = 0; i < length; i++) {
    char ch = name[i];
    int allowed = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || is_digit(ch) ||
                  ch == '_' || ch == '+' || ch == '-' || ch == '/';
    if (!allowed || (ch == '/' && name[i + 1] == '/')) {
      return 0;
    }
  }
  return 1;
}

static char *join_path(const char *directory, const char *name) {
  size_t directory_length = strlen(directory);
  size_t name_length = strlen(name);
  char *path = malloc(directory_length + 1 + name_length + 1);
  if (path == NULL) {
    return NULL;
  }
  memcpy(path, directory, directory_length);
  path[directory_length] = '/';
  memcpy(path + directory_length + 1, name, name_length + 1);
  return path;
}

/* Loads an IANA zone into `zone`; returns 0 after setting *err_out on failure. */
static int load_zoneinfo(timefmt_zone *zone, const char *name, char **err_out) {
  const char *directory = getenv("TZDIR");
  char *path;
  unsigned char *data;
  size_t size;
  const char *problem;
  enum file_read_result read_result;

  if (directory == NULL || directory[0] == '\0') {
    directory = DEFAULT_ZONEINFO_DIR;
  }
  path = join_path(directory, name);
  if (path == NULL) {
    set_error(err_out, "out of memory loading timezone '%s'", name);
    return 0;
  }
  read_result = read_small_file(path, &data, &size);
  if (read_result == FILE_READ_MISSING) {
    set_unknown_zone_error(err_out, name);
    free(path);
    return 0;
  }
  if (read_result == FILE_READ_NO_MEMORY) {
    set_error(err_out, "out of memory loading timezone '%s'", name);
    free(path);
    return 0;
  }
  problem = read_result == FILE_READ_TOO_LARGE ? "not a TZif file" : tzif_parse(data, size, zone);
  free(data);
  if (problem != NULL) {
    set_error(err_out, "cannot use timezone '%s' from '%s': %s", name, path, problem);
  }
  free(path);
  return problem == NULL;
}

timefmt_zone *timefmt_zone_load(const char *name, char **err_out) {
  timefmt_zone *zone;
  size_t name_size;

  if (err_out != NULL) {
    *err_out = NULL;
  }
  if (name == NULL) {
    set_unknown_zone_error(err_out, "");
    return NULL;
  }
  zone = calloc(1, sizeof *zone);
  name_size = strlen(name) + 1;
  if (zone == NULL || (zone->name = malloc(name_size)) == NULL) {
    free(zone);
    set_error(err_out, "out of memory loading timezone '%.*s%s'", shown_name_length(name), name,
              shown_name_ellipsis(name));
    return NULL;
  }
  memcpy(zone->name, name, name_size);

  if (is_utc_alias(name)) {
    return zone;
  }
  if (name[0] == '+' || name[0] == '-') {
    struct text_cursor cursor;
    cursor.at = name;
    cursor.end = name + name_size - 1;
    if (cursor_take_utc_offset(&cursor, &zone->initial_utoff)) {
      return zone;
    }
    set_unknown_zone_error(err_out, name);
    timefmt_zone_free(zone);
    return NULL;
  }
  if (!is_safe_zone_name(name)) {
    set_unknown_zone_error(err_out, name);
    timefmt_zone_free(zone);
    return NULL;
  }
  if (!load_zoneinfo(zone, name, err_out)) {
    timefmt_zone_free(zone);
    return NULL;
  }
  return zone;
}

void timefmt_zone_free(timefmt_zone *zone) {
  if (zone == NULL) {
    return;
  }
  free(zone->transition_utc);
  free(zone->utoff_after);
  free(zone->name);
  free(zone);
}

const char *timefmt_zone_name(const timefmt_zone *zone) {
  return zone == NULL ? "UTC" : zone->name;
}
