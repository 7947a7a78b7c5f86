/*
 * Unit tests for ext/sql/sqlversion.c: which SQLite versions the extension refuses (older than
 * 3.31.0), which it notes as slower (3.31 to 3.37: no IN list in one call, no LIMIT hint), and that
 * 3.38.0 and newer get neither.
 */
#include "sql/sqlversion.h"

#include <string.h>

#include "tap.h"

int main(void) {
  ok(sqlversion_refusal(3030001) != NULL, "3.30.1 is refused");
  ok(strstr(sqlversion_refusal(3030001), "needs SQLite 3.31.0 or newer") != NULL,
     "the refusal names the minimum");
  ok(sqlversion_refusal(3031000) == NULL, "3.31.0 loads");
  ok(sqlversion_note(3031000) != NULL && sqlversion_note(3037002) != NULL,
     "3.31.0 and 3.37.2 get the note");
  ok(strstr(sqlversion_note(3037002), "IN list") != NULL,
     "the note says what an older SQLite lacks: the IN list in one call");
  ok(sqlversion_note(3038000) == NULL && sqlversion_refusal(3038000) == NULL,
     "3.38.0 gets neither");
  ok(sqlversion_note(3040001) == NULL, "Debian 12's 3.40.1 gets neither");
  return done_testing();
}
