/*
 * HTTP GET over libcurl for the engine: one client per database connection, so connections, TLS
 * sessions and DNS answers are reused by every cursor of that connection
 * (docs/libcurl.md#one-multi-handle-per-connection).
 *
 * This file knows nothing of SQLite or of any vendor: it moves bytes safely. Safety here means the
 * defaults an interactive SQL session needs (docs/libcurl.md): bounded connect, request and stall
 * times, no redirects, https only (plain http only where the caller allowed it for loopback), a
 * body cap enforced on decoded bytes while reading, and error texts that never carry a header
 * value.
 */
#ifndef IX_HTTP_H
#define IX_HTTP_H

#include <stddef.h>

/* Request headers as "Name: value" lines. Values may be secrets: http_headers_clear wipes them. */
typedef struct http_headers {
  char **lines;
  int count;
  int capacity;
} http_headers;

int http_headers_add(http_headers *headers, const char *name, const char *value);
void http_headers_clear(http_headers *headers);

/* A response header line longer than this fails the request, naming the header. */
#define HTTP_MAX_HEADER_LINE 65536

typedef struct http_request {
  const char *url;
  const http_headers *headers;
  /* NULL for a GET; else a POST of this JSON body (token exchanges), which may hold a secret: the
   * caller owns it, keeps it until the transfer ends and wipes it. */
  const char *post_json;
  long connect_timeout_ms;
  long timeout_ms;    /* whole request, including the body */
  long stall_seconds; /* abort when fewer than 1 byte/s arrives for this long */
  size_t max_body;    /* cap on the decoded body */
  int allow_plain_http;
  const char *ca_bundle; /* INTERACTIONS_CA_BUNDLE, or NULL for the system bundle */
  /* Polled while waiting; a non-zero return aborts the transfer (sqlite3_interrupt). */
  int (*should_abort)(void *arg);
  void *abort_arg;
} http_request;

typedef enum http_outcome {
  HTTP_OK,        /* a complete response arrived (any status) */
  HTTP_FAILED,    /* transport failure: connect, TLS, reset, timeout...; see error */
  HTTP_TOO_LARGE, /* the body passed max_body */
  HTTP_ABORTED,   /* should_abort said stop */
  HTTP_NO_MEMORY,
} http_outcome;

typedef struct http_response {
  http_outcome outcome;
  long status;
  char *body; /* NUL-terminated for convenience; body_len excludes the NUL */
  size_t body_len;
  char content_type[96];
  long retry_after_seconds; /* from Retry-After, 0 when absent */
  int timed_out;            /* the failure was a timeout or stall */
  int retryable;            /* a transport failure worth another attempt (reset, timeout, ...) */
  int unreachable;          /* the host name did not resolve or the connection was refused */
  char error[256];          /* what went wrong, without URL credentials or header values */
  double elapsed_ms;
  long long started_unix_ms; /* wall-clock time the request started (for the request log) */
  /* CLOCK_MONOTONIC milliseconds (clock_ms) when the answer's first header line reached us,
   * rounded up; 0 when none did. The vendor counted the request
   * before then: the rate limiter's window runs from here (limit/ratelimit.h). */
  long long answered_at_ms;
} http_response;

/* Sets response->error from libcurl's detail for a failed transfer of url (code a CURLcode), with
 * the advice for the two failures another attempt cannot cure, which it marks not retryable: an
 * https:// URL at a server that answered in plain text (did not speak TLS), and a refused
 * connection on a loopback host (the server, such as the sandbox, is not running). */
void http_classify_failure(http_response *response, int code, const char *url, const char *detail);

typedef struct http_client http_client;

http_client *http_client_new(void);
void http_client_free(http_client *client);

/* Non-blocking transfers on the client's multi handle, so requests for many customers run at once
 * on shared connections: start jobs, run the client until they are done, finish each one. */
typedef struct http_job http_job;
/* Starts a GET; the job copies what it needs from request. NULL when out of memory. */
http_job *http_job_start(http_client *client, const http_request *request);
/* Moves every transfer of the client forward, waiting up to timeout_ms for activity. */
void http_client_run(http_client *client, int timeout_ms);
int http_job_done(const http_job *job);
/* Ends the job (cancelling it if it is still running), moves its response into response (or
 * discards it when response is NULL) and frees it. Returns the outcome. */
http_outcome http_job_finish(http_job *job, http_response *response);
/* At most this many connections to one host (the table's max_concurrency). */
void http_client_set_concurrency(http_client *client, int max_connections);

/* Performs one GET. Returns the outcome (also stored in response->outcome). */
http_outcome http_client_get(http_client *client, const http_request *request,
                             http_response *response);
void http_response_clear(http_response *response);

/* Process-wide libcurl initialisation (thread-safe, once). Returns 0 or an error text. */
const char *http_global_init(void);

#endif
