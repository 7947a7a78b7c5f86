/*
 * Scrubbing secrets out of vendor text: see scrub.h for the forms and the 8-byte windows.
 */
#include "auth/scrub.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

SQLITE_EXTENSION_INIT3

#define SCRUB_WINDOW 8
#define SCRUB_SHORTEST 3

static void scrub_wipe(void *buffer, size_t length) {
  volatile unsigned char *p = buffer;
  while (length--) *p++ = 0;
}

static unsigned char scrub_lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint64_t scrub_window(const char *text) {
  uint64_t window = 0;
  for (int i = 0; i < SCRUB_WINDOW; i++) {
    window = window << 8 | scrub_lower((unsigned char)text[i]);
  }
  return window;
}

/* Adds one form: its windows, or the whole of it when it is shorter than a window. */
static void scrub_add(scrub_forms *secrets, const char *form, size_t length) {
  if (length < SCRUB_SHORTEST) return; /* too short to scrub without mangling ordinary text */
  if (length < SCRUB_WINDOW) {
    char **grown = sqlite3_realloc64(secrets->shorts,
                                     (sqlite3_uint64)(secrets->short_count + 1) * sizeof(char *));
    char *copy = grown ? sqlite3_malloc64(length + 1) : NULL;
    if (grown) secrets->shorts = grown;
    if (!copy) {
      secrets->out_of_memory = 1;
      return;
    }
    for (size_t i = 0; i < length; i++) copy[i] = (char)scrub_lower((unsigned char)form[i]);
    copy[length] = '\0';
    secrets->shorts[secrets->short_count++] = copy;
    return;
  }
  size_t windows = length - SCRUB_WINDOW + 1;
  if ((size_t)secrets->gram_count + windows > (size_t)secrets->gram_capacity) {
    size_t capacity = (size_t)secrets->gram_capacity * 2 + windows + 64;
    uint64_t *grown = sqlite3_malloc64(capacity * sizeof(uint64_t));
    if (!grown) {
      secrets->out_of_memory = 1;
      return;
    }
    if (secrets->grams) {
      memcpy(grown, secrets->grams, (size_t)secrets->gram_count * sizeof(uint64_t));
      scrub_wipe(secrets->grams, (size_t)secrets->gram_capacity * sizeof(uint64_t));
      sqlite3_free(secrets->grams);
    }
    secrets->grams = grown;
    secrets->gram_capacity = (int)capacity;
  }
  for (size_t i = 0; i < windows; i++)
    secrets->grams[secrets->gram_count++] = scrub_window(form + i);
}

/* The forms a value takes in a URL query: RFC 3986's unreserved characters kept (what curl and
 * most encoders do), or every character but letters and digits encoded (what some do). */
static void scrub_add_percent(scrub_forms *secrets, const char *value, int keep_unreserved) {
  static const char hex[] = "0123456789ABCDEF";
  size_t length = strlen(value);
  char *encoded = sqlite3_malloc64(3 * length + 1);
  if (!encoded) {
    secrets->out_of_memory = 1;
    return;
  }
  size_t out = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)value[i];
    int alphanumeric = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alphanumeric || (keep_unreserved && (c == '-' || c == '.' || c == '_' || c == '~'))) {
      encoded[out++] = (char)c;
    } else {
      encoded[out++] = '%';
      encoded[out++] = hex[c >> 4];
      encoded[out++] = hex[c & 15];
    }
  }
  if (out != length) scrub_add(secrets, encoded, out);
  scrub_wipe(encoded, out);
  sqlite3_free(encoded);
}

/* A form as sent, and as it looks percent-encoded either way. */
static void scrub_add_form(scrub_forms *secrets, const char *form, size_t length) {
  char *copy = sqlite3_malloc64(length + 1);
  if (!copy) {
    secrets->out_of_memory = 1;
    return;
  }
  memcpy(copy, form, length);
  copy[length] = '\0';
  scrub_add(secrets, copy, length);
  scrub_add_percent(secrets, copy, 1);
  scrub_add_percent(secrets, copy, 0);
  scrub_wipe(copy, length);
  sqlite3_free(copy);
}

static void scrub_add_text(scrub_forms *secrets, const char *form) {
  scrub_add_form(secrets, form, strlen(form));
}

static void scrub_add_base64(scrub_forms *secrets, const char *left, const char *right) {
  size_t plain_length = (left ? strlen(left) + 1 : 0) + strlen(right);
  char *plain = sqlite3_malloc64(plain_length + 1);
  char *encoded = sqlite3_malloc64(4 * ((plain_length + 2) / 3) + 1);
  if (plain && encoded) {
    if (left) {
      memcpy(plain, left, strlen(left));
      plain[strlen(left)] = ':';
    }
    memcpy(plain + (left ? strlen(left) + 1 : 0), right, strlen(right));
    int length =
        EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)plain, (int)plain_length);
    scrub_add_form(secrets, encoded, (size_t)length);
    scrub_wipe(encoded, (size_t)length);
  } else {
    secrets->out_of_memory = 1;
  }
  if (plain) scrub_wipe(plain, plain_length);
  sqlite3_free(plain);
  sqlite3_free(encoded);
}

static int scrub_compare(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void scrub_collect(scrub_forms *secrets, const ix_config *config, const http_headers *headers) {
  memset(secrets, 0, sizeof(*secrets));
  for (int i = 0; config && i < config_count(config); i++) {
    config_setting_view secret;
    config_at(config, i, &secret);
    if (!(secret.flags & IX_SETTING_SECRET) || !secret.value || !*secret.value) continue;
    char md5[33];
    int have_md5 = auth_md5_hex(secret.value, md5) == 0;
    scrub_add_text(secrets, secret.value);
    scrub_add_base64(secrets, NULL, secret.value);
    if (have_md5) scrub_add_text(secrets, md5);
    for (int j = 0; j < config_count(config); j++) {
      config_setting_view user;
      config_at(config, j, &user);
      if (!(user.flags & IX_SETTING_CREDENTIAL) || !user.value) continue;
      scrub_add_base64(secrets, user.value, secret.value);
      if (have_md5) scrub_add_base64(secrets, user.value, md5);
    }
    scrub_wipe(md5, sizeof(md5));
  }
  for (int i = 0; headers && i < headers->count; i++) {
    const char *value = strchr(headers->lines[i], ':');
    if (!value) continue;
    value += strspn(value + 1, " ") + 1;
    const char *space = strchr(value, ' ');
    scrub_add_text(secrets, value);
    if (space) scrub_add_text(secrets, space + 1);
  }
  if (secrets->gram_count > 1) {
    qsort(secrets->grams, (size_t)secrets->gram_count, sizeof(uint64_t), scrub_compare);
  }
}

static int scrub_has_window(const scrub_forms *secrets, uint64_t window) {
  int low = 0, high = secrets->gram_count - 1;
  while (low <= high) {
    int middle = low + (high - low) / 2;
    if (secrets->grams[middle] == window) return 1;
    if (secrets->grams[middle] < window) {
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return 0;
}

static int scrub_matches_at(const char *text, const char *form) {
  for (; *form; text++, form++) {
    if (!*text || scrub_lower((unsigned char)*text) != (unsigned char)*form) return 0;
  }
  return 1;
}

char *scrub_apply(const scrub_forms *secrets, char *text) {
  if (!text) return NULL;
  size_t length = strlen(text);
  if (secrets->out_of_memory) {
    scrub_wipe(text, length);
    sqlite3_free(text);
    return NULL;
  }
  unsigned char *secret_byte = sqlite3_malloc64(length + 1);
  if (!secret_byte) {
    scrub_wipe(text, length);
    sqlite3_free(text);
    return NULL;
  }
  memset(secret_byte, 0, length + 1);
  int found = 0;
  for (size_t i = 0; secrets->gram_count > 0 && i + SCRUB_WINDOW <= length; i++) {
    if (scrub_has_window(secrets, scrub_window(text + i))) {
      memset(secret_byte + i, 1, SCRUB_WINDOW);
      found = 1;
    }
  }
  for (int s = 0; s < secrets->short_count; s++) {
    size_t form_length = strlen(secrets->shorts[s]);
    for (size_t i = 0; i + form_length <= length; i++) {
      if (scrub_matches_at(text + i, secrets->shorts[s])) {
        memset(secret_byte + i, 1, form_length);
        found = 1;
      }
    }
  }
  if (!found) {
    sqlite3_free(secret_byte);
    return text;
  }
  sqlite3_str *clean = sqlite3_str_new(NULL);
  for (size_t i = 0; i < length; i++) {
    if (!secret_byte[i]) {
      sqlite3_str_appendchar(clean, 1, text[i]);
    } else if (i == 0 || !secret_byte[i - 1]) {
      sqlite3_str_appendall(clean, "***");
    }
  }
  sqlite3_free(secret_byte);
  scrub_wipe(text, length);
  sqlite3_free(text);
  return sqlite3_str_finish(clean);
}

void scrub_clear(scrub_forms *secrets) {
  if (secrets->grams) scrub_wipe(secrets->grams, (size_t)secrets->gram_capacity * sizeof(uint64_t));
  sqlite3_free(secrets->grams);
  for (int s = 0; s < secrets->short_count; s++) {
    scrub_wipe(secrets->shorts[s], strlen(secrets->shorts[s]));
    sqlite3_free(secrets->shorts[s]);
  }
  sqlite3_free(secrets->shorts);
  memset(secrets, 0, sizeof(*secrets));
}

char *scrub_text(const ix_config *config, const http_headers *headers, char *text) {
  if (!text) return NULL;
  scrub_forms secrets;
  scrub_collect(&secrets, config, headers);
  text = scrub_apply(&secrets, text);
  scrub_clear(&secrets);
  return text;
}
