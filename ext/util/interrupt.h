/*
 * Noticing sqlite3_interrupt while a statement waits (rate limit, backoff, a transfer, an IN list).
 *
 * SQLite 3.41 added sqlite3_is_interrupted; Debian 12 ships 3.40, which has no public way to read
 * the flag. But 3.40's sqlite3_step clears the flag only when no other statement is running, and
 * the VDBE checks it before the first opcode. While our outer statement runs, stepping a tiny
 * probe statement ("SELECT 1") on the same connection therefore answers SQLITE_INTERRUPT exactly
 * when the user interrupted (Ctrl-C in the shell, Python's interrupt() from another thread), and
 * leaves the flag set, so the outer statement fails as interrupted too. The probe is read-only, so
 * its failure rolls nothing back, and the next statement on the connection starts clean.
 */
#ifndef IX_INTERRUPT_H
#define IX_INTERRUPT_H

#include <sqlite3ext.h>

/* How long any wait sleeps before it looks at the flag again. */
#define IX_INTERRUPT_POLL_MS 50

typedef struct interrupt_watch {
  sqlite3 *db;
  sqlite3_stmt *probe; /* prepared on first use, finalized by interrupt_free */
} interrupt_watch;

/* Non-zero when the statement running on interrupt->db was interrupted. The argument is an
 * interrupt_watch * (void * so it can be http_request.should_abort). */
int interrupt_pending(void *interrupt);
/* Sleeps up to milliseconds in IX_INTERRUPT_POLL_MS slices; non-zero when interrupted. */
int interrupt_sleep(interrupt_watch *interrupt, long long milliseconds);
void interrupt_free(interrupt_watch *interrupt);

#endif
