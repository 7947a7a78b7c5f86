/*
** timefmt.h: vendor timestamps to the UTC text SQLite's datetime() writes.
**
** Pure C11 plus libc: no SQLite, no process-wide time zone state (no TZ, tzset, localtime or
** mktime), so it is safe inside a host process such as Python and can be unit-tested and fuzzed
** on its own. A loaded zone is immutable and may be shared by any number of threads.
** See the comment at the top of timefmt.c for the accepted formats and the DST rule.
*/
#ifndef TIMEFMT_H
#define TIMEFMT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TIMEFMT_MAX 32 /* enough for "YYYY-MM-DD HH:MM:SS.SSS" + NUL */

/* Opaque, immutable after load: safe to share across threads. */
typedef struct timefmt_zone timefmt_zone;

/* Parses a timezone option: "UTC"/"Z"/"GMT"/"Etc/UTC", a fixed offset ("+05:30", "-0300", "+10")
** or an IANA name read from $TZDIR (default /usr/share/zoneinfo). Returns NULL and sets *err_out
** (malloc'd, caller frees with free()) on failure; *err_out is NULL if even the message could not
** be allocated. err_out may be NULL. */
timefmt_zone *timefmt_zone_load(const char *name, char **err_out);

/* Frees a zone from timefmt_zone_load; NULL is allowed. */
void timefmt_zone_free(timefmt_zone *zone);

/* The name exactly as given to timefmt_zone_load, e.g. "UTC". */
const char *timefmt_zone_name(const timefmt_zone *zone);

/* Converts a vendor timestamp of `len` bytes (not necessarily NUL-terminated) to the UTC text of
** occurred_at (docs/tables/README.md) in out (NUL-terminated). zone may be NULL (= UTC). Returns the
** output length, or -1 if the text is not a timestamp we recognise (out is then the empty
** string). */
int timefmt_to_utc(const char *text, size_t len, const timefmt_zone *zone, char out[TIMEFMT_MAX]);

/* Civil-date helpers other modules need (Howard Hinnant's algorithms, proleptic Gregorian).
** Day 0 is 1970-01-01; month is 1..12 and day 1..31 (not range-checked). */
long long timefmt_days_from_civil(int year, unsigned month, unsigned day);
void timefmt_civil_from_days(long long days, int *year, unsigned *month, unsigned *day);

/* Today's date in UTC as YYYY-MM-DD (uses time(NULL) and pure arithmetic, no gmtime). */
void timefmt_today_utc(char out[11]);

#ifdef __cplusplus
}
#endif

#endif /* TIMEFMT_H */
