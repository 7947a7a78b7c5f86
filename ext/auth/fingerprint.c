/* Keyed fingerprints: see fingerprint.h. */
#include "auth/fingerprint.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

int fingerprint_hex(const unsigned char *key, size_t key_length, const void *data, size_t length,
                    char out[IX_FINGERPRINT_HEX]) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (!HMAC(EVP_sha256(), key, (int)key_length, data, length, digest, &digest_length) ||
      digest_length < 16) {
    return -1;
  }
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
  out[32] = '\0';
  return 0;
}
