/*
 * Request URLs from a base URL and SQL-supplied values: see url.h for why it is strict.
 */
#include "util/url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void url_init(url_builder *url) {
  memset(url, 0, sizeof(*url));
}

void url_free(url_builder *url) {
  free(url->text);
  url_init(url);
}

static int url_reserve(url_builder *url, size_t extra) {
  if (url->out_of_memory) return -1;
  if (url->length + extra + 1 <= url->capacity) return 0;
  size_t capacity = url->capacity ? url->capacity : 128;
  while (capacity < url->length + extra + 1) capacity *= 2;
  char *grown = realloc(url->text, capacity);
  if (!grown) {
    url->out_of_memory = 1;
    return -1;
  }
  url->text = grown;
  url->capacity = capacity;
  return 0;
}

static int url_append_bytes(url_builder *url, const char *bytes, size_t length) {
  if (url_reserve(url, length) != 0) return -1;
  memcpy(url->text + url->length, bytes, length);
  url->length += length;
  url->text[url->length] = '\0';
  return 0;
}

int url_append_raw(url_builder *url, const char *text) {
  return url_append_bytes(url, text, strlen(text));
}

/* RFC 3986 unreserved characters are the only ones left as they are. */
static int url_is_unreserved(unsigned char c) {
  return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int url_append_encoded(url_builder *url, const char *value, size_t length) {
  static const char hex[] = "0123456789ABCDEF";
  if (url_reserve(url, length * 3) != 0) return -1;
  char *out = url->text + url->length;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)value[i];
    if (url_is_unreserved(c)) {
      *out++ = (char)c;
    } else {
      *out++ = '%';
      *out++ = hex[c >> 4];
      *out++ = hex[c & 15];
    }
  }
  url->length = (size_t)(out - url->text);
  url->text[url->length] = '\0';
  return 0;
}

int url_append_segment(url_builder *url, const char *value, size_t length, const char **problem) {
  if (length == 0) {
    *problem = "is empty";
    return -1;
  }
  /* "." and ".." survive percent-encoding unchanged and libcurl squashes dot-segments, so
   * ".../contacts/../x" would reach another endpoint with the user's credentials. */
  if ((length == 1 && value[0] == '.') || (length == 2 && value[0] == '.' && value[1] == '.')) {
    *problem = "is '.' or '..', which would change the request path";
    return -1;
  }
  if (length > URL_MAX_SEGMENT) {
    *problem = "is longer than 256 bytes";
    return -1;
  }
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)value[i];
    if (c < 0x20 || c == 0x7f) {
      *problem = "contains a control character or NUL";
      return -1;
    }
  }
  if (url_append_bytes(url, "/", 1) != 0 || url_append_encoded(url, value, length) != 0) {
    *problem = "could not be added: out of memory";
    return -1;
  }
  return 0;
}

int url_append_query(url_builder *url, const char *name, const char *value) {
  int has_query = url->text && strchr(url->text, '?') != NULL;
  if (url_append_bytes(url, has_query ? "&" : "?", 1) != 0) return -1;
  if (url_append_encoded(url, name, strlen(name)) != 0) return -1;
  if (url_append_bytes(url, "=", 1) != 0) return -1;
  return url_append_encoded(url, value, strlen(value));
}

int url_host_is_loopback(const char *host) {
  if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0) {
    return 1;
  }
  /* 127.0.0.0/8 as a strict dotted quad: four parts of 0-255 without leading zeros. Anything
   * looser (127.0.0.256, 127.1., 127.0.0.09) libcurl hands to DNS as a name, which may resolve
   * anywhere, so it must not count as loopback. */
  if (strncmp(host, "127.", 4) != 0) return 0;
  const char *p = host;
  for (int part = 0; part < 4; part++) {
    if (part > 0 && *p++ != '.') return 0;
    const char *start = p;
    unsigned value = 0;
    while (isdigit((unsigned char)*p) && p - start < 3) value = value * 10 + (unsigned)(*p++ - '0');
    if (p == start || isdigit((unsigned char)*p) || value > 255 ||
        (p - start > 1 && *start == '0')) {
      return 0;
    }
  }
  return *p == '\0';
}

int url_check_base(const char *base, char *host, size_t host_size, int *is_https,
                   const char **problem) {
  const char *rest;
  if (strncmp(base, "https://", 8) == 0) {
    *is_https = 1;
    rest = base + 8;
  } else if (strncmp(base, "http://", 7) == 0) {
    *is_https = 0;
    rest = base + 7;
  } else {
    *problem = "must start with https://";
    return -1;
  }
  size_t authority = strcspn(rest, "/?#");
  if (authority == 0) {
    *problem = "has no host";
    return -1;
  }
  if (memchr(rest, '@', authority)) {
    *problem = "must not contain user info (credentials belong in their own settings)";
    return -1;
  }
  if (strpbrk(rest, "?#")) {
    *problem = "must not contain a query string or fragment";
    return -1;
  }
  for (const char *p = base; *p; p++) {
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
      *problem = "contains a space or control character";
      return -1;
    }
  }
  /* The host without a port; IPv6 literals keep their brackets. */
  size_t host_length = authority;
  if (rest[0] == '[') {
    const char *close = memchr(rest, ']', authority);
    if (!close) {
      *problem = "has an unterminated IPv6 address";
      return -1;
    }
    host_length = (size_t)(close - rest) + 1;
  } else {
    const char *colon = memchr(rest, ':', authority);
    if (colon) host_length = (size_t)(colon - rest);
  }
  if (host_length == 0 || host_length >= host_size) {
    *problem = "has an empty or over-long host";
    return -1;
  }
  memcpy(host, rest, host_length);
  host[host_length] = '\0';
  for (char *p = host; *p; p++) *p = (char)tolower((unsigned char)*p);
  return 0;
}

/* The length of "scheme://authority" at the start of url, or 0 when it has none. */
static size_t url_origin_length(const char *url) {
  const char *separator = strstr(url, "://");
  if (!separator || separator == url) return 0;
  for (const char *p = url; p < separator; p++) {
    if (!isalpha((unsigned char)*p)) return 0;
  }
  const char *authority = separator + 3;
  return (size_t)(authority - url) + strcspn(authority, "/?#");
}

int url_same_origin(const char *base, const char *url) {
  size_t base_length = url_origin_length(base);
  size_t url_length = url_origin_length(url);
  if (base_length == 0 || base_length != url_length) return 0;
  for (size_t i = 0; i < base_length; i++) {
    if (tolower((unsigned char)base[i]) != tolower((unsigned char)url[i])) return 0;
  }
  return 1;
}

int url_canonical_origin(const char *base, char *out, size_t size) {
  const char *rest = strstr(base, "://");
  if (!rest) return -1;
  size_t scheme = (size_t)(rest - base);
  rest += 3;
  size_t authority = strcspn(rest, "/?#");
  const char *at = memchr(rest, '@', authority); /* base URLs carry none; never part of a key */
  if (at) {
    authority -= (size_t)(at + 1 - rest);
    rest = at + 1;
  }
  size_t host = authority;
  const char *port = NULL;
  if (*rest == '[') {
    const char *close = memchr(rest, ']', authority);
    host = close ? (size_t)(close - rest) + 1 : authority;
  } else {
    const char *colon = memchr(rest, ':', authority);
    if (colon) host = (size_t)(colon - rest);
  }
  if (host < authority && rest[host] == ':' && host + 1 < authority) port = rest + host + 1;
  size_t port_length = port ? authority - host - 1 : 0;
  if (host > 1 && rest[host - 1] == '.') host--; /* "example.com." is "example.com" */
  int https = scheme == 5 && strncasecmp(base, "https", 5) == 0;
  size_t needed = scheme + 3 + host + 1 + (port ? port_length : (https ? 3 : 2));
  if (size > 0) {
    size_t at_out = 0;
    char port_text[8];
    snprintf(port_text, sizeof(port_text), "%s", https ? "443" : "80");
    const char *parts[4] = {base, "://", rest, port ? port : port_text};
    size_t lengths[4] = {scheme, 3, host, port ? port_length : strlen(port_text)};
    for (int part = 0; part < 4; part++) {
      if (part == 3 && at_out + 1 < size) out[at_out++] = ':';
      for (size_t i = 0; i < lengths[part] && at_out + 1 < size; i++) {
        out[at_out++] = (char)tolower((unsigned char)parts[part][i]);
      }
    }
    out[at_out] = '\0';
  }
  return (int)needed;
}

int url_canonical(const char *url, char *out, size_t size) {
  int origin = url_canonical_origin(url, out, size);
  if (origin < 0) return -1;
  const char *rest = strstr(url, "://") + 3;
  rest += strcspn(rest, "/?#");
  size_t rest_length = strlen(rest);
  if ((size_t)origin < size) {
    size_t room = size - 1 - (size_t)origin;
    size_t copied = rest_length < room ? rest_length : room;
    memcpy(out + origin, rest, copied);
    out[(size_t)origin + copied] = '\0';
  }
  return origin + (int)rest_length;
}
