/*
 * Exact sliding-window rate limiting, shared by the process: see ratelimit.h.
 *
 * Each limiter keeps, in a ring in start order, when each of the last N requests completed. A
 * request may start at t when the one N before it completed at or before t-W (see ratelimit.h for
 * why that bounds arrivals exactly).
 */
#include "ratelimit.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

/* Far more than any vendor documents; bounds the ring's memory (8 bytes a slot). */
#define RATE_MAX_REQUESTS 100000

/* A slot whose request has not completed yet: the next start must wait for it. */
#define RATE_PENDING LLONG_MAX
/* How often a start waiting for a pending request looks again. */
#define RATE_PENDING_POLL_MS 10

struct rate_limiter {
  uint64_t scope_hash;
  int max_requests;
  long long window_ms;
  long long *starts; /* ring of the last max_requests completion times (RATE_PENDING: running) */
  unsigned long long *generations; /* which start owns each slot, for rate_limiter_done */
  unsigned long long next_generation;
  int next; /* the slot to overwrite: the oldest start once the ring is full */
  int used;
  long long paused_until_ms;
  struct rate_limiter *next_limiter;
};

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static rate_limiter *rate_limiters;

long long rate_clock_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int rate_limit_parse(const char *text, int *max_requests, long long *window_ms) {
  if (!text) return -1;
  char *end = NULL;
  long count = strtol(text, &end, 10);
  if (end == text || *end != '/' || count < 1 || count > RATE_MAX_REQUESTS) return -1;
  const char *window = end + 1;
  double amount = strtod(window, &end);
  if (end == window || amount <= 0) return -1;
  double scale;
  if (strcmp(end, "ms") == 0) {
    scale = 1;
  } else if (strcmp(end, "s") == 0 || *end == '\0') {
    scale = 1000;
  } else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
    scale = 60000;
  } else if (strcmp(end, "h") == 0) {
    scale = 3600000;
  } else {
    return -1;
  }
  double milliseconds = amount * scale;
  if (milliseconds < 1 || milliseconds > 86400000.0) return -1;
  *max_requests = (int)count;
  *window_ms = (long long)milliseconds;
  return 0;
}

/* Called with rate_lock held. Keeps the newest slots that fit the new ring; a pending request whose
 * slot is dropped simply no longer counts. */
static int rate_resize(rate_limiter *limiter, int max_requests, long long window_ms) {
  long long *starts = calloc((size_t)max_requests, sizeof(long long));
  unsigned long long *generations = calloc((size_t)max_requests, sizeof(unsigned long long));
  if (!starts || !generations) {
    free(starts);
    free(generations);
    return -1;
  }
  int keep = limiter->used < max_requests ? limiter->used : max_requests;
  for (int i = 0; i < keep; i++) {
    int from = (limiter->next - keep + i + limiter->max_requests) % limiter->max_requests;
    starts[i] = limiter->starts[from];
    generations[i] = limiter->generations[from];
  }
  free(limiter->starts);
  free(limiter->generations);
  limiter->starts = starts;
  limiter->generations = generations;
  limiter->max_requests = max_requests;
  limiter->window_ms = window_ms;
  limiter->used = keep;
  limiter->next = keep % max_requests;
  return 0;
}

rate_limiter *rate_limiter_get(const char *scope, int max_requests, long long window_ms) {
  uint64_t hash = ix_hash64(scope); /* the scope holds credentials: keep only its hash */
  pthread_mutex_lock(&rate_lock);
  rate_limiter *limiter = rate_limiters;
  while (limiter && limiter->scope_hash != hash) limiter = limiter->next_limiter;
  if (!limiter) {
    limiter = calloc(1, sizeof(*limiter));
    if (limiter) {
      limiter->scope_hash = hash;
      limiter->max_requests = 1;
      limiter->starts = calloc(1, sizeof(long long));
      limiter->generations = calloc(1, sizeof(unsigned long long));
      if (!limiter->starts || !limiter->generations) {
        free(limiter->starts);
        free(limiter->generations);
        free(limiter);
        limiter = NULL;
      } else {
        /* Limiters live as long as the process: a handful per vendor account. */
        limiter->next_limiter = rate_limiters;
        rate_limiters = limiter;
      }
    }
  }
  if (limiter && (limiter->max_requests != max_requests || limiter->window_ms != window_ms) &&
      rate_resize(limiter, max_requests, window_ms) != 0) {
    limiter = NULL;
  }
  pthread_mutex_unlock(&rate_lock);
  return limiter;
}

long long rate_limiter_reserve(rate_limiter *limiter, long long now_ms, rate_ticket *ticket) {
  pthread_mutex_lock(&rate_lock);
  long long wait = 0;
  if (limiter->paused_until_ms > now_ms) {
    wait = limiter->paused_until_ms - now_ms;
  } else if (limiter->used == limiter->max_requests) {
    long long completed = limiter->starts[limiter->next];
    if (completed == RATE_PENDING) {
      wait = RATE_PENDING_POLL_MS;
    } else if (completed + limiter->window_ms > now_ms) {
      wait = completed + limiter->window_ms - now_ms;
    }
  }
  if (wait == 0) {
    int slot = limiter->next;
    limiter->starts[slot] = ticket ? RATE_PENDING : now_ms;
    limiter->generations[slot] = ++limiter->next_generation;
    if (ticket) {
      ticket->slot = slot;
      ticket->generation = limiter->generations[slot];
    }
    limiter->next = (limiter->next + 1) % limiter->max_requests;
    if (limiter->used < limiter->max_requests) limiter->used++;
  }
  pthread_mutex_unlock(&rate_lock);
  return wait;
}

void rate_limiter_done(rate_limiter *limiter, const rate_ticket *ticket, long long now_ms) {
  pthread_mutex_lock(&rate_lock);
  if (ticket->slot < limiter->max_requests &&
      limiter->generations[ticket->slot] == ticket->generation) {
    limiter->starts[ticket->slot] = now_ms;
  }
  pthread_mutex_unlock(&rate_lock);
}

void rate_limiter_pause(rate_limiter *limiter, long long until_ms) {
  pthread_mutex_lock(&rate_lock);
  if (until_ms > limiter->paused_until_ms) limiter->paused_until_ms = until_ms;
  pthread_mutex_unlock(&rate_lock);
}
