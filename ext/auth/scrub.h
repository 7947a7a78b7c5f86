/*
 * Scrubbing secrets out of text that came from a vendor (error bodies may echo what we sent).
 *
 * A secret reaches a vendor in several forms, and a vendor may echo any of them, whole or in part,
 * upper-cased, percent-encoded, as hex, as HTML character references or in groups: each secret
 * setting's value, its MD5 (Capillary's password), its base64, the Basic base64 of user:value and
 * user:md5 for every credential setting, and every header value sent (whole, and after its
 * scheme: "Bearer x" -> x). Of each of those the set keeps the form itself, its percent-encodings,
 * the hex of its bytes and the form without separators (' ', TAB, CR, LF, '-', '.', ':', '_').
 * Every 8-byte window of every form is kept, lowercased, in a sorted set. The text is read twice:
 * as it is, and decoded (&#72; &#x48; with or without ';', &amp; &lt; &gt; &quot; &apos;, %XX)
 * with its separators skipped. Every byte of the text under a window in the set is a secret byte
 * (in the decoded view, from the first byte of the window's first character to the last of its
 * last, separators between included), and each run of them becomes "***". So no fragment of 8 or
 * more bytes of any form survives, in any letter case, decoded or in groups. Forms shorter than
 * 8 bytes (but at least 3) are replaced where they occur whole, as they are or decoded (not in
 * groups: a short form matched across separators would hit ordinary words run together). Scrub
 * first, cut after: a cut before the scrub would leave the part of a secret that straddles it.
 */
#ifndef IX_SCRUB_H
#define IX_SCRUB_H

#include <stdint.h>

#include "settings/config.h"
#include "util/http.h"

typedef struct scrub_forms {
  uint64_t *grams; /* sorted lowercase 8-byte windows of the forms; wiped when cleared */
  int gram_count;
  int gram_capacity;
  char **shorts; /* lowercase forms of 3 to 7 bytes */
  int short_count;
  int out_of_memory; /* then scrub refuses to return text it could not clean */
} scrub_forms;

/* Collects every form of the config's secrets and of the header values (either may be NULL). */
void scrub_collect(scrub_forms *secrets, const ix_config *config, const http_headers *headers);
/* Returns text (sqlite3_malloc'd, consumed) without any secret; NULL when out of memory. */
char *scrub_apply(const scrub_forms *secrets, char *text);
void scrub_clear(scrub_forms *secrets);

/* scrub_collect, scrub_apply and scrub_clear in one call. */
char *scrub_text(const ix_config *config, const http_headers *headers, char *text);

#endif
