/*
 * The response cache: 2xx and 404 answers kept for cache_ttl seconds, keyed by the account (vendor,
 * host and credentials, hashed) and the request URL in its canonical spelling (util/url.h's
 * url_canonical, the spelling the limiter's account uses: "http://LOCALHOST:8080/x",
 * "http://localhost.:8080/x" are one entry, as "https://h/x" and "https://h:443/x" are). Two levels: memory, shared by the process
 * (INTERACTIONS_CACHE_MB, default 64, counting what entries really cost), and, when
 * INTERACTIONS_CACHE_DIR is set, a SQLite database on disk shared by every process of the user
 * (diskcache.h). A join whose CRM table repeats a customer, a query run twice, or a second process
 * within the TTL asks the vendor once per customer. Both levels evict the least recently used.
 *
 *     SELECT vendor, url, bytes, age, hits, level FROM interactions_cache;
 *     SELECT interactions_cache_clear();
 */
#ifndef IX_CACHE_H
#define IX_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Which level answered a lookup. */
typedef enum cache_level { CACHE_MISS = 0, CACHE_MEMORY = 1, CACHE_DISK = 2 } cache_level;

/* Looks up an answer stored less than ttl_ms ago: memory first, then disk (a disk hit is copied
 * into memory). On a hit returns its level with a malloc'd copy of the body (NUL-terminated). */
cache_level cache_lookup(const char *vendor, uint64_t account, const char *url, long long ttl_ms,
                         long *status, char **body, size_t *body_len);

/* Stores a complete, successfully read answer in both levels for ttl_ms. */
void cache_store(const char *vendor, uint64_t account, const char *url, long long ttl_ms,
                 long status, const char *body, size_t body_len);

/* Empties both levels; returns how many entries they held. */
int cache_clear(void);

/* The name interactions_requests shows for a level ("memory", "disk"), NULL for a miss. */
const char *cache_level_name(int level);

/* Calls each for every live entry of both levels (memory first, least recently used first):
 * bytes is what it counts against its level's cap, age_ms the time since it was stored. Returns
 * each's first non-zero result (interactions_cache, sql/tables/cachetable.c). */
typedef int (*cache_each_fn)(void *context, const char *vendor, const char *url, long long bytes,
                             long long age_ms, long long hits, int level);
int cache_each(cache_each_fn each, void *context);

#endif
