/*
 * Whole number settings: one parser and one range per setting. A value outside its range is
 * refused with the range, never clamped (docs/reference/configuration.md lists the ranges).
 */
#ifndef IX_NUMBERS_H
#define IX_NUMBERS_H

/* Reads a whole number: digits only (no sign, no spaces, no fraction, no "nan"), within
 * [minimum, maximum]. Returns 0 and sets *out, or -1. */
int numbers_parse_whole(const char *text, long long minimum, long long maximum, long long *out);

/* The range of the whole number setting `key`; a switch (0 or 1) when is_switch. */
void numbers_range(const char *key, int is_switch, long long *minimum, long long *maximum);

#endif
