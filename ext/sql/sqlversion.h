/*
 * Which SQLite the extension runs on (README.md#the-two-commands states it).
 *
 * The minimum is 3.31.0: every table of the extension is SQLITE_VTAB_DIRECTONLY (a view or trigger
 * stored in a file cannot reach an API with the user's credentials), which older SQLite does not
 * have. From 3.38.0 SQLite also hands a virtual table a whole IN list in one call and tells it the
 * LIMIT; older ones work, slower: the load says so once.
 */
#ifndef IX_SQLVERSION_H
#define IX_SQLVERSION_H

#define IX_SQLITE_MINIMUM 3031000
#define IX_SQLITE_MINIMUM_TEXT "3.31.0"
#define IX_SQLITE_FULL 3038000

/* Why the extension cannot load on SQLite `version` (sqlite3_libversion_number()), or NULL. */
const char *sqlversion_refusal(int version);
/* What SQLite `version` lacks that the extension would use (a sentence), or NULL. */
const char *sqlversion_note(int version);

#endif
