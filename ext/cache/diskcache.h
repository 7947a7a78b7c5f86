/*
 * The disk level of the response cache, opt-in: INTERACTIONS_CACHE_DIR names a directory, and the
 * answers are kept in a SQLite database there (interactions-cache.db, WAL), shared by every
 * process of the user. Interaction histories are personal data: the directory must be the user's
 * own and closed to others (0700), the files are 0600. Entries are keyed by vendor, host, a keyed
 * fingerprint of the account (never a credential) and the request URL (which never holds one:
 * credentials travel in headers). A cache that cannot be used (a corrupt file, a directory others
 * can read, no space) is one stderr note and a cold query, never a failed one.
 */
#ifndef IX_DISKCACHE_H
#define IX_DISKCACHE_H

#include <stddef.h>
#include <stdint.h>

/* Whether INTERACTIONS_CACHE_DIR is set (the disk level is wanted, usable or not). */
int diskcache_enabled(void);

/* Looks up an answer stored less than ttl_ms ago and not expired. On a hit returns 1 with a
 * malloc'd, NUL-terminated copy of the body and counts the hit. */
int diskcache_get(const char *vendor, const char *host, uint64_t account, const char *url,
                  long long ttl_ms, long *status, char **body, size_t *body_len);

/* Stores an answer for ttl_ms, evicting the least recently used entries beyond
 * INTERACTIONS_CACHE_DISK_MB (default 256). */
void diskcache_put(const char *vendor, const char *host, uint64_t account, const char *url,
                   long long ttl_ms, long status, const char *body, size_t body_len);

/* Deletes every entry; returns how many there were. */
int diskcache_clear(void);

/* Calls each(context, vendor, url, bytes, age_ms, hits) for every entry; returns each's first
 * non-zero result. */
int diskcache_each(int (*each)(void *context, const char *vendor, const char *url, long long bytes,
                               long long age_ms, long long hits),
                   void *context);

/* Whether the disk level is wanted but unusable (opening it first if need be): then out says why,
 * as the stderr note did. */
int diskcache_problem(char *out, size_t size);

#endif
