/*
 * Optimove: GET {base_url}/current/customers/GetCustomerChannelInteractions
 * (docs/vendors.md#optimove).
 *
 *     SELECT * FROM optimove_interactions('841231', '2018-08-19', '2018-09-19');
 *     SELECT * FROM optimove_interactions
 *      WHERE customer_id = '688417' AND occurred_at >= '2025-06-01';
 *     SELECT crm.name, oi.*
 *       FROM crm JOIN optimove_interactions oi ON oi.customer_id = crm.optimove_id
 *      WHERE oi.occurred_at BETWEEN '2025-01-01' AND '2025-03-31';
 *
 * Pseudo-schema (argument columns last and HIDDEN):
 *
 *     CREATE TABLE x(occurred_at, channel, status, campaign_id, subject, recipient_group_id,
 *                    action_id, channel_id, template_id, event_id, raw,
 *                    customer_id HIDDEN, start_date HIDDEN, end_date HIDDEN)
 *
 * The API answers one customer's campaign events between StartDate and EndDate (inclusive dates)
 * as one JSON array, [{Date, CampaignID, RecipientGroupID, ActionID, ChannelID, TemplateID,
 * EventID}], with no paging. Authentication is the account's API key in X-API-KEY; each account has
 * its own host (https://apiN.optimove.net), so there is no default base URL.
 *
 * How it works
 *   The date range is the API's, and it is required. It comes from the start_date / end_date
 *   arguments and from bounds on occurred_at (the engine collapses =, <, <=, >, >= and BETWEEN into
 *   one range); when both are given the narrower one wins. A bound is text as SQLite compares it,
 *   which the engine guarantees starts with a date (a LIKE prefix such as '2025-04' arrives as the
 *   days it can match), and SQLite re-checks every bound, so the dates sent only have to cover
 *   every row that can match: a lower bound's date is the start date whatever follows it
 *   ('2025-03-01 12:00' still needs 2025-03-01, and so does > '2025-03-01', which a row sent at
 *   10:00 that day passes). An upper bound that is a bare date ends on that date, or the day before
 *   when it is exclusive (no row of that day is < '2025-03-01'); one with a time part ends on its
 *   date (the date-only row '2025-03-01' is < '2025-03-01 00:00:00'). Without an upper bound the
 *   range ends today (UTC), or on the start date when that is later.
 *
 *   With the window_days setting a long range is asked for in windows of that many days, one per
 *   page, oldest first: the next window's start date is the page token, so a statement that stops
 *   early (LIMIT, EXISTS) makes no further requests.
 *
 *   A per-account flag makes this endpoint answer in the newer GetCampaignEngagementMetrics format
 *   (one object per send: SentDateTime and Delivered/Opened/Clicked/Unsubscribed flags instead of
 *   Date and EventID). Each row is read by the fields it has, so both formats, even mixed, work;
 *   status is only known in the newer one.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "provider/provider.h"

SQLITE_EXTENSION_INIT3

#define OPTIMOVE_DATE_LENGTH 10 /* YYYY-MM-DD */
#define OPTIMOVE_PATH "/current/customers/GetCustomerChannelInteractions"
/* "All customer-related endpoints return a maximum of 10,000 records per page" (public clients,
 * docs/vendors.md#optimove): an answer this long is a page, and the next is asked with $skip. */
#define OPTIMOVE_MAX_RECORDS 10000
/* The generic ChannelIDs of Optimove's sandbox accounts (docs/vendors.md#optimove); production
 * accounts get their own ids from Optimove, set with the channels setting. */
#define OPTIMOVE_DEFAULT_CHANNELS \
  "502=call_center,504=email,505=sms,506=push,510=web_push,511=in_app"
/* EventID meanings as one production integration maps them (docs/vendors.md#optimove): observed,
 * not Optimove's documentation; a send with no event row was only sent. */
#define OPTIMOVE_DEFAULT_EVENTS \
  "2=opened,3=clicked,4=unsubscribed,5=dropped,6=spam_report,7=bounced"

enum {
  OM_OCCURRED_AT,
  OM_CHANNEL,
  OM_STATUS,
  OM_CAMPAIGN_ID,
  OM_SUBJECT,
  OM_RECIPIENT_GROUP_ID,
  OM_ACTION_ID,
  OM_CHANNEL_ID,
  OM_TEMPLATE_ID,
  OM_EVENT_ID,
  OM_EVENT,
  OM_RAW,
  OM_CUSTOMER_ID,
  OM_START_DATE,
  OM_END_DATE,
  OM_COLUMN_COUNT
};

/* One entry per column; its description on the line after (clang-format would spread each
 * over six lines). */
// clang-format off
static const ix_column_def optimove_columns[OM_COLUMN_COUNT] = {
    /* "Date" (YYYY-MM-DD) in the classic format, "SentDateTime" (UTC) in the newer one. */
    [OM_OCCURRED_AT] =
        {"occurred_at", "TEXT", 0, IX_VALUE_TIME, {"Date", "SentDateTime"},
        "the event day (YYYY-MM-DD), or SentDateTime in UTC in the newer format"},
    [OM_CHANNEL] = {"channel", "TEXT", 0, IX_VALUE_CUSTOM, {"ChannelID"},
        "the channel map's name for channel_id (option channels), else NULL"},
    [OM_STATUS] = {"status", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "newer format: the furthest step reached (delivered, opened...); classic: NULL"},
    [OM_CAMPAIGN_ID] = {"campaign_id", "INTEGER", 0, IX_VALUE_INT_OR_TEXT, {"CampaignID"},
        "CampaignID"},
    [OM_SUBJECT] = {"subject", "TEXT", 0, IX_VALUE_CUSTOM, {NULL},
        "always NULL: Optimove sends no subject"},
    [OM_RECIPIENT_GROUP_ID] =
        {"recipient_group_id", "INTEGER", 0, IX_VALUE_INT, {"RecipientGroupID"},
        "RecipientGroupID"},
    [OM_ACTION_ID] = {"action_id", "INTEGER", 0, IX_VALUE_INT, {"ActionID"},
        "ActionID"},
    [OM_CHANNEL_ID] = {"channel_id", "INTEGER", 0, IX_VALUE_INT,
        {"ChannelID"}, "ChannelID; = and IN are sent to the API as ChannelID"},
    [OM_TEMPLATE_ID] = {"template_id", "INTEGER", 0, IX_VALUE_INT, {"TemplateID"},
        "TemplateID"},
    [OM_EVENT_ID] = {"event_id", "INTEGER", 0, IX_VALUE_INT, {"EventID"},
        "EventID (meanings not documented by Optimove); NULL in the newer format"},
    [OM_EVENT] = {"event", "TEXT", 0, IX_VALUE_CUSTOM, {"EventID"},
        "the events map's name for event_id (opened, clicked...: observed, not documented)"},
    [OM_RAW] = {"raw", "TEXT", 0, IX_VALUE_RAW, {NULL},
        "the event object as the vendor sent it (JSON)"},
    [OM_CUSTOMER_ID] = {"customer_id", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "Optimove's CustomerID, required"},
    [OM_START_DATE] = {"start_date", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "first day asked for (YYYY-MM-DD); a lower bound on occurred_at sets it"},
    [OM_END_DATE] = {"end_date", "TEXT", IX_COL_HIDDEN, IX_VALUE_NONE, {NULL},
        "last day asked for (YYYY-MM-DD); default today (UTC)"},
};
// clang-format on

/* The customer id is required; the days go as a range and as the start_date and end_date
 * arguments; channel_id is sent as ChannelID, one value a request as a public client does, and
 * SQLite re-checks the rows. */
// clang-format off
static const ix_key_column optimove_keys[] = {
    /* column        operators              require          alt  match           flags */
    {"customer_id",  IX_KEY_EQ,             IX_KEY_REQUIRED, 0,   IX_MATCH_EXACT, IX_KEY_ECHO},
    {"start_date",   IX_KEY_EQ,             IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT, IX_KEY_ECHO},
    {"end_date",     IX_KEY_EQ,             IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT, IX_KEY_ECHO},
    {"channel_id",   IX_KEY_EQ | IX_KEY_IN, IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT, 0},
    {"occurred_at",  IX_KEY_RANGE,          IX_KEY_OPTIONAL, 0,   IX_MATCH_EXACT, 0},
    {NULL},
};
// clang-format on

static const ix_setting_def optimove_settings[] = {
    {"api_key", IX_SETTING_SECRET, NULL,
     "API key (Optimove: Settings > API Key Management), sent as X-API-KEY"},
    /* Documented on two pages that disagree: 50 requests per 10 s per API key (a sliding window)
     * and 2000 per hour. An account may be held to either, so both apply
     * (docs/vendors.md#optimove). */
    {"rate_limit", 0, "50/10s,2000/1h", "requests per window"},
    {"channels", 0, OPTIMOVE_DEFAULT_CHANNELS,
     "ChannelID=name pairs for the channel column, or 'auto' to ask GetExecutionChannels"},
    {"events", 0, OPTIMOVE_DEFAULT_EVENTS,
     "EventID=name pairs for the event column (as one integration observed them)"},
    /* Optimove limits each API group: the group is part of the limiter's scope (fetch.c), so a
     * per-group limit is configuration only. One group until Optimove says more. */
    {"api_group", 0, "all", "the API group whose rate limit the table counts against"},
    {"window_days", IX_SETTING_INT, "0", "days per request; 0 asks for the whole range at once"},
    {NULL, 0, NULL, NULL},
};

/* In the newer format, the furthest engagement step a send reached is its status. */
static const struct {
  const char *field;
  const char *status;
} optimove_engagement_steps[] = {
    {"Unsubscribed", "unsubscribed"},
    {"Clicked", "clicked"},
    {"Opened", "opened"},
    {"Delivered", "delivered"},
};

/* ---- Dates: days since 1970-01-01 ---- */

/* Reads YYYY-MM-DD from the first 10 bytes of text (which may go on); rejects Feb 30 and the like.
 */
static int optimove_read_date(const char *text, long long *days) {
  for (int i = 0; i < OPTIMOVE_DATE_LENGTH; i++) {
    int dash = i == 4 || i == 7;
    if (!text[i] || (dash ? text[i] != '-' : !isdigit((unsigned char)text[i]))) return 0;
  }
  int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + text[3] - '0';
  unsigned month = (unsigned)((text[5] - '0') * 10 + text[6] - '0');
  unsigned day = (unsigned)((text[8] - '0') * 10 + text[9] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31) return 0;
  *days = timefmt_days_from_civil(year, month, day);
  int check_year;
  unsigned check_month, check_day;
  timefmt_civil_from_days(*days, &check_year, &check_month, &check_day);
  return check_year == year && check_month == month && check_day == day;
}

static void optimove_write_date(long long days, char out[OPTIMOVE_DATE_LENGTH + 1]) {
  int year;
  unsigned month, day;
  timefmt_civil_from_days(days, &year, &month, &day);
  sqlite3_snprintf(OPTIMOVE_DATE_LENGTH + 1, out, "%04d-%02u-%02u", year, month, day);
}

/* ---- The date range of a plan ---- */

typedef struct optimove_range {
  long long start, end; /* inclusive */
} optimove_range;

/* A start_date or end_date argument: exactly a date, since it is sent as it is and echoed. */
static int optimove_argument_date(const ix_call *call, int column, const char *text,
                                  long long *days, char **error_out) {
  if (strlen(text) == OPTIMOVE_DATE_LENGTH && optimove_read_date(text, days)) return 1;
  *error_out = ix_errorf("%s: %s must be a date written YYYY-MM-DD, got '%s'", call->table_name,
                         call->provider->columns[column].name, text);
  return 0;
}

static int optimove_bound_date(const ix_call *call, const char *bound, long long *days,
                               char **error_out) {
  if (optimove_read_date(bound, days)) return 1;
  *error_out = ix_errorf(
      "%s: occurred_at is compared with '%s', which does not start with a date: compare it with "
      "'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'",
      call->table_name, bound);
  return 0;
}

/* Why there is no start date, and what to write: the statement may have one SQLite does not pass
 * into an OR branch, or one that is no date ('0000', a number), or none. */
static char *optimove_no_start_error(const ix_call *call) {
  const ix_args *args = call->args;
  if (args->range_outside_or) {
    return ix_errorf(
        "%s: SQLite does not pass the date range written outside an OR into the OR's branches, "
        "and each branch needs a start date: put the range inside each branch ((customer_id = "
        "'1' AND occurred_at >= '2025-01-01') OR (customer_id = '2' AND occurred_at >= "
        "'2025-01-01')), or write the keys as one IN list (customer_id IN ('1', '2') AND "
        "occurred_at >= '2025-01-01')",
        call->table_name);
  }
  if (args->range_low_unusable) {
    return ix_errorf(
        "%s: %s is no start date: the API needs one as text in the form "
        "YYYY-MM-DD: write occurred_at >= '2025-03-15' (or start_date = "
        "'2025-03-15')",
        call->table_name, args->range_low_unusable);
  }
  return ix_errorf(
      "%s: a start date is required: add WHERE occurred_at >= '2025-01-01' (or start_date = "
      "'2025-01-01')",
      call->table_name);
}

/* The range's end, once its start is known: from occurred_at (re-checked by SQLite), else
 * end_date (echoed), else today. */
static void optimove_range_end(optimove_range *range, int has_high, long long high, int has_end,
                               long long end_arg) {
  /* Whether the end comes from occurred_at, which SQLite re-checks (end_date is echoed, not). */
  int end_rechecked = has_high && (!has_end || high <= end_arg);
  if (end_rechecked) {
    range->end = high;
  } else if (has_end) {
    range->end = end_arg;
  } else {
    char today[OPTIMOVE_DATE_LENGTH + 1];
    timefmt_today_utc(today);
    optimove_read_date(today, &range->end);
    if (range->end < range->start) range->end = range->start;
  }
  /* An empty range still needs a valid request (StartDate after EndDate is an error to the API):
   * ask for one day whose rows an occurred_at bound rejects, so SQLite's re-check drops them. An
   * empty range always has such a bound: two arguments in the wrong order were refused above. */
  if (range->end < range->start) {
    if (end_rechecked) {
      range->end = range->start;
    } else {
      range->start = range->end;
    }
  }
}

/* The whole range the plan asks for (see "How it works"). */
static int optimove_plan_range(const ix_call *call, optimove_range *range, char **error_out) {
  const ix_args *args = call->args;
  const char *start_text = ix_args_text(args, OM_START_DATE);
  const char *end_text = ix_args_text(args, OM_END_DATE);
  long long start_arg = 0, end_arg = 0, low = 0, high = 0;
  if (start_text && !optimove_argument_date(call, OM_START_DATE, start_text, &start_arg, error_out))
    return SQLITE_ERROR;
  if (end_text && !optimove_argument_date(call, OM_END_DATE, end_text, &end_arg, error_out))
    return SQLITE_ERROR;
  if (start_text && end_text && start_arg > end_arg) {
    *error_out = ix_errorf("%s: start_date '%s' is after end_date '%s'", call->table_name,
                           start_text, end_text);
    return SQLITE_ERROR;
  }
  if (args->range_low && !optimove_bound_date(call, args->range_low, &low, error_out))
    return SQLITE_ERROR;
  if (args->range_high && !optimove_bound_date(call, args->range_high, &high, error_out))
    return SQLITE_ERROR;
  if (args->range_high && !args->range_high_inclusive &&
      strlen(args->range_high) == OPTIMOVE_DATE_LENGTH) {
    high--; /* < '2025-03-01': no row of that day, date-only or not, is before it */
  }

  if (!start_text && !args->range_low) {
    *error_out = optimove_no_start_error(call);
    return SQLITE_ERROR;
  }
  range->start = (!args->range_low || (start_text && start_arg > low)) ? start_arg : low;
  optimove_range_end(range, args->range_high != NULL, high, end_text != NULL, end_arg);
  return SQLITE_OK;
}

/* ---- The channel and event maps: "502=call_center,504=email,..." ---- */

#define OPTIMOVE_AUTO "auto"

/* Finds the entry for an id; returns the name's start and length, or NULL. */
static const char *optimove_map_name(const char *map, const char *channel_id, size_t *length) {
  size_t id_length = strlen(channel_id);
  for (const char *entry = map; entry && *entry;) {
    const char *end = entry + strcspn(entry, ",");
    const char *equals = memchr(entry, '=', (size_t)(end - entry));
    const char *id = entry;
    while (id < equals && isspace((unsigned char)*id)) id++;
    const char *id_end = equals;
    while (id_end > id && isspace((unsigned char)id_end[-1])) id_end--;
    if (equals && (size_t)(id_end - id) == id_length && memcmp(id, channel_id, id_length) == 0) {
      const char *name = equals + 1;
      while (name < end && isspace((unsigned char)*name)) name++;
      const char *name_end = end;
      while (name_end > name && isspace((unsigned char)name_end[-1])) name_end--;
      *length = (size_t)(name_end - name);
      return name;
    }
    entry = *end ? end + 1 : end;
  }
  return NULL;
}

/* Every entry is digits '=' a name. */
static int optimove_channels_valid(const char *map) {
  for (const char *entry = map; entry && *entry;) {
    const char *end = entry + strcspn(entry, ",");
    const char *p = entry;
    while (p < end && isspace((unsigned char)*p)) p++;
    int digits = 0;
    while (p < end && isdigit((unsigned char)*p)) p++, digits++;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (!digits || p == end || *p != '=') return 0;
    p++;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p == end) return 0;
    entry = *end ? end + 1 : end;
  }
  return 1;
}

static int optimove_channels_auto(const ix_config *config) {
  const char *channels = config_get(config, "channels");
  return channels && sqlite3_stricmp(channels, OPTIMOVE_AUTO) == 0;
}

/* The settings a query would refuse: the key at fault, with *error_out set, or NULL. */
static const char *optimove_check_settings(const ix_call *call, char **error_out) {
  const char *channels = config_get(call->config, "channels");
  if (!optimove_channels_auto(call->config) && !optimove_channels_valid(channels)) {
    *error_out = ix_errorf(
        "%s: channels must be ChannelID=name pairs such as '504=email,505=sms', or 'auto', got "
        "'%s' (from %s)",
        call->table_name, channels, config_origin(call->config, "channels"));
    return "channels";
  }
  const char *events = config_get(call->config, "events");
  if (!optimove_channels_valid(events)) {
    *error_out = ix_errorf(
        "%s: events must be EventID=name pairs such as '2=opened,3=clicked', got '%s' (from %s)",
        call->table_name, events, config_origin(call->config, "events"));
    return "events";
  }
  return NULL;
}

/* The ChannelID filter to send: the equality on channel_id when it is a whole number, which is
 * all a ChannelID can be (anything else no row matches, and SQLite's re-check drops them all). */
static int optimove_channel_filter(const ix_call *call, char out[24]) {
  sqlite3_value *value = call->args->eq[OM_CHANNEL_ID];
  if (!value) return 0;
  int type = sqlite3_value_numeric_type(value);
  double real = sqlite3_value_double(value);
  if (type == SQLITE_INTEGER) {
    sqlite3_snprintf(24, out, "%lld", (long long)sqlite3_value_int64(value));
  } else if (type == SQLITE_FLOAT && real > -1e15 && real < 1e15 &&
             real == (double)(long long)real) {
    sqlite3_snprintf(24, out, "%lld", (long long)real);
  } else {
    return 0;
  }
  return 1;
}

/* ---- Requests ---- */

static int optimove_authenticate(const ix_call *call, http_headers *headers, char **error_out) {
  const char *key = config_get(call->config, "api_key");
  if (!key) {
    *error_out = ix_errorf("%s: no API key: set %s (Optimove: Settings > API Key Management)",
                           call->table_name, config_origin(call->config, "api_key"));
    return SQLITE_ERROR;
  }
  return http_headers_add(headers, "X-API-KEY", key) == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* Optimove's legacy tokens answer 403 "Authorization-Token Expired" (docs/vendors.md#optimove): the
 * generic "check OPTIMOVE_API_KEY" would not say that the key is right but no longer valid. */
static char *optimove_status_hint(const ix_call *call, long status, const char *vendor_said) {
  if (status != 403 || !strstr(vendor_said, "Expired")) return NULL;
  return sqlite3_mprintf(
      "the API key or token has expired: create a new key (Optimove: Settings > API Key "
      "Management) and set %s",
      config_origin(call->config, "api_key"));
}

static int optimove_build_request(const ix_call *call, const char *page_token,
                                  sqlite3_int64 page_size, ix_request *request, char **error_out) {
  (void)page_size; /* the API does not page: a window is the only way to ask for less */
  const char *customer = ix_args_text(call->args, OM_CUSTOMER_ID);
  if (!customer) {
    *error_out = ix_errorf("%s: %s", call->table_name, call->provider->required_hint);
    return SQLITE_ERROR;
  }
  if (!*customer) {
    *error_out = ix_errorf("%s: customer_id is empty", call->table_name);
    return SQLITE_ERROR;
  }
  if (optimove_check_settings(call, error_out)) return SQLITE_ERROR;
  optimove_range range;
  if (optimove_plan_range(call, &range, error_out) != SQLITE_OK) return SQLITE_ERROR;
  long long window_start = range.start, window_end = range.end, skip = 0;
  if (page_token && (!optimove_read_date(page_token, &window_start) ||
                     (page_token[OPTIMOVE_DATE_LENGTH] &&
                      sscanf(page_token + OPTIMOVE_DATE_LENGTH, "+%lld", &skip) != 1))) {
    *error_out = ix_errorf("%s: internal error: bad window '%s'", call->table_name, page_token);
    return SQLITE_ERROR;
  }
  long long window_days = config_get_int(call->config, "window_days");
  if (window_days > 0 && window_days <= window_end - window_start) {
    window_end = window_start + window_days - 1;
  }
  char start[OPTIMOVE_DATE_LENGTH + 1], end[OPTIMOVE_DATE_LENGTH + 1];
  optimove_write_date(window_start, start);
  optimove_write_date(window_end, end);
  char channel[24];
  int failed = url_append_raw(&request->url, OPTIMOVE_PATH) != 0 ||
               (optimove_channel_filter(call, channel) &&
                url_append_query(&request->url, "ChannelID", channel) != 0) ||
               url_append_query(&request->url, "CustomerID", customer) != 0 ||
               url_append_query(&request->url, "StartDate", start) != 0 ||
               url_append_query(&request->url, "EndDate", end) != 0;
  if (!failed && skip > 0) {
    /* The first page of a window asks as it always did; the API's cap is its default $top. */
    char top[24], skipped[24];
    sqlite3_snprintf(sizeof(top), top, "%d", OPTIMOVE_MAX_RECORDS);
    sqlite3_snprintf(sizeof(skipped), skipped, "%lld", skip);
    failed = url_append_query(&request->url, "$top", top) != 0 ||
             url_append_query(&request->url, "$skip", skipped) != 0;
  }
  return failed ? SQLITE_NOMEM : SQLITE_OK;
}

/* ---- Responses ---- */

/* Where a page sits in the plan: the window it asks for and the rows of it already read. */
typedef struct optimove_position {
  long long window_start;
  long long skip;
} optimove_position;

static void optimove_free_position(void *state) {
  sqlite3_free(state);
}

/* The next page's token: the window's start date, then "+skip" within a window that answered a
 * full OPTIMOVE_MAX_RECORDS. parse_page does not see the token its request was built from, so the
 * position of the page being read is kept in the customer's state. */
static int optimove_next_page(const ix_call *call, ix_page *page, char **error_out) {
  optimove_range range;
  if (optimove_plan_range(call, &range, error_out) != SQLITE_OK) return SQLITE_ERROR;
  optimove_position *position = page->customer_state;
  int first_page = !position || call->page_index <= 1;
  if (!position) {
    position = sqlite3_malloc64(sizeof(*position));
    if (!position) return SQLITE_NOMEM;
    page->customer_state = position;
    page->free_customer_state = optimove_free_position;
  }
  if (first_page) {
    position->window_start = range.start;
    position->skip = 0;
  }
  long long window_days = config_get_int(call->config, "window_days");
  if (page->row_count >= OPTIMOVE_MAX_RECORDS) {
    position->skip += page->row_count; /* a full answer: the window may hold more */
  } else if (window_days > 0 && position->window_start + window_days <= range.end) {
    position->window_start += window_days;
    position->skip = 0;
  } else {
    return SQLITE_OK; /* the last page */
  }
  char next[OPTIMOVE_DATE_LENGTH + 1];
  optimove_write_date(position->window_start, next);
  page->next_token = position->skip ? sqlite3_mprintf("%s+%lld", next, position->skip)
                                    : sqlite3_mprintf("%s", next);
  return page->next_token ? SQLITE_OK : SQLITE_NOMEM;
}

static ix_page_status optimove_parse_page(const ix_call *call, const char *body, size_t body_len,
                                          ix_page *page, char **error_out) {
  size_t blank = 0;
  while (blank < body_len && isspace((unsigned char)body[blank])) blank++;
  /* The docs' separate "Empty Response" topic: a 204 is no interactions. (An empty 200 never gets
   * here: the engine retries it as a cut response, since a close inside the headers looks so.) */
  if (blank < body_len) {
    if (ix_parse_json_body(call, body, body_len, page, error_out) != SQLITE_OK)
      return IX_PAGE_ERROR;
    ix_page_status status = ix_rows_from_array(call, page, "interactions", error_out);
    if (status != IX_PAGE_OK) return status;
  }
  if (optimove_next_page(call, page, error_out) != SQLITE_OK) {
    if (!*error_out) *error_out = ix_errorf("%s: out of memory", call->table_name);
    return IX_PAGE_ERROR;
  }
  return IX_PAGE_OK;
}

/* ---- Channel names from the account: channels='auto' ---- */

#define OPTIMOVE_CHANNELS_PATH "/current/actions/GetExecutionChannels"

/* GET /current/actions/GetExecutionChannels: "the available execution channel IDs and associated
 * channel names" (docs/vendors.md#optimove). */
static int optimove_channels_build(const ix_call *call, ix_request *request, char **error_out) {
  (void)call, (void)error_out;
  return url_append_raw(&request->url, OPTIMOVE_CHANNELS_PATH) == 0 ? SQLITE_OK : SQLITE_NOMEM;
}

/* Appends "id=name," for one {ChannelId, ChannelName}; a name loses the ',' and '=' that would
 * break the map. Returns 0 when the entry has no whole-number id or no name. */
static int optimove_channels_entry(sqlite3_str *map, const cJSON *entry) {
  static const char *const id_keys[] = {"ChannelId", "ChannelID", NULL};
  static const char *const name_keys[] = {"ChannelName", NULL};
  const cJSON *id = ix_json_member(entry, id_keys);
  const cJSON *name = ix_json_member(entry, name_keys);
  if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 1e15 ||
      id->valuedouble != (double)(long long)id->valuedouble || !cJSON_IsString(name)) {
    return 0;
  }
  sqlite3_str_appendf(map, "%s%lld=", sqlite3_str_length(map) ? "," : "",
                      (long long)id->valuedouble);
  for (const char *p = name->valuestring; *p; p++) {
    sqlite3_str_appendchar(map, 1,
                           (*p == ',' || *p == '=' || iscntrl((unsigned char)*p)) ? ' ' : *p);
  }
  return 1;
}

/* The answer, [{ChannelId, ChannelName}, ...], as a channel map "504=Email,505=SMS". A body that
 * is not such a list (a firewall's HTML page, another shape) is an error, not "no names". */
static int optimove_channels_parse(const ix_call *call, const char *body, size_t body_len,
                                   char **result_out, char **error_out) {
  cJSON *root = cJSON_ParseWithLength(body, body_len);
  sqlite3_str *map = sqlite3_str_new(NULL);
  int entries = 0, named = 0;
  for (const cJSON *entry = cJSON_IsArray(root) ? root->child : NULL; entry; entry = entry->next) {
    entries++;
    named += optimove_channels_entry(map, entry);
  }
  int valid = cJSON_IsArray(root) && named == entries;
  cJSON_Delete(root);
  char *text = sqlite3_str_finish(map);
  if (!valid) {
    sqlite3_free(text);
    *error_out = ix_errorf(
        "%s: GetExecutionChannels did not answer a list of {ChannelId, ChannelName} "
        "(channels='auto'): set channels to ChannelID=name pairs instead",
        call->table_name);
    return SQLITE_ERROR;
  }
  if (!text) text = sqlite3_mprintf("%s", ""); /* an account without channels: an empty map */
  *result_out = text;
  return text ? SQLITE_OK : SQLITE_NOMEM;
}

static const ix_lookup optimove_channels_lookup = {
    .wanted = optimove_channels_auto,
    .build = optimove_channels_build,
    .parse = optimove_channels_parse,
    .what = "GetExecutionChannels for channel names (channels='auto')",
    .instead = "check the API key, or set channels to ChannelID=name pairs instead",
};

/* The channel map the channel column reads: the setting, or the account's own names. */
static const char *optimove_channel_map(const ix_call *call) {
  if (!optimove_channels_auto(call->config)) return config_get(call->config, "channels");
  return call->page ? call->page->lookup : NULL;
}

/* ---- Columns ---- */

/* The name a map gives the row's id in column's member (ChannelID, EventID), lower-cased; NULL
 * when the map does not name it. */
static void optimove_result_mapped(const ix_row *row, int column, const char *map,
                                   sqlite3_context *ctx) {
  const cJSON *member = ix_json_member(row->item, optimove_columns[column].keys);
  char id[32];
  /* Bounded before the cast: a double outside long long's range is undefined behaviour there. */
  if (cJSON_IsNumber(member) && member->valuedouble > -1e15 && member->valuedouble < 1e15 &&
      member->valuedouble == (double)(long long)member->valuedouble) {
    sqlite3_snprintf(sizeof(id), id, "%lld", (long long)member->valuedouble);
  } else if (cJSON_IsString(member) && strlen(member->valuestring) < sizeof(id)) {
    sqlite3_snprintf(sizeof(id), id, "%s", member->valuestring);
  } else {
    sqlite3_result_null(ctx);
    return;
  }
  size_t length = 0;
  const char *name = optimove_map_name(map, id, &length);
  if (!name) {
    sqlite3_result_null(ctx); /* an id the map does not name */
    return;
  }
  char *lower = sqlite3_mprintf("%.*s", (int)length, name);
  if (!lower) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
  sqlite3_result_text(ctx, lower, -1, sqlite3_free);
}

static int optimove_flag_set(const cJSON *flag) {
  return cJSON_IsTrue(flag) || (cJSON_IsNumber(flag) && flag->valuedouble != 0) ||
         (cJSON_IsString(flag) && sqlite3_stricmp(flag->valuestring, "true") == 0);
}

static void optimove_result_status(const ix_row *row, sqlite3_context *ctx) {
  size_t count = sizeof(optimove_engagement_steps) / sizeof(optimove_engagement_steps[0]);
  for (size_t i = 0; i < count; i++) {
    const cJSON *flag =
        cJSON_GetObjectItemCaseSensitive(row->item, optimove_engagement_steps[i].field);
    if (optimove_flag_set(flag)) {
      sqlite3_result_text(ctx, optimove_engagement_steps[i].status, -1, SQLITE_STATIC);
      return;
    }
  }
  sqlite3_result_null(ctx); /* the classic format, or a send with no engagement */
}

static void optimove_column(const ix_call *call, const ix_row *row, int column,
                            sqlite3_context *ctx) {
  if (column == OM_CHANNEL) {
    optimove_result_mapped(row, OM_CHANNEL, optimove_channel_map(call), ctx);
  } else if (column == OM_EVENT) {
    optimove_result_mapped(row, OM_EVENT, config_get(call->config, "events"), ctx);
  } else if (column == OM_STATUS) {
    optimove_result_status(row, ctx);
  } else if (column == OM_START_DATE || column == OM_END_DATE) {
    /* Not given as an argument: the dates the range was asked for (occurred_at's bounds, today). */
    optimove_range range;
    char *error = NULL;
    if (optimove_plan_range(call, &range, &error) != SQLITE_OK) {
      sqlite3_free(error);
      sqlite3_result_null(ctx);
      return;
    }
    char date[OPTIMOVE_DATE_LENGTH + 1];
    optimove_write_date(column == OM_START_DATE ? range.start : range.end, date);
    sqlite3_result_text(ctx, date, -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_result_null(ctx); /* subject: Optimove sends none */
  }
}

/* ---- The descriptor ---- */

const ix_provider optimove_interactions_provider = {
    .table = "optimove_interactions",
    .vendor = "optimove",
    .default_base_url = NULL, /* each account has its own https://apiN.optimove.net */
    .columns = optimove_columns,
    .column_count = OM_COLUMN_COUNT,
    .keys = optimove_keys,
    .required_hint =
        "a customer id is required: add WHERE customer_id = '...', or call "
        "optimove_interactions('...', '2025-01-01')",
    .max_page_size = 0,
    .endpoint = "GET /current/customers/GetCustomerChannelInteractions",
    .paging = "date windows (window_days); $top/$skip past 10,000 rows",
    .docs_url =
        "https://developer.optimove.com/reference/get_customers-getcustomerchannelinteractions",
    .data = NULL,
    .request =
        {
            .authenticate = optimove_authenticate,
            .build = optimove_build_request,
            .lookup = &optimove_channels_lookup,
        },
    .response =
        {
            .parse_page = optimove_parse_page,
            /* Optimove answers [] for a customer it does not know: a 404 is never that. */
            .not_found = {.never = 1},
            .status_hint = optimove_status_hint,
        },
    .row = {.column = optimove_column},
    .settings = {.list = optimove_settings, .check = optimove_check_settings},
};
