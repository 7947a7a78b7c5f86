/*
 * fuzz_url: ext/util/url.c, where SQL-supplied identifiers and the configured base URL become the
 * request URL (docs/libcurl.md#path-segments).
 *
 * One input is used four ways:
 *   - url_append_segment on all its bytes (any length, NULs included), on an empty builder and on
 *     one holding a base URL;
 *   - url_append_query with name = the bytes before the first NUL and value = the bytes after it
 *     (up to the next NUL), twice, so both '?' and '&' are produced;
 *   - url_check_base on the input up to its first NUL, into exactly-sized host buffers of 256 bytes
 *     (what the engine uses) and of 1..16 bytes, so ASan sees any write past the end;
 *   - url_host_is_loopback on the host it found and on the raw text;
 *   - url_same_origin with the text before the first NUL as the base and the text after it as a
 *     next-page URL.
 *
 * Invariants (abort() on violation):
 *   - an accepted segment was 1..256 bytes, not "." or "..", without control bytes; it appended
 *     "/" and only unreserved characters and %XX, never '/', '?' or '#', and decodes back to the
 *     input; a refused one set problem and left the URL unchanged;
 *   - a query appends '?' first and '&' after, name and value encoded the same way, both decoding
 *     back to what was given;
 *   - the builder's text is always NUL-terminated at its length;
 *   - an accepted base URL starts with http:// or https:// (is_https says which), its host fits the
 *     buffer, is lower case and holds no '/', '?', '#', '@' or byte <= 0x20;
 *   - a host url_host_is_loopback accepts is one libcurl also sends to this machine: libcurl's URL
 *     parser is the oracle, and its normalised host must be localhost, [::1] or 127.a.b.c with
 *     parts 0..255 (config.c allows plain http, with the credentials, only to loopback);
 *   - url_same_origin is symmetric, and two URLs it calls the same origin are ones libcurl sends
 *     to the same scheme, host and port (a next-page URL from a response gets the credentials).
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "util/url.h"

static int fuzz_is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

static int fuzz_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1; /* url.c writes upper-case hex only */
}

/* Checks that encoded[0..encoded_length) is a strict percent-encoding of value[0..length). */
static void fuzz_check_encoding(const char *encoded, size_t encoded_length, const char *value,
                                size_t length) {
  size_t in = 0;
  for (size_t i = 0; i < encoded_length; in++) {
    FUZZ_CHECK(in < length);
    unsigned char c = (unsigned char)encoded[i];
    FUZZ_CHECK(c != '/' && c != '?' && c != '#' && c != '&' && c != '=');
    if (c == '%') {
      FUZZ_CHECK(i + 2 < encoded_length);
      int high = fuzz_hex_value(encoded[i + 1]), low = fuzz_hex_value(encoded[i + 2]);
      FUZZ_CHECK(high >= 0 && low >= 0);
      unsigned char decoded = (unsigned char)(high * 16 + low);
      FUZZ_CHECK(decoded == (unsigned char)value[in]);
      FUZZ_CHECK(!fuzz_is_unreserved(decoded)); /* unreserved characters are never encoded */
      i += 3;
    } else {
      FUZZ_CHECK(fuzz_is_unreserved(c));
      FUZZ_CHECK(c == (unsigned char)value[in]);
      i++;
    }
  }
  FUZZ_CHECK(in == length);
}

static void fuzz_check_terminated(const url_builder *url) {
  if (!url->text) {
    FUZZ_CHECK(url->length == 0);
    return;
  }
  FUZZ_CHECK(url->length < url->capacity && url->text[url->length] == '\0');
  FUZZ_CHECK(strlen(url->text) == url->length);
}

static void fuzz_segment(const char *base, const char *value, size_t length) {
  url_builder url;
  url_init(&url);
  if (base) url_append_raw(&url, base);
  size_t before = url.length;
  const char *problem = NULL;
  int rc = url_append_segment(&url, value, length, &problem);
  fuzz_check_terminated(&url);
  if (rc != 0) {
    FUZZ_CHECK(problem != NULL && *problem);
    FUZZ_CHECK(url.length == before);
  } else {
    FUZZ_CHECK(length >= 1 && length <= URL_MAX_SEGMENT);
    FUZZ_CHECK(!(length == 1 && value[0] == '.'));
    FUZZ_CHECK(!(length == 2 && value[0] == '.' && value[1] == '.'));
    for (size_t i = 0; i < length; i++) {
      FUZZ_CHECK((unsigned char)value[i] >= 0x20 && (unsigned char)value[i] != 0x7f);
    }
    FUZZ_CHECK(url.length > before && url.text[before] == '/');
    fuzz_check_encoding(url.text + before + 1, url.length - before - 1, value, length);
  }
  url_free(&url);
}

static void fuzz_query(const char *base, const char *name, const char *value) {
  url_builder url;
  url_init(&url);
  if (base) url_append_raw(&url, base);
  for (int round = 0; round < 2; round++) {
    int had_query = url.text && strchr(url.text, '?') != NULL;
    size_t before = url.length;
    int rc = url_append_query(&url, name, value);
    fuzz_check_terminated(&url);
    if (rc != 0) break; /* out of memory only */
    const char *added = url.text + before;
    FUZZ_CHECK(added[0] == (had_query ? '&' : '?'));
    const char *equals = strchr(added + 1, '=');
    FUZZ_CHECK(equals != NULL);
    fuzz_check_encoding(added + 1, (size_t)(equals - added - 1), name, strlen(name));
    fuzz_check_encoding(equals + 1, strlen(equals + 1), value, strlen(value));
  }
  url_free(&url);
}

/* The host libcurl would connect to for base, lower-cased, or NULL if libcurl refuses the URL. */
static char *fuzz_curl_host(const char *base) {
  CURLU *parsed = curl_url();
  FUZZ_CHECK(parsed != NULL);
  char *host = NULL, *copy = NULL;
  if (curl_url_set(parsed, CURLUPART_URL, base, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
    copy = strdup(host);
    FUZZ_CHECK(copy != NULL);
    for (char *p = copy; *p; p++) {
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    }
  }
  curl_free(host);
  curl_url_cleanup(parsed);
  return copy;
}

/* What libcurl's normalised host must be for the connection to stay on this machine: localhost,
 * [::1] or a canonical dotted quad 127.a.b.c (parts 0..255, no leading zeros). libcurl rewrites
 * every numeric form it reads as an address (octal, hex, short) into that; whatever it leaves
 * otherwise (127.0.0.256, 127.0.0.09, "127.1.2.") is a name it hands to the resolver. */
static int fuzz_is_loopback_address(const char *host) {
  if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0) return 1;
  const char *p = host;
  unsigned first = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0 && *p++ != '.') return 0;
    const char *start = p;
    unsigned value = 0;
    while (*p >= '0' && *p <= '9' && p - start < 4) value = value * 10 + (unsigned)(*p++ - '0');
    size_t digits = (size_t)(p - start);
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && *start == '0')) return 0;
    if (part == 0) first = value;
  }
  return *p == '\0' && first == 127;
}

/* libCurl's scheme, host and port for url (default ports filled in), or 0 if it refuses it. */
static int fuzz_curl_origin(const char *url, char **scheme, char **host, char **port) {
  CURLU *parsed = curl_url();
  FUZZ_CHECK(parsed != NULL);
  *scheme = *host = *port = NULL;
  int ok = curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(parsed, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
           curl_url_get(parsed, CURLUPART_HOST, host, 0) == CURLUE_OK &&
           curl_url_get(parsed, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  curl_url_cleanup(parsed);
  if (!ok) {
    curl_free(*scheme), curl_free(*host), curl_free(*port);
    *scheme = *host = *port = NULL;
  }
  return ok;
}

/* A next-page URL that url_same_origin lets through goes where the base URL goes. */
static void fuzz_same_origin(const char *base, const char *url) {
  int same = url_same_origin(base, url);
  FUZZ_CHECK(same == url_same_origin(url, base));
  if (!same) return;
  char *base_scheme, *base_host, *base_port, *url_scheme, *url_host, *url_port;
  int base_ok = fuzz_curl_origin(base, &base_scheme, &base_host, &base_port);
  int url_ok = fuzz_curl_origin(url, &url_scheme, &url_host, &url_port);
  if (base_ok && url_ok &&
      (strcasecmp(base_scheme, url_scheme) != 0 || strcasecmp(base_host, url_host) != 0 ||
       strcmp(base_port, url_port) != 0)) {
    fprintf(stderr,
            "fuzz_url: url_same_origin('%s', '%s') but libcurl goes to %s://%s:%s and %s://%s:%s\n",
            base, url, base_scheme, base_host, base_port, url_scheme, url_host, url_port);
    abort();
  }
  if (base_ok) curl_free(base_scheme), curl_free(base_host), curl_free(base_port);
  if (url_ok) curl_free(url_scheme), curl_free(url_host), curl_free(url_port);
}

static void fuzz_base(const char *base, size_t host_size) {
  char *host = malloc(host_size); /* exactly host_size bytes: ASan catches any overrun */
  FUZZ_CHECK(host != NULL);
  int is_https = -1;
  const char *problem = NULL;
  int rc = url_check_base(base, host, host_size, &is_https, &problem);
  if (rc != 0) {
    FUZZ_CHECK(problem != NULL && *problem);
    free(host);
    return;
  }
  FUZZ_CHECK(is_https == 0 || is_https == 1);
  FUZZ_CHECK(strncmp(base, is_https ? "https://" : "http://", is_https ? 8 : 7) == 0);
  size_t length = strnlen(host, host_size);
  FUZZ_CHECK(length > 0 && length < host_size);
  for (const char *p = host; *p; p++) {
    unsigned char c = (unsigned char)*p;
    FUZZ_CHECK(c > 0x20 && c != 0x7f && !(c >= 'A' && c <= 'Z'));
    FUZZ_CHECK(c != '/' && c != '?' && c != '#' && c != '@');
  }
  /* The host is the start of the authority, as written (case aside). */
  FUZZ_CHECK(strncasecmp(base + (is_https ? 8 : 7), host, length) == 0);
  if (url_host_is_loopback(host)) {
    /* Plain http is allowed here: libcurl must be going to a loopback address, or nowhere. */
    char *curl_host = fuzz_curl_host(base);
    if (curl_host && !fuzz_is_loopback_address(curl_host)) {
      fprintf(stderr,
              "fuzz_url: url_check_base gives host '%s', which url_host_is_loopback accepts, but "
              "libcurl connects to '%s' (not a loopback address: resolved by DNS) for base "
              "'%s'\n",
              host, curl_host, base);
      abort();
    }
    free(curl_host);
  }
  free(host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Segments: exactly the input's bytes, not NUL-terminated. */
  char *exact = malloc(size ? size : 1);
  FUZZ_CHECK(exact != NULL);
  if (size) memcpy(exact, data, size);
  fuzz_segment(NULL, exact, size);
  fuzz_segment("https://api.fuzz.example/v1/contacts", exact, size);
  free(exact);

  /* NUL-terminated views: text = the input up to its first NUL; value = what follows it. */
  char *text = malloc(size + 1);
  FUZZ_CHECK(text != NULL);
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  size_t text_length = strlen(text);
  const char *value = text_length < size ? text + text_length + 1 : "";

  fuzz_query(NULL, text, value);
  fuzz_query("https://api.fuzz.example/v2/customers/interaction", text, value);

  fuzz_base(text, 256);
  fuzz_base(text, 1 + size % 16);
  url_host_is_loopback(text);
  fuzz_same_origin(text, value);

  free(text);
  return 0;
}
