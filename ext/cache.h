/*
 * The response cache: 2xx and 404 bodies kept in memory for cache_ttl seconds, keyed by the
 * account (vendor, host and credentials, hashed) and the request URL, shared by the process. A join
 * whose CRM table repeats a customer, or a query run twice, asks the vendor once per customer.
 */
#ifndef IX_CACHE_H
#define IX_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Looks up a fresh entry. On a hit returns 1 with a malloc'd copy of the body (NUL-terminated). */
int cache_get(uint64_t account, const char *url, long long now_ms, long *status, char **body,
              size_t *body_len);
/* Stores a response until now_ms + ttl_ms, evicting the oldest entries beyond the size budget. */
void cache_put(uint64_t account, const char *url, long long now_ms, long long ttl_ms, long status,
               const char *body, size_t body_len);
/* Empties the cache; returns how many entries it held. */
int cache_clear(void);

#endif
