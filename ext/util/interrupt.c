/*
 * Noticing sqlite3_interrupt while a statement waits: see interrupt.h for why the probe works.
 */
#include "util/interrupt.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

SQLITE_EXTENSION_INIT3

/* sqlite3_is_interrupted exists since 3.41; Debian 12's headers (3.40) do not declare it, so it is
 * looked up in the running library, and only when that library is new enough. */
typedef int (*ix_is_interrupted_fn)(sqlite3 *);
static ix_is_interrupted_fn ix_is_interrupted;
static pthread_once_t ix_interrupt_once = PTHREAD_ONCE_INIT;

static void ix_find_is_interrupted(void) {
  if (sqlite3_libversion_number() < 3041000) return;
  void *symbol = dlsym(RTLD_DEFAULT, "sqlite3_is_interrupted");
  memcpy(&ix_is_interrupted, &symbol, sizeof(symbol));
}

int ix_interrupted(void *arg) {
  ix_interrupt *interrupt = arg;
  if (!interrupt || !interrupt->db) return 0;
  pthread_once(&ix_interrupt_once, ix_find_is_interrupted);
  if (ix_is_interrupted) return ix_is_interrupted(interrupt->db);
  if (!interrupt->probe) {
    /* The parser checks the flag too, so a prepare that fails this way is an answer as well. */
    int rc = sqlite3_prepare_v3(interrupt->db, "SELECT 1", -1, SQLITE_PREPARE_PERSISTENT,
                                &interrupt->probe, NULL);
    if (rc == SQLITE_INTERRUPT) return 1;
    if (rc != SQLITE_OK) return 0; /* out of memory: the next poll tries again */
  }
  int rc = sqlite3_step(interrupt->probe);
  sqlite3_reset(interrupt->probe);
  return rc == SQLITE_INTERRUPT;
}

int ix_interrupt_sleep(ix_interrupt *interrupt, long long milliseconds) {
  if (ix_interrupted(interrupt)) return 1;
  while (milliseconds > 0) {
    long long slice = milliseconds < IX_INTERRUPT_POLL_MS ? milliseconds : IX_INTERRUPT_POLL_MS;
    struct timespec pause = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    milliseconds -= slice;
    if (ix_interrupted(interrupt)) return 1;
  }
  return 0;
}

void ix_interrupt_free(ix_interrupt *interrupt) {
  sqlite3_finalize(interrupt->probe);
  interrupt->probe = NULL;
}
