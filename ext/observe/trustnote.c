/*
 * The promise's notes on stderr (trustnote.h).
 */
#include "observe/trustnote.h"

#include "util/notes.h"

void trustnote_say(const char *table_name, const char *text) {
  if (text) notes_say(NOTES_NOTE, table_name, "%s", text);
}
