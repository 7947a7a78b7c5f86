/*
 * Credential encodings the vendors ask for: HTTP Basic, and Capillary's MD5 of the till password.
 * The results are secrets: callers put them only into request headers, which http.c wipes.
 */
#ifndef IX_AUTH_H
#define IX_AUTH_H

#include <stddef.h>

#include "util/http.h"

/* Lowercase hex MD5 of text into out (33 bytes with the NUL). Returns 0, or -1 on failure. */
int auth_md5_hex(const char *text, char out[33]);

/* Adds "Authorization: Basic base64(user:password)". Returns 0, or -1 when out of memory. */
int auth_add_basic(http_headers *headers, const char *user, const char *password);

/* Adds "Authorization: <scheme> <token>" (Bearer, Token). Returns 0, or -1 when out of memory. */
int auth_add_scheme(http_headers *headers, const char *scheme, const char *token);

#endif
