/*
 * Exact sliding-window rate limiting, shared by every process of an account: see ratelimit.h.
 *
 * How it works. Each account has one history of starts, a ring of slots indexed by generation
 * (the start's number, from 1): slot g % capacity records when start g completed, or that it is
 * still running. A request may start as generation g when, for every window N/W, start g-N
 * completed at or before now-W. The ring holds at least as many slots as the largest N asked for,
 * and grows (never shrinks) when a larger N comes along; since a slot is found from its
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
 * as completed at that limit, with a note on stderr.
 */
#include "limit/ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/fingerprint.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/notes.h"
#include "util/privatedir.h"

/* Far more than any vendor documents; bounds the ring (32 bytes a slot). */
#define RATE_MAX_REQUESTS 100000
#define RATE_FIRST_CAPACITY 64

/* A slot whose request has not completed yet: the next start must wait for it. */
#define RATE_PENDING LLONG_MAX
/* How often a start waiting for a pending request looks again. */
#define RATE_PENDING_POLL_MS 10
/* A pending slot's time limit when the caller gave none. */
#define RATE_DEFAULT_DEADLINE_MS 120000

#define RATE_MAGIC "ix-rate-limit-1"
#define RATE_KEY_BYTES 32

typedef struct rate_slot {
  uint64_t generation; /* the start this slot records; 0 = never used */
  int64_t completed_ms;
  int64_t deadline_ms; /* a pending start counts as completed at this time once it passes */
  int64_t owner_pid;   /* for the note when a slot is released at its deadline */
} rate_slot;

/* The mapped file (or the process's own copy). */
typedef struct rate_state {
  char magic[16];
  char boot_id[48];         /* the boot whose monotonic clock the times are on */
  uint64_t capacity;        /* slots, a power of two */
  uint64_t next_generation; /* the generation of the next start */
  int64_t paused_until_ms;  /* after a 429, no start before this */
  uint64_t reserved[5];
  rate_slot slots[];
} rate_state;

struct rate_limiter {
  uint64_t scope_hash;
  char label[32];
  pthread_mutex_t lock;
  int fd;       /* the shared file, or -1: the state is this process's own */
  pid_t fd_pid; /* the process that opened fd (a forked child shares its flock, so reopens) */
  char *path;   /* the shared file, to reopen after fork */
  rate_state *state;
  uint64_t mapped_capacity;
  int told_released;
  struct rate_limiter *next_limiter;
};

static pthread_mutex_t rate_list_lock = PTHREAD_MUTEX_INITIALIZER;
static rate_limiter *rate_limiters;
static int rate_told_private;

/* ---- Parsing ---- */

static int rate_window_parse(const char *text, rate_window *window) {
  char *end = NULL;
  long count = strtol(text, &end, 10);
  if (end == text || *end != '/' || count < 1 || count > RATE_MAX_REQUESTS) return -1;
  const char *amount_text = end + 1;
  if (*amount_text == '-' || *amount_text == '+' || *amount_text == ' ') return -1;
  double amount = strtod(amount_text, &end);
  if (end == amount_text || amount <= 0) return -1;
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
  window->max_requests = (int)count;
  window->window_ms = (long long)milliseconds;
  return 0;
}

int rate_limit_parse(const char *text, rate_limit *limit) {
  if (!text) return -1;
  rate_limit parsed = {0};
  const char *start = text;
  for (;;) {
    const char *comma = strchr(start, ',');
    size_t length = comma ? (size_t)(comma - start) : strlen(start);
    while (length > 0 && *start == ' ') start++, length--;
    while (length > 0 && start[length - 1] == ' ') length--;
    char piece[64];
    if (length == 0 || length >= sizeof(piece) || parsed.count == RATE_MAX_WINDOWS) return -1;
    memcpy(piece, start, length);
    piece[length] = '\0';
    if (rate_window_parse(piece, &parsed.windows[parsed.count]) != 0) return -1;
    parsed.count++;
    if (!comma) break;
    start = comma + 1;
  }
  *limit = parsed;
  return 0;
}

long long rate_limit_shortest_ms(const rate_limit *limit) {
  long long shortest = 0;
  for (int i = 0; i < limit->count; i++) {
    if (!shortest || limit->windows[i].window_ms < shortest) shortest = limit->windows[i].window_ms;
  }
  return shortest;
}

/* ---- The state directory and the account's file ---- */

int rate_state_dir(char *buffer, unsigned long size) {
  const char *chosen = getenv("INTERACTIONS_STATE_DIR");
  if (chosen && *chosen) return snprintf(buffer, size, "%s", chosen);
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  if (runtime && runtime[0] == '/')
    return snprintf(buffer, size, "%s/sqlite-interactions", runtime);
  const char *temporary = getenv("TMPDIR");
  if (!temporary || temporary[0] != '/') temporary = "/tmp";
  return snprintf(buffer, size, "%s/sqlite-interactions-%u", temporary, (unsigned)geteuid());
}

static size_t rate_state_bytes(uint64_t capacity) {
  return sizeof(rate_state) + (size_t)capacity * sizeof(rate_slot);
}

static void rate_boot_id(char *boot_id, size_t size) {
  memset(boot_id, 0, size);
  FILE *file = fopen("/proc/sys/kernel/random/boot_id", "re");
  if (!file) return;
  if (!fgets(boot_id, (int)size, file)) boot_id[0] = '\0';
  fclose(file);
}

static void rate_state_init(rate_state *state, uint64_t capacity) {
  memset(state, 0, rate_state_bytes(capacity));
  memcpy(state->magic, RATE_MAGIC, sizeof(RATE_MAGIC));
  rate_boot_id(state->boot_id, sizeof(state->boot_id));
  state->capacity = capacity;
  state->next_generation = 1;
}

/* Only the owner may read or write our state: a file or directory that another user owns, or that
 * the group or others can open, is refused (they could plant a file that stalls us or read when we
 * call a vendor). */
static const char *rate_private_problem(ix_private_problem problem, int directory) {
  switch (problem) {
    case IX_PRIVATE_OK: return NULL;
    case IX_PRIVATE_NOT_CREATED: return "it cannot be created";
    case IX_PRIVATE_UNREADABLE: return "it cannot be read";
    case IX_PRIVATE_WRONG_TYPE:
      return directory ? "it is not a directory" : "a file in it is not a regular file";
    case IX_PRIVATE_OTHER_OWNER: return "it is owned by another user";
    case IX_PRIVATE_OPEN:
      return directory ? "it is open to the group or others"
                       : "a file in it is open to the group or others";
  }
  return "it cannot be read";
}

static const char *rate_check_private(const struct stat *info, int want_directory) {
  return rate_private_problem(ix_private_check(info, want_directory), want_directory);
}

/* The directory's key for naming files, created on first use. */
static const char *rate_read_key(const char *directory, unsigned char *key) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof(path), "%s/key", directory) >= (int)sizeof(path)) {
    return "its name is too long";
  }
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    /* Written aside and linked into place, so no process ever reads half a key. */
    char temporary[PATH_MAX];
    if (snprintf(temporary, sizeof(temporary), "%s/key.%ld.tmp", directory, (long)getpid()) >=
        (int)sizeof(temporary)) {
      return "its name is too long";
    }
    unsigned char fresh[RATE_KEY_BYTES];
    int out = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) return "its key file cannot be created";
    int written = RAND_bytes(fresh, sizeof(fresh)) == 1 &&
                  write(out, fresh, sizeof(fresh)) == (ssize_t)sizeof(fresh);
    close(out);
    if (written && link(temporary, path) != 0 && errno != EEXIST) written = 0;
    unlink(temporary);
    if (!written) return "its key file cannot be written";
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return "its key file cannot be opened";
  struct stat info;
  const char *problem =
      fstat(fd, &info) != 0 ? "its key file cannot be read" : rate_check_private(&info, 0);
  if (!problem && (info.st_size != RATE_KEY_BYTES ||
                   read(fd, key, RATE_KEY_BYTES) != (ssize_t)RATE_KEY_BYTES)) {
    problem = "its key file is damaged (delete it)";
  }
  close(fd);
  return problem;
}

/* Maps the file at the capacity its header states, creating or resetting it when it is new,
 * damaged or from an earlier boot. Called with the file locked. */
static int rate_map_file(rate_limiter *limiter) {
  struct stat info;
  if (fstat(limiter->fd, &info) != 0) return -1;
  rate_state *state = NULL;
  uint64_t capacity = 0;
  if ((size_t)info.st_size >= sizeof(rate_state)) {
    state = mmap(NULL, (size_t)info.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, limiter->fd, 0);
    if (state == MAP_FAILED) return -1;
    capacity = state->capacity;
    char boot_id[48];
    rate_boot_id(boot_id, sizeof(boot_id));
    int valid = memcmp(state->magic, RATE_MAGIC, sizeof(RATE_MAGIC)) == 0 && capacity > 0 &&
                capacity <= (1u << 20) && (capacity & (capacity - 1)) == 0 &&
                rate_state_bytes(capacity) <= (size_t)info.st_size &&
                memcmp(state->boot_id, boot_id, sizeof(boot_id)) == 0;
    munmap(state, (size_t)info.st_size);
    if (!valid) capacity = 0;
  }
  int fresh = capacity == 0;
  if (fresh) {
    capacity = RATE_FIRST_CAPACITY;
    if (ftruncate(limiter->fd, (off_t)rate_state_bytes(capacity)) != 0) return -1;
  }
  state =
      mmap(NULL, rate_state_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, limiter->fd, 0);
  if (state == MAP_FAILED) return -1;
  if (fresh) rate_state_init(state, capacity);
  limiter->state = state;
  limiter->mapped_capacity = capacity;
  return 0;
}

static void rate_lock_file(int fd) {
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
}

/* Opens and maps the account's shared file; returns NULL or why it cannot. */
static const char *rate_open_shared(rate_limiter *limiter, const char *scope,
                                    const char *directory) {
  if (!*directory) return "no directory is set";
  /* lstat: a link in the directory's place is refused, not followed. */
  const char *problem = rate_private_problem(ix_private_directory(directory, 0), 1);
  if (problem) return problem;
  unsigned char key[RATE_KEY_BYTES];
  problem = rate_read_key(directory, key);
  if (problem) return problem;
  char name[IX_FINGERPRINT_HEX];
  int hashed = ix_fingerprint_hex(key, sizeof(key), scope, strlen(scope), name) == 0;
  memset(key, 0, sizeof(key));
  if (!hashed) return "the account's file name cannot be computed";
  size_t path_size = strlen(directory) + sizeof(name) + 16;
  limiter->path = malloc(path_size);
  if (!limiter->path) return "out of memory";
  snprintf(limiter->path, path_size, "%s/%s.limit", directory, name);
  int fd = open(limiter->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return "the account's file cannot be opened";
  struct stat info;
  problem =
      fstat(fd, &info) != 0 ? "the account's file cannot be read" : rate_check_private(&info, 0);
  if (!problem) {
    rate_lock_file(fd);
    limiter->fd = fd;
    if (rate_map_file(limiter) != 0) problem = "the account's file cannot be mapped";
    flock(fd, LOCK_UN);
  }
  if (problem) {
    close(fd);
    limiter->fd = -1;
    return problem;
  }
  limiter->fd_pid = getpid();
  return NULL;
}

static int rate_use_private(rate_limiter *limiter) {
  limiter->state = calloc(1, rate_state_bytes(RATE_FIRST_CAPACITY));
  if (!limiter->state) return -1;
  rate_state_init(limiter->state, RATE_FIRST_CAPACITY);
  limiter->mapped_capacity = RATE_FIRST_CAPACITY;
  return 0;
}

rate_limiter *rate_limiter_get(const char *scope, const char *label) {
  uint64_t hash = ix_hash64(scope); /* the scope holds credentials: keep only its hash */
  pthread_mutex_lock(&rate_list_lock);
  rate_limiter *limiter = rate_limiters;
  while (limiter && limiter->scope_hash != hash) limiter = limiter->next_limiter;
  if (!limiter && (limiter = calloc(1, sizeof(*limiter))) != NULL) {
    limiter->scope_hash = hash;
    limiter->fd = -1;
    snprintf(limiter->label, sizeof(limiter->label), "%s", label ? label : "");
    pthread_mutex_init(&limiter->lock, NULL);
    char directory[PATH_MAX];
    const char *problem = NULL;
    if (rate_state_dir(directory, sizeof(directory)) >= (int)sizeof(directory)) {
      problem = "its name is too long";
    } else {
      problem = rate_open_shared(limiter, scope, directory);
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
    if (problem && rate_use_private(limiter) != 0) {
      free(limiter->path);
      free(limiter);
      limiter = NULL;
    } else {
      /* Limiters live as long as the process: a handful per vendor account. */
      limiter->next_limiter = rate_limiters;
      rate_limiters = limiter;
    }
  }
  pthread_mutex_unlock(&rate_list_lock);
  return limiter;
}

int rate_limiter_is_shared(const rate_limiter *limiter) {
  return limiter->fd >= 0;
}

/* ---- Locked access ---- */

static void rate_acquire(rate_limiter *limiter) {
  pthread_mutex_lock(&limiter->lock);
  if (limiter->fd < 0) return;
  if (limiter->fd_pid != getpid()) {
    /* A forked child shares its parent's open file, and with it the flock: it needs its own. */
    int fd = open(limiter->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      close(limiter->fd);
      limiter->fd = fd;
      limiter->fd_pid = getpid();
    }
  }
  rate_lock_file(limiter->fd);
  uint64_t capacity = limiter->state->capacity;
  if (capacity != limiter->mapped_capacity) {
    /* Another process grew the ring. */
    rate_state *state =
        mmap(NULL, rate_state_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, limiter->fd, 0);
    if (state != MAP_FAILED) {
      munmap(limiter->state, rate_state_bytes(limiter->mapped_capacity));
      limiter->state = state;
      limiter->mapped_capacity = capacity;
    }
  }
}

static void rate_release(rate_limiter *limiter) {
  if (limiter->fd >= 0) flock(limiter->fd, LOCK_UN);
  pthread_mutex_unlock(&limiter->lock);
}

/* Whether the state can be used as mapped (a failed remap leaves the old, smaller mapping). */
static int rate_is_mapped(const rate_limiter *limiter) {
  return limiter->state->capacity == limiter->mapped_capacity;
}

/* Grows the ring to hold at least needed slots; each slot moves to its generation's new index. */
static int rate_grow(rate_limiter *limiter, int needed) {
  rate_state *state = limiter->state;
  uint64_t old_capacity = state->capacity;
  if (old_capacity >= (uint64_t)needed) return 0;
  uint64_t capacity = old_capacity;
  while (capacity < (uint64_t)needed) capacity *= 2;
  rate_slot *old = malloc((size_t)old_capacity * sizeof(rate_slot));
  if (!old) return -1;
  memcpy(old, state->slots, (size_t)old_capacity * sizeof(rate_slot));
  if (limiter->fd >= 0) {
    rate_state *grown = MAP_FAILED;
    if (ftruncate(limiter->fd, (off_t)rate_state_bytes(capacity)) == 0) {
      grown = mmap(NULL, rate_state_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED,
                   limiter->fd, 0);
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
  limiter->state = state;
  limiter->mapped_capacity = capacity;
  return 0;
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

long long rate_limiter_reserve(rate_limiter *limiter, const rate_limit *limit, long long now_ms,
                               long long deadline_ms, rate_ticket *ticket) {
  int needed = 1;
  for (int i = 0; i < limit->count; i++) {
    if (limit->windows[i].max_requests > needed) needed = limit->windows[i].max_requests;
  }
  rate_acquire(limiter);
  if (!rate_is_mapped(limiter) || rate_grow(limiter, needed) != 0) {
    rate_release(limiter);
    return RATE_PENDING_POLL_MS; /* out of memory: try again shortly */
  }
  rate_state *state = limiter->state;
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
  rate_acquire(limiter);
  if (rate_is_mapped(limiter)) {
    rate_state *state = limiter->state;
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
  rate_acquire(limiter);
  if (until_ms > limiter->state->paused_until_ms) limiter->state->paused_until_ms = until_ms;
  rate_release(limiter);
}
