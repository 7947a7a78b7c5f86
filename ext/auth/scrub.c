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

/* The characters a vendor may insert to show a value in groups ("abcd-efgh", "41:42:43"). */
static int scrub_is_separator(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-' || c == '.' || c == ':' ||
         c == '_';
}

/* The form as hex of its bytes (the text is matched in any case, so lower case is enough). */
static void scrub_add_hex(scrub_forms *secrets, const char *form, size_t length) {
  static const char hex[] = "0123456789abcdef";
  if (length < SCRUB_SHORTEST) return; /* as the form itself (scrub_add) */
  char *encoded = sqlite3_malloc64(2 * length + 1);
  if (!encoded) {
    secrets->out_of_memory = 1;
    return;
  }
  for (size_t i = 0; i < length; i++) {
    encoded[2 * i] = hex[(unsigned char)form[i] >> 4];
    encoded[2 * i + 1] = hex[(unsigned char)form[i] & 15];
  }
  encoded[2 * length] = '\0';
  scrub_add(secrets, encoded, 2 * length);
  scrub_wipe(encoded, 2 * length);
  sqlite3_free(encoded);
}

/* The form without its separators, what the decoded view compares (scrub_mark_decoded):
 * only its windows, as a form shorter than a window without separators would match ordinary
 * words run together. */
static void scrub_add_stripped(scrub_forms *secrets, const char *form, size_t length) {
  char *stripped = sqlite3_malloc64(length + 1);
  if (!stripped) {
    secrets->out_of_memory = 1;
    return;
  }
  size_t kept = 0;
  for (size_t i = 0; i < length; i++) {
    if (!scrub_is_separator((unsigned char)form[i])) stripped[kept++] = form[i];
  }
  stripped[kept] = '\0';
  if (kept < length && kept >= SCRUB_WINDOW) scrub_add(secrets, stripped, kept);
  scrub_wipe(stripped, kept);
  sqlite3_free(stripped);
}

/* A form as sent, as it looks percent-encoded either way, as hex, and without separators. */
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
  scrub_add_hex(secrets, copy, length);
  scrub_add_stripped(secrets, copy, length);
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

/* The raw view: every window of the text as it is, and every short form where it occurs. */
static int scrub_mark_raw(const scrub_forms *secrets, const char *text, size_t length,
                          unsigned char *secret_byte) {
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
  return found;
}

/* One unit of the decoded view: the bytes that text[start, end) stands for. */
typedef struct scrub_unit {
  unsigned char bytes[4];
  int count;
  size_t end;
} scrub_unit;

static int scrub_hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = scrub_lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void scrub_utf8(uint32_t code, scrub_unit *unit) {
  if (code < 0x80) {
    unit->bytes[0] = (unsigned char)code;
    unit->count = 1;
  } else if (code < 0x800) {
    unit->bytes[0] = (unsigned char)(0xC0 | code >> 6);
    unit->bytes[1] = (unsigned char)(0x80 | (code & 0x3F));
    unit->count = 2;
  } else if (code < 0x10000) {
    unit->bytes[0] = (unsigned char)(0xE0 | code >> 12);
    unit->bytes[1] = (unsigned char)(0x80 | (code >> 6 & 0x3F));
    unit->bytes[2] = (unsigned char)(0x80 | (code & 0x3F));
    unit->count = 3;
  } else {
    unit->bytes[0] = (unsigned char)(0xF0 | code >> 18);
    unit->bytes[1] = (unsigned char)(0x80 | (code >> 12 & 0x3F));
    unit->bytes[2] = (unsigned char)(0x80 | (code >> 6 & 0x3F));
    unit->bytes[3] = (unsigned char)(0x80 | (code & 0x3F));
    unit->count = 4;
  }
}

/* A numeric character reference whose digits follow text[i] == '#': decimal or hex ("&#x48",
 * "&#X48"), any number of leading zeros, the ';' optional, as browsers read them; 0 when no digit
 * follows. */
static int scrub_decode_numeric(const char *text, size_t length, size_t i, scrub_unit *unit) {
  i++;
  uint32_t base = 10, code = 0;
  if (i < length && (text[i] == 'x' || text[i] == 'X')) {
    base = 16;
    i++;
  }
  size_t digits = i;
  for (int digit; i < length && (digit = scrub_hex_digit((unsigned char)text[i])) >= 0 &&
                  (uint32_t)digit < base;
       i++) {
    if (code <= 0x10FFFF) code = code * base + (uint32_t)digit; /* beyond stays beyond */
  }
  if (i == digits) return 0;
  if (i < length && text[i] == ';') i++;
  if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
  scrub_utf8(code, unit);
  unit->end = i;
  return 1;
}

/* The named references an XML or HTML error page escapes a value with. */
static int scrub_decode_named(const char *text, size_t length, size_t start, scrub_unit *unit) {
  static const char *const names[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
  static const char bytes[] = "&<>\"'";
  for (int n = 0; n < 5; n++) {
    size_t name_length = strlen(names[n]);
    if (start + name_length > length) continue;
    size_t i = 0;
    while (i < name_length && scrub_lower((unsigned char)text[start + i]) == names[n][i]) i++;
    if (i < name_length) continue;
    unit->bytes[0] = (unsigned char)bytes[n];
    unit->count = 1;
    unit->end = start + name_length;
    return 1;
  }
  return 0;
}

/* The unit at text[start]: a character reference, a %XX escape, or the byte itself. */
static void scrub_decode(const char *text, size_t length, size_t start, scrub_unit *unit) {
  if (text[start] == '&' && start + 1 < length && text[start + 1] == '#' &&
      scrub_decode_numeric(text, length, start + 1, unit)) {
    return;
  }
  /* A reference escaped again, as an XML page shows an HTML one: "&amp;#72;". */
  if (text[start] == '&' && start + 5 < length && scrub_matches_at(text + start, "&amp;#") &&
      scrub_decode_numeric(text, length, start + 5, unit)) {
    return;
  }
  if (text[start] == '&' && scrub_decode_named(text, length, start, unit)) return;
  if (text[start] == '%' && start + 2 < length &&
      scrub_hex_digit((unsigned char)text[start + 1]) >= 0 &&
      scrub_hex_digit((unsigned char)text[start + 2]) >= 0) {
    unit->bytes[0] = (unsigned char)(scrub_hex_digit((unsigned char)text[start + 1]) * 16 +
                                     scrub_hex_digit((unsigned char)text[start + 2]));
    unit->count = 1;
    unit->end = start + 3;
    return;
  }
  unit->bytes[0] = (unsigned char)text[start];
  unit->count = 1;
  unit->end = start + 1;
}

/* The last bytes of the decoded view, separators included, and where each starts in the text. */
typedef struct scrub_recent {
  unsigned char bytes[SCRUB_WINDOW];
  size_t starts[SCRUB_WINDOW];
  size_t count;
} scrub_recent;

/* Marks every short form that ends with the decoded byte just added to recent. */
static int scrub_mark_short_end(const scrub_forms *secrets, const scrub_recent *recent, size_t end,
                                unsigned char *secret_byte) {
  int found = 0;
  for (int s = 0; s < secrets->short_count; s++) {
    size_t form_length = strlen(secrets->shorts[s]);
    if (form_length > recent->count) continue;
    size_t first = recent->count - form_length, k = 0;
    while (k < form_length &&
           recent->bytes[(first + k) % SCRUB_WINDOW] == (unsigned char)secrets->shorts[s][k]) {
      k++;
    }
    if (k < form_length) continue;
    size_t from = recent->starts[first % SCRUB_WINDOW];
    memset(secret_byte + from, 1, end - from);
    found = 1;
  }
  return found;
}

/* The decoded view: the text with its character references and %XX escapes decoded, as a vendor
 * may have encoded what it echoes. Short forms are looked for in it whole; windows skip the
 * separators, so a form shown in groups ("abcd-efgh", "41:42:43:44", one line per group) matches
 * the form without separators (scrub_add_stripped). Each decoded byte costs one lookup, and a
 * byte of the text lies in at most a dozen marked runs: linear in the length. */
static int scrub_mark_decoded(const scrub_forms *secrets, const char *text, size_t length,
                              unsigned char *secret_byte) {
  uint64_t window = 0;
  size_t starts[SCRUB_WINDOW], kept = 0;
  scrub_recent recent = {{0}, {0}, 0};
  int found = 0;
  for (size_t start = 0; start < length;) {
    scrub_unit unit;
    scrub_decode(text, length, start, &unit);
    for (int b = 0; b < unit.count; b++) {
      unsigned char c = scrub_lower(unit.bytes[b]);
      recent.bytes[recent.count % SCRUB_WINDOW] = c;
      recent.starts[recent.count++ % SCRUB_WINDOW] = start;
      found |= scrub_mark_short_end(secrets, &recent, unit.end, secret_byte);
      if (unit.count == 1 && scrub_is_separator(c)) continue;
      window = window << 8 | c;
      starts[kept++ % SCRUB_WINDOW] = start;
      if (kept >= SCRUB_WINDOW && scrub_has_window(secrets, window)) {
        size_t from = starts[kept % SCRUB_WINDOW];
        memset(secret_byte + from, 1, unit.end - from);
        found = 1;
      }
    }
    start = unit.end;
  }
  return found;
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
  int found = scrub_mark_raw(secrets, text, length, secret_byte);
  if (secrets->gram_count > 0 || secrets->short_count > 0) {
    found |= scrub_mark_decoded(secrets, text, length, secret_byte);
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
