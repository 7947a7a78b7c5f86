/*
 * Unit tests for ext/auth/scrub.c: each form a vendor may echo a secret in (as it is, upper-cased,
 * percent-encoded, as hex, as character references, in groups, and mixes of those) becomes "***",
 * and ordinary text, short coincidences and split short secrets are left alone. The secret is
 * given as a header value (no configuration needed); tests/secrets.t covers the configured
 * secrets (MD5, Basic) through every vendor.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/scrub.h"
#include "tap.h"

static char result[4096];

/* text with every form of secret (sent as the header "X-Key: <secret>") scrubbed. */
static const char *scrubbed(const char *secret, const char *text) {
  http_headers headers = {0};
  http_headers_add(&headers, "X-Key", secret);
  char *clean = scrub_text(NULL, &headers, sqlite3_mprintf("%s", text));
  http_headers_clear(&headers);
  snprintf(result, sizeof(result), "%s", clean ? clean : "(null)");
  sqlite3_free(clean);
  return result;
}

/* The text with each byte of value written by format ("&#%d;", "%02X:", ...), after prefix. */
static const char *encoded(const char *prefix, const char *value, const char *format,
                           const char *suffix) {
  static char text[4096];
  size_t used = (size_t)snprintf(text, sizeof(text), "%s", prefix);
  for (const char *p = value; *p && used < sizeof(text); p++) {
    used += (size_t)snprintf(text + used, sizeof(text) - used, format, (unsigned char)*p);
  }
  if (used < sizeof(text)) snprintf(text + used, sizeof(text) - used, "%s", suffix);
  return text;
}

#define SECRET "Kq7Zp9WmNs3XvBt4"

static void test_plain_forms(void) {
  is_str(scrubbed(SECRET, "bad key " SECRET " given"), "bad key *** given", "the value");
  is_str(scrubbed(SECRET, "bad key KQ7ZP9WMNS3XVBT4"), "bad key ***", "upper-cased");
  is_str(scrubbed(SECRET, "...p9WmNs3X"), "...***", "a fragment of 8 characters");
  is_str(scrubbed(SECRET, "key=Kq7Zp9%57mNs3XvBt4"), "key=***", "one character percent-encoded");
}

static void test_hex(void) {
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "%02x", " sent")), "key *** sent", "hex");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "%02X", " sent")), "key *** sent",
         "hex in upper case");
  is_str(scrubbed(SECRET, encoded("0x", SECRET, "%02x", "")), "0x***", "hex after 0x");
  is_str(scrubbed(SECRET, "id 4b71375a"), "id ***", "4 bytes of hex (8 characters)");
  is_str(scrubbed(SECRET, "id 4b71375"), "id 4b71375", "7 characters of hex are left");
  is_str(scrubbed(SECRET, encoded("[", SECRET, "%02X:", "]")), "[***:]",
         "hex in pairs with ':' (the separator after the last pair is no secret byte)");
  is_str(scrubbed(SECRET, encoded("[", SECRET, "%02x ", "]")), "[*** ]", "hex in pairs with ' '");
  is_str(scrubbed(SECRET, encoded("", SECRET, "%%%02X", "")), "***",
         "every byte percent-encoded (%%XX)");
  is_str(scrubbed(SECRET, encoded("", SECRET, "%%%02x", "")), "***", "%%xx in lower case");
}

static void test_references(void) {
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#%d;", " sent")), "key *** sent",
         "decimal character references");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#x%x;", " sent")), "key *** sent",
         "hex character references");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#X%X;", " sent")), "key *** sent",
         "hex character references, upper case");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#%d", " sent")), "key *** sent",
         "decimal references without ';'");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#x%x", " sent")), "key *** sent",
         "hex references without ';'");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#000%d;", "")), "key ***", "leading zeros");
  is_str(scrubbed(SECRET, "key Kq7&#90;p9&#x57;mNs3XvBt4."), "key ***.",
         "some characters as references, the rest as they are");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&#%d;-", "")), "key ***-",
         "references in groups");
  is_str(scrubbed(SECRET, encoded("key ", SECRET, "&amp;#%d;", "")), "key ***",
         "references escaped again (&amp;#75;), as an XML page shows them");
  is_str(scrubbed("ab&cd<ef>gh\"ij'kl", "key ab&amp;cd&lt;ef&gt;gh&quot;ij&apos;kl"), "key ***",
         "the named references of XML and HTML (&amp; &lt; &gt; &quot; &apos;)");
  is_str(scrubbed("p\xC3\xA4sswort-gehe1m", "key p&#228;sswort-gehe1m"), "key ***",
         "a reference beyond ASCII, as UTF-8");
}

static void test_groups(void) {
  is_str(scrubbed(SECRET, "key Kq7Z-p9Wm-Ns3X-vBt4 sent"), "key *** sent", "groups of 4 with '-'");
  is_str(scrubbed(SECRET, "key Kq7 Zp9 WmN s3X vBt 4 sent"), "key *** sent",
         "groups of 3 with spaces");
  is_str(scrubbed(SECRET, "key\nKq7Zp\n9WmNs\n3XvBt4\nsent"), "key\n***\nsent",
         "one line per group");
  is_str(scrubbed(SECRET, "key Kq\r\n7Zp9W.m:N_s3X  vB-t4"), "key ***",
         "irregular groups, mixed separators");
  is_str(scrubbed(SECRET, "key\tKq7Z\tp9Wm\tNs3X\tvBt4"), "key\t***", "groups split by tabs");
  is_str(scrubbed(SECRET, "KQ7Z-P9WM-NS3X-VBT4"), "***", "groups, upper case");
  is_str(scrubbed(SECRET, "key -Kq7Z-p9Wm-"), "key -***-", "separators around are kept");
  is_str(scrubbed("sand-box.pass:word", "key sandbox pass word"), "key ***",
         "a secret with separators, grouped differently");
  is_str(scrubbed(SECRET, "x Kq7-Zp9W y"), "x Kq7-Zp9W y", "7 characters in groups are left");
}

static void test_ordinary_text(void) {
  const char *texts[] = {
      "customer 919988221100 not found",
      "invalid credentials for till sandbox.till",
      "a-b-c-d-e-f-g-h i.j.k.l:m:n:o_p",
      "request id deadbeefcafebabe0123456789abcdef",
      "&#72;&#101;llo &amp; good&#x62;ye &#; &#x; &am &#99999999999999;",
      "100% sure, 50%-off, %zz %4",
      "",
  };
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    is_str(scrubbed(SECRET, texts[i]), texts[i], "ordinary text is left: '%s'", texts[i]);
  }
}

static void test_short_secrets(void) {
  is_str(scrubbed("s3cRt", "pw s3crt!"), "pw ***!", "a short secret, whole");
  is_str(scrubbed("s3cRt", "pw &#115;&#51;&#x63;&#82;t!"), "pw ***!",
         "a short secret, whole, as references");
  is_str(scrubbed("s3cRt", "pw s3%63Rt"), "pw ***", "a short secret, whole, percent-encoded");
  is_str(scrubbed("s3cRt", "pw 7333635274"), "pw ***", "a short secret as hex (10 characters)");
  is_str(scrubbed("s3cRt", "pw s3-cRt"), "pw s3-cRt",
         "a short secret in groups is left (fewer than 8 characters without separators)");
  is_str(scrubbed("s3cRt", "pass s3c rtl"), "pass s3c rtl", "words that run together are left");
  is_str(scrubbed("abc", "abcd 616263"), "***d ***", "a 3-byte secret, whole and as hex");
  is_str(scrubbed("abc", "a-b-c 61:62:63"), "a-b-c 61:62:63", "not in groups");
  is_str(scrubbed("ab", "ab 6162 a&#98;"), "ab 6162 a&#98;",
         "secrets under 3 bytes are not looked for");
}

/* 64 KiB of hostile text: every character of the secret behind its own separators and
 * references, long references, lone '&#' and '%'. The result is checked; the cost is linear
 * (each decoded byte is one lookup), which ASan's run of this test would show as a hang if not. */
static void test_hostile(void) {
  const char *piece = "K- q &#55; Z-\np&#x39 W&#0000000109;N- s3:X_v.B t4 ";
  size_t piece_length = strlen(piece), size = 65536 / piece_length * piece_length;
  char *text = malloc(65536 + 1);
  for (size_t i = 0; i < size; i++) text[i] = piece[i % piece_length];
  text[size] = '\0';
  http_headers headers = {0};
  http_headers_add(&headers, "X-Key", SECRET);
  char *clean = scrub_text(NULL, &headers, sqlite3_mprintf("%s", text));
  size_t only_marks = clean ? strspn(clean, "* ") : 0;
  ok(clean && only_marks == strlen(clean) && only_marks == size / piece_length * 4,
     "64 KiB of the secret in groups and references: a \"*** \" for each (%zu bytes left)",
     clean ? strlen(clean) : 0);
  sqlite3_free(clean);
  size = 65536;
  for (size_t i = 0; i < size; i++) text[i] = "&#%"[i % 3];
  text[size] = '\0';
  clean = scrub_text(NULL, &headers, sqlite3_mprintf("%s", text));
  ok(clean && strcmp(clean, text) == 0, "64 KiB of '&#%%' is left as it is");
  sqlite3_free(clean);
  http_headers_clear(&headers);
  free(text);
}

int main(void) {
  test_plain_forms();
  test_hex();
  test_references();
  test_groups();
  test_ordinary_text();
  test_short_secrets();
  test_hostile();
  return done_testing();
}
