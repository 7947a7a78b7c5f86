/*
 * Unit tests for ext/auth/auth.c: Capillary's MD5 password and HTTP Basic, with the vendor's own vector.
 */
#include "auth/auth.h"

#include "tap.h"

int main(void) {
  char md5[33];
  ok(auth_md5_hex("server123", md5) == 0, "md5 computes");
  is_str(md5, "8a16a6b70505eb1f1ff7cdc0cd5559a7",
         "md5('server123') is the vendor's documented value");
  auth_md5_hex("", md5);
  is_str(md5, "d41d8cd98f00b204e9800998ecf8427e", "md5 of the empty string");

  /* Capillary's worked example: till store.server, password server123. */
  http_headers headers = {0};
  auth_md5_hex("server123", md5);
  ok(auth_add_basic(&headers, "store.server", md5) == 0, "basic header added");
  is_int(headers.count, 1, "one header");
  is_str(headers.lines[0],
         "Authorization: Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3",
         "the vendor's documented Basic header");
  ok(auth_add_basic(&headers, "u", "p") == 0, "a second header");
  is_str(headers.lines[1], "Authorization: Basic dTpw", "base64 with padding-free length");
  ok(auth_add_basic(&headers, "ab", "") == 0, "empty password");
  is_str(headers.lines[2], "Authorization: Basic YWI6", "base64 of 'ab:'");
  is_str(headers.lines[3], NULL, "the list stays NULL-terminated");
  http_headers_clear(&headers);
  is_int(headers.count, 0, "clear empties the list");
  return done_testing();
}
