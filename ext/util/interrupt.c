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
typedef int (*interrupt_checker_fn)(sqlite3 *);
static interrupt_checker_fn interrupt_checker;
static pthread_once_t interrupt_find_once = PTHREAD_ONCE_INIT;

static void interrupt_find_checker(void) {
  if (sqlite3_libversion_number() < 3041000) return;
  void *symbol = dlsym(RTLD_DEFAULT, "sqlite3_is_interrupted");
  memcpy(&interrupt_checker, &symbol, sizeof(symbol));
}

int interrupt_pending(void *arg) {
  interrupt_watch *interrupt = arg;
  if (!interrupt || !interrupt->db) return 0;
  pthread_once(&interrupt_find_once, interrupt_find_checker);
  if (interrupt_checker) return interrupt_checker(interrupt->db);
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

int interrupt_sleep(interrupt_watch *interrupt, long long milliseconds) {
  if (interrupt_pending(interrupt)) return 1;
  while (milliseconds > 0) {
    long long slice = milliseconds < IX_INTERRUPT_POLL_MS ? milliseconds : IX_INTERRUPT_POLL_MS;
    struct timespec pause = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    milliseconds -= slice;
    if (interrupt_pending(interrupt)) return 1;
  }
  return 0;
}

void interrupt_free(interrupt_watch *interrupt) {
  sqlite3_finalize(interrupt->probe);
  interrupt->probe = NULL;
}
