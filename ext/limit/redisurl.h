/*
 * limiter_url read: redis://[:password@]host[:port][/db] or unix:///path/to/socket (redis.c
 * connects to it). The password is kept apart and never in where.
 */
#ifndef IX_LIMIT_REDISURL_H
#define IX_LIMIT_REDISURL_H

typedef struct rate_redis_url {
  char *host;     /* or the socket's path, when unix */
  int port;       /* 0: host is a Unix socket */
  int database;   /* SELECT's number, 0 by default */
  char *password; /* from the URL, or NULL; never in any text */
  char *where;    /* the URL without its password, for messages */
} rate_redis_url;

/* Fills url_out (every string malloc'ed, the caller frees them, also on failure); returns NULL or
 * what is wrong with url (never its password). */
const char *rate_redis_url_parse(const char *url, rate_redis_url *url_out);

#endif
