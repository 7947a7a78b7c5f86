/*
 * HTTP Basic and MD5 through OpenSSL's EVP API: see auth.h.
 */
#include "auth/auth.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overwrites a buffer that held a credential, in a way the compiler may not drop. */
static void auth_wipe(void *buffer, size_t length) {
  volatile unsigned char *p = buffer;
  while (length--) *p++ = 0;
}

int auth_md5_hex(const char *text, char out[33]) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(text, strlen(text), digest, &digest_length, EVP_md5(), NULL) != 1 ||
      digest_length != 16) {
    return -1;
  }
  static const char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < digest_length; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[32] = '\0';
  auth_wipe(digest, sizeof(digest));
  return 0;
}

int auth_add_basic(http_headers *headers, const char *user, const char *password) {
  size_t plain_length = strlen(user) + 1 + strlen(password);
  char *plain = malloc(plain_length + 1);
  /* EVP_EncodeBlock writes 4 bytes per 3, plus a NUL. */
  size_t encoded_size = 4 * ((plain_length + 2) / 3) + 1;
  char *value = malloc(encoded_size + 6);
  int rc = -1;
  if (plain && value) {
    snprintf(plain, plain_length + 1, "%s:%s", user, password);
    memcpy(value, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)value + 6, (const unsigned char *)plain, (int)plain_length);
    rc = http_headers_add(headers, "Authorization", value);
  }
  if (plain) auth_wipe(plain, plain_length);
  if (value) auth_wipe(value, encoded_size + 6);
  free(plain);
  free(value);
  return rc;
}

int auth_add_scheme(http_headers *headers, const char *scheme, const char *token) {
  size_t length = strlen(scheme) + 1 + strlen(token) + 1;
  char *value = malloc(length);
  if (!value) return -1;
  snprintf(value, length, "%s %s", scheme, token);
  int rc = http_headers_add(headers, "Authorization", value);
  auth_wipe(value, length);
  free(value);
  return rc;
}
