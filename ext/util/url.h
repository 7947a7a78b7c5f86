/*
 * Building request URLs from a configured base URL and values that come from SQL.
 *
 * Values from SQL are hostile until proven otherwise (docs/libcurl.md#path-segments): every path
 * segment and query value is percent-encoded here, and a path segment that libcurl or a server
 * could read as something else (empty, "." or "..", control characters, an absurd length) is
 * refused. Plain C with no SQLite or libcurl dependency, so it can be unit-tested and fuzzed on its
 * own.
 */
#ifndef IX_URL_H
#define IX_URL_H

#include <stddef.h>

#define URL_MAX_SEGMENT 256

typedef struct url_builder {
  char *text;
  size_t length;
  size_t capacity;
  int out_of_memory;
} url_builder;

void url_init(url_builder *url);
void url_free(url_builder *url);
/* Appends text as is: for the base URL and for literal path parts the provider writes. */
int url_append_raw(url_builder *url, const char *text);
/* Appends "/" and the encoded value. Returns 0, or -1 with *problem set to why it was refused. */
int url_append_segment(url_builder *url, const char *value, size_t length, const char **problem);
/* Appends "?name=value" or "&name=value", both encoded. */
int url_append_query(url_builder *url, const char *name, const char *value);

/* Checks a configured base URL: scheme http or https, a host, no user info, query or fragment.
 * Copies the host (at most host_size-1 bytes) for messages and the loopback test. Returns 0, or -1
 * with *problem set. */
int url_check_base(const char *base, char *host, size_t host_size, int *is_https,
                   const char **problem);
/* Whether url has the same scheme, host and port as base: a next-page URL from a response is data,
 * and one that points elsewhere must not receive the credentials. */
int url_same_origin(const char *base, const char *url);

/* scheme://host:port of base written one way, so that one host is one account (its rate-limit
 * window, its cache entries) however the base URL spells it: scheme and host lower-cased, a
 * trailing dot of the host dropped, the port explicit (80 or 443 when absent). Writes at most
 * size-1 bytes and a NUL; returns the length it needed (like snprintf), or -1 when base has no
 * "://". */
int url_canonical_origin(const char *base, char *out, size_t size);
/* url with its origin written as url_canonical_origin writes it and the rest (path, query) as it
 * is: the response cache's key, so one request is one entry however the base URL spells the host.
 * Same return as url_canonical_origin. */
int url_canonical(const char *url, char *out, size_t size);

/* 127.0.0.0/8, ::1 and localhost: where plain http is acceptable (the sandbox). */
int url_host_is_loopback(const char *host);

#endif
