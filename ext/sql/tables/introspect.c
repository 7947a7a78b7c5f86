/*
 * interactions_settings and interactions_debug(): see introspect.h.
 *
 *     SELECT * FROM interactions_settings WHERE vendor = 'capillary';
 *     SELECT interactions_debug();
 *
 * Settings are resolved from the environment, as the eponymous tables see them, without stopping
 * at an unusable one: the problem column says what is wrong. Secrets show only as 'set' or 'unset'.
 */
#include "sql/tables/introspect.h"
#include "sql/tables/snapshot.h"

#include "cache/diskcache.h"
#include "limit/ratelimit.h"
#include "observe/envcheck.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

#ifndef INTERACTIONS_VERSION
#define INTERACTIONS_VERSION "0.1.0"
#endif

typedef struct introspect_providers {
  const ix_provider *const *list;
  int count;
} introspect_providers;

/* Process-wide switches, shown under vendor 'interactions'. */
static const struct {
  const char *key;
  const char *variable;
  const char *default_value;
} introspect_globals[] = {
    {"allow_http", "INTERACTIONS_ALLOW_HTTP", "0"},
    {"ca_bundle", "INTERACTIONS_CA_BUNDLE", NULL},
    {"quiet", "INTERACTIONS_QUIET", "0"},
    {"progress", "INTERACTIONS_PROGRESS", "auto"},
    {"request_log_size", "INTERACTIONS_REQUEST_LOG_SIZE", "1000"},
    {"cache_mb", "INTERACTIONS_CACHE_MB", "64"},
    {"state_dir", "INTERACTIONS_STATE_DIR", NULL}, /* default: rate_state_dir() */
    {"cache_dir", "INTERACTIONS_CACHE_DIR", NULL},
    {"cache_disk_mb", "INTERACTIONS_CACHE_DISK_MB", "256"},
    /* The shared limiter for every table (docs/reference/rate-limits-and-hosts.md). */
    {"limiter_url", "INTERACTIONS_LIMITER_URL", NULL},
    {"limiter_password", "INTERACTIONS_LIMITER_PASSWORD", NULL},
    {"limiter_fallback", "INTERACTIONS_LIMITER_FALLBACK", "fail"},
    {"quota_share", "INTERACTIONS_QUOTA_SHARE", "1"},
};

#define INTROSPECT_GLOBAL_COUNT ((int)(sizeof(introspect_globals) / sizeof(*introspect_globals)))

enum {
  SETTING_VENDOR,
  SETTING_KEY,
  SETTING_VALUE,
  SETTING_SOURCE,
  SETTING_PROBLEM,
  SETTING_COLUMNS
};

static int introspect_settings_row(snapshot *rows, const char *vendor, const char *key,
                                   const char *value, const char *source, const char *problem) {
  if (snapshot_row(rows, 0) != SQLITE_OK) return SQLITE_NOMEM;
  const char *texts[SETTING_COLUMNS] = {vendor, key, value, source, problem};
  for (int c = 0; c < SETTING_COLUMNS; c++) snapshot_text(rows, c, texts[c]);
  return SQLITE_OK;
}

/* Whether a variable is set to the empty string, which every setting takes as unset. */
static int introspect_env_empty(const char *name) {
  const char *value = getenv(name);
  return value && !*value;
}

/* What a query would refuse in a value the lenient resolution accepted (sqlite3_mprintf'd), or
 * NULL. The texts are the queries' own. */
static char *introspect_settings_problem(const ix_provider *provider, const ix_config *config,
                                         const config_setting_view *setting) {
  const char *table = provider->table;
  const char *origin = config_origin(config, setting->key);
  if (strcmp(setting->source, "default") == 0 && introspect_env_empty(origin)) {
    return sqlite3_mprintf("%s is set but empty, which counts as unset", origin);
  }
  if (!setting->value) return NULL;
  if (strcmp(setting->key, "base_url") == 0 && config_base_url_defaulted(config)) {
    char *reason = envcheck_production_guard(provider->vendor, setting->value);
    char *problem = reason ? sqlite3_mprintf("%s: %s", table, reason) : NULL;
    sqlite3_free(reason);
    return problem;
  }
  if (strcmp(setting->key, "rate_limit") == 0) {
    rate_limit limit;
    if (rate_limit_parse(setting->value, &limit) == 0) return NULL;
    return sqlite3_mprintf(
        "%s: rate_limit must be N requests per window such as '50/10s' or '5/1s', or several "
        "separated by commas such as '50/10s,2000/1h', got '%s' (from %s)",
        table, setting->value, origin);
  }
  if (strcmp(setting->key, "timezone") == 0) {
    char *zone_error = NULL;
    timefmt_zone *zone = timefmt_zone_load(setting->value, &zone_error);
    char *problem = zone ? NULL
                         : sqlite3_mprintf("%s: %s (from %s)", table,
                                           zone_error ? zone_error : "out of memory", origin);
    timefmt_zone_free(zone);
    free(zone_error);
    return problem;
  }
  return NULL;
}

/* One vendor's settings; vendors with two tables (Capillary) are listed once. */
static int introspect_settings_vendor(snapshot *cursor, const ix_provider *provider) {
  ix_config *config = NULL;
  int rc = config_resolve_lenient(provider->table, provider->vendor, provider->settings,
                                  provider->default_base_url, &config);
  if (rc == SQLITE_OK)
    rc = config_apply_region(config, provider->table, provider->regions, 1, NULL);
  /* The provider's own checks (Optimove's channel map), as its queries make them. */
  char *provider_problem = NULL;
  const char *provider_key = NULL;
  ix_call call = {provider, provider->table, NULL, config, NULL, NULL, 0, NULL, NULL};
  if (rc == SQLITE_OK && provider->check_settings) {
    provider_key = provider->check_settings(&call, &provider_problem);
  }
  for (int i = 0; rc == SQLITE_OK && i < config_count(config); i++) {
    config_setting_view setting;
    config_at(config, i, &setting);
    const char *value = setting.value;
    /* A secret is shown as set or unset: never its value, not even in part. */
    if (setting.flags & IX_SETTING_SECRET) value = setting.value ? "set" : "unset";
    char *problem = NULL;
    if (!setting.problem && provider_key && strcmp(provider_key, setting.key) == 0) {
      problem = provider_problem;
      provider_problem = NULL;
    } else if (!setting.problem) {
      problem = introspect_settings_problem(provider, config, &setting);
    }
    rc = introspect_settings_row(cursor, provider->vendor, setting.key, value, setting.source,
                                 setting.problem ? setting.problem : problem);
    sqlite3_free(problem);
  }
  sqlite3_free(provider_problem);
  /* Which of the vendor's credential forms these settings select (they are alternatives). */
  if (rc == SQLITE_OK && config && provider->credential_form) {
    rc = introspect_settings_row(cursor, provider->vendor, "credentials",
                                 provider->credential_form(config), "derived", NULL);
  }
  config_free(config);
  return rc;
}

/* A variable no setting reads: a row of its own (never its value: it may be a secret). */
static int introspect_settings_unknown(void *context, const char *vendor, const char *name,
                                       const char *closest) {
  char *source = sqlite3_mprintf("env %s", name);
  char *problem = closest ? sqlite3_mprintf("no setting reads %s: did you mean %s?", name, closest)
                          : sqlite3_mprintf("no setting reads %s", name);
  int rc = source && problem ? introspect_settings_row(context, vendor, name, NULL, source, problem)
                             : SQLITE_NOMEM;
  sqlite3_free(source);
  sqlite3_free(problem);
  return rc;
}

/* The value a global setting's row shows (value: the variable's, NULL when unset). */
static const char *introspect_settings_shown(int g, const char *value, char *state_dir,
                                             size_t size) {
  const char *variable = introspect_globals[g].variable;
  /* The limiter's URL may carry its password: both are shown as set or unset. */
  if (strncmp(variable, "INTERACTIONS_LIMITER_", 21) == 0 &&
      strcmp(variable, "INTERACTIONS_LIMITER_FALLBACK") != 0) {
    return value ? "set" : "unset";
  }
  /* The rate-limit state directory's default depends on the environment: show the one used. */
  if (!value && strcmp(variable, "INTERACTIONS_STATE_DIR") == 0 &&
      rate_state_dir(state_dir, size) < (int)size) {
    return state_dir;
  }
  return value ? value : introspect_globals[g].default_value;
}

/* The rows, taken whole when a scan starts (snapshot.h). */
static int introspect_settings_fill(snapshot *cursor, void *aux) {
  const introspect_providers *providers = aux;
  int rc = SQLITE_OK;
  for (int p = 0; rc == SQLITE_OK && p < providers->count; p++) {
    int seen = 0;
    for (int q = 0; q < p; q++) {
      seen |= strcmp(providers->list[q]->vendor, providers->list[p]->vendor) == 0;
    }
    if (!seen) rc = introspect_settings_vendor(cursor, providers->list[p]);
  }
  for (int g = 0; rc == SQLITE_OK && g < INTROSPECT_GLOBAL_COUNT; g++) {
    const char *variable = introspect_globals[g].variable;
    const char *value = getenv(variable);
    int empty = value && !*value;
    if (empty) value = NULL; /* counts as unset, like every setting */
    char *source = value ? sqlite3_mprintf("env %s", variable) : sqlite3_mprintf("default");
    char *problem =
        empty ? sqlite3_mprintf("%s is set but empty, which counts as unset", variable) : NULL;
    char why[256];
    int unusable_cache = strcmp(variable, "INTERACTIONS_CACHE_DIR") == 0 && value &&
                         diskcache_problem(why, sizeof(why));
    if (unusable_cache) {
      problem = sqlite3_mprintf("the disk cache is not used (%s): queries go on without it", why);
    }
    char state_dir[4096];
    const char *shown = introspect_settings_shown(g, value, state_dir, sizeof(state_dir));
    rc = source && (problem || !(empty || unusable_cache))
             ? introspect_settings_row(cursor, "interactions", introspect_globals[g].key, shown,
                                       source, problem)
             : SQLITE_NOMEM;
    sqlite3_free(source);
    sqlite3_free(problem);
  }
  if (rc == SQLITE_OK) rc = envcheck_each_unknown(introspect_settings_unknown, cursor);
  return rc;
}

static const snapshot_table settings_table = {
    "CREATE TABLE x(vendor TEXT, key TEXT, value TEXT, source TEXT, problem TEXT)", SETTING_COLUMNS,
    introspect_settings_fill};

/* ---- interactions_debug() ---- */

static void introspect_debug(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc, (void)argv;
  const introspect_providers *providers = sqlite3_user_data(ctx);
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  sqlite3_str *text = sqlite3_str_new(NULL);
  sqlite3_str_appendf(text, "sqlite-interactions %s\n", INTERACTIONS_VERSION);
  sqlite3_str_appendf(text, "sqlite %s (built against %s)\n", sqlite3_libversion(), SQLITE_VERSION);
  sqlite3_str_appendf(
      text, "libcurl %s (%s, %s)\n", curl->version,
      curl->ssl_version ? curl->ssl_version : "no TLS",
      (curl->features & CURL_VERSION_THREADSAFE) ? "thread-safe init" : "init not thread-safe");
  sqlite3_str_appendf(text, "cjson %s\n", cJSON_Version());
  sqlite3_str_appendf(text, "openssl %s\n", OpenSSL_version(OPENSSL_VERSION));
  sqlite3_str_appendf(text, "compiler %s\n", __VERSION__);
  sqlite3_str_appendall(text, "build");
#ifdef __OPTIMIZE__
  sqlite3_str_appendall(text, " optimized");
#endif
#if defined(__SANITIZE_ADDRESS__)
  sqlite3_str_appendall(text, " asan");
#endif
  sqlite3_str_appendall(text, "\ntables");
  for (int p = 0; p < providers->count; p++) {
    sqlite3_str_appendf(text, " %s", providers->list[p]->table);
  }
  sqlite3_str_appendall(text,
                        " interactions_requests interactions_settings interactions_columns "
                        "interactions_tables interactions_cache\n");
  int length = sqlite3_str_length(text);
  char *result = sqlite3_str_finish(text);
  if (!result) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, result, length, sqlite3_free);
}

int introspect_register(sqlite3 *db, const ix_provider *const *providers, int provider_count) {
  /* The providers table is static, so the wrapper can be too: one per process is enough. */
  static introspect_providers wrapper;
  wrapper.list = providers;
  wrapper.count = provider_count;
  static const char *global_variables[INTROSPECT_GLOBAL_COUNT];
  for (int g = 0; g < INTROSPECT_GLOBAL_COUNT; g++) {
    global_variables[g] = introspect_globals[g].variable;
  }
  envcheck_init(providers, provider_count, global_variables, INTROSPECT_GLOBAL_COUNT);
  int rc = snapshot_register(db, "interactions_settings", &settings_table, &wrapper);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "interactions_debug", 0, SQLITE_UTF8, &wrapper,
                                    introspect_debug, NULL, NULL, NULL);
  }
  return rc;
}
