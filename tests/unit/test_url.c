/*
 * Unit tests for ext/util/url.c: encoding and refusal of SQL-supplied values, base URL checks.
 */
#include "util/url.h"

#include <string.h>

#include "tap.h"

static void segment_is(const char *value, size_t length, const char *want, const char *name) {
  url_builder url;
  url_init(&url);
  url_append_raw(&url, "https://h/x");
  const char *problem = NULL;
  int rc = url_append_segment(&url, value, length, &problem);
  is_str(rc == 0 ? url.text : problem, want, "%s", name);
  url_free(&url);
}

static void base_is(const char *base, const char *want_host, const char *name) {
  char host[64] = "";
  int is_https = -1;
  const char *problem = NULL;
  int rc = url_check_base(base, host, sizeof(host), &is_https, &problem);
  is_str(rc == 0 ? host : problem, want_host, "%s", name);
}

int main(void) {
  segment_is("abc-123_~.x", 11, "https://h/x/abc-123_~.x", "unreserved characters stay");
  segment_is("a/b+c=", 6, "https://h/x/a%2Fb%2Bc%3D", "which50 ids: / + = are encoded");
  segment_is("alt:ext_id:cust 42", 18, "https://h/x/alt%3Aext_id%3Acust%2042",
             "alpharun ext ids: colon and space encoded");
  segment_is("..%2Fadmin", 10, "https://h/x/..%252Fadmin", "percent signs are encoded");
  segment_is("?x#y", 4, "https://h/x/%3Fx%23y", "query and fragment markers are encoded");
  segment_is("\xc3\xa9", 2, "https://h/x/%C3%A9", "UTF-8 bytes are encoded");
  segment_is("", 0, "is empty", "empty is refused");
  segment_is(".", 1, "is '.' or '..', which would change the request path", "'.' is refused");
  segment_is("..", 2, "is '.' or '..', which would change the request path", "'..' is refused");
  segment_is("...", 3, "https://h/x/...", "'...' is an ordinary name");
  segment_is("a\nb", 3, "contains a control character or NUL", "newline is refused");
  segment_is("a\0b", 3, "contains a control character or NUL", "NUL is refused");
  char long_value[300];
  memset(long_value, 'x', sizeof(long_value));
  segment_is(long_value, 257, "is longer than 256 bytes", "over-long is refused");
  url_builder longest;
  url_init(&longest);
  const char *problem = NULL;
  ok(url_append_segment(&longest, long_value, 256, &problem) == 0 && longest.length == 257,
     "256 bytes is the longest accepted");
  url_free(&longest);
  segment_is(long_value, 4, "https://h/x/xxxx", "a short prefix of the same buffer is fine");

  url_builder url;
  url_init(&url);
  url_append_raw(&url, "https://h/p");
  url_append_query(&url, "identifierName", "email");
  url_append_query(&url, "identifierValue", "a+b@example.com&x=1");
  is_str(url.text, "https://h/p?identifierName=email&identifierValue=a%2Bb%40example.com%26x%3D1",
         "query values are encoded and joined with &");
  url_free(&url);

  base_is("https://eu.api.capillarytech.com", "eu.api.capillarytech.com", "https base");
  base_is("https://API5.optimove.net:8443/x", "api5.optimove.net", "port and path, host lowered");
  base_is("http://127.0.0.1:8765/capillary", "127.0.0.1", "loopback http base");
  base_is("http://[::1]:80/", "[::1]", "IPv6 loopback keeps brackets");
  base_is("ftp://x", "must start with https://", "other schemes are refused");
  base_is("https://user:pw@host/",
          "must not contain user info (credentials belong in their own settings)",
          "user info is refused");
  base_is("https://host/?a=b", "must not contain a query string or fragment", "query is refused");
  base_is("https:///x", "has no host", "missing host is refused");
  base_is("https://ho st/", "contains a space or control character", "spaces are refused");

  ok(url_same_origin("https://api.x.com/v1", "https://API.x.com/v1/next?page=2"),
     "same origin, host case-insensitive");
  ok(!url_same_origin("https://api.x.com/v1", "https://api.x.com.evil.example/v1"),
     "a longer host is another origin");
  ok(!url_same_origin("https://api.x.com", "http://api.x.com/v1"), "another scheme");
  ok(!url_same_origin("https://api.x.com", "https://api.x.com:8443/v1"), "another port");
  ok(!url_same_origin("https://api.x.com", "https://user@api.x.com/"), "user info differs");
  ok(!url_same_origin("https://api.x.com", "/v1/next"), "a relative URL has no origin");
  ok(!url_same_origin("https://api.x.com", "javascript://api.x.com"), "another scheme name");
  ok(url_host_is_loopback("127.0.0.1"), "127.0.0.1 is loopback");
  ok(url_host_is_loopback("127.3.4.5"), "127.3.4.5 is loopback");
  ok(url_host_is_loopback("localhost"), "localhost is loopback");
  ok(url_host_is_loopback("[::1]"), "[::1] is loopback");
  ok(!url_host_is_loopback("127.0.0.1.evil.example"), "127.0.0.1.evil.example is not");
  ok(!url_host_is_loopback("10.0.0.1"), "10.0.0.1 is not");
  ok(!url_host_is_loopback("127.0.0"), "127.0.0 is not");
  ok(!url_host_is_loopback("127.0.0.256"), "127.0.0.256 is a DNS name, not loopback");
  ok(!url_host_is_loopback("127.127.2."), "127.127.2. is a DNS name, not loopback");
  ok(!url_host_is_loopback("127.0.0.09"), "127.0.0.09 (leading zero) is not loopback");
  ok(url_host_is_loopback("127.255.0.1"), "127.255.0.1 is loopback");
  /* One host is one account, window and cache however its URL is spelt (issue 22). */
  char origin[128];
  const char *same[][2] = {
      {"http://localhost:8080", "http://LOCALHOST:8080/"},
      {"https://api5.optimove.net/v1", "https://API5.optimove.net"},
      {"https://api5.optimove.net./x", "HTTPS://api5.optimove.net:443"},
      {"http://[::1]:9/a", "http://[::1]:9"},
  };
  for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
    char other[128];
    url_canonical_origin(same[i][0], origin, sizeof(origin));
    url_canonical_origin(same[i][1], other, sizeof(other));
    is_str(origin, other, "canonical origin: %s is %s", same[i][0], same[i][1]);
  }
  url_canonical_origin("https://API5.Optimove.NET./v1?x=1", origin, sizeof(origin));
  is_str(origin, "https://api5.optimove.net:443", "lower case, no trailing dot, default port");
  url_canonical_origin("http://Example.com", origin, sizeof(origin));
  is_str(origin, "http://example.com:80", "http's default port is 80");
  ok(url_canonical_origin("http://localhost:1", origin, 8) == (int)strlen("http://localhost:1") &&
         strlen(origin) == 7,
     "a short buffer is cut, and the length needed returned");
  ok(url_canonical_origin("no scheme", origin, sizeof(origin)) == -1, "no :// is refused");

  /* The cache's key: the origin canonical, the path and query as they are. */
  char key[128], other_key[128];
  url_canonical("http://LOCALHOST.:8080/v1/Customers?Id=A%2F1", key, sizeof(key));
  is_str(key, "http://localhost:8080/v1/Customers?Id=A%2F1",
         "canonical URL: only the origin changes");
  url_canonical("https://API5.optimove.net/x?y=1", key, sizeof(key));
  url_canonical("https://api5.optimove.net:443/x?y=1", other_key, sizeof(other_key));
  is_str(key, other_key, "canonical URL: one request however the host is spelled");
  url_canonical("https://h/x", key, sizeof(key));
  url_canonical("https://h/X", other_key, sizeof(other_key));
  ok(strcmp(key, other_key) != 0, "canonical URL: the path keeps its case");
  ok(url_canonical("http://h:1/abc", key, 12) == (int)strlen("http://h:1/abc") && strlen(key) == 11,
     "canonical URL: a short buffer is cut, and the length needed returned");
  ok(url_canonical("http://h/abc", NULL, 0) == (int)strlen("http://h:80/abc"),
     "canonical URL: the length alone");
  ok(url_canonical("no scheme", key, sizeof(key)) == -1, "canonical URL: no :// is refused");
  return done_testing();
}
