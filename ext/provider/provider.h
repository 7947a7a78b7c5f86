/*
 * The one header a vendor's provider includes (with auth.h, url.h or timefmt.h when it needs those
 * helpers): the descriptor it fills in and the helpers it calls. Nothing of the engine's own is
 * here; that is in vtab.h, columns.h and jsonspan.h.
 *
 * A vendor is data plus three callbacks: a static ix_provider naming its columns (which ones are
 * arguments, which constraints go to the API, which are required), how to build the HTTP request
 * for a plan and a page, and how to turn one response page into rows. The engine owns everything
 * else: xBestIndex, the idxStr plan, configuration, lazy paging, HTTP, error texts and the
 * JSON-to-column conversions. No vendor writes its own xBestIndex. The helpers are in rows.c.
 */
#ifndef IX_PROVIDER_H
#define IX_PROVIDER_H

#include <cjson/cJSON.h>
#include <sqlite3ext.h>
#include <stddef.h>
#include <stdint.h>

#include "settings/config.h"
#include "util/http.h"
#include "util/timefmt.h"
#include "util/url.h"

/* Columns per table are limited so a set of columns fits in one uint64_t mask. */
#define IX_MAX_COLUMNS 48
#define IX_MAX_REQUIRED_ALTERNATIVES 6
/* The bit of column c in a column mask (ix_provider.required). */
#define IX_COLUMN_BIT(c) ((uint64_t)1 << (c))

/* Column flags. */
enum {
  IX_COL_HIDDEN = 1 << 0, /* argument column: HIDDEN, usable as a table-valued function argument */
  IX_COL_EQ = 1 << 1,     /* an equality on this column is sent to the API */
  IX_COL_RANGE = 1 << 2,  /* bounds (=, <, <=, >, >=) collapse into one range sent to the API */
  /* The API applies the equality exactly and the column echoes the value it was given, so SQLite's
   * own re-check is skipped (omit). Only for filters the vendor applies exactly. */
  IX_COL_EXACT = 1 << 3,
  /* A key column whose value is the same on every row of one customer (the vendor's own id for
   * it): SQLite's re-check keeps all of a customer's rows or none, so it does not stop LIMIT from
   * sizing the pages (plan_limit). */
  IX_COL_PER_CUSTOMER = 1 << 4,
  /* An optional filter the API takes one value of per request (Optimove's ChannelID): an IN list
   * on it is sent value by value, SQLite calling xFilter once per value, instead of not at all. */
  IX_COL_IN_EACH = 1 << 5,
  /* How the vendor matches a value sent for an IX_COL_EQ column (none of these: byte for byte).
   * A loose match needs SQLite's re-check (not IX_COL_EXACT); it decides whether a comparison
   * under another collation can be sent (vtab.c) and why SQLite may drop rows the vendor matched
   * (the drop note). Read it through ix_column_match. */
  IX_COL_MATCH_NOCASE = 1 << 6, /* without regard to ASCII case (emails, UUIDs) */
  IX_COL_MATCH_PHONE = 1 << 7,  /* a phone number the vendor normalises ('+91 99' finds 9199) */
};

/* A column's match as one value (IX_COL_MATCH_* above). */
typedef enum ix_match {
  IX_MATCH_EXACT,
  IX_MATCH_NOCASE,
  IX_MATCH_PHONE,
} ix_match;

static inline ix_match ix_column_match(unsigned flags) {
  return (flags & IX_COL_MATCH_PHONE)    ? IX_MATCH_PHONE
         : (flags & IX_COL_MATCH_NOCASE) ? IX_MATCH_NOCASE
                                         : IX_MATCH_EXACT;
}

/* How the engine produces a column's value from a row when the column does not echo a constraint.
 */
typedef enum ix_value_kind {
  IX_VALUE_NONE,        /* NULL: argument columns that have no per-row value */
  IX_VALUE_TEXT,        /* the member as text: strings as they are, numbers and booleans rendered */
  IX_VALUE_LOWER,       /* like IX_VALUE_TEXT, lower-cased (channel names) */
  IX_VALUE_INT,         /* INTEGER from a JSON number or a numeric string, else NULL */
  IX_VALUE_INT_OR_TEXT, /* INTEGER when numeric, else the text (campaign ids) */
  IX_VALUE_REAL,        /* REAL from a number or numeric string */
  IX_VALUE_BOOL,        /* 0/1 from a JSON boolean, "true"/"false", or a number */
  IX_VALUE_TIME,   /* a vendor timestamp converted to UTC (timefmt); one no format reads fails */
  IX_VALUE_JSON,   /* the member as JSON text (objects and arrays), scalars as values */
  IX_VALUE_RAW,    /* the row's whole vendor object as JSON text */
  IX_VALUE_CUSTOM, /* the provider's column callback decides */
} ix_value_kind;

typedef struct ix_column_def {
  const char *name;
  const char *decl_type; /* declared SQL type: "TEXT", "INTEGER", "REAL" or "" */
  unsigned flags;        /* IX_COL_* */
  ix_value_kind kind;
  const char *keys[3]; /* JSON member names tried in order on the row's item (NULL-terminated) */
  const char *description; /* one line for interactions_columns, or NULL */
} ix_column_def;

/* One row: the vendor object the row stands for, plus the objects that enclose it, which some
 * vendors need for columns (Capillary: the interaction type and the network around a message). */
typedef struct ix_row {
  const cJSON *item;
  const cJSON *group;
  const cJSON *parent;
  /* The item's own bytes in the page's body (recorded by the parse, jsonarena.c), for raw; NULL when unknown. */
  const char *raw;
  size_t raw_length;
} ix_row;

/* What parse_page found in a response body. */
typedef enum ix_page_status {
  IX_PAGE_OK,        /* rows (possibly none) and maybe a next page */
  IX_PAGE_NOT_FOUND, /* the vendor does not know this customer: no rows, not an error */
  IX_PAGE_ERROR,     /* the body reports a failure: *error_out says what */
} ix_page_status;

/* A parsed page: owns the cJSON tree (in page->arena: never cJSON_Delete it); rows point into it. The rows array is reused across pages. */
typedef struct ix_page {
  cJSON *root;
  const cJSON *context; /* page-level object a provider wants to reach from its column callback */
  ix_row *rows;
  int row_count;
  int row_capacity;
  char *next_token; /* sqlite3_malloc'd: cursor, page number or similar; NULL = last page */
  /* What a provider keeps across the pages of one customer (e.g. ids already returned, to drop
   * duplicates when new interactions shift the pages): set by parse_page, freed with
   * free_customer_state when the next customer starts. */
  void *customer_state;
  void (*free_customer_state)(void *state);
  /* The response body the tree was parsed from (malloc'd, owned): rows' raw spans point into it.
   */
  char *body;
  size_t body_len;
  /* Where the tree lives (jsonarena.h): ix_parse_json_body makes it, columns_page_reset frees it. */
  struct ix_json_arena *arena;
  /* Engine: the body already parsed while fetch/transport.c checked it was whole, for ix_parse_json_body to
   * take instead of parsing again (NULL when there is none). */
  struct ix_json_parse *preparsed;
  /* Engine: the provider's lookup answer for this account (ix_lookup), or NULL. Lives as long as
   * the process. */
  const char *lookup;
} ix_page;

/* The constraint values of one request plan, indexed by column. */
typedef struct ix_args {
  sqlite3_value *eq[IX_MAX_COLUMNS]; /* equality values sent to the API (sqlite3_value_dup) */
  /* The collapsed range on the provider's range column, as text. Each bound starts with a real
   * YYYY-MM-DD date: a bound that does not (a number, a LIKE prefix, "2025-13") is widened by the
   * engine to the days it can match, or the plan sends nothing (vtab.c, values_range_add), so a
   * provider need not check the date again; what follows the date is the user's own text. SQLite
   * re-checks every bound on the rows. */
  char *range_low;
  char *range_high;
  int range_low_inclusive;
  int range_high_inclusive;
  sqlite3_int64 row_hint; /* LIMIT+OFFSET when pushed down, else -1: a page-size hint only */
  /* Set when the plan is an OR branch of a statement that bounds the range column outside the
   * OR: SQLite asks xBestIndex about each branch with the branch's own terms only, so the bound
   * never reaches this plan. A provider that needs a bound says so in its error instead of "a
   * start date is required" (the statement has one). */
  int range_outside_or;
  /* A lower bound on the range column that is no start date, as the user wrote it
   * ("occurred_at > ' '": every date sorts after it; "occurred_at >= 20250601": a number), for a
   * provider that needs one to quote in its error; NULL when none (sqlite3_malloc'd). */
  char *range_low_unusable;
} ix_args;

/* Everything a provider callback may read while building a request or producing a column. */
typedef struct ix_call {
  const struct ix_provider *provider;
  const char *table_name;
  const ix_args *args;
  const ix_config *config;
  const timefmt_zone *zone;
  const ix_page *page; /* the current page (column callbacks) */
  /* Pages already fetched for this customer: in build_request, 0 while asking for the first; in
   * parse_page and column callbacks, it counts the page being read (1 for the first). */
  int page_index;
  /* In authenticate, for a provider with a token exchange that the settings ask for: the token
   * the engine got for the account (fetch/exchange.c), taken after the limiter admitted the
   * request. NULL otherwise. */
  const char *token;
  /* Where ix_note sends a note: the engine's stderr channel (util/notes.h), passed down so that
   * a provider includes nothing above it. NULL drops notes (the settings table's calls). */
  void (*note)(const char *table_name, const char *text);
} ix_call;

/* The request a provider builds: the engine adds the base URL, timeouts and transport. */
typedef struct ix_request {
  url_builder url;           /* starts as the base URL; providers append path and query */
  http_headers headers;      /* auth and vendor headers (Accept: application/json is added) */
  uint64_t token_generation; /* engine: the exchanged token it carries (0 = none), for a 401 */
} ix_request;

/* A vendor whose credentials are exchanged for a short-lived token (fetch/exchange.c does the
 * rest). */
typedef struct ix_token_exchange {
  /* Whether the table's settings ask for the exchange (its key and secret are set). */
  int (*wanted)(const ix_config *config);
  /* Appends the token endpoint's path to request->url (the base URL) and sets *json_out to the
   * request body, sqlite3_malloc'd; it holds the secret, so the engine wipes it. */
  int (*build)(const ix_call *call, ix_request *request, char **json_out, char **error_out);
  /* The token (sqlite3_malloc'd) and its lifetime in seconds (0 when the answer gives none) from a
   * 2xx answer. */
  int (*parse)(const ix_call *call, const char *body, size_t body_len, char **token_out,
               long long *ttl_seconds, char **error_out);
  const char *key_setting, *secret_setting; /* named when the vendor refuses them */
  /* The documented lifetime, for an answer that gives none (fetch/exchange.h says where the
   * engine looks first); 0 = the token is kept until the vendor refuses it. */
  long long default_ttl_seconds;
} ix_token_exchange;

/* What the vendor's "no such customer" 404 looks like (provider/notfound.c): a 404 is no rows only
 * when its JSON body matches; any other 404 is an error naming the status and the body's message
 * and asking to check the base URL, and a 404 after a customer's first page always is. */
#define IX_NOT_FOUND_MATCHES 2
#define IX_NOT_FOUND_PATH 4
#define IX_NOT_FOUND_VALUES 4
typedef struct ix_not_found_rule {
  int never; /* the vendor answers an unknown customer otherwise (Optimove: []): no 404 is that */
  struct {
    /* Member names from the body to the value (compared without regard to case); an array on the
     * way is searched element by element. */
    const char *path[IX_NOT_FOUND_PATH];
    /* The values that say so: a number by its digits ("1012"), a text holding one of them
     * without regard to case ("contact not found"). */
    const char *values[IX_NOT_FOUND_VALUES];
  } match[IX_NOT_FOUND_MATCHES];
  /* Optional: a 404 whose text holds this phrase names a wrong setting, not a customer ("tenant"
   * names tenant_id): the error says to check it. */
  const char *setting_phrase;
  const char *setting;
} ix_not_found_rule;
/* A request the provider needs besides its pages (Optimove's channel names), asked once per account
 * and kept for the process (fetch/lookup.c); column callbacks read the answer as page->lookup. */
typedef struct ix_lookup {
  /* Whether the table's settings ask for it. */
  int (*wanted)(const ix_config *config);
  /* Appends the lookup's path and query to request->url (the base URL; authentication is added). */
  int (*build)(const ix_call *call, ix_request *request, char **error_out);
  /* The answer of a 2xx, as the text the column callbacks read (sqlite3_malloc'd). An answer that
   * is not what the vendor documents is an error, never an empty result. */
  int (*parse)(const ix_call *call, const char *body, size_t body_len, char **result_out,
               char **error_out);
  const char *what;    /* for errors: "GetExecutionChannels for channel names (channels='auto')" */
  const char *instead; /* the fix errors suggest: "set channels to ChannelID=name pairs instead" */
} ix_lookup;

typedef struct ix_provider {
  const char *table;  /* module name, e.g. "capillary_interactions" */
  const char *vendor; /* "capillary": the settings' env prefix (CAPILLARY_...) and the limiter */
  const char *default_base_url;
  const ix_setting_def *settings; /* vendor settings (credentials...), terminated by a NULL key */
  const ix_column_def *columns;
  int column_count;
  /* Derived, not written: the column flagged IX_COL_RANGE, or -1. Registration fills it in the
   * engine's copy of the descriptor (descriptor.c); providers leave it out. */
  int range_column;
  /* The plan needs every column of at least one of these masks (bit i = column i). Alternatives are
   * tried in order; the first fully usable one is sent. A zero mask ends the list. */
  uint64_t required[IX_MAX_REQUIRED_ALTERNATIVES];
  /* The fix shown when no alternative is constrained: "add WHERE mobile = '...' (or email, ...)".
   */
  const char *required_hint;
  int max_page_size; /* 0 = the API does not page */
  /* For interactions_tables: the request ("GET /v2/customers/interaction"), how it pages ("none",
   * "page number", "cursor"...) and the vendor's reference page. NULL when unknown. */
  const char *endpoint;
  const char *paging;
  const char *docs_url;
  const void *data; /* the provider's own static data (e.g. which column is which) */

  /* Adds the vendor's authentication headers, or fails saying which setting is missing. */
  int (*authenticate)(const ix_call *call, http_headers *headers, char **error_out);
  /* Builds the request for one page: path, query and vendor headers. page_token is NULL for the
   * first page, else the next_token parse_page returned for the previous page. */
  int (*build_request)(const ix_call *call, const char *page_token, sqlite3_int64 page_size,
                       ix_request *request, char **error_out);
  /* Turns one 2xx response body into rows (page->root must own the parsed tree). */
  ix_page_status (*parse_page)(const ix_call *call, const char *body, size_t body_len,
                               ix_page *page, char **error_out);
  /* The vendor's documented "no such customer" 404 (see ix_not_found_rule); without a match a 404
   * is never no rows (provider/notfound.c, called from fetch/accept.c). */
  ix_not_found_rule not_found;
  /* Value of an IX_VALUE_CUSTOM column, or of any column the generic kinds cannot express. */
  void (*column)(const ix_call *call, const ix_row *row, int column, sqlite3_context *ctx);
  /* Optional. The vendor's own id for the customer of the current page (Capillary's customer id,
   * Alpharun's contact UUID), written to out: then the rows of one customer reached through
   * different keys (mobile = ? OR email = ?) get the same rowids. Returns 0 when unknown: the
   * plan's key stands for the customer. */
  int (*customer_identity)(const ix_call *call, char *out, size_t out_size);
  /* Optional. The vendor's own value of key column `column` for the current page's customer (the
   * mobile as Capillary stores it, after its normalising), written to out; 0 when the answer has
   * none. For a column the vendor matches loosely (IX_COL_MATCH_*): when it differs from the value
   * sent under SQLite's comparison, SQLite drops every row, and the engine says so in a note. */
  int (*customer_key)(const ix_call *call, int column, char *out, size_t out_size);
  /* Optional. Checks the provider's own settings (call->config) as a query would: returns the key
   * at fault and sets *error_out, or returns NULL. interactions_settings shows it as a problem. */
  const char *(*check_settings)(const ix_call *call, char **error_out);
  /* Optional: credentials exchanged for a token. */
  const ix_token_exchange *token_exchange;
  /* Optional: the fix for a 401 or 403 when "check <the credentials>" would mislead (an expired
   * token, a missing permission). vendor_said is the vendor's message or "". NULL keeps the
   * generic text; else a sqlite3_malloc'd text that follows "HTTP 403 from host (...): ". */
  char *(*status_hint)(const ix_call *call, long status, const char *vendor_said);
  /* Optional: which credential form the settings select, for interactions_settings. */
  const char *(*credential_form)(const ix_config *config);
  /* Optional, with a "region" setting: the regions it may name, as name, base URL pairs
   * (NULL-terminated); a region may also be a URL (config_apply_region). */
  const char *const *regions;
  /* Optional: a lookup the column callbacks need (ix_lookup). */
  const ix_lookup *lookup;
} ix_provider;

/* ---- Helpers providers use ---- */

/* Appends a row to the page, growing the reused array. Returns SQLITE_OK or SQLITE_NOMEM. */
int ix_page_add_row(ix_page *page, const cJSON *item, const cJSON *group, const cJSON *parent);

/* The text of an argument's equality value, or NULL when the plan has none. */
const char *ix_args_text(const ix_args *args, int column);

/* A member of obj by the first of keys that is present (case-sensitive). */
const cJSON *ix_json_member(const cJSON *obj, const char *const *keys);

/* Treats a single object where an array is expected as a one-element array (XML-to-JSON habit):
 * iterate with ix_json_each. */
const cJSON *ix_json_first(const cJSON *array_or_object);
const cJSON *ix_json_next(const cJSON *array_or_object, const cJSON *current);

/* Sets ctx to the value of member (by kind), handling JSON null, the string "null" and wrong types.
 */
void ix_result_json(sqlite3_context *ctx, const cJSON *member, ix_value_kind kind,
                    const timefmt_zone *zone);

/* Sets ctx to text lower-cased (channel names), or NULL when text is NULL. */
void ix_result_lower(sqlite3_context *ctx, const char *text);

/* sqlite3_mprintf'd error text. */
char *ix_errorf(const char *fmt, ...);

/* "null", "a number", "a string", "a list", "an object", "a boolean" or "missing" (NULL): what a
 * JSON value is, for errors about a vendor's answer. */
const char *ix_json_type_name(const cJSON *value);

/* Fails with an error naming the position (1-based) and type of the first item of list that is not
 * an object: a list of rows holding 1, "two" or null is not the documented answer, and dropping
 * those items would pass a broken answer off as a whole one. what names the list. */
int ix_check_list_items(const ix_call *call, const cJSON *list, const char *what, char **error_out);

/* A note on stderr, not an error (partial data accepted on purpose): "<table>: <text>", shown
 * unless INTERACTIONS_QUIET=1 (the engine's channel decides). */
void ix_note(const ix_call *call, const char *fmt, ...);

/* For APIs that answer with a JSON array: each object in page->root is a row (any other item is
 * an error, ix_check_list_items). A body that is not an
 * array is an error quoting the vendor's message; what names the rows ("interactions"). */
ix_page_status ix_rows_from_array(const ix_call *call, ix_page *page, const char *what,
                                  char **error_out);

/* Appends "/" and the percent-encoded value of an argument to the request path, or fails with an
 * error naming the column (empty, "." or "..", control characters, over-long). */
/* For a token exchange's build: body printed as JSON text into *json_out (sqlite3_malloc'd), and
 * cJSON's own copy of the text wiped (it holds the secret). Frees body. SQLITE_OK or SQLITE_NOMEM
 * (also when body is NULL). */
int ix_token_request_json(cJSON *body, char **json_out);

/* For a token exchange's parse: the token at token_path in the JSON answer (sqlite3_malloc'd into
 * *token_out) and, when ttl_path names a positive number, its lifetime; the answer's copy of the
 * token is wiped. Without a token the error says the answer has no `what`, and names the key and
 * secret settings to check. Paths are NULL-terminated member names. */
int ix_token_from_answer(const ix_call *call, const char *body, size_t body_len,
                         const char *const *token_path, const char *const *ttl_path,
                         const char *what, char **token_out, long long *ttl_seconds,
                         char **error_out);

int ix_url_segment(const ix_call *call, ix_request *request, int column, const char *value,
                   char **error_out);

/* Parses a response body into page->root, or fails with an error that says what came instead. */
int ix_parse_json_body(const ix_call *call, const char *body, size_t body_len, ix_page *page,
                       char **error_out);

#endif
