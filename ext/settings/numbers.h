/*
 * Whole number settings: one parser and one range per setting. A value outside its range is
 * refused with the range, never clamped (docs/reference/configuration.md lists the ranges).
 */
#ifndef IX_NUMBERS_H
#define IX_NUMBERS_H

#include <stddef.h>

/* Reads a whole number: digits only (no sign, no spaces, no fraction, no "nan"), within
 * [minimum, maximum]. Returns 0 and sets *out, or -1. */
int numbers_parse_whole(const char *text, long long minimum, long long maximum, long long *out);

/* The range of the whole number setting `key`; a switch (0 or 1) when is_switch. */
void numbers_range(const char *key, int is_switch, long long *minimum, long long *maximum);

/* The process-wide numbers (INTERACTIONS_CACHE_MB, INTERACTIONS_CACHE_DISK_MB,
 * INTERACTIONS_REQUEST_LOG_SIZE) are read where they are used, by code that cannot fail a
 * statement over them; they are checked once here, at load, so that a bad value fails `.load`
 * naming the variable and its range instead of falling back to the default in silence. Returns 0,
 * or -1 with what is wrong written to problem. */
int numbers_check_process(char *problem, size_t size);

#endif
