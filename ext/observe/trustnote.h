/*
 * The notes of the "SQLite's answer" promise (issue 19): a statement that runs and gives SQLite's
 * answer, but where that answer likely surprises (SQLite dropped every row the vendor matched, a
 * bound not in the column's format). One function, written through the one stderr channel
 * (util/notes.h).
 */
#ifndef IX_TRUSTNOTE_H
#define IX_TRUSTNOTE_H

/* "<table_name>: <text>" on stderr, unless INTERACTIONS_QUIET=1 (notes.h decides). The caller says
 * it once per statement. */
void trustnote_say(const char *table_name, const char *text);

#endif
