/*
 * The settings every table has, whatever its vendor (config.h: common_settings): their keys,
 * flags, defaults and help. Where each lands in config_engine_settings is config.c's
 * config_engine_fields; tests/unit/test_config.c checks that every one has its field.
 */
#include "settings/config.h"

#include <stddef.h>

const ix_setting_def common_settings[] = {
    {"base_url", IX_SETTING_URL, NULL, "the vendor API's base URL"},
    {"rate_limit", 0, "10/1s", "requests per window, e.g. 50/10s"},
    {"timeout_ms", IX_SETTING_INT, "30000", "whole-request timeout"},
    {"connect_timeout_ms", IX_SETTING_INT, "10000", "TCP and TLS connect timeout"},
    {"stall_timeout_ms", IX_SETTING_INT, "20000",
     "abort a transfer slower than 1 byte/s for this long"},
    {"max_retries", IX_SETTING_INT, "4", "retries of a failed page (429, 5xx, network)"},
    {"retry_base_ms", IX_SETTING_INT, "500", "first backoff ceiling; doubles per retry, 30 s cap"},
    {"retry_budget_ms", IX_SETTING_INT, "120000", "total retry waiting allowed per statement"},
    {"cache_ttl", IX_SETTING_INT, "300", "seconds a response is reused; 0 turns the cache off"},
    {"max_concurrency", IX_SETTING_INT, "16", "requests in flight at once"},
    {"timezone", 0, "UTC", "zone of vendor times that carry none"},
    {"page_size", IX_SETTING_INT, NULL, "rows per page (default: the API's maximum)"},
    {"max_pages", IX_SETTING_INT, "1000", "pages per customer before the query fails"},
    {"max_response_bytes", IX_SETTING_INT, "16777216", "largest response body accepted"},
    {"any_404_is_no_rows", IX_SETTING_INT | IX_SETTING_SWITCH, "0",
     "1: every HTTP 404 means no rows, for a vendor that answers unknown customers so"},
    /* Secret: the URL may carry the Redis password (shown as set or unset, never stored). */
    {"limiter_url", IX_SETTING_SECRET | IX_SETTING_GLOBAL_ENV, NULL,
     "redis://host:port[/db] or unix:///path: share the rate limit with other hosts"},
    {"limiter_fallback", IX_SETTING_GLOBAL_ENV, "fail",
     "when the shared limiter fails: fail, or local (this host alone at quota_share)"},
    {"quota_share", IX_SETTING_GLOBAL_ENV, "1",
     "the part of each rate-limit window this installation uses, 0 < share <= 1"},
    {NULL, 0, NULL, NULL},
};
