/*
 * Settings: environment variables, CREATE VIRTUAL TABLE options and defaults
 * (docs/reference/configuration.md).
 *
 * Every setting has a key ("timeout_ms"), an environment variable (<VENDOR>_<KEY>, e.g.
 * CAPILLARY_TIMEOUT_MS) and may be given as an option, either literally (key=value) or by naming
 * the environment variable that holds it (key_env=NAME). The schema of a database file is plain
 * text anyone can read or plant, so a table stored in a file never takes a secret or a base URL
 * literally.
 */
#ifndef IX_CONFIG_H
#define IX_CONFIG_H

#include <sqlite3ext.h>

enum {
  /* Never literal in a stored table, never shown by value, scrubbed from error texts. */
  IX_SETTING_SECRET = 1 << 0,
  /* A base URL: never literal in a stored table (it decides where the credentials go). */
  IX_SETTING_URL = 1 << 1,
  IX_SETTING_INT = 1 << 2, /* a whole number */
  /* Part of a credential: when a table overrides the base URL, it does not fall back to the
   * vendor's environment variable, so one account's credentials never travel to another's host. */
  IX_SETTING_CREDENTIAL = 1 << 3,
  /* Also read from INTERACTIONS_<KEY> when <VENDOR>_<KEY> is unset: one value for every table
   * (the shared limiter's URL). */
  IX_SETTING_GLOBAL_ENV = 1 << 4,
  /* A switch: the whole number 0 or 1 (IX_SETTING_INT too). */
  IX_SETTING_SWITCH = 1 << 5,
};

typedef struct ix_setting_def {
  const char *key;
  unsigned flags;
  const char *default_value; /* NULL = unset */
  const char *help;
} ix_setting_def;

typedef struct config_options config_options;
typedef struct ix_config ix_config;

/* Settings every vendor has, terminated by a NULL key. */
extern const ix_setting_def common_settings[];

/* The engine's own settings (common_settings) in their C types, resolved once per table by
 * config_resolve: the engine reads fields, so a misspelt name is a compile error rather than a
 * lookup that silently reads 0. A whole number reads 0 when unset (an empty value), as
 * config_get_int does; texts are NULL when unset and live as long as the config. Adding a common
 * setting: its row in common_settings (common.c), its field here, its line in config.c's
 * config_engine_fields (docs/engine.md#settings). */
typedef struct config_engine_settings {
  const char *base_url; /* without trailing slashes */
  const char *rate_limit;
  sqlite3_int64 timeout_ms;
  sqlite3_int64 connect_timeout_ms;
  sqlite3_int64 stall_timeout_ms;
  sqlite3_int64 max_retries;
  sqlite3_int64 retry_base_ms;
  sqlite3_int64 retry_budget_ms;
  sqlite3_int64 cache_ttl; /* seconds */
  sqlite3_int64 max_concurrency;
  const char *timezone;
  sqlite3_int64 page_size; /* -1 when unset: the API's maximum */
  sqlite3_int64 max_pages;
  sqlite3_int64 max_response_bytes;
  sqlite3_int64 any_404_is_no_rows;
  const char *limiter_url;      /* NULL: the host's own limiter (limit/ratelimit.h) */
  const char *limiter_fallback; /* "fail" or "local" */
  const char *quota_share;      /* the part of each window this installation uses, "0.5" */
} config_engine_settings;

/* Parses the CREATE VIRTUAL TABLE arguments. stored_in_file is true for tables that are not TEMP.
 */
int config_options_parse(const char *table, const ix_setting_def *vendor_settings, int argc,
                         const char *const *argv, int stored_in_file, config_options **out,
                         char **error_out);
void config_options_free(config_options *options);

/* Resolves every setting for one table: option, option's environment variable, the vendor's
 * environment variable, default. */
int config_resolve(const char *table, const char *vendor, const ix_setting_def *vendor_settings,
                   const char *default_base_url, const config_options *options, ix_config **out,
                   char **error_out);
void config_free(ix_config *config);
/* Resolves the environment's settings without stopping at an unusable one: each records why. */
int config_resolve_lenient(const char *table, const char *vendor,
                           const ix_setting_def *vendor_settings, const char *default_base_url,
                           ix_config **out);

/* For a table that defines a "region" setting (a vendor with named regions): when it is set, the
 * region gives the base URL, one of regions (name, URL pairs, NULL-terminated) or a URL of its own,
 * checked like base_url. Where both are set, a table's option wins over an environment variable;
 * two of the same rank are an error. lenient: the problem is recorded on the region setting. */
int config_apply_region(ix_config *config, const char *table, const char *const *regions,
                        int lenient, char **error_out);

/* For a vendor that rate-limits each API group apart (a table that defines "api_group"): the
 * group, part of the limiter's scope, "" when unset; NULL for the other vendors. */
const char *config_api_group(const ix_config *config);

/* The engine's settings of a resolved config, strict or lenient. config must not be NULL: the
 * engine asks only after fetch_configure has resolved it. */
const config_engine_settings *config_engine(const ix_config *config);

/* A provider's own settings by key. A key the table does not define is a programming error that
 * would otherwise read as unset: builds with IX_DEBUG (the sanitized ones: unit tests, make asan)
 * abort there, release builds read it as unset, and tests/setting_keys.t checks every key the
 * sources name against the tables. */
const char *config_get(const ix_config *config, const char *key); /* NULL when unset */
sqlite3_int64 config_get_int(const ix_config *config, const char *key);
/* The first common setting without its config_engine_settings field (or field without its setting),
 * NULL when they match: tests/unit/test_config.c. */
const char *config_engine_unmapped(void);
/* Whether the base URL is the vendor's own default (no variable, option or region named one): the
 * production host, which fetch/account.c and interactions_settings check against the environment
 * (envcheck_production_guard). */
int config_base_url_defaulted(const ix_config *config);
/* Whether the table defines key (set or not). */
int config_defines(const ix_config *config, const char *key);
/* The name a user changes to fix this setting: the environment variable it came from or would
 * come from (CAPILLARY_PASSWORD, or the one an option names), else "option 'key'". */
const char *config_origin(const ix_config *config, const char *key);
/* 1 when the setting has its default value: no option or variable set it (config_origin then
 * names the variable that would). */
int config_is_default(const ix_config *config, const char *key);

/* Iteration for interactions_settings and for the account scope. */
typedef struct config_setting_view {
  const char *key;
  const char *value;   /* NULL when unset */
  const char *source;  /* "default", "env NAME", "option", "option env NAME" */
  const char *problem; /* lenient resolution: why the value is unusable, else NULL */
  unsigned flags;      /* IX_SETTING_* */
} config_setting_view;

int config_count(const ix_config *config);
void config_at(const ix_config *config, int index, config_setting_view *view);

/* INTERACTIONS_* process-wide switches. */
int config_env_flag(const char *name);

#endif
