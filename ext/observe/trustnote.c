/*
 * The promise's notes on stderr (trustnote.h).
 */
#include "observe/trustnote.h"

#include <stdio.h>

#include "settings/config.h"

void trust_note(const char *text) {
  if (!text || config_env_flag("INTERACTIONS_QUIET")) return;
  fprintf(stderr, "%s\n", text);
  fflush(stderr);
}
