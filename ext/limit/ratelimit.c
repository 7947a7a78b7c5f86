/*
 * Exact sliding-window rate limiting, shared by every process of an account: see ratelimit.h.
 *
 * How it works. Each account has one history of starts, a ring of slots indexed by generation
 * (the start's number, from 1): slot g % capacity records when start g was answered (its first
 * byte), or that it is still running. A request may start as generation g when, for every window
 * N/W, start g-N was answered at or before now-W. The ring holds at least as many slots as the
 * largest N asked for, and grows (never shrinks) when a larger N comes along; since a slot is found from its
 * generation, a ticket given back after the ring grew still finds its own slot.
 *
 * Where the history lives. One file per account in a private directory (rate_state_dir), mapped
 * by every process (MAP_SHARED) and guarded by flock on the file plus a mutex for the threads of a
 * process (flock locks belong to an open file, which every thread shares). The file's name is a
 * keyed hash of the account (HMAC-SHA256 with a random key kept in the directory, 0600): the
 * account text holds credentials, and a plain hash of it could be tested against guessed
 * credentials by anyone who can list the directory; truncated to 128 bits, which is more than
 * enough to keep a user's accounts apart. Times are CLOCK_MONOTONIC milliseconds, the same clock
 * for every process of the machine and never stepped by NTP (a wall clock stepping back would let
 * requests through early); it restarts at boot, so the file records the boot id and a file from an
 * earlier boot starts empty. When the directory cannot be used (missing, another user's, open to
 * the group or others), the process keeps its own history after saying so once on stderr.
 *
 * A request that never gives its ticket back (its process was killed, or a bug) must not hold the
 * others forever: each pending slot records its request's own time limit, after which it counts
 * as answered at that limit, with a note on stderr. A pause (after a 429) longer than the longest
 * window plus the Retry-After cap cannot have come from a 429: it is damage, dropped with a note
 * naming the file (rate_check_pause).
 *
 * With limiter_url the account's windows live in Redis instead (redis.c): rate_limiter_admit asks
 * it, and with limiter_fallback=local falls back on the history here when it fails.
 */
#include "limit/ratelimit.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "limit/redis.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/notes.h"

/* A slot whose request has not been answered yet: the next start must wait for it. */
#define RATE_PENDING LLONG_MAX
/* How often a start waiting for a pending request looks again (and, out of memory, tries). */
#define RATE_PENDING_POLL_MS 10
#define RATE_RETRY_POLL_MS RATE_PENDING_POLL_MS
/* A pending slot's time limit when the caller gave none. */
#define RATE_DEFAULT_DEADLINE_MS 120000
/* A second of slack over the pause cap (window.h's rate_pause_cap_ms). */
#define RATE_PAUSE_SLACK_MS 1000
/* With limiter_fallback=local, how long after a failure Redis is asked again. */
#define RATE_REDIS_RETRY_MS 5000

struct rate_limiter {
  uint64_t scope_hash;
  char label[32];
  pthread_mutex_t lock;
  int told_released;
  rate_file file;            /* the host's history (local.h) */
  rate_redis *redis;         /* limiter_url's Redis, or NULL: the state above is the account's */
  char *where;               /* the Redis URL without its password, for messages */
  int fallback_local;        /* on a Redis failure use the state above instead of failing */
  int told_fallback;         /* the fallback note is said once per limiter */
  long long redis_failed_ms; /* when Redis last failed (with fallback local), else 0 */
  struct rate_limiter *next_limiter;
};

static pthread_mutex_t rate_list_lock = PTHREAD_MUTEX_INITIALIZER;
static rate_limiter *rate_limiters;
static int rate_told_private;

/* The limiter of scope in place (a Redis URL, or "" for this host), created on first use with
 * the host's own state; the caller adds Redis. Called with rate_list_lock held; *created says
 * whether it is new. */
static rate_limiter *rate_local_get(const char *scope, const char *place, const char *label,
                                    int *created) {
  *created = 0;
  /* The scope holds credentials: keep only its hash. */
  uint64_t hash = hash64(scope) ^ (*place ? hash64(place) * 31 : 0);
  rate_limiter *limiter = rate_limiters;
  while (limiter && limiter->scope_hash != hash) limiter = limiter->next_limiter;
  if (!limiter && (limiter = calloc(1, sizeof(*limiter))) != NULL) {
    *created = 1;
    limiter->scope_hash = hash;
    limiter->file.fd = -1;
    snprintf(limiter->label, sizeof(limiter->label), "%s", label ? label : "");
    pthread_mutex_init(&limiter->lock, NULL);
    char directory[PATH_MAX];
    const char *problem = NULL;
    if (rate_state_dir(directory, sizeof(directory)) >= (int)sizeof(directory)) {
      problem = "its name is too long";
    } else {
      problem = rate_file_open(&limiter->file, scope, directory);
    }
    if (problem && !rate_told_private) {
      rate_told_private = 1;
      notes_say(NOTES_NOTE, NULL,
                "the rate-limit state directory %s cannot be used (%s), so this process keeps its "
                "own rate limits and other processes on the same account are not counted: fix it "
                "or set INTERACTIONS_STATE_DIR to a private directory (mode 0700) "
                "(INTERACTIONS_QUIET=1 hides this)",
                directory, problem);
    }
    if (problem && rate_file_private(&limiter->file) != 0) {
      free(limiter->file.path);
      free(limiter);
      limiter = NULL;
    } else {
      /* Limiters live as long as the process: a handful per vendor account. */
      limiter->next_limiter = rate_limiters;
      rate_limiters = limiter;
    }
  }
  return limiter;
}

rate_limiter *rate_limiter_get(const char *scope, const char *label) {
  int created;
  pthread_mutex_lock(&rate_list_lock);
  rate_limiter *limiter = rate_local_get(scope, "", label, &created);
  pthread_mutex_unlock(&rate_list_lock);
  return limiter;
}

/* Says once that this limiter uses the host's own state instead of Redis, and why. */
static void rate_tell_fallback(rate_limiter *limiter, const char *problem) {
  if (limiter->told_fallback) return;
  limiter->told_fallback = 1;
  notes_say(NOTES_NOTE, NULL,
            "%s: the shared limiter at %s cannot be used (%s), so this host limits the "
            "account on its own at quota_share of the quota (limiter_fallback=local) until it "
            "answers again",
            limiter->label, limiter->where ? limiter->where : "?", problem);
}

/* Forgets a limiter just created whose Redis refused it (the next statement tries again). Called
 * with rate_list_lock held; it is the first of the list. */
static void rate_limiter_discard(rate_limiter *limiter) {
  rate_limiters = limiter->next_limiter;
  rate_file_close(&limiter->file);
  free(limiter->where);
  pthread_mutex_destroy(&limiter->lock);
  free(limiter);
}

rate_limiter *rate_limiter_open(const char *scope, const char *label,
                                const rate_shared_settings *shared, char *problem,
                                size_t problem_size, int *refused_out) {
  const char *url = shared && shared->url ? shared->url : "";
  int created;
  problem[0] = '\0';
  *refused_out = 0;
  pthread_mutex_lock(&rate_list_lock);
  rate_limiter *limiter = rate_local_get(scope, url, label, &created);
  if (!limiter) snprintf(problem, problem_size, "out of memory");
  if (limiter && created && *url) {
    char reason[256] = "";
    int refused = 0;
    limiter->fallback_local = shared->fallback_local;
    limiter->redis = rate_redis_open(url, shared->password, scope, reason, sizeof(reason), &refused,
                                     &limiter->where);
    if (reason[0] && limiter->fallback_local && limiter->redis && !refused) {
      rate_tell_fallback(limiter, reason);
      limiter->redis_failed_ms = clock_ms();
    } else if (reason[0]) {
      /* A URL that does not parse, or a password refused, is refused whatever the fallback. */
      *refused_out = refused || !limiter->redis;
      snprintf(problem, problem_size, "%s: %s", limiter->where ? limiter->where : "limiter_url",
               reason);
      /* A client made but refused (or never made) is forgotten: the next statement tries again. */
      if (limiter->redis) rate_redis_close(limiter->redis);
      limiter->redis = NULL;
      rate_limiter_discard(limiter);
      limiter = NULL;
    }
  }
  pthread_mutex_unlock(&rate_list_lock);
  return limiter;
}

const char *rate_limiter_where(const rate_limiter *limiter) {
  return limiter->where;
}

int rate_limiter_is_shared(const rate_limiter *limiter) {
  return limiter->file.fd >= 0;
}

/* ---- Locked access ---- */

static void rate_acquire(rate_limiter *limiter) {
  pthread_mutex_lock(&limiter->lock);
  rate_file_lock(&limiter->file);
}

static void rate_release(rate_limiter *limiter) {
  rate_file_unlock(&limiter->file);
  pthread_mutex_unlock(&limiter->lock);
}

/* Whether the state can be used as mapped (a failed remap leaves the old, smaller mapping). */
static int rate_is_mapped(const rate_limiter *limiter) {
  return limiter->file.state->capacity == limiter->file.mapped_capacity;
}

/* Grows the ring to hold at least needed slots; each slot moves to its generation's new index. */
static int rate_grow(rate_limiter *limiter, int needed) {
  rate_state *state = limiter->file.state;
  uint64_t old_capacity = state->capacity;
  if (old_capacity >= (uint64_t)needed) return 0;
  uint64_t capacity = old_capacity;
  while (capacity < (uint64_t)needed) capacity *= 2;
  rate_slot *old = malloc((size_t)old_capacity * sizeof(rate_slot));
  if (!old) return -1;
  memcpy(old, state->slots, (size_t)old_capacity * sizeof(rate_slot));
  if (limiter->file.fd >= 0) {
    rate_state *grown = MAP_FAILED;
    if (ftruncate(limiter->file.fd, (off_t)rate_state_bytes(capacity)) == 0) {
      grown = mmap(NULL, rate_state_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED,
                   limiter->file.fd, 0);
    }
    if (grown == MAP_FAILED) {
      free(old);
      return -1;
    }
    munmap(state, rate_state_bytes(old_capacity));
    state = grown;
  } else {
    rate_state *grown = realloc(state, rate_state_bytes(capacity));
    if (!grown) {
      free(old);
      return -1;
    }
    state = grown;
  }
  memset(state->slots, 0, (size_t)capacity * sizeof(rate_slot));
  for (uint64_t i = 0; i < old_capacity; i++) {
    if (old[i].generation) state->slots[old[i].generation & (capacity - 1)] = old[i];
  }
  state->capacity = capacity;
  free(old);
  limiter->file.state = state;
  limiter->file.mapped_capacity = capacity;
  return 0;
}

/* A pause longer than any window plus the Retry-After cap was never set by a 429 (damage, or a
 * bug): obeyed, it would stall every process of the account for ever, so it is dropped. */
static void rate_check_pause(rate_limiter *limiter, const rate_limit *limit, long long now_ms) {
  rate_state *state = limiter->file.state;
  long long cap = rate_pause_cap_ms(limit);
  if (state->paused_until_ms - now_ms <= cap + RATE_PAUSE_SLACK_MS) return;
  notes_say(NOTES_NOTE, NULL,
            "%s: the rate-limit state %s%s held a pause of %.1f s, longer than the longest "
            "window plus the Retry-After cap (%.1f s): it is damaged, so the pause was reset",
            limiter->label, limiter->file.path ? "file " : "of this process",
            limiter->file.path ? limiter->file.path : "",
            (double)(state->paused_until_ms - now_ms) / 1000.0, (double)cap / 1000.0);
  state->paused_until_ms = 0;
}

/* Whether to ask Redis now: always, unless it failed lately and the host limits on its own. */
static int rate_redis_due(rate_limiter *limiter, long long now_ms) {
  long long failed = __atomic_load_n(&limiter->redis_failed_ms, __ATOMIC_RELAXED);
  return limiter->redis && (!failed || now_ms - failed >= RATE_REDIS_RETRY_MS);
}

static long long rate_local_reserve(rate_limiter *limiter, const rate_limit *limit,
                                    long long now_ms, long long deadline_ms, rate_ticket *ticket);

/* Writes a request Redis admitted into this host's own history too, pending until its answer:
 * should Redis fail later with limiter_fallback=local, the host's own limiter then knows what
 * the host sent (what other hosts sent is what quota_share is for). */
static void rate_local_record(rate_limiter *limiter, const rate_limit *limit, long long start_ms,
                              long long deadline_ms, rate_ticket *ticket) {
  int needed = 1;
  for (int i = 0; i < limit->count; i++) {
    if (limit->windows[i].max_requests > needed) needed = limit->windows[i].max_requests;
  }
  rate_acquire(limiter);
  if (rate_is_mapped(limiter) && rate_grow(limiter, needed) == 0) {
    rate_state *state = limiter->file.state;
    uint64_t generation = state->next_generation++;
    rate_slot *slot = &state->slots[generation & (state->capacity - 1)];
    slot->generation = generation;
    slot->completed_ms = RATE_PENDING;
    slot->deadline_ms = deadline_ms > start_ms ? deadline_ms : start_ms + RATE_DEFAULT_DEADLINE_MS;
    slot->owner_pid = (int64_t)getpid();
    ticket->local_generation = generation;
  }
  rate_release(limiter);
}

long long rate_limiter_admit(rate_limiter *limiter, const rate_limit *limit, long long now_ms,
                             long long deadline_ms, rate_ticket *ticket, char *problem,
                             size_t problem_size) {
  if (ticket && ticket->reserved) {
    /* Redis recorded this request to start at admitted_ms: it goes then, without asking. */
    if (now_ms >= ticket->admitted_ms) return 0;
    return ticket->admitted_ms - now_ms;
  }
  rate_ticket unused;
  if (!ticket) ticket = &unused; /* a reservation must be kept, so Redis always gets one */
  memset(ticket, 0, sizeof(*ticket));
  if (rate_redis_due(limiter, now_ms)) {
    char reason[256] = "";
    long long wait = rate_redis_reserve(limiter->redis, limit, ticket, reason, sizeof(reason));
    if (wait >= 0) {
      if (__atomic_exchange_n(&limiter->redis_failed_ms, 0, __ATOMIC_RELAXED)) {
        notes_say(NOTES_NOTE, NULL, "%s: the shared limiter at %s answers again", limiter->label,
                  limiter->where);
        __atomic_store_n(&limiter->told_fallback, 0, __ATOMIC_RELAXED);
      }
      if (ticket->generation) {
        ticket->remote = 1;
        ticket->admitted_ms = now_ms + wait;
        if (limiter->fallback_local && ticket != &unused) {
          rate_local_record(limiter, limit, ticket->admitted_ms,
                            deadline_ms + (ticket->admitted_ms - now_ms), ticket);
        }
      }
      if (ticket == &unused && wait > 0 && ticket->reserved) {
        /* No ticket to hold the reservation: the caller waits and starts then as if told so. */
        ticket->reserved = 0;
      }
      return wait;
    }
    if (wait == -2 || !limiter->fallback_local) {
      snprintf(problem, problem_size, "%s: %s", limiter->where, reason);
      return wait;
    }
    rate_tell_fallback(limiter, reason);
    __atomic_store_n(&limiter->redis_failed_ms, now_ms, __ATOMIC_RELAXED);
  }
  return rate_local_reserve(limiter, limit, now_ms, deadline_ms, ticket == &unused ? NULL : ticket);
}

long long rate_limiter_reserve(rate_limiter *limiter, const rate_limit *limit, long long now_ms,
                               long long deadline_ms, rate_ticket *ticket) {
  char problem[320];
  long long wait =
      rate_limiter_admit(limiter, limit, now_ms, deadline_ms, ticket, problem, sizeof(problem));
  /* A failure is not said here: the caller's ordinary path asks rate_limiter_admit, which says. */
  return wait < 0 ? RATE_RETRY_POLL_MS : wait;
}

/* When the slot's request completed, RATE_PENDING while it runs. A pending slot past its own time
 * limit is released: it counts as completed at that limit, the latest it can have arrived. */
static long long rate_slot_completed(rate_limiter *limiter, rate_slot *slot, long long now_ms) {
  if (slot->completed_ms != RATE_PENDING) return slot->completed_ms;
  if (slot->deadline_ms > now_ms) return RATE_PENDING;
  slot->completed_ms = slot->deadline_ms;
  if (!limiter->told_released) {
    limiter->told_released = 1;
    notes_say(NOTES_NOTE, NULL,
              "a %s request of process %lld held its rate-limit slot past its time limit; it now "
              "counts as completed then (INTERACTIONS_QUIET=1 hides this)",
              limiter->label, (long long)slot->owner_pid);
  }
  return slot->completed_ms;
}

static long long rate_local_reserve(rate_limiter *limiter, const rate_limit *limit,
                                    long long now_ms, long long deadline_ms, rate_ticket *ticket) {
  int needed = 1;
  for (int i = 0; i < limit->count; i++) {
    if (limit->windows[i].max_requests > needed) needed = limit->windows[i].max_requests;
  }
  rate_acquire(limiter);
  if (!rate_is_mapped(limiter) || rate_grow(limiter, needed) != 0) {
    rate_release(limiter);
    return RATE_PENDING_POLL_MS; /* out of memory: try again shortly */
  }
  rate_check_pause(limiter, limit, now_ms);
  rate_state *state = limiter->file.state;
  uint64_t mask = state->capacity - 1;
  long long wait = state->paused_until_ms > now_ms ? state->paused_until_ms - now_ms : 0;
  uint64_t generation = state->next_generation;
  for (int i = 0; i < limit->count; i++) {
    uint64_t n = (uint64_t)limit->windows[i].max_requests;
    if (generation <= n) continue; /* fewer than N starts so far */
    rate_slot *slot = &state->slots[(generation - n) & mask];
    if (slot->generation != generation - n) continue; /* forgotten (a new boot) */
    long long completed = rate_slot_completed(limiter, slot, now_ms);
    long long until = completed == RATE_PENDING ? now_ms + RATE_PENDING_POLL_MS
                                                : completed + limit->windows[i].window_ms;
    if (until - now_ms > wait) wait = until - now_ms;
  }
  if (wait <= 0) {
    wait = 0;
    rate_slot *slot = &state->slots[generation & mask];
    slot->generation = generation;
    slot->completed_ms = ticket ? RATE_PENDING : now_ms;
    slot->deadline_ms = deadline_ms > now_ms ? deadline_ms : now_ms + RATE_DEFAULT_DEADLINE_MS;
    slot->owner_pid = (int64_t)getpid();
    state->next_generation = generation + 1;
    if (ticket) ticket->generation = generation;
  }
  rate_release(limiter);
  return wait;
}

void rate_limiter_done(rate_limiter *limiter, rate_ticket *ticket, long long now_ms) {
  if (!ticket->generation) return;
  if (ticket->remote) {
    rate_redis_answered(limiter->redis, ticket, now_ms);
    ticket->remote = 0;
    ticket->reserved = 0;
    ticket->generation = ticket->local_generation; /* the host's own copy, when there is one */
    ticket->local_generation = 0;
    if (!ticket->generation) return;
  }
  rate_acquire(limiter);
  if (rate_is_mapped(limiter)) {
    rate_state *state = limiter->file.state;
    rate_slot *slot = &state->slots[ticket->generation & (state->capacity - 1)];
    /* A slot already released at its deadline still takes the real, later completion. */
    if (slot->generation == ticket->generation &&
        (slot->completed_ms == RATE_PENDING || now_ms > slot->completed_ms)) {
      slot->completed_ms = now_ms;
    }
  }
  rate_release(limiter);
  ticket->generation = 0;
}

void rate_limiter_pause(rate_limiter *limiter, long long until_ms) {
  if (rate_redis_due(limiter, clock_ms())) {
    rate_redis_pause(limiter->redis, until_ms - clock_ms());
  }
  rate_acquire(limiter);
  if (!rate_is_mapped(limiter)) {
    rate_release(limiter);
    return;
  }
  if (until_ms > limiter->file.state->paused_until_ms)
    limiter->file.state->paused_until_ms = until_ms;
  rate_release(limiter);
}
