/*
 * Exact sliding-window rate limiting, shared by the process: see ratelimit.h.
 *
 * Each limiter keeps the start times of the last N requests in a ring. A request may start at t
 * when the oldest of those N is at least W (plus a small margin) old: then at most N-1 others
 * started in (t-W, t].
 */
#include "ratelimit.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

/* Far more than any vendor documents; bounds the ring's memory (8 bytes a slot). */
#define RATE_MAX_REQUESTS 100000

/* The vendor counts requests when they arrive, we when they leave: a first request that arrives
 * late (a new connection, a slow network) would let a later one look early by the vendor's clock.
 * A margin of 2% of the window, between 100 and 500 ms, absorbs that. */
static long long rate_margin_ms(long long window_ms) {
  long long margin = window_ms / 50;
  return margin < 100 ? 100 : margin > 500 ? 500 : margin;
}

struct rate_limiter {
  uint64_t scope_hash;
  int max_requests;
  long long window_ms;
  long long *starts; /* ring of the last max_requests start times */
  int next;          /* the slot to overwrite: the oldest start once the ring is full */
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

/* Called with rate_lock held. Keeps the recorded starts that fit the new ring. */
static int rate_resize(rate_limiter *limiter, int max_requests, long long window_ms) {
  long long *starts = calloc((size_t)max_requests, sizeof(long long));
  if (!starts) return -1;
  int keep = limiter->used < max_requests ? limiter->used : max_requests;
  for (int i = 0; i < keep; i++) {
    /* Newest last: walk back from the most recent start. */
    int from = (limiter->next - keep + i + limiter->max_requests) % limiter->max_requests;
    starts[i] = limiter->starts[from];
  }
  free(limiter->starts);
  limiter->starts = starts;
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
      if (!limiter->starts) {
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

long long rate_limiter_reserve(rate_limiter *limiter, long long now_ms) {
  pthread_mutex_lock(&rate_lock);
  long long wait = 0;
  if (limiter->paused_until_ms > now_ms) {
    wait = limiter->paused_until_ms - now_ms;
  } else if (limiter->used == limiter->max_requests) {
    long long free_at =
        limiter->starts[limiter->next] + limiter->window_ms + rate_margin_ms(limiter->window_ms);
    if (free_at > now_ms) wait = free_at - now_ms;
  }
  if (wait == 0) {
    limiter->starts[limiter->next] = now_ms;
    limiter->next = (limiter->next + 1) % limiter->max_requests;
    if (limiter->used < limiter->max_requests) limiter->used++;
  }
  pthread_mutex_unlock(&rate_lock);
  return wait;
}

void rate_limiter_pause(rate_limiter *limiter, long long until_ms) {
  pthread_mutex_lock(&rate_lock);
  if (until_ms > limiter->paused_until_ms) limiter->paused_until_ms = until_ms;
  pthread_mutex_unlock(&rate_lock);
}
