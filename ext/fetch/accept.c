/*
 * A final answer made the current page. See accept.h.
 */
#include "fetch/accept.h"

#include "cache/cache.h"
#include "fetch/errors.h"
#include "json/memlimits.h"
#include "observe/requestlog.h"
#include "provider/columns.h"
#include "provider/jsonspan.h"
#include "provider/notfound.h"
#include "util/hash.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

/* Refuses a body whose parse would cost more memory than max_response_bytes allows (memlimits.h).
 */
static int accept_check_parse_cost(const fetch_cursor *fetch, const http_response *response,
                                   char **error_out) {
  long long max_bytes = config_engine(fetch->account.config)->max_response_bytes;
  const char *body = response->body ? response->body : "";
  if (memlimits_json_within(body, response->body_len, sizeof(ix_row),
                            (size_t)max_bytes * IX_PARSE_BUDGET_FACTOR)) {
    return SQLITE_OK;
  }
  size_t cost = memlimits_json_cost(body, response->body_len, sizeof(ix_row));
  *error_out = ix_errorf(
      "%s: the response from %s (%lld bytes) would take about %lld MB of memory to read, more than "
      "%d times max_response_bytes (%lld): raise max_response_bytes (%s) if that is expected",
      fetch->account.table_name, fetch->account.host, (long long)response->body_len,
      (long long)((cost + (1 << 20) - 1) >> 20), IX_PARSE_BUDGET_FACTOR, max_bytes,
      config_origin(fetch->account.config, "max_response_bytes"));
  return SQLITE_ERROR;
}

/* A cursor goes back into the next URL (and the request log): one of hostile size is refused. */
static int accept_check_cursor(const fetch_cursor *fetch, char **error_out) {
  size_t length = fetch->page.next_token ? strlen(fetch->page.next_token) : 0;
  if (length <= IX_MAX_CURSOR_BYTES) return SQLITE_OK;
  *error_out = ix_errorf(
      "%s: the API's next-page cursor is %lld bytes long, more than the %d accepted: the answer "
      "from %s is not usable; report it to the vendor",
      fetch->account.table_name, (long long)length, IX_MAX_CURSOR_BYTES, fetch->account.host);
  return SQLITE_ERROR;
}

/* ---- Accepting a response ---- */

/* The path the request asked for, without scheme, host or query (the query may hold secrets). */
static char *accept_request_path(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? strchr(p + 3, '/') : NULL;
  if (!p) return sqlite3_mprintf("/");
  return sqlite3_mprintf("%.*s", (int)strcspn(p, "?#"), p);
}

/* Whether a 404's JSON says the server has no such route (frameworks' stock texts), rather than
 * answering about a customer. Looks at every string value, a few levels deep. */
static int accept_says_no_route(const cJSON *node, int depth) {
  static const char *const phrases[] = {
      "no such endpoint", "no http resource was found",
      "cannot get ",      "no route matches",
      "route not found",  "no such route",
      "unknown endpoint", "endpoint not found",
  };
  if (cJSON_IsString(node)) {
    char lower[256];
    size_t i = 0;
    for (; i < sizeof(lower) - 1 && node->valuestring[i]; i++) {
      lower[i] = (char)(node->valuestring[i] >= 'A' && node->valuestring[i] <= 'Z'
                            ? node->valuestring[i] - 'A' + 'a'
                            : node->valuestring[i]);
    }
    lower[i] = '\0';
    for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++) {
      if (strstr(lower, phrases[k])) return 1;
    }
    return 0;
  }
  if (depth >= 4) return 0;
  for (const cJSON *child = node->child; child; child = child->next) {
    if (accept_says_no_route(child, depth + 1)) return 1;
  }
  return 0;
}

/* A 404 means "no such customer" (no rows) only when it is the vendor's own answer: a JSON body
 * that does not say the route is unknown, on a customer's first page, in the shape the
 * provider's not_found rule documents (provider/notfound.c). An HTML page, plain text or an empty body comes from a server that
 * does not know the path (a wrong base URL): that is an error, never an empty result. */
static int accept_not_found(fetch_cursor *fetch, const http_response *response,
                            const ix_request *request, char **error_out) {
  const ix_config *config = fetch->account.config;
  if (config_engine(config)->any_404_is_no_rows) return SQLITE_OK;
  cJSON *root = response->body ? cJSON_ParseWithLength(response->body, response->body_len) : NULL;
  char *error = NULL;
  ix_call call = fetch_call(fetch);
  int answer = (cJSON_IsObject(root) || cJSON_IsArray(root)) && !accept_says_no_route(root, 0);
  answer = notfound_is_unknown_customer(&call, answer ? root : NULL, &error) && answer;
  cJSON_Delete(root);
  if (answer) {
    sqlite3_free(error);
    return SQLITE_OK;
  }
  if (error) {
    /* The provider's text may quote the vendor: scrubbed like every vendor text. */
    *error_out = errors_scrub(config, &request->headers, error);
    return SQLITE_ERROR;
  }
  {
    const char *body = response->body ? response->body : "";
    size_t start = 0;
    while (start < response->body_len && (unsigned char)body[start] <= 0x20) start++;
    int html = strstr(response->content_type, "html") ||
               (start < response->body_len && body[start] == '<');
    char *said =
        html ? NULL
             : errors_vendor_message(body, response->body_len, "", config, &request->headers);
    char *path = accept_request_path(request->url.text);
    /* The host, not the API, answered: its words are "the server's". */
    error = ix_errorf(
        "%s: HTTP 404 from %s for %s (%s%s): no such path there, so this says nothing about the "
        "customer: check the base URL (%s); if the vendor answers unknown customers this way, "
        "set %s to 1",
        fetch->account.table_name, fetch->account.host, path ? path : "?",
        html   ? "an HTML page"
        : said ? "the server said: "
               : "an empty body",
        said ? said : "", config_origin(config, "base_url"),
        config_origin(config, "any_404_is_no_rows"));
    sqlite3_free(said);
    sqlite3_free(path);
  }
  /* Our own words, the path we asked for (credentials never travel in a URL) and the server's
   * text, already scrubbed by errors_vendor_message: scrubbing the whole again would blank setting
   * names that share a fragment with a secret. */
  *error_out = error;
  return SQLITE_ERROR;
}

/* Whether the response is byte for byte the page still held from the previous request (called
 * before that page is reset). Two pages can only be equal if their lengths are, so the bytes are
 * compared only then: nothing is hashed for the pages of a long history. */
static int accept_same_as_held_page(const fetch_cursor *fetch, const http_response *response) {
  return fetch->page.body && response->body && fetch->page.body_len == response->body_len &&
         memcmp(fetch->page.body, response->body, response->body_len) == 0;
}

/* Paging that goes round: a next-page token this customer's pages gave before, or a page with
 * rows that is byte for byte the previous one (same_body, accept_same_as_held_page), would repeat
 * rows or page until max_pages. */
static int accept_check_repeat(fetch_cursor *fetch, int same_body, char **error_out) {
  if (fetch->pages_fetched <= 1) {
    fetch->tokens_seen_count = 0;
    fetch->previous_had_rows = 0;
  }
  /* A single page (most customers) is never compared with another. */
  if (fetch->pages_fetched <= 1 && !fetch->page.next_token) return SQLITE_OK;
  if (fetch->pages_fetched > 1 && fetch->previous_had_rows && same_body) {
    *error_out = ix_errorf(
        "%s: the API repeated itself: page %d for this customer is the same as page %d, so its "
        "rows would come twice; report it to the vendor",
        fetch->account.table_name, fetch->pages_fetched, fetch->pages_fetched - 1);
    return SQLITE_ERROR;
  }
  fetch->previous_had_rows = fetch->page.row_count > 0;
  const char *token = fetch->page.next_token;
  if (!token) return SQLITE_OK;
  uint64_t token_hash = hash64(token);
  for (int i = 0; i < fetch->tokens_seen_count; i++) {
    if (fetch->tokens_seen[i] != token_hash) continue;
    *error_out = ix_errorf(
        "%s: the API repeated itself: page %d for this customer gave a next-page token an "
        "earlier page gave, so paging would go round without end; report it to the vendor",
        fetch->account.table_name, fetch->pages_fetched);
    return SQLITE_ERROR;
  }
  /* Bounded by max_pages (the page cap stops paging first), and by a ceiling without one. */
  if (fetch->tokens_seen_count == fetch->tokens_seen_capacity) {
    int capacity = fetch->tokens_seen_capacity ? fetch->tokens_seen_capacity * 2 : 16;
    if (capacity > 1 << 20) return SQLITE_OK;
    uint64_t *grown =
        sqlite3_realloc64(fetch->tokens_seen, (sqlite3_uint64)capacity * sizeof(uint64_t));
    if (!grown) return SQLITE_NOMEM;
    fetch->tokens_seen = grown;
    fetch->tokens_seen_capacity = capacity;
  }
  fetch->tokens_seen[fetch->tokens_seen_count++] = token_hash;
  return SQLITE_OK;
}

/* Turns a final response into the current page: a 404 that is the vendor's "no such customer"
 * or a "not found" body is no rows, another status an error, a 2xx is parsed and its body kept
 * with the page (the rows' spans are recorded when a query first reads a row). Only an answer that was accepted is cached: a broken
 * body must not keep failing for cache_ttl. */
int accept_response(fetch_cursor *fetch, http_response *response, const ix_request *request,
                    int fresh, char **error_out) {
  const ix_config *config = fetch->account.config;
  int rc = SQLITE_OK;
  int same_body = accept_same_as_held_page(fetch, response);
  columns_page_reset(&fetch->page);
  /* Every 404 and 2xx body is parsed (the 404 rule reads the vendor's JSON): refuse one whose
   * parse would cost more memory than max_response_bytes allows. */
  int parses = response->status == 404 || (response->status >= 200 && response->status < 300);
  if (parses && accept_check_parse_cost(fetch, response, error_out) != SQLITE_OK) {
    return SQLITE_ERROR;
  }
  if (response->status == 404) {
    rc = accept_not_found(fetch, response, request, error_out);
    if (rc == SQLITE_OK) requestlog_set_rows(fetch->sending.last_request_id, 0);
  } else if (response->status < 200 || response->status >= 300) {
    ix_call call = fetch_call(fetch);
    *error_out = errors_status(&fetch->account, &call, response, &request->headers);
    rc = SQLITE_ERROR;
  } else {
    ix_call call = fetch_call(fetch);
    char *error = NULL;
    const char *body = response->body ? response->body : "";
    fetch->page.preparsed = &fetch->parsed;
    ix_page_status status =
        fetch->account.provider->parse_page(&call, body, response->body_len, &fetch->page, &error);
    fetch->page.preparsed = NULL;
    if (status == IX_PAGE_ERROR) {
      *error_out = errors_scrub(config, &request->headers, error);
      rc = SQLITE_ERROR;
    } else {
      sqlite3_free(error);
      if (status == IX_PAGE_NOT_FOUND) columns_page_reset(&fetch->page);
      rc = accept_check_repeat(fetch, same_body, error_out);
      if (rc == SQLITE_OK)
        requestlog_set_rows(fetch->sending.last_request_id, fetch->page.row_count);
    }
  }
  long long ttl_ms = config_engine(config)->cache_ttl * 1000;
  if (fresh && rc == SQLITE_OK && ttl_ms > 0) {
    cache_store(fetch->account.provider->vendor, fetch->account.host, fetch->account.account,
                request->url.text, ttl_ms, response->status, response->body ? response->body : "",
                response->body_len);
  }
  if (rc == SQLITE_OK && fetch->page.root) {
    /* The rows' raw spans point into the body: the page keeps it. */
    fetch->page.body = response->body;
    fetch->page.body_len = response->body_len;
    response->body = NULL;
  }
  if (rc == SQLITE_OK) rc = accept_check_cursor(fetch, error_out);
  return rc;
}
