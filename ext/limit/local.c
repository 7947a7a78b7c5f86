/*
 * The limiter's history on this host: the state directory, the account's file, its key, mapping
 * and locking. See local.h; the file's layout and why it is so are in ratelimit.c.
 */
#include "limit/local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/fingerprint.h"
#include "util/privatedir.h"

#define RATE_MAGIC "ix-rate-limit-1"
#define RATE_KEY_BYTES 32

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

size_t rate_state_bytes(uint64_t capacity) {
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
static const char *rate_private_problem(privatedir_problem problem, int directory) {
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
  return rate_private_problem(privatedir_check(info, want_directory), want_directory);
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
static int rate_map_file(rate_file *file) {
  struct stat info;
  if (fstat(file->fd, &info) != 0) return -1;
  rate_state *state = NULL;
  uint64_t capacity = 0;
  if ((size_t)info.st_size >= sizeof(rate_state)) {
    state = mmap(NULL, (size_t)info.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd, 0);
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
    if (ftruncate(file->fd, (off_t)rate_state_bytes(capacity)) != 0) return -1;
  }
  state = mmap(NULL, rate_state_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, file->fd, 0);
  if (state == MAP_FAILED) return -1;
  if (fresh) rate_state_init(state, capacity);
  file->state = state;
  file->mapped_capacity = capacity;
  return 0;
}

static void rate_lock_file(int fd) {
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
}

const char *rate_file_open(rate_file *file, const char *scope, const char *directory) {
  if (!*directory) return "no directory is set";
  /* lstat: a link in the directory's place is refused, not followed. */
  const char *problem = rate_private_problem(privatedir_ensure(directory, 0), 1);
  if (problem) return problem;
  unsigned char key[RATE_KEY_BYTES];
  problem = rate_read_key(directory, key);
  if (problem) return problem;
  char name[IX_FINGERPRINT_HEX];
  int hashed = fingerprint_hex(key, sizeof(key), scope, strlen(scope), name) == 0;
  memset(key, 0, sizeof(key));
  if (!hashed) return "the account's file name cannot be computed";
  size_t path_size = strlen(directory) + sizeof(name) + 16;
  file->path = malloc(path_size);
  if (!file->path) return "out of memory";
  snprintf(file->path, path_size, "%s/%s.limit", directory, name);
  int fd = open(file->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return "the account's file cannot be opened";
  struct stat info;
  problem =
      fstat(fd, &info) != 0 ? "the account's file cannot be read" : rate_check_private(&info, 0);
  if (!problem) {
    rate_lock_file(fd);
    file->fd = fd;
    if (rate_map_file(file) != 0) problem = "the account's file cannot be mapped";
    flock(fd, LOCK_UN);
  }
  if (problem) {
    close(fd);
    file->fd = -1;
    return problem;
  }
  file->fd_pid = getpid();
  return NULL;
}

int rate_file_private(rate_file *file) {
  file->state = calloc(1, rate_state_bytes(RATE_FIRST_CAPACITY));
  if (!file->state) return -1;
  rate_state_init(file->state, RATE_FIRST_CAPACITY);
  file->mapped_capacity = RATE_FIRST_CAPACITY;
  return 0;
}

void rate_file_lock(rate_file *file) {
  if (file->fd < 0) return;
  if (file->fd_pid != getpid()) {
    /* A forked child shares its parent's open file, and with it the flock: it needs its own. */
    int fd = open(file->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      close(file->fd);
      file->fd = fd;
      file->fd_pid = getpid();
    }
  }
  rate_lock_file(file->fd);
  uint64_t capacity = file->state->capacity;
  if (capacity != file->mapped_capacity) {
    /* Another process grew the ring. */
    rate_state *state =
        mmap(NULL, rate_state_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, file->fd, 0);
    if (state != MAP_FAILED) {
      munmap(file->state, rate_state_bytes(file->mapped_capacity));
      file->state = state;
      file->mapped_capacity = capacity;
    }
  }
}

void rate_file_unlock(rate_file *file) {
  if (file->fd >= 0) flock(file->fd, LOCK_UN);
}

void rate_file_close(rate_file *file) {
  if (file->fd >= 0) {
    munmap(file->state, rate_state_bytes(file->mapped_capacity));
    close(file->fd);
  } else {
    free(file->state);
  }
  free(file->path);
  file->state = NULL;
  file->path = NULL;
  file->fd = -1;
}
