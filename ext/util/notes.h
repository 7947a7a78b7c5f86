/*
 * The one channel to stderr: every line the extension writes there goes through here, so one
 * prefix rule and one decision about what is shown hold for all of them.
 *
 * Three kinds of line:
 *   progress  what a long statement is doing (progress.h). INTERACTIONS_PROGRESS decides: auto
 *             (the default) shows it when stderr is a terminal, unless INTERACTIONS_QUIET=1;
 *             always shows it wherever stderr goes (a file, a pipe); never hides it.
 *   note      something worth knowing that is not an error: the IN-form hint of a join, a
 *             dropped-rows note, a misspelt variable, a long wait for the rate limit, a cache or
 *             state directory that cannot be used. INTERACTIONS_QUIET=1 hides every note.
 *   error     a programming error about to abort (debug builds): always shown. Errors of a
 *             statement are never written here; SQLite returns them to the caller.
 *
 * The prefix: the table's name where there is a table ("cap: ..."), else "interactions: ".
 * On a terminal a progress line is rewritten in place ("\r" and erase to the end of the line);
 * any other line first erases it, so it never lands on the end of one.
 */
#ifndef IX_NOTES_H
#define IX_NOTES_H

typedef enum notes_kind {
  NOTES_PROGRESS,
  NOTES_NOTE,
  NOTES_ERROR,
} notes_kind;

/* The one place that decides whether a line of this kind is shown, from the environment as it is
 * now (a program may set INTERACTIONS_QUIET after loading the extension). */
int notes_shown(notes_kind kind);

/* One line of this kind, if shown: the prefix (table_name, or "interactions" when NULL), ": ",
 * the formatted text and a newline. */
void notes_say(notes_kind kind, const char *table_name, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* A progress line, whole (prefix included), if progress is shown. On a terminal the line stays open
 * to be rewritten by the next one from the same owner (any pointer that identifies the statement),
 * unless final; elsewhere each is a line of its own, so a log keeps each of them. */
void notes_progress(const void *owner, const char *text, int final);
/* Erases owner's open progress line, if it has one (before a client prints a row). Returns 1 when
 * a line was erased. */
int notes_progress_erase(const void *owner);
/* 1 when owner's progress line is open on the terminal. */
int notes_progress_open(const void *owner);

#endif
