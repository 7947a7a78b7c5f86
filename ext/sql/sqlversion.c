/*
 * Which SQLite the extension runs on: see sqlversion.h.
 */
#include "sql/sqlversion.h"

#include <stddef.h>

const char *sqlversion_refusal(int version) {
  if (version >= IX_SQLITE_MINIMUM) return NULL;
  return "needs SQLite " IX_SQLITE_MINIMUM_TEXT
         " or newer: its tables are SQLITE_VTAB_DIRECTONLY, so that a view or trigger stored in "
         "a database file cannot send requests with your credentials, and older SQLite cannot "
         "mark them so";
}

const char *sqlversion_note(int version) {
  if (version >= IX_SQLITE_FULL) return NULL;
  return "is older than 3.38.0, which the extension works with but slower: an IN list "
         "(WHERE mobile IN (SELECT ...)) fetches one customer at a time instead of max_concurrency "
         "at once, and LIMIT does not shorten the pages asked for; upgrade SQLite for both";
}
