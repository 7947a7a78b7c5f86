/*
 * The notes of the "SQLite's answer" promise (issue 19): a statement that runs and gives SQLite's
 * answer, but where that answer likely surprises (SQLite dropped every row the vendor matched, a
 * bound not in the column's format). One function, so the notes can move to the shared stderr
 * channel in one place.
 */
#ifndef IX_TRUSTNOTE_H
#define IX_TRUSTNOTE_H

/* Writes text and a newline on stderr, unless INTERACTIONS_QUIET=1. The caller says it once per
 * statement. */
void trust_note(const char *text);

#endif
