/*
 * The rate limiter's Redis backend: the windows of an account shared by every host that names the
 * same Redis in limiter_url (docs/reference/rate-limits-and-hosts.md#many-hosts-on-one-account,
 * docs/scale.md).
 *
 * One Lua script (RATE_REDIS_SCRIPT in redis.c), loaded once per connection and called with
 * EVALSHA, does everything for one request in one round trip: it admits the request only if every
 * window of the account has room, records it, and otherwise answers how long to wait. An answer
 * slower than this process expected costs a second call (rate_redis_answered). Time is
 * Redis's own (TIME), never a host's clock. The account's two keys share one hash tag
 * (ix:{fingerprint}:state and ix:{fingerprint}:starts), so a Redis Cluster keeps them on one
 * slot, and they expire once idle for the longest window plus the Retry-After cap. The windows are
 * stored with the state: a host configured with other windows for the account is refused instead
 * of using another quota. The fingerprint is a keyed hash of the account (vendor, host and
 * credentials) under a random key kept in Redis: no credential and no customer id reaches Redis.
 *
 * A password (redis://:secret@host, or INTERACTIONS_LIMITER_PASSWORD) goes to AUTH and nowhere
 * else: every text this file makes names the URL without it (rate_redis_where).
 */
#ifndef IX_RATE_REDIS_H
#define IX_RATE_REDIS_H

#include <stddef.h>

#include "limit/window.h"

typedef struct rate_redis rate_redis;

/* Parses url (redis://[:password@]host[:port][/db] or unix:///path/to/socket) and connects.
 * password is used when the URL has none. Returns NULL when the URL is unusable (problem says
 * why); a Redis that cannot be reached or refuses the password still gives the limiter (it
 * connects again on its next use), with problem filled in and *refused set for a password
 * problem. problem never holds the password; *where (when not NULL) gets the URL without it. */
rate_redis *rate_redis_open(const char *url, const char *password, const char *scope, char *problem,
                            size_t problem_size, int *refused, char **where);
/* Disconnects and forgets (the password is wiped). */
void rate_redis_close(rate_redis *redis);
/* The URL without its password (owned by redis). */
const char *rate_redis_where(const rate_redis *redis);

/* rate_limiter_reserve against Redis: 0 with the request recorded (its number in ticket), or the
 * milliseconds to wait: with ticket->reserved set, the request is recorded to start then and
 * must not ask again; else it asks again then. -1 with problem filled in when Redis is down or
 * too slow, or -2 when it refuses this host (the password, or other windows stored for the
 * account). */
long long rate_redis_reserve(rate_redis *redis, const rate_limit *limit, rate_ticket *ticket,
                             char *problem, size_t problem_size);
/* The request of ticket was answered (its first byte arrived) at answered_ms, on clock_ms:
 * when that is later than expected at admission, its score in Redis moves later (one more round
 * trip, rare once this process has seen a few answers). */
void rate_redis_answered(rate_redis *redis, rate_ticket *ticket, long long answered_ms);
/* After a 429: no host starts a request of the account for pause_ms (capped by
 * rate_pause_cap_ms of the windows last admitted under). Returns 0, or -1 when Redis could not be
 * told. */
int rate_redis_pause(rate_redis *redis, long long pause_ms);
/* Round trips made so far by this process, for the bench (interactions_debug). */
long long rate_redis_round_trips(void);

#endif
