/*
 * Unit tests for ext/sql/sqlversion.c: which SQLite versions the extension refuses (older than
 * 3.31.0), which it notes as slower (3.31 to 3.37: no IN list in one call, no LIMIT hint), and that
 * 3.38.0 and newer get neither.
 */
#include "sql/sqlversion.h"

#include <string.h>

#include "tap.h"

int main(void) {
  ok(ix_sqlite_version_refusal(3030001) != NULL, "3.30.1 is refused");
  ok(strstr(ix_sqlite_version_refusal(3030001), "needs SQLite 3.31.0 or newer") != NULL,
     "the refusal names the minimum");
  ok(ix_sqlite_version_refusal(3031000) == NULL, "3.31.0 loads");
  ok(ix_sqlite_version_note(3031000) != NULL && ix_sqlite_version_note(3037002) != NULL,
     "3.31.0 and 3.37.2 get the note");
  ok(strstr(ix_sqlite_version_note(3037002), "IN list") != NULL,
     "the note says what an older SQLite lacks: the IN list in one call");
  ok(ix_sqlite_version_note(3038000) == NULL && ix_sqlite_version_refusal(3038000) == NULL,
     "3.38.0 gets neither");
  ok(ix_sqlite_version_note(3040001) == NULL, "Debian 12's 3.40.1 gets neither");
  return done_testing();
}
