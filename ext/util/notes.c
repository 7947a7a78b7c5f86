/*
 * The stderr channel (notes.h). Plain C with no SQLite calls, so the lower layers that say things
 * (the rate limiter, the disk cache) link it into their unit tests as they are.
 */
#include "util/notes.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The lines of every thread (connections of one program) are whole lines, and there is one open
 * progress line at most: the terminal has one cursor. */
static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
static const void *notes_open_owner; /* whose progress line is open on the terminal, or NULL */

static int notes_flag(const char *name) {
  const char *value = getenv(name);
  return value && *value && strcmp(value, "0") != 0 && strcmp(value, "false") != 0;
}

typedef enum notes_progress_mode { NOTES_AUTO, NOTES_ALWAYS, NOTES_NEVER } notes_progress_mode;

static void notes_say_bad_mode(void) {
  notes_say(NOTES_NOTE, NULL,
            "INTERACTIONS_PROGRESS must be auto, always or never, got '%s': using auto "
            "(INTERACTIONS_QUIET=1 hides this)",
            getenv("INTERACTIONS_PROGRESS"));
}

static notes_progress_mode notes_mode(void) {
  const char *value = getenv("INTERACTIONS_PROGRESS");
  if (!value || !*value || strcasecmp(value, "auto") == 0) return NOTES_AUTO;
  if (strcasecmp(value, "always") == 0) return NOTES_ALWAYS;
  if (strcasecmp(value, "never") == 0) return NOTES_NEVER;
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, notes_say_bad_mode);
  return NOTES_AUTO;
}

int notes_shown(notes_kind kind) {
  switch (kind) {
    case NOTES_ERROR: return 1;
    case NOTES_NOTE: return !notes_flag("INTERACTIONS_QUIET");
    case NOTES_PROGRESS:
      switch (notes_mode()) {
        case NOTES_ALWAYS: return 1;
        case NOTES_NEVER: return 0;
        case NOTES_AUTO: return isatty(STDERR_FILENO) && !notes_flag("INTERACTIONS_QUIET");
      }
  }
  return 1;
}

/* With the lock held: ends the open progress line, so the next text starts a line of its own. */
static void notes_erase_locked(void) {
  if (notes_open_owner) fputs("\r\033[K", stderr);
  notes_open_owner = NULL;
}

void notes_say(notes_kind kind, const char *table_name, const char *format, ...) {
  if (!notes_shown(kind)) return;
  char text[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  pthread_mutex_lock(&notes_lock);
  notes_erase_locked();
  fprintf(stderr, "%s: %s\n", table_name ? table_name : "interactions", text);
  fflush(stderr);
  pthread_mutex_unlock(&notes_lock);
}

void notes_progress(const void *owner, const char *text, int final) {
  if (!notes_shown(NOTES_PROGRESS)) return;
  pthread_mutex_lock(&notes_lock);
  if (isatty(STDERR_FILENO)) {
    if (notes_open_owner && notes_open_owner != owner) notes_erase_locked();
    fprintf(stderr, "\r%s\033[K%s", text, final ? "\n" : "");
    notes_open_owner = final ? NULL : owner;
  } else {
    fprintf(stderr, "%s\n", text);
  }
  fflush(stderr);
  pthread_mutex_unlock(&notes_lock);
}

int notes_progress_erase(const void *owner) {
  pthread_mutex_lock(&notes_lock);
  int erased = owner && notes_open_owner == owner;
  if (erased) {
    notes_erase_locked();
    fflush(stderr);
  }
  pthread_mutex_unlock(&notes_lock);
  return erased;
}

int notes_progress_open(const void *owner) {
  pthread_mutex_lock(&notes_lock);
  int open = owner && notes_open_owner == owner;
  pthread_mutex_unlock(&notes_lock);
  return open;
}
