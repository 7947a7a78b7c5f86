/*
 * The disk level of the response cache: see diskcache.h.
 *
 *     INTERACTIONS_CACHE_DIR=~/.cache/sqlite-interactions sqlite3 ...
 *
 * How it works
 *   One SQLite connection per process, opened on first use with sqlite3_open_v2 through the
 *   extension API, guarded by one mutex (the threads of the process share it). The database is in
 *   WAL mode so processes read while another writes; a writer that finds the file busy skips the
 *   store (a busy cache is a miss, never a wait worth failing for). The file is created 0600 before
 *   SQLite opens it, because SQLite gives its -wal and -shm files the database file's mode.
 *
 *   The account is stored only as a keyed fingerprint: HMAC-SHA256 under a random 32-byte key kept
 *   in the database, of the vendor, the host and the account hash fetch/account.c computes from the
 *   credentials. Without the key a fingerprint cannot be tested against guessed credentials; two
 *   accounts never share entries.
 *
 *   Entries are answers that were complete and read successfully (fetch/accept.c stores nothing else).
 *   A lookup needs an entry younger than the reader's cache_ttl and not past the writer's; the
 *   database is capped at INTERACTIONS_CACHE_DISK_MB (default 256), evicting the least recently
 *   used first (a use counter orders them). Times are wall-clock milliseconds: they must mean the
 *   same in every process.
 *
 *   What is read back is checked (issue 19): each entry carries a keyed checksum of its body (the
 *   same HMAC as the fingerprint), and a body that does not match is a miss, said once on stderr;
 *   an entry stored "in the future" (the clock stepped back) by more than DISKCACHE_FUTURE_MS is a
 *   miss, so a step back never makes an entry fresh for as long as the step.
 */
#include "cache/diskcache.h"

#include "auth/fingerprint.h"
#include "util/notes.h"
#include "util/privatedir.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3ext.h>

SQLITE_EXTENSION_INIT3

#define DISKCACHE_FILE "interactions-cache.db"
#define DISKCACHE_DEFAULT_MB 256
#define DISKCACHE_KEY_BYTES 32
/* Bytes counted per entry beyond its body and URL: the row, its index entries and page slack. */
#define DISKCACHE_ENTRY_OVERHEAD 128
#define DISKCACHE_BUSY_MS 1000
/* How far in the future an entry's store time may lie (clocks of one machine agree closely). */
#define DISKCACHE_FUTURE_MS 2000
/* The order of use across processes: one more than the latest (indexed, so cheap). Milliseconds
 * would not do: two uses often fall within one. */
#define DISKCACHE_NEXT_USE "(SELECT coalesce(max(used), 0) + 1 FROM entries)"

enum { DISKCACHE_UNTRIED, DISKCACHE_OPEN, DISKCACHE_UNUSABLE };

static pthread_mutex_t diskcache_lock = PTHREAD_MUTEX_INITIALIZER;
static int diskcache_state = DISKCACHE_UNTRIED;
static sqlite3 *diskcache_db;
static unsigned char diskcache_key[DISKCACHE_KEY_BYTES];
static pid_t diskcache_pid;              /* the process that opened diskcache_db */
static char diskcache_problem_text[256]; /* why the level was given up, for interactions_settings */

static const char *diskcache_dir(void) {
  const char *dir = getenv("INTERACTIONS_CACHE_DIR");
  return dir && *dir ? dir : NULL; /* empty counts as unset, like every setting */
}

int diskcache_enabled(void) {
  return diskcache_dir() != NULL;
}

static long long diskcache_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static long long diskcache_budget(void) {
  const char *text = getenv("INTERACTIONS_CACHE_DISK_MB");
  double megabytes = text && *text ? strtod(text, NULL) : DISKCACHE_DEFAULT_MB;
  if (!(megabytes >= 0) || megabytes > 1024 * 1024 * 1024) megabytes = DISKCACHE_DEFAULT_MB;
  return (long long)(megabytes * 1024 * 1024);
}

/* Called with the lock held: gives up on the disk level for this process, saying why once. */
static void diskcache_give_up(const char *why, const char *detail) {
  snprintf(diskcache_problem_text, sizeof(diskcache_problem_text), "%s%s%s", why,
           detail ? ": " : "", detail ? detail : "");
  notes_say(NOTES_NOTE, NULL,
            "the response cache in %s is not used (%s): queries go on without it "
            "(INTERACTIONS_QUIET=1 hides this)",
            diskcache_dir() ? diskcache_dir() : "INTERACTIONS_CACHE_DIR", diskcache_problem_text);
  if (diskcache_db) sqlite3_close(diskcache_db);
  diskcache_db = NULL;
  diskcache_state = DISKCACHE_UNUSABLE;
  diskcache_pid = getpid();
}

/* The directory must be the user's own and closed to others: the cache holds personal data. */
static int diskcache_check_dir(const char *dir) {
  switch (privatedir_ensure(dir, 1)) { /* a link to a private directory is that directory */
    case IX_PRIVATE_OK: return 0;
    case IX_PRIVATE_NOT_CREATED:
      diskcache_give_up("cannot create the directory", strerror(errno));
      break;
    case IX_PRIVATE_UNREADABLE:
    case IX_PRIVATE_WRONG_TYPE: diskcache_give_up("not a directory", NULL); break;
    case IX_PRIVATE_OTHER_OWNER:
      diskcache_give_up("the directory belongs to another user", NULL);
      break;
    case IX_PRIVATE_OPEN:
      diskcache_give_up("other users can open the directory", "chmod 700 it");
      break;
  }
  return -1;
}

/* Creates the file 0600 (or brings an existing one of ours back to 0600) before SQLite opens it,
 * since its -wal and -shm files copy the database file's mode. */
static int diskcache_prepare_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    diskcache_give_up("cannot open the cache file", strerror(errno));
    return -1;
  }
  struct stat info;
  int rc = fstat(fd, &info);
  if (rc == 0 && info.st_uid != geteuid()) {
    close(fd);
    diskcache_give_up("the cache file belongs to another user", NULL);
    return -1;
  }
  if (rc == 0 && (info.st_mode & 077)) rc = fchmod(fd, 0600);
  close(fd);
  static const char *const companions[] = {"-wal", "-shm"};
  for (int i = 0; rc == 0 && i < 2; i++) {
    char *companion = sqlite3_mprintf("%s%s", path, companions[i]);
    if (companion && access(companion, F_OK) == 0) rc = chmod(companion, 0600);
    sqlite3_free(companion);
  }
  if (rc != 0) {
    diskcache_give_up("cannot make the cache files private", strerror(errno));
    return -1;
  }
  return 0;
}

static const char diskcache_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS entries(id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL,"
    " url TEXT NOT NULL, vendor TEXT NOT NULL, status INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    " stored_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, used INTEGER NOT NULL,"
    " hits INTEGER NOT NULL, body BLOB NOT NULL, UNIQUE(fingerprint, url));"
    "CREATE INDEX IF NOT EXISTS entries_lru ON entries(used, bytes);";
/* Files made before entries carried a checksum get the column (an entry without one is a miss). */
static const char diskcache_add_checksum[] = "ALTER TABLE entries ADD COLUMN checksum TEXT";

/* Reads the fingerprint key, creating it on first use. */
static int diskcache_load_key(void) {
  unsigned char fresh[DISKCACHE_KEY_BYTES];
  if (RAND_bytes(fresh, sizeof(fresh)) != 1) return SQLITE_ERROR;
  sqlite3_stmt *statement = NULL;
  int rc = sqlite3_prepare_v2(diskcache_db, "INSERT OR IGNORE INTO meta VALUES('key', ?)", -1,
                              &statement, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_blob(statement, 1, fresh, sizeof(fresh), SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(statement) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  sqlite3_finalize(statement);
  statement = NULL;
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(diskcache_db, "SELECT value FROM meta WHERE name = 'key'", -1,
                            &statement, NULL);
  }
  if (rc == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW &&
      sqlite3_column_bytes(statement, 0) == DISKCACHE_KEY_BYTES) {
    memcpy(diskcache_key, sqlite3_column_blob(statement, 0), DISKCACHE_KEY_BYTES);
  } else {
    rc = SQLITE_ERROR;
  }
  sqlite3_finalize(statement);
  memset(fresh, 0, sizeof(fresh));
  return rc;
}

/* Called with the lock held: the connection, opening it on first use; NULL when unusable. */
/* Adds the checksum column unless the table has it. */
static void diskcache_ensure_checksum_column(void) {
  sqlite3_stmt *statement = NULL;
  int has = 0;
  if (sqlite3_prepare_v2(diskcache_db,
                         "SELECT 1 FROM pragma_table_info('entries') WHERE name = "
                         "'checksum'",
                         -1, &statement, NULL) == SQLITE_OK) {
    has = sqlite3_step(statement) == SQLITE_ROW;
  }
  sqlite3_finalize(statement);
  if (!has) sqlite3_exec(diskcache_db, diskcache_add_checksum, NULL, NULL, NULL);
}

/* The keyed checksum of a body, as stored with it. */
static int diskcache_checksum(const void *body, size_t length, char out[IX_FINGERPRINT_HEX]) {
  return fingerprint_hex(diskcache_key, sizeof(diskcache_key), length ? body : "", length, out);
}

static sqlite3 *diskcache_open(void) {
  if (diskcache_state != DISKCACHE_UNTRIED && diskcache_pid != getpid()) {
    /* A forked child must not use its parent's connection (SQLite's locks are per process), nor
     * close it: it starts its own. The parent's copy is left as it is. */
    diskcache_db = NULL;
    diskcache_state = DISKCACHE_UNTRIED;
  }
  if (diskcache_state == DISKCACHE_OPEN) return diskcache_db;
  if (diskcache_state == DISKCACHE_UNUSABLE) return NULL;
  const char *dir = diskcache_dir();
  if (!dir) return NULL;
  if (diskcache_check_dir(dir) != 0) return NULL;
  char *path = sqlite3_mprintf("%s/%s", dir, DISKCACHE_FILE);
  if (!path) return NULL;
  int rc = diskcache_prepare_file(path) == 0 ? SQLITE_OK : SQLITE_CANTOPEN;
  if (rc == SQLITE_OK) {
    /* Our own connection, whatever the host's threading mode: the lock serialises its use. */
    rc = sqlite3_open_v2(path, &diskcache_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
      diskcache_give_up("cannot open the cache file",
                        diskcache_db ? sqlite3_errmsg(diskcache_db) : NULL);
    }
  }
  sqlite3_free(path);
  if (rc != SQLITE_OK) return NULL;
  sqlite3_busy_timeout(diskcache_db, DISKCACHE_BUSY_MS);
  char *error = NULL;
  rc = sqlite3_exec(diskcache_db, diskcache_schema, NULL, NULL, &error);
  if (rc == SQLITE_OK) rc = diskcache_load_key();
  if (rc == SQLITE_OK) diskcache_ensure_checksum_column();
  if (rc != SQLITE_OK) {
    char *detail = sqlite3_mprintf("%s", error ? error : sqlite3_errmsg(diskcache_db));
    diskcache_give_up("the cache file is unusable; delete it to start afresh", detail);
    sqlite3_free(detail);
    sqlite3_free(error);
    return NULL;
  }
  diskcache_state = DISKCACHE_OPEN;
  diskcache_pid = getpid();
  return diskcache_db;
}

/* The account as stored: the keyed fingerprint (fingerprint.h) of vendor NUL host NUL account. */
static int diskcache_fingerprint(const char *vendor, const char *host, uint64_t account,
                                 char out[IX_FINGERPRINT_HEX]) {
  unsigned char data[512];
  size_t vendor_length = strlen(vendor), host_length = strlen(host);
  if (vendor_length + host_length + 2 + sizeof(account) > sizeof(data)) host_length = 0;
  size_t length = 0;
  memcpy(data + length, vendor, vendor_length + 1);
  length += vendor_length + 1;
  memcpy(data + length, host, host_length);
  length += host_length;
  data[length++] = '\0';
  for (int i = 0; i < 8; i++) data[length++] = (unsigned char)(account >> (8 * i));
  return fingerprint_hex(diskcache_key, sizeof(diskcache_key), data, length, out);
}

/* Called with the lock held after a failed statement: a damaged or vanished file disables the
 * level; a busy one is only a miss. */
static void diskcache_after_failure(int rc) {
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return;
  diskcache_give_up("the cache file is unusable; delete it to start afresh",
                    sqlite3_errmsg(diskcache_db));
}

/* Whether the row's body matches its checksum; a mismatch is said once per process on stderr (an
 * entry without a checksum, from an older file, is a quiet miss). */
static int diskcache_body_intact(sqlite3_stmt *row, const char *url) {
  static int told;
  const char *stored = (const char *)sqlite3_column_text(row, 3);
  if (!stored) return 0;
  char checksum[IX_FINGERPRINT_HEX];
  if (diskcache_checksum(sqlite3_column_blob(row, 2), (size_t)sqlite3_column_bytes(row, 2),
                         checksum) != 0) {
    return 0;
  }
  if (strcmp(stored, checksum) == 0) return 1;
  if (!told) {
    told = 1;
    notes_say(NOTES_NOTE, NULL,
              "a cached answer in %s does not match its checksum (for %.120s): it is not used, "
              "and the vendor is asked again",
              diskcache_dir() ? diskcache_dir() : "INTERACTIONS_CACHE_DIR", url);
  }
  return 0;
}

int diskcache_get(const char *vendor, const char *host, uint64_t account, const char *url,
                  long long ttl_ms, long *status, char **body, size_t *body_len) {
  if (!diskcache_enabled() || ttl_ms <= 0) return 0;
  pthread_mutex_lock(&diskcache_lock);
  sqlite3 *db = diskcache_open();
  int hit = 0;
  char fingerprint[IX_FINGERPRINT_HEX];
  /* Without its fingerprint an entry cannot be told apart: a miss. */
  if (db && diskcache_fingerprint(vendor, host, account, fingerprint) != 0) db = NULL;
  if (db) {
    long long now = diskcache_now_ms();
    sqlite3_stmt *statement = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT id, status, body, checksum FROM entries WHERE fingerprint "
                                "= ? AND url = ? AND expires_ms > ? AND stored_ms > ? AND "
                                "stored_ms <= ?",
                                -1, &statement, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(statement, 1, fingerprint, -1, SQLITE_STATIC);
      sqlite3_bind_text(statement, 2, url, -1, SQLITE_STATIC);
      sqlite3_bind_int64(statement, 3, now);
      sqlite3_bind_int64(statement, 4, now - ttl_ms);
      sqlite3_bind_int64(statement, 5, now + DISKCACHE_FUTURE_MS);
      rc = sqlite3_step(statement);
    }
    sqlite3_int64 id = 0;
    if (rc == SQLITE_ROW && !diskcache_body_intact(statement, url)) {
      rc = SQLITE_DONE; /* a miss: the answer is asked for again and stored afresh */
    }
    if (rc == SQLITE_ROW) {
      id = sqlite3_column_int64(statement, 0);
      int length = sqlite3_column_bytes(statement, 2);
      const void *blob = sqlite3_column_blob(statement, 2);
      *body = malloc((size_t)length + 1);
      if (*body) {
        if (length) memcpy(*body, blob, (size_t)length);
        (*body)[length] = '\0';
        *body_len = (size_t)length;
        *status = (long)sqlite3_column_int64(statement, 1);
        hit = 1;
      }
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
    sqlite3_finalize(statement);
    if (hit) {
      /* Counting the hit is worth less than the answer: a busy file just leaves it uncounted. */
      statement = NULL;
      if (sqlite3_prepare_v2(
              db, "UPDATE entries SET hits = hits + 1, used = " DISKCACHE_NEXT_USE " WHERE id = ?",
              -1, &statement, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(statement, 1, id);
        sqlite3_step(statement);
      }
      sqlite3_finalize(statement);
    }
    if (rc != SQLITE_OK) diskcache_after_failure(rc);
  }
  pthread_mutex_unlock(&diskcache_lock);
  return hit;
}

static int diskcache_run(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

void diskcache_put(const char *vendor, const char *host, uint64_t account, const char *url,
                   long long ttl_ms, long status, const char *body, size_t body_len) {
  if (!diskcache_enabled() || ttl_ms <= 0) return;
  long long bytes = (long long)body_len + (long long)strlen(url) + DISKCACHE_ENTRY_OVERHEAD;
  long long budget = diskcache_budget();
  if (bytes > budget || body_len > 0x7fffffff) return;
  pthread_mutex_lock(&diskcache_lock);
  sqlite3 *db = diskcache_open();
  char fingerprint[IX_FINGERPRINT_HEX];
  /* Without its fingerprint an answer is not stored. */
  if (db && diskcache_fingerprint(vendor, host, account, fingerprint) != 0) db = NULL;
  if (db) {
    long long now = diskcache_now_ms();
    int rc = diskcache_run(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *statement = NULL;
    if (rc == SQLITE_OK) {
      rc = sqlite3_prepare_v2(db,
                              "INSERT OR REPLACE INTO entries(fingerprint, url, vendor, status, "
                              "bytes, stored_ms, expires_ms, used, hits, body, checksum) "
                              "VALUES(?, ?, ?, ?, ?, ?, ?, " DISKCACHE_NEXT_USE ", 0, ?, ?)",
                              -1, &statement, NULL);
    }
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(statement, 1, fingerprint, -1, SQLITE_STATIC);
      sqlite3_bind_text(statement, 2, url, -1, SQLITE_STATIC);
      sqlite3_bind_text(statement, 3, vendor, -1, SQLITE_STATIC);
      sqlite3_bind_int64(statement, 4, status);
      sqlite3_bind_int64(statement, 5, bytes);
      sqlite3_bind_int64(statement, 6, now);
      sqlite3_bind_int64(statement, 7, now + ttl_ms);
      sqlite3_bind_blob(statement, 8, body_len ? body : "", (int)body_len, SQLITE_STATIC);
      char checksum[IX_FINGERPRINT_HEX];
      if (diskcache_checksum(body, body_len, checksum) == 0) {
        sqlite3_bind_text(statement, 9, checksum, -1, SQLITE_TRANSIENT);
      }
      rc = sqlite3_step(statement) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    }
    sqlite3_finalize(statement);
    statement = NULL;
    if (rc == SQLITE_OK) {
      /* Expired entries first, then the least recently used beyond the cap: every entry whose
       * newer entries (and itself) add up to more than the budget goes. */
      rc = sqlite3_prepare_v2(
          db,
          "DELETE FROM entries WHERE expires_ms <= ?1 OR id IN (SELECT id FROM (SELECT id, "
          "sum(bytes) OVER (ORDER BY used DESC) AS kept FROM entries) WHERE kept > ?2)",
          -1, &statement, NULL);
    }
    if (rc == SQLITE_OK) {
      sqlite3_bind_int64(statement, 1, now);
      sqlite3_bind_int64(statement, 2, budget);
      rc = sqlite3_step(statement) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    }
    sqlite3_finalize(statement);
    if (rc == SQLITE_OK) rc = diskcache_run(db, "COMMIT");
    if (rc != SQLITE_OK) {
      /* A damaged file closes the connection (which rolls back); a busy one only skips this. */
      diskcache_after_failure(rc);
      if (diskcache_db && !sqlite3_get_autocommit(diskcache_db)) {
        diskcache_run(diskcache_db, "ROLLBACK");
      }
    }
  }
  pthread_mutex_unlock(&diskcache_lock);
}

int diskcache_clear(void) {
  if (!diskcache_enabled()) return 0;
  pthread_mutex_lock(&diskcache_lock);
  sqlite3 *db = diskcache_open();
  int cleared = 0;
  if (db) {
    int rc = diskcache_run(db, "DELETE FROM entries");
    if (rc == SQLITE_OK) {
      cleared = sqlite3_changes(db);
    } else {
      diskcache_after_failure(rc);
    }
  }
  pthread_mutex_unlock(&diskcache_lock);
  return cleared;
}

int diskcache_each(int (*each)(void *context, const char *vendor, const char *url, long long bytes,
                               long long age_ms, long long hits),
                   void *context) {
  if (!diskcache_enabled()) return 0;
  pthread_mutex_lock(&diskcache_lock);
  sqlite3 *db = diskcache_open();
  int result = 0;
  if (db) {
    long long now = diskcache_now_ms();
    sqlite3_stmt *statement = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT vendor, url, bytes, stored_ms, hits FROM entries WHERE "
                                "expires_ms > ? ORDER BY used",
                                -1, &statement, NULL);
    if (rc == SQLITE_OK) sqlite3_bind_int64(statement, 1, now);
    while (rc == SQLITE_OK && result == 0 && (rc = sqlite3_step(statement)) == SQLITE_ROW) {
      result =
          each(context, (const char *)sqlite3_column_text(statement, 0),
               (const char *)sqlite3_column_text(statement, 1), sqlite3_column_int64(statement, 2),
               now - sqlite3_column_int64(statement, 3), sqlite3_column_int64(statement, 4));
      rc = SQLITE_OK;
    }
    sqlite3_finalize(statement);
    if (rc != SQLITE_OK && rc != SQLITE_DONE) diskcache_after_failure(rc);
  }
  pthread_mutex_unlock(&diskcache_lock);
  return result;
}

int diskcache_problem(char *out, size_t size) {
  if (!diskcache_enabled() || size == 0) return 0;
  pthread_mutex_lock(&diskcache_lock);
  int unusable = diskcache_open() == NULL;
  if (unusable) snprintf(out, size, "%s", diskcache_problem_text);
  pthread_mutex_unlock(&diskcache_lock);
  return unusable;
}
