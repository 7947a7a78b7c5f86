/*
 * Unit tests for ext/util/http.c's http_classify_failure: the two transport failures another
 * attempt cannot cure are marked not retryable and say what to do (an https:// URL at a server that
 * answered in plain text; a refused connection on a loopback host), and every other failure keeps
 * libcurl's text and its retryable mark.
 */
#include "util/http.h"

#include <curl/curl.h>
#include <string.h>

#include "tap.h"

/* A response as http.c leaves it before classifying: retryable per the CURLcode. */
static http_response classify(int code, int retryable, const char *url, const char *detail) {
  http_response response;
  memset(&response, 0, sizeof(response));
  response.retryable = retryable;
  http_classify_failure(&response, code, url, detail);
  return response;
}

int main(void) {
  const char *openssl = "OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number";
  http_response r =
      classify(CURLE_SSL_CONNECT_ERROR, 1, "https://127.0.0.1:8765/capillary/v2", openssl);
  ok(!r.retryable, "https at a plain-http server is not retried");
  ok(strstr(r.error, "the server did not answer TLS") &&
         strstr(r.error, "should start with http://"),
     "the error says the server did not answer TLS and asks for http:// (%s)", r.error);
  r = classify(CURLE_SSL_CONNECT_ERROR, 1, "https://api.example.com/x",
               "OpenSSL/3.2.1: error:0A0000C6:SSL routines::packet length too long");
  ok(!r.retryable, "OpenSSL 3.2's wording for the same answer is recognised");
  r = classify(CURLE_SSL_CONNECT_ERROR, 1, "https://api.example.com/x",
               "OpenSSL SSL_connect: Connection reset by peer");
  ok(r.retryable && strcmp(r.error, "OpenSSL SSL_connect: Connection reset by peer") == 0,
     "another TLS failure keeps libcurl's text and stays retryable");

  const char *refused =
      "Failed to connect to 127.0.0.1 port 8765 after 0 ms: Couldn't connect to server";
  r = classify(CURLE_COULDNT_CONNECT, 1, "http://127.0.0.1:8765/capillary/v2?x=1", refused);
  ok(!r.retryable, "a refused connection on loopback is not retried");
  ok(strstr(r.error, "is the server running?") && strstr(r.error, "make sandbox"),
     "the error asks whether the server (the sandbox) is running (%s)", r.error);
  r = classify(CURLE_COULDNT_CONNECT, 1, "http://localhost:1/x", "Couldn't connect to server");
  ok(!r.retryable, "localhost is loopback too");
  r = classify(CURLE_COULDNT_CONNECT, 1, "http://[::1]:1/x", "Couldn't connect to server");
  ok(!r.retryable, "[::1] is loopback too");
  r = classify(CURLE_COULDNT_CONNECT, 1, "https://api.example.com/x", "Couldn't connect to server");
  ok(r.retryable && strcmp(r.error, "Couldn't connect to server") == 0,
     "a refused connection to a remote host is still retried (it may be restarting)");
  r = classify(CURLE_COULDNT_CONNECT, 1, "http://127.0.0.1.example.com/x",
               "Couldn't connect to server");
  ok(r.retryable, "a name that only starts like loopback is remote");
  return done_testing();
}
