/*
 * The limiter's history on this host: the account's file in the private state directory, mapped
 * by every process of the account, or the process's own copy when the directory cannot be used.
 * The ring itself (what a slot means, when a request may start) is ratelimit.c's; this file finds,
 * creates, checks, maps, locks and remaps the file. See ratelimit.c for the layout's reasons.
 */
#ifndef IX_LIMIT_LOCAL_H
#define IX_LIMIT_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The ring's size when an account's history is new. */
#define RATE_FIRST_CAPACITY 64

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

/* Where one account's history lives. */
typedef struct rate_file {
  int fd;       /* the shared file, or -1: the state is this process's own */
  pid_t fd_pid; /* the process that opened fd (a forked child shares its flock, so reopens) */
  char *path;   /* the shared file, to reopen after fork */
  rate_state *state;
  uint64_t mapped_capacity;
} rate_file;

/* The directory for shared state: INTERACTIONS_STATE_DIR, else
 * $XDG_RUNTIME_DIR/sqlite-interactions, else $TMPDIR (or /tmp)/sqlite-interactions-<uid>. Returns
 * size needed, like snprintf. */
int rate_state_dir(char *buffer, unsigned long size);
/* The bytes of a history of capacity slots. */
size_t rate_state_bytes(uint64_t capacity);

/* Opens and maps the account's file (scope, kept only as a keyed hash, names it) in directory;
 * returns NULL, or why it cannot (file->fd then -1). */
const char *rate_file_open(rate_file *file, const char *scope, const char *directory);
/* A history of the process's own, empty: 0, or -1 out of memory. */
int rate_file_private(rate_file *file);
/* Locks the shared file (reopened first in a forked child) and maps it again if another process
 * grew it. Does nothing for a history of the process's own. */
void rate_file_lock(rate_file *file);
void rate_file_unlock(rate_file *file);
/* Unmaps and closes (or frees) the history. */
void rate_file_close(rate_file *file);

#endif
