/*
 * HTTP GET over libcurl: see http.h for what "safe defaults" means here.
 *
 * Each client owns one multi handle. Even a single request runs through curl_multi_perform and
 * curl_multi_poll, so the wait can be interrupted between polls and many requests can later share
 * the same loop; every easy handle added to the multi shares its connection cache (keep-alive).
 */
#include "util/http.h"
#include "util/clock.h"
#include "util/version.h"

#include "util/url.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0 /* before 7.87 a short write count is the error signal */
#endif

/* Idle easy handles kept for reuse: curl_easy_reset keeps their TLS session and DNS caches. */
#define HTTP_IDLE_HANDLES 8
/* How long one curl_multi_poll may sleep before we check should_abort again. */
#define HTTP_POLL_MS 100

struct http_client {
  CURLM *multi;
  CURL *idle[HTTP_IDLE_HANDLES];
  int idle_count;
};

int http_headers_add(http_headers *headers, const char *name, const char *value) {
  /* A line break in a name or value would start another header (injection): refuse it. */
  if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) return -1;
  if (headers->count + 1 >= headers->capacity) {
    int capacity = headers->capacity ? headers->capacity * 2 : 8;
    char **grown = realloc(headers->lines, (size_t)capacity * sizeof(char *));
    if (!grown) return -1;
    headers->lines = grown;
    headers->capacity = capacity;
  }
  size_t length = strlen(name) + strlen(value) + 3;
  char *line = malloc(length);
  if (!line) return -1;
  snprintf(line, length, "%s: %s", name, value);
  headers->lines[headers->count++] = line;
  headers->lines[headers->count] = NULL;
  return 0;
}

/* Header values include credentials: wipe them rather than leave them in freed heap memory. */
void http_headers_clear(http_headers *headers) {
  for (int i = 0; i < headers->count; i++) {
    volatile char *p = headers->lines[i];
    while (*p) *p++ = 0;
    free(headers->lines[i]);
  }
  free(headers->lines);
  memset(headers, 0, sizeof(*headers));
}

static pthread_once_t http_init_once = PTHREAD_ONCE_INIT;
static const char *http_init_error;

static void http_global_init_once(void) {
  /* Called once per process and never undone: curl_global_cleanup would pull libcurl out from
   * under a host (Python, another extension) that uses it too (docs/libcurl.md#global-init). */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    http_init_error = "libcurl could not be initialised (curl_global_init failed)";
  }
}

const char *http_global_init(void) {
  pthread_once(&http_init_once, http_global_init_once);
  return http_init_error;
}

http_client *http_client_new(void) {
  http_client *client = calloc(1, sizeof(*client));
  if (!client) return NULL;
  client->multi = curl_multi_init();
  if (!client->multi) {
    free(client);
    return NULL;
  }
  return client;
}

void http_client_free(http_client *client) {
  if (!client) return;
  for (int i = 0; i < client->idle_count; i++) curl_easy_cleanup(client->idle[i]);
  curl_multi_cleanup(client->multi);
  free(client);
}

void http_response_clear(http_response *response) {
  free(response->body);
  memset(response, 0, sizeof(*response));
}

/* State of one transfer, reachable from libcurl's callbacks. */
typedef struct http_transfer {
  const http_request *request;
  http_response *response;
  size_t capacity;
  int too_large;
  int headers_done;     /* the blank line after the (last) header block arrived */
  int header_too_long;  /* a header line passed HTTP_MAX_HEADER_LINE */
  char long_header[64]; /* its name, for the error */
} http_transfer;

/* libcurl hands us decoded bytes, so the cap also stops a gzip bomb while it inflates. */
static size_t http_on_body(char *data, size_t size, size_t count, void *arg) {
  http_transfer *transfer = arg;
  http_response *response = transfer->response;
  size_t length = size * count;
  if (response->body_len + length > transfer->request->max_body) {
    transfer->too_large = 1;
    return CURL_WRITEFUNC_ERROR;
  }
  if (response->body_len + length + 1 > transfer->capacity) {
    size_t capacity = transfer->capacity ? transfer->capacity : 16384;
    while (capacity < response->body_len + length + 1) capacity *= 2;
    /* Doubling must not take the buffer past the cap: the cap is what memory is budgeted by. */
    if (capacity > transfer->request->max_body + 1) capacity = transfer->request->max_body + 1;
    char *grown = realloc(response->body, capacity);
    if (!grown) return CURL_WRITEFUNC_ERROR;
    response->body = grown;
    transfer->capacity = capacity;
  }
  memcpy(response->body + response->body_len, data, length);
  response->body_len += length;
  response->body[response->body_len] = '\0';
  return length;
}

/* Header lines are checked here, not left to libcurl: past its own limit (100 KB) it fails with
 * nothing but "out of memory". */
static size_t http_on_header(char *data, size_t size, size_t count, void *arg) {
  http_transfer *transfer = arg;
  size_t length = size * count;
  /* The answer began to arrive no later than now: read on our own clock when its first header
   * line reaches us, rounded up, so it is after the vendor counted the request whatever libcurl
   * does. It used to be counted back from CURLINFO_STARTTRANSFER_TIME, whose meaning libcurl has
   * changed across releases (before 8.3.0, Debian 12 has 7.88, a request with a body stamps it
   * when the body starts going out: curl issue 11669, a token exchange's POST), and under a
   * loaded CI two windows opened a few ms early (a 429 from the sandbox's exact window, the
   * window it logged holding only our own requests); whether that was libcurl's stamp is not
   * proven. */
  if (!transfer->response->answered_at_ms) transfer->response->answered_at_ms = clock_ms() + 1;
  if (length >= 5 && memcmp(data, "HTTP/", 5) == 0) transfer->headers_done = 0;
  if (length <= 2 && (data[0] == '\r' || data[0] == '\n')) transfer->headers_done = 1;
  if (length > HTTP_MAX_HEADER_LINE) {
    size_t name = 0;
    while (name < length && name < sizeof(transfer->long_header) - 1 && data[name] != ':') {
      unsigned char c = (unsigned char)data[name];
      transfer->long_header[name++] = c > 0x20 && c < 0x7f ? (char)c : '?';
    }
    transfer->long_header[name] = '\0';
    transfer->header_too_long = 1;
    return 0;
  }
  return length;
}

static int http_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  const http_request *request = ((http_transfer *)arg)->request;
  return request->should_abort && request->should_abort(request->abort_arg) ? 1 : 0;
}

static CURL *http_take_handle(http_client *client) {
  if (client->idle_count > 0) {
    CURL *easy = client->idle[--client->idle_count];
    curl_easy_reset(easy);
    return easy;
  }
  return curl_easy_init();
}

static void http_return_handle(http_client *client, CURL *easy) {
  if (client->idle_count < HTTP_IDLE_HANDLES) {
    client->idle[client->idle_count++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

/* libcurl's copies of the header lines hold credentials too: wiped before the list is freed, as
 * http_headers_clear wipes ours. */
static void http_header_list_free(struct curl_slist *list) {
  for (struct curl_slist *item = list; item; item = item->next) {
    volatile char *p = item->data;
    while (p && *p) *p++ = 0;
  }
  curl_slist_free_all(list);
}

static int http_configure(CURL *easy, const http_request *request, http_transfer *transfer,
                          struct curl_slist **header_list, char *error_buffer) {
  for (int i = 0; request->headers && i < request->headers->count; i++) {
    struct curl_slist *grown = curl_slist_append(*header_list, request->headers->lines[i]);
    if (!grown) return -1;
    *header_list = grown;
  }
  struct curl_slist *grown = curl_slist_append(*header_list, "Accept: application/json");
  if (!grown) return -1;
  *header_list = grown;
  if (request->post_json) {
    grown = curl_slist_append(*header_list, "Content-Type: application/json");
    if (!grown) return -1;
    *header_list = grown;
  }

  CURLcode rc = CURLE_OK;
#define HTTP_SET(option, value) \
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value)
  HTTP_SET(CURLOPT_URL, request->url);
  if (request->post_json) {
    /* Not COPYPOSTFIELDS: libcurl's copy of a secret would outlive the transfer unwiped. */
    HTTP_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(request->post_json));
    HTTP_SET(CURLOPT_POSTFIELDS, request->post_json);
  } else {
    HTTP_SET(CURLOPT_HTTPGET, 1L);
  }
  HTTP_SET(CURLOPT_HTTPHEADER, *header_list);
  HTTP_SET(CURLOPT_WRITEFUNCTION, http_on_body);
  HTTP_SET(CURLOPT_WRITEDATA, transfer);
  HTTP_SET(CURLOPT_HEADERFUNCTION, http_on_header);
  HTTP_SET(CURLOPT_HEADERDATA, transfer);
  HTTP_SET(CURLOPT_ERRORBUFFER, error_buffer);
  /* The host process may be multi-threaded; signals are not ours to use (B3). */
  HTTP_SET(CURLOPT_NOSIGNAL, 1L);
  /* A redirect would carry vendor API-key headers to another host: report it instead (B6). */
  HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
  HTTP_SET(CURLOPT_PROTOCOLS_STR, request->allow_plain_http ? "http,https" : "https");
  HTTP_SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
  HTTP_SET(CURLOPT_ACCEPT_ENCODING, "");
  HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
  HTTP_SET(CURLOPT_TIMEOUT_MS, request->timeout_ms);
  HTTP_SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
  HTTP_SET(CURLOPT_LOW_SPEED_TIME, request->stall_seconds);
  HTTP_SET(CURLOPT_TCP_KEEPALIVE, 1L);
  /* Over https, concurrent transfers wait for the first connection's ALPN answer and share it
   * through HTTP/2; plain http (the sandbox) has no multiplexing, so waiting would only cost a
   * round trip. */
  HTTP_SET(CURLOPT_PIPEWAIT, request->allow_plain_http ? 0L : 1L);
  HTTP_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)request->max_body);
  HTTP_SET(CURLOPT_XFERINFOFUNCTION, http_on_progress);
  HTTP_SET(CURLOPT_XFERINFODATA, transfer);
  HTTP_SET(CURLOPT_NOPROGRESS, request->should_abort ? 0L : 1L);
  HTTP_SET(CURLOPT_USERAGENT, INTERACTIONS_USER_AGENT);
  if (request->ca_bundle && *request->ca_bundle) HTTP_SET(CURLOPT_CAINFO, request->ca_bundle);
#undef HTTP_SET
  return rc == CURLE_OK ? 0 : -1;
}

/* Failures another attempt may cure. Not: TLS verification, a malformed URL, a refused protocol. */
static int http_is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING: return 1;
    default: return 0;
  }
}

/* Copies url's host (without port or brackets' contents changed) into host: "127.0.0.1". */
static void http_url_host(const char *url, char *host, size_t host_size) {
  const char *start = strstr(url, "://");
  start = start ? start + 3 : url;
  size_t length = *start == '[' ? strcspn(start, "]") + 1 : strcspn(start, ":/?#");
  if (length >= host_size) length = host_size - 1;
  memcpy(host, start, length);
  host[length] = '\0';
}

/* Whether a TLS library's complaint means the server answered in plain text: OpenSSL before 3.2
 * says "wrong version number", later ones "packet length too long" or "record layer failure";
 * GnuTLS "An unexpected TLS packet". */
static int http_not_tls(const char *detail) {
  static const char *const signs[] = {"wrong version number", "packet length too long",
                                      "record layer failure", "unexpected TLS packet"};
  for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++) {
    if (strstr(detail, signs[i])) return 1;
  }
  return 0;
}

void http_classify_failure(http_response *response, int code, const char *url, const char *detail) {
  char host[256];
  http_url_host(url, host, sizeof(host));
  int https = strncmp(url, "https://", 8) == 0;
  if (https && code == CURLE_SSL_CONNECT_ERROR && http_not_tls(detail)) {
    /* Another attempt would get the same plain-text answer. */
    response->retryable = 0;
    snprintf(response->error, sizeof(response->error),
             "the server did not answer TLS (%s): if it speaks plain http (as the sandbox does), "
             "the base URL should start with http://, not https://",
             detail);
  } else if (code == CURLE_COULDNT_CONNECT && url_host_is_loopback(host)) {
    /* Nothing listens on this machine's port: it will not start listening within a backoff. */
    response->retryable = 0;
    snprintf(response->error, sizeof(response->error),
             "%s; not retried: nothing listens there on this machine: is the server running? "
             "For the quick start, start the sandbox (make sandbox) and use the port it prints",
             detail);
  } else {
    snprintf(response->error, sizeof(response->error), "%s", detail);
  }
}

static void http_describe_failure(http_response *response, CURLcode code, const char *url,
                                  const char *error_buffer) {
  response->timed_out = code == CURLE_OPERATION_TIMEDOUT;
  response->retryable = http_is_transient(code);
  response->unreachable = code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT;
  /* libcurl's error buffer names the host and what failed; it never holds header values. */
  const char *detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
  http_classify_failure(response, (int)code, url ? url : "", detail);
}

/* One transfer on the client's multi handle. It owns copies of everything the transfer reads
 * (libcurl keeps pointers to the URL and the header list until the transfer ends). */
struct http_job {
  http_client *client;
  CURL *easy;
  struct curl_slist *header_list;
  char *url;
  http_request request; /* a copy: url is ours, headers are in header_list */
  http_transfer transfer;
  http_response response;
  char error_buffer[CURL_ERROR_SIZE];
  int done;
};

http_job *http_job_start(http_client *client, const http_request *request) {
  http_job *job = calloc(1, sizeof(*job));
  if (!job) return NULL;
  job->client = client;
  job->request = *request;
  job->url = malloc(strlen(request->url) + 1);
  if (job->url) memcpy(job->url, request->url, strlen(request->url) + 1);
  job->request.url = job->url;
  job->transfer.request = &job->request;
  job->transfer.response = &job->response;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  job->response.started_unix_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  job->easy = job->url ? http_take_handle(client) : NULL;
  if (!job->easy ||
      http_configure(job->easy, request, &job->transfer, &job->header_list, job->error_buffer) !=
          0 ||
      curl_easy_setopt(job->easy, CURLOPT_PRIVATE, job) != CURLE_OK ||
      curl_multi_add_handle(client->multi, job->easy) != CURLM_OK) {
    if (job->easy) curl_easy_cleanup(job->easy);
    http_header_list_free(job->header_list);
    free(job->url);
    free(job);
    return NULL;
  }
  job->request.headers = NULL; /* copied into header_list; the caller may free its own */
  return job;
}

/* Records how a finished transfer ended and takes it off the multi handle. */
static void http_job_complete(http_job *job, CURLcode result) {
  http_response *response = &job->response;
  curl_multi_remove_handle(job->client->multi, job->easy);
  double total_seconds = 0;
  curl_easy_getinfo(job->easy, CURLINFO_TOTAL_TIME, &total_seconds);
  response->elapsed_ms = total_seconds * 1000.0;
  if (result == CURLE_ABORTED_BY_CALLBACK) {
    response->outcome = HTTP_ABORTED;
    snprintf(response->error, sizeof(response->error), "interrupted");
  } else if (job->transfer.too_large || result == CURLE_FILESIZE_EXCEEDED) {
    response->outcome = HTTP_TOO_LARGE;
    snprintf(response->error, sizeof(response->error), "response body larger than %zu bytes",
             job->request.max_body);
  } else if (job->transfer.header_too_long ||
             (result == CURLE_OUT_OF_MEMORY && !job->transfer.headers_done)) {
    response->outcome = HTTP_FAILED;
    snprintf(response->error, sizeof(response->error),
             "a response header line%s%s was longer than %d bytes: the server's answer is not "
             "usable",
             job->transfer.long_header[0] ? " " : "", job->transfer.long_header,
             HTTP_MAX_HEADER_LINE);
  } else if (result != CURLE_OK) {
    response->outcome = HTTP_FAILED;
    http_describe_failure(response, result, job->url, job->error_buffer);
  } else {
    response->outcome = HTTP_OK;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &response->status);
    char *content_type = NULL;
    curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type) {
      snprintf(response->content_type, sizeof(response->content_type), "%s", content_type);
    }
    curl_off_t retry_after = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RETRY_AFTER, &retry_after);
    response->retry_after_seconds = (long)retry_after;
  }
  job->done = 1;
}

/* Runs libcurl and records every transfer that finished; returns how many did. */
static int http_client_drive(http_client *client) {
  int finished = 0;
  int running = 0;
  curl_multi_perform(client->multi, &running);
  int pending;
  CURLMsg *message;
  while ((message = curl_multi_info_read(client->multi, &pending)) != NULL) {
    if (message->msg != CURLMSG_DONE) continue;
    http_job *job = NULL;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&job);
    if (job) {
      http_job_complete(job, message->data.result);
      finished++;
    }
  }
  return finished;
}

void http_client_run(http_client *client, int timeout_ms) {
  /* A transfer that just finished is news for the caller now: polling first would sleep the
   * whole timeout with nothing left on the wire. */
  if (http_client_drive(client) > 0) return;
  if (timeout_ms > 0) {
    curl_multi_poll(client->multi, NULL, 0, timeout_ms, NULL);
    http_client_drive(client);
  }
}

int http_job_done(const http_job *job) {
  return job->done;
}

http_outcome http_job_finish(http_job *job, http_response *response) {
  if (!job->done) {
    curl_multi_remove_handle(job->client->multi, job->easy);
    job->response.outcome = HTTP_ABORTED;
    snprintf(job->response.error, sizeof(job->response.error), "cancelled");
  }
  if (response) {
    *response = job->response;
  } else {
    free(job->response.body);
  }
  /* The handle goes back to the pool without its header list, which held the credentials. */
  curl_easy_setopt(job->easy, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(job->easy, CURLOPT_POSTFIELDS, NULL); /* the caller's body, gone after this */
  curl_easy_setopt(job->easy, CURLOPT_PRIVATE, NULL);
  http_header_list_free(job->header_list);
  http_return_handle(job->client, job->easy);
  http_outcome outcome = job->response.outcome;
  free(job->url);
  free(job);
  return outcome;
}

void http_client_set_concurrency(http_client *client, int max_connections) {
  /* At most this many connections to one host, and enough room in the connection cache to keep
   * them all alive between statements. */
  curl_multi_setopt(client->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_connections);
  curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, (long)(max_connections + 4));
}

http_outcome http_client_get(http_client *client, const http_request *request,
                             http_response *response) {
  memset(response, 0, sizeof(*response));
  http_job *job = http_job_start(client, request);
  if (!job) {
    response->outcome = HTTP_NO_MEMORY;
    snprintf(response->error, sizeof(response->error), "could not set up the request");
    return response->outcome;
  }
  while (!http_job_done(job)) {
    if (request->should_abort && request->should_abort(request->abort_arg)) break;
    http_client_run(client, HTTP_POLL_MS);
  }
  return http_job_finish(job, response);
}
