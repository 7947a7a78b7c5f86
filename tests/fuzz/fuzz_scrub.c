/*
 * fuzz_scrub: ext/auth/scrub.c, which takes secrets out of what a vendor says back.
 *
 * The input's first byte gives the secret's length (3 to 34 bytes), the bytes after it the secret
 * (up to a NUL, sent as the header "X-Key: <secret>"), the rest the vendor's text. The text is
 * scrubbed as it is, and when the first byte is 128 or more once more repeated to 64 KiB (what
 * errors.c scrubs at most), so a cost worse than linear shows as a timeout.
 *
 * Invariants (abort() on violation), for a secret of 8 bytes or more without '*' (the marker):
 *   - no 8-byte window of the secret, nor 8 characters of its hex, survives, in any letter case
 *     (the output's bytes between two markers are bytes of the text next to each other, so a window
 *     left there was a window of the text);
 *   - the text comes back unchanged when scrub_text found nothing ("***" absent), and never longer
 *     (a run of secret bytes, 3 at least, becomes 3 bytes).
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/scrub.h"
#include "fuzz_check.h"

#define FUZZ_WINDOW 8
#define FUZZ_REPEATED 65536

static unsigned char fuzz_lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static void fuzz_check_clean(const char *clean, const char *secret, size_t secret_length) {
  if (secret_length < FUZZ_WINDOW || memchr(secret, '*', secret_length)) return;
  static const char digits[] = "0123456789abcdef";
  char lower[40], hex[2 * 40];
  for (size_t i = 0; i < secret_length; i++) {
    lower[i] = (char)fuzz_lower((unsigned char)secret[i]);
    hex[2 * i] = digits[(unsigned char)secret[i] >> 4];
    hex[2 * i + 1] = digits[(unsigned char)secret[i] & 15];
  }
  size_t length = strlen(clean);
  char *haystack = malloc(length + 1);
  FUZZ_CHECK(haystack != NULL);
  for (size_t i = 0; i <= length; i++) haystack[i] = (char)fuzz_lower((unsigned char)clean[i]);
  for (size_t i = 0; i + FUZZ_WINDOW <= secret_length; i++) {
    FUZZ_CHECK(!memmem(haystack, length, lower + i, FUZZ_WINDOW));
  }
  for (size_t i = 0; i + FUZZ_WINDOW <= 2 * secret_length; i++) {
    FUZZ_CHECK(!memmem(haystack, length, hex + i, FUZZ_WINDOW));
  }
  free(haystack);
}

static void fuzz_scrub(const http_headers *headers, const char *secret, size_t secret_length,
                       const char *text) {
  char *clean = scrub_text(NULL, headers, sqlite3_mprintf("%s", text));
  FUZZ_CHECK(clean != NULL);
  size_t length = strlen(text), clean_length = strlen(clean);
  if (!strstr(clean, "***")) FUZZ_CHECK(strcmp(clean, text) == 0);
  FUZZ_CHECK(clean_length <= length); /* a run of secret bytes is 3 bytes at least */
  fuzz_check_clean(clean, secret, secret_length);
  sqlite3_free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t wanted = 3 + data[0] % 32;
  char secret[40];
  size_t secret_length = 0; /* up to 34 */
  size_t at = 1;
  while (at < size && secret_length < wanted && data[at] != 0)
    secret[secret_length++] = (char)data[at++];
  secret[secret_length] = '\0';
  /* A header value starts after "X-Key: " spaces; one with a space is a scheme and a value. */
  if (secret_length == 0 || secret[0] == ' ' || strchr(secret, ' ') || strchr(secret, '\r') ||
      strchr(secret, '\n')) {
    return 0;
  }
  char *text = malloc(size - at + 1);
  FUZZ_CHECK(text != NULL);
  memcpy(text, data + at, size - at);
  text[size - at] = '\0';

  http_headers headers = {0};
  FUZZ_CHECK(http_headers_add(&headers, "X-Key", secret) == 0);
  fuzz_scrub(&headers, secret, secret_length, text);

  size_t text_length = strlen(text);
  if (text_length > 0 && data[0] >= 128) {
    char *repeated = malloc(FUZZ_REPEATED + 1);
    FUZZ_CHECK(repeated != NULL);
    for (size_t i = 0; i < FUZZ_REPEATED; i++) repeated[i] = text[i % text_length];
    repeated[FUZZ_REPEATED] = '\0';
    fuzz_scrub(&headers, secret, secret_length, repeated);
    free(repeated);
  }
  http_headers_clear(&headers);
  free(text);
  return 0;
}
