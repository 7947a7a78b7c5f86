/*
 * Keyed fingerprints for what must be told apart on disk without being written there: an account
 * (vendor, host, credentials) names the rate-limit state file and keys the disk cache. HMAC-SHA256
 * under a random key kept 0600 beside the files, truncated to 128 bits (plenty to keep accounts
 * apart): not a hash of a credential anyone could test guesses against without that key.
 */
#ifndef IX_FINGERPRINT_H
#define IX_FINGERPRINT_H

#include <stddef.h>

#define IX_FINGERPRINT_HEX 33 /* 32 hex digits and the NUL */

/* Writes the hex fingerprint of data under key to out. Returns 0, or -1 when it cannot. */
int fingerprint_hex(const unsigned char *key, size_t key_length, const void *data, size_t length,
                    char out[IX_FINGERPRINT_HEX]);

#endif
