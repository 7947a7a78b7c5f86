/*
 * limiter_url read into its parts. See redisurl.h.
 */
#include "limit/redisurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *rate_copy(const char *start, size_t length) {
  char *copy = malloc(length + 1);
  if (!copy) return NULL;
  memcpy(copy, start, length);
  copy[length] = '\0';
  return copy;
}

static const char *rate_url_unix(const char *url, rate_redis_url *out) {
  if (url[7] != '/') return "a unix URL names an absolute path: unix:///path/to/redis.sock";
  out->host = rate_copy(url + 7, strlen(url + 7));
  out->where = rate_copy(url, strlen(url));
  return out->host && out->where ? NULL : "out of memory";
}

/* Takes the password from user:password@ at *rest, moving *rest and *authority past it. */
static const char *rate_url_userinfo(const char **rest, size_t *authority, rate_redis_url *out) {
  const char *at = memchr(*rest, '@', *authority);
  if (!at) return NULL;
  const char *colon = memchr(*rest, ':', (size_t)(at - *rest));
  if (colon && at > colon + 1) {
    out->password = rate_copy(colon + 1, (size_t)(at - colon - 1));
    if (!out->password) return "out of memory";
  }
  *authority -= (size_t)(at + 1 - *rest);
  *rest = at + 1;
  return NULL;
}

/* host[:port] or [v6][:port], the authority_length characters at rest. */
static const char *rate_url_host(const char *rest, size_t authority, rate_redis_url *out) {
  const char *port_colon = NULL;
  size_t host_length = authority;
  const char *host = rest;
  if (*rest == '[') {
    const char *close = memchr(rest, ']', authority);
    if (!close) return "an IPv6 address needs its closing ']'";
    host = rest + 1;
    host_length = (size_t)(close - host);
    if (close + 1 < rest + authority && close[1] == ':') port_colon = close + 1;
  } else {
    port_colon = memchr(rest, ':', authority);
    if (port_colon) host_length = (size_t)(port_colon - rest);
  }
  if (host_length == 0) return "it names no host";
  out->port = 6379;
  if (port_colon) {
    char *end = NULL;
    long port = strtol(port_colon + 1, &end, 10);
    if (end != rest + authority || port < 1 || port > 65535) return "its port is not 1-65535";
    out->port = (int)port;
  }
  out->host = rate_copy(host, host_length);
  return out->host ? NULL : "out of memory";
}

const char *rate_redis_url_parse(const char *url, rate_redis_url *out) {
  if (strncmp(url, "unix://", 7) == 0) return rate_url_unix(url, out);
  if (strncmp(url, "rediss://", 9) == 0) return "TLS (rediss://) is not supported: use redis://";
  if (strncmp(url, "redis://", 8) != 0) {
    return "it must start with redis:// or unix://";
  }
  const char *rest = url + 8;
  size_t authority = strcspn(rest, "/?#");
  const char *problem = rate_url_userinfo(&rest, &authority, out);
  if (!problem) problem = rate_url_host(rest, authority, out);
  if (problem) return problem;
  const char *path = rest + authority;
  if (*path == '/' && path[1]) {
    char *end = NULL;
    long database = strtol(path + 1, &end, 10);
    if (*end || database < 0 || database > 1000000) return "its path must be a database number";
    out->database = (int)database;
  }
  size_t where_size = strlen(out->host) + 64;
  out->where = malloc(where_size);
  if (!out->where) return "out of memory";
  snprintf(out->where, where_size, "redis://%s%s%s:%d/%d", *rest == '[' ? "[" : "", out->host,
           *rest == '[' ? "]" : "", out->port, out->database);
  return NULL;
}
