/*
 * Settings from the environment and from CREATE VIRTUAL TABLE options: see config.h.
 */
#include "settings/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/numbers.h"
#include "util/notes.h"
#include "util/url.h"

SQLITE_EXTENSION_INIT3

#define IX_MAX_SETTINGS 48
#define IX_MAX_NAME 64

/* Where each common setting lands in config_engine_settings. The field's name is the key itself
 * (stringified), so the two cannot drift apart; tests/unit/test_config.c checks that every common
 * setting has its field. */
typedef struct config_engine_field {
  const char *key;
  size_t offset;
  int is_int;                 /* sqlite3_int64, else const char * */
  sqlite3_int64 unset_number; /* what a whole number reads when unset */
} config_engine_field;

#define IX_TEXT_FIELD(name) \
  { #name, offsetof(config_engine_settings, name), 0, 0 }
#define IX_INT_FIELD(name, unset) \
  { #name, offsetof(config_engine_settings, name), 1, unset }

static const config_engine_field config_engine_fields[] = {
    IX_TEXT_FIELD(base_url),
    IX_TEXT_FIELD(rate_limit),
    IX_INT_FIELD(timeout_ms, 0),
    IX_INT_FIELD(connect_timeout_ms, 0),
    IX_INT_FIELD(stall_timeout_ms, 0),
    IX_INT_FIELD(max_retries, 0),
    IX_INT_FIELD(retry_base_ms, 0),
    IX_INT_FIELD(retry_budget_ms, 0),
    IX_INT_FIELD(cache_ttl, 0),
    IX_INT_FIELD(max_concurrency, 0),
    IX_TEXT_FIELD(timezone),
    IX_INT_FIELD(page_size, -1),
    IX_INT_FIELD(max_pages, 0),
    IX_INT_FIELD(max_response_bytes, 0),
    IX_INT_FIELD(any_404_is_no_rows, 0),
    IX_TEXT_FIELD(limiter_url),
    IX_TEXT_FIELD(limiter_fallback),
    IX_TEXT_FIELD(quota_share),
};

/* One option as written in CREATE VIRTUAL TABLE: either a literal or the name of a variable. */
typedef struct config_option {
  const ix_setting_def *def;
  char *value;   /* literal value, or NULL */
  char *env_var; /* from key_env=NAME, or NULL */
} config_option;

struct config_options {
  int count;
  config_option items[IX_MAX_SETTINGS];
};

typedef struct config_setting {
  const ix_setting_def *def;
  char *value;
  char *source;  /* "default", "env NAME", "option", "option env NAME" */
  char *origin;  /* the name a user changes: see config_origin */
  char *problem; /* why the value is unusable (lenient resolution only), else NULL */
} config_setting;

struct ix_config {
  int count;
  config_setting items[IX_MAX_SETTINGS];
  config_engine_settings engine; /* the common settings again, typed (config_engine) */
};

int config_env_flag(const char *name) {
  const char *value = getenv(name);
  return value && *value && strcmp(value, "0") != 0 && strcmp(value, "false") != 0;
}

/* Vendor settings first, so a vendor can override a common default (its documented rate limit). */
static const ix_setting_def *config_find_def(const ix_setting_def *vendor_settings, const char *key,
                                             size_t key_length) {
  const ix_setting_def *lists[2] = {vendor_settings, common_settings};
  for (int l = 0; l < 2; l++) {
    for (const ix_setting_def *def = lists[l]; def && def->key; def++) {
      if (strlen(def->key) == key_length && strncmp(def->key, key, key_length) == 0) return def;
    }
  }
  return NULL;
}

static char *config_trimmed_copy(const char *start, const char *end) {
  while (start < end && isspace((unsigned char)*start)) start++;
  while (end > start && isspace((unsigned char)end[-1])) end--;
  /* A quoted value loses its quotes; a doubled quote inside stands for one, as in SQL. */
  if (end - start >= 2 && (*start == '\'' || *start == '"') && end[-1] == *start) {
    char quote = *start++;
    end--;
    char *copy = sqlite3_malloc64((sqlite3_uint64)(end - start) + 1);
    if (!copy) return NULL;
    char *out = copy;
    for (const char *p = start; p < end; p++) {
      *out++ = *p;
      if (*p == quote && p + 1 < end && p[1] == quote) p++;
    }
    *out = '\0';
    return copy;
  }
  return sqlite3_mprintf("%.*s", (int)(end - start), start);
}

static char *config_list_keys(const ix_setting_def *vendor_settings) {
  sqlite3_str *text = sqlite3_str_new(NULL);
  const ix_setting_def *lists[2] = {vendor_settings, common_settings};
  for (int l = 0; l < 2; l++) {
    for (const ix_setting_def *def = lists[l]; def && def->key; def++) {
      if (l == 1 && config_find_def(vendor_settings, def->key, strlen(def->key)) != def) continue;
      sqlite3_str_appendf(text, "%s%s", sqlite3_str_length(text) ? ", " : "", def->key);
    }
  }
  return sqlite3_str_finish(text);
}

static int config_valid_env_name(const char *name) {
  if (!*name || strlen(name) >= IX_MAX_NAME) return 0;
  for (const char *p = name; *p; p++) {
    if (!isalnum((unsigned char)*p) && *p != '_') return 0;
  }
  return 1;
}

void config_options_free(config_options *options) {
  if (!options) return;
  for (int i = 0; i < options->count; i++) {
    sqlite3_free(options->items[i].value);
    sqlite3_free(options->items[i].env_var);
  }
  sqlite3_free(options);
}

int config_options_parse(const char *table, const ix_setting_def *vendor_settings, int argc,
                         const char *const *argv, int stored_in_file, config_options **out,
                         char **error_out) {
  *out = NULL;
  config_options *options = sqlite3_malloc64(sizeof(*options));
  if (!options) return SQLITE_NOMEM;
  memset(options, 0, sizeof(*options));
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *equals = strchr(arg, '=');
    const char *key = arg;
    while (isspace((unsigned char)*key)) key++;
    size_t key_length = equals ? (size_t)(equals - key) : strlen(key);
    while (key_length > 0 && isspace((unsigned char)key[key_length - 1])) key_length--;
    int via_env = key_length > 4 && strncmp(key + key_length - 4, "_env", 4) == 0;
    const ix_setting_def *def =
        config_find_def(vendor_settings, key, via_env ? key_length - 4 : key_length);
    if (!equals || !def) {
      char *keys = config_list_keys(vendor_settings);
      *error_out = sqlite3_mprintf(
          "%s: bad option '%.*s': write key=value (or key_env=VARIABLE) with one of: %s", table,
          (int)key_length, key, keys ? keys : "");
      sqlite3_free(keys);
      config_options_free(options);
      return SQLITE_ERROR;
    }
    for (int j = 0; j < options->count; j++) {
      if (options->items[j].def == def) {
        *error_out = sqlite3_mprintf("%s: more than one '%s' option", table, def->key);
        config_options_free(options);
        return SQLITE_ERROR;
      }
    }
    char *value = config_trimmed_copy(equals + 1, equals + strlen(equals));
    if (!value) {
      config_options_free(options);
      return SQLITE_NOMEM;
    }
    config_option *option = &options->items[options->count++];
    option->def = def;
    if (via_env) {
      option->env_var = value;
      if (!config_valid_env_name(value)) {
        *error_out = sqlite3_mprintf("%s: %s_env must name an environment variable, got '%s'",
                                     table, def->key, value);
        config_options_free(options);
        return SQLITE_ERROR;
      }
    } else {
      option->value = value;
      if (stored_in_file && (def->flags & (IX_SETTING_SECRET | IX_SETTING_URL))) {
        /* The value itself is deliberately not echoed: it may be the secret. */
        *error_out = sqlite3_mprintf(
            "%s: option '%s' would be written in plain text into the database file: use "
            "%s_env='VARIABLE' to name an environment variable that holds it, or create the "
            "table as temp.%s, which is never stored",
            table, def->key, def->key, table);
        config_options_free(options);
        return SQLITE_ERROR;
      }
    }
  }
  *out = options;
  return SQLITE_OK;
}

static const config_option *config_find_option(const config_options *options,
                                               const ix_setting_def *def) {
  for (int i = 0; options && i < options->count; i++) {
    if (options->items[i].def == def) return &options->items[i];
  }
  return NULL;
}

static char *config_env_name(const char *vendor, const char *key) {
  char *name = sqlite3_mprintf("%s_%s", vendor, key);
  for (char *p = name; p && *p; p++) *p = (char)toupper((unsigned char)*p);
  return name;
}

void config_free(ix_config *config) {
  if (!config) return;
  for (int i = 0; i < config->count; i++) {
    if (config->items[i].value && (config->items[i].def->flags & IX_SETTING_SECRET)) {
      volatile char *p = config->items[i].value;
      while (*p) *p++ = 0;
    }
    sqlite3_free(config->items[i].value);
    sqlite3_free(config->items[i].source);
    sqlite3_free(config->items[i].origin);
    sqlite3_free(config->items[i].problem);
  }
  sqlite3_free(config);
}

/* A number's value, else `unusable` (a lenient resolution keeps values a query would refuse). */
static sqlite3_int64 config_number(const config_setting *setting, sqlite3_int64 unusable) {
  long long minimum, maximum, number;
  numbers_range(setting->def->key, (setting->def->flags & IX_SETTING_SWITCH) != 0, &minimum,
                &maximum);
  return numbers_parse_whole(setting->value, minimum, maximum, &number) == 0 ? number : unusable;
}

/* A number within its range. Out of range is refused, never clamped (not the value written). */
static int config_check_number(const char *table, const config_setting *setting, char **error_out) {
  const ix_setting_def *def = setting->def;
  if (!setting->value || !(def->flags & IX_SETTING_INT)) return SQLITE_OK;
  long long minimum, maximum, number;
  numbers_range(def->key, (def->flags & IX_SETTING_SWITCH) != 0, &minimum, &maximum);
  if (numbers_parse_whole(setting->value, minimum, maximum, &number) == 0) return SQLITE_OK;
  *error_out = sqlite3_mprintf(
      "%s: %s must be a whole number from %lld to %lld, got '%s' (from %s)%s", table, def->key,
      (long long)minimum, (long long)maximum, setting->value, setting->origin,
      minimum > 0 && strcmp(setting->value, "0") == 0 ? ": 0 does not mean no limit" : "");
  return SQLITE_ERROR;
}

/* Keeps value in setting, checked: no control character, a number within its range. */
static int config_check_value(const char *table, const ix_setting_def *def, const char *value,
                              config_setting *setting, char **error_out) {
  if (value && *value && !(setting->value = sqlite3_mprintf("%s", value))) return SQLITE_NOMEM;
  for (const char *p = setting->value; p && *p; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      /* The value is not shown: it may be a secret. Control characters have no place in any
       * setting, and a line break in a header value would inject another header. */
      *error_out = sqlite3_mprintf("%s: %s (from %s) contains a control character or line break",
                                   table, def->key, setting->origin);
      return SQLITE_ERROR;
    }
  }
  if (!setting->source || !setting->origin) return SQLITE_NOMEM;
  return config_check_number(table, setting, error_out);
}

/* Fills one setting from the first place that has it. */
static int config_resolve_one(const char *table, const char *vendor, const ix_setting_def *def,
                              const char *default_value, const config_options *options,
                              int base_url_overridden, config_setting *setting, char **error_out) {
  setting->def = def;
  char *vendor_env = config_env_name(vendor, def->key);
  if (!vendor_env) return SQLITE_NOMEM;
  /* INTERACTIONS_<KEY>, read after <VENDOR>_<KEY> (IX_SETTING_GLOBAL_ENV). */
  char *global_env =
      (def->flags & IX_SETTING_GLOBAL_ENV) ? config_env_name("interactions", def->key) : NULL;
  const config_option *option = config_find_option(options, def);
  const char *value = NULL;
  if (option && option->value) {
    value = option->value;
    setting->source = sqlite3_mprintf("option");
    setting->origin = sqlite3_mprintf("option '%s'", def->key);
  } else if (option && option->env_var) {
    value = getenv(option->env_var);
    if (!value) {
      *error_out = sqlite3_mprintf("%s: option %s_env names %s, which is not set", table, def->key,
                                   option->env_var);
      sqlite3_free(vendor_env);
      sqlite3_free(global_env);
      return SQLITE_ERROR;
    }
    setting->source = sqlite3_mprintf("option env %s", option->env_var);
    setting->origin = sqlite3_mprintf("%s", option->env_var);
  } else if ((value = getenv(vendor_env)) != NULL && *value &&
             !(base_url_overridden && (def->flags & (IX_SETTING_CREDENTIAL | IX_SETTING_SECRET)))) {
    setting->source = sqlite3_mprintf("env %s", vendor_env);
    setting->origin = sqlite3_mprintf("%s", vendor_env);
  } else if (global_env && (value = getenv(global_env)) != NULL && *value) {
    setting->source = sqlite3_mprintf("env %s", global_env);
    setting->origin = sqlite3_mprintf("%s", global_env);
  } else {
    value = default_value;
    setting->source = sqlite3_mprintf("default");
    setting->origin =
        base_url_overridden && (def->flags & (IX_SETTING_CREDENTIAL | IX_SETTING_SECRET))
            ? sqlite3_mprintf("option '%s' (or %s_env)", def->key, def->key)
            : sqlite3_mprintf("%s", vendor_env);
  }
  sqlite3_free(vendor_env);
  sqlite3_free(global_env);
  return config_check_value(table, def, value, setting, error_out);
}

/* A vendor that declares its own base_url setting says in its help where the URL comes from. */
static int config_check_base_url(const char *table, const ix_setting_def *def,
                                 const config_setting *setting, char **error_out) {
  char host[256];
  int is_https = 0;
  const char *problem = NULL;
  if (!setting->value) {
    int own = def != config_find_def(NULL, "base_url", 8);
    *error_out =
        sqlite3_mprintf("%s: no base URL: set %s (%s)", table, setting->origin,
                        own && def->help ? def->help : "each account has its own API host");
    return SQLITE_ERROR;
  }
  if (url_check_base(setting->value, host, sizeof(host), &is_https, &problem) != 0) {
    *error_out = sqlite3_mprintf("%s: the base URL from %s %s", table, setting->origin, problem);
    return SQLITE_ERROR;
  }
  if (!is_https && !url_host_is_loopback(host) && !config_env_flag("INTERACTIONS_ALLOW_HTTP")) {
    *error_out = sqlite3_mprintf(
        "%s: the base URL from %s uses plain http to %s, which would send credentials "
        "unencrypted: use https (plain http is accepted for loopback hosts, or everywhere with "
        "INTERACTIONS_ALLOW_HTTP=1)",
        table, setting->origin, host);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static const config_setting *config_find(const ix_config *config, const char *key) {
  for (int i = 0; config && i < config->count; i++) {
    if (strcmp(config->items[i].def->key, key) == 0) return &config->items[i];
  }
  return NULL;
}

/* A key the table does not define: see config.h. */
static void config_unknown_key(const char *key) {
#ifdef IX_DEBUG
  notes_say(NOTES_ERROR, NULL, "internal error: no setting '%s' is defined for this table", key);
  abort();
#else
  (void)key;
#endif
}

/* Reads each common setting into its field once, the way config_get_int reads a number. */
static void config_fill_engine(ix_config *config) {
  for (size_t i = 0; i < sizeof(config_engine_fields) / sizeof(config_engine_fields[0]); i++) {
    const config_engine_field *field = &config_engine_fields[i];
    const config_setting *setting = config_find(config, field->key);
    if (!setting) config_unknown_key(field->key);
    const char *value = setting ? setting->value : NULL;
    char *slot = (char *)&config->engine + field->offset;
    if (field->is_int) {
      sqlite3_int64 n = value ? config_number(setting, field->unset_number) : field->unset_number;
      memcpy(slot, &n, sizeof(n));
    } else {
      memcpy(slot, &value, sizeof(value));
    }
  }
}

/* Strict resolution stops at the first unusable setting; lenient resolution records why each one is
 * unusable and goes on, so interactions_settings can show everything at once. */
static int config_resolve_mode(const char *table, const char *vendor,
                               const ix_setting_def *vendor_settings, const char *default_base_url,
                               const config_options *options, int lenient, ix_config **out,
                               char **error_out) {
  *out = NULL;
  ix_config *config = sqlite3_malloc64(sizeof(*config));
  if (!config) return SQLITE_NOMEM;
  memset(config, 0, sizeof(*config));
  const ix_setting_def *base_def = config_find_def(vendor_settings, "base_url", 8);
  /* A region option points the table elsewhere as a base_url option does (config_apply_region). */
  const ix_setting_def *region_def = config_find_def(vendor_settings, "region", 6);
  int base_url_overridden = config_find_option(options, base_def) != NULL ||
                            (region_def && config_find_option(options, region_def) != NULL);
  const ix_setting_def *lists[2] = {vendor_settings, common_settings};
  int rc = SQLITE_OK;
  for (int l = 0; l < 2 && rc == SQLITE_OK; l++) {
    for (const ix_setting_def *def = lists[l]; def && def->key && rc == SQLITE_OK; def++) {
      if (config_find_def(vendor_settings, def->key, strlen(def->key)) != def) continue;
      if (config->count == IX_MAX_SETTINGS) break;
      const char *default_value =
          def == base_def && !def->default_value ? default_base_url : def->default_value;
      config_setting *setting = &config->items[config->count++];
      rc = config_resolve_one(table, vendor, def, default_value, options, base_url_overridden,
                              setting, error_out);
      if (rc == SQLITE_OK && def == base_def)
        rc = config_check_base_url(table, def, setting, error_out);
      if (rc == SQLITE_ERROR && lenient) {
        setting->problem = *error_out;
        *error_out = NULL;
        rc = SQLITE_OK;
      }
      if (rc == SQLITE_OK && def == base_def && setting->value) {
        /* One trailing slash is a common way to write a base URL; the paths we add start with one.
         */
        size_t length = strlen(setting->value);
        while (length > 0 && setting->value[length - 1] == '/') setting->value[--length] = '\0';
      }
    }
  }
  if (rc != SQLITE_OK) {
    config_free(config);
    return rc;
  }
  config_fill_engine(config);
  *out = config;
  return SQLITE_OK;
}

/* How strongly a value was chosen: a table's option, then an environment variable, then a default. */
static int config_rank(const config_setting *setting) {
  return strncmp(setting->source, "option", 6) == 0 ? 2 : strncmp(setting->source, "env", 3) == 0;
}

/* The URL a region names (a name of regions, or a URL of its own), or NULL. */
static const char *config_region_url(const char *region, const char *const *regions) {
  for (int i = 0; regions && regions[i] && regions[i + 1]; i += 2) {
    if (sqlite3_stricmp(regions[i], region) == 0) return regions[i + 1];
  }
  return strstr(region, "://") ? region : NULL;
}

static int config_use_region(const char *table, config_setting *region, config_setting *base,
                             const char *const *regions, char **error_out) {
  if (config_rank(region) == config_rank(base)) {
    *error_out = sqlite3_mprintf(
        "%s: region (from %s) and base_url (from %s) both say where the API is: set only one",
        table, region->origin, base->origin);
    return SQLITE_ERROR;
  }
  if (config_rank(region) < config_rank(base)) return SQLITE_OK; /* the stronger base_url */
  const char *url = config_region_url(region->value, regions);
  if (!url) {
    *error_out = sqlite3_mprintf("%s: region must be %s, got '%s' (from %s)", table,
                                 region->def->help, region->value, region->origin);
    return SQLITE_ERROR;
  }
  char *value = sqlite3_mprintf("%s", url);
  char *source = sqlite3_mprintf("%s", region->source);
  char *origin = sqlite3_mprintf("%s", region->origin);
  if (!value || !source || !origin) {
    sqlite3_free(value), sqlite3_free(source), sqlite3_free(origin);
    return SQLITE_NOMEM;
  }
  sqlite3_free(base->value), sqlite3_free(base->source), sqlite3_free(base->origin);
  sqlite3_free(base->problem); /* the value it was about is gone */
  base->value = value, base->source = source, base->origin = origin, base->problem = NULL;
  size_t length = strlen(base->value);
  while (length > 0 && base->value[length - 1] == '/') base->value[--length] = '\0';
  return config_check_base_url(table, base->def, base, error_out);
}

const char *config_api_group(const ix_config *config) {
  const config_setting *group = config_find(config, "api_group");
  return !group ? NULL : group->value ? group->value : "";
}

int config_apply_region(ix_config *config, const char *table, const char *const *regions,
                        int lenient, char **error_out) {
  config_setting *region = (config_setting *)config_find(config, "region");
  config_setting *base = (config_setting *)config_find(config, "base_url");
  if (!region || !region->value || region->problem || !base) return SQLITE_OK;
  char *error = NULL;
  int rc = config_use_region(table, region, base, regions, &error);
  if (rc == SQLITE_OK) {
    config_fill_engine(config); /* engine.base_url pointed at the value replaced */
  } else if (rc == SQLITE_ERROR && lenient) {
    region->problem = error;
    rc = SQLITE_OK;
  } else {
    *error_out = error;
  }
  return rc;
}

int config_resolve(const char *table, const char *vendor, const ix_setting_def *vendor_settings,
                   const char *default_base_url, const config_options *options, ix_config **out,
                   char **error_out) {
  return config_resolve_mode(table, vendor, vendor_settings, default_base_url, options, 0, out,
                             error_out);
}

int config_resolve_lenient(const char *table, const char *vendor,
                           const ix_setting_def *vendor_settings, const char *default_base_url,
                           ix_config **out) {
  char *error = NULL;
  int rc =
      config_resolve_mode(table, vendor, vendor_settings, default_base_url, NULL, 1, out, &error);
  sqlite3_free(error);
  return rc;
}

/* Every lookup by key: a config exists but lacks the key only when the caller misspelt it (no
 * config at all is a caller without settings, such as a fuzz target). */
static const config_setting *config_find_known(const ix_config *config, const char *key) {
  const config_setting *setting = config_find(config, key);
  if (!setting && config) config_unknown_key(key);
  return setting;
}

const config_engine_settings *config_engine(const ix_config *config) {
  return &config->engine;
}

const char *config_engine_unmapped(void) {
  size_t count = sizeof(config_engine_fields) / sizeof(config_engine_fields[0]);
  for (const ix_setting_def *def = common_settings; def->key; def++) {
    size_t i = 0;
    while (i < count && strcmp(config_engine_fields[i].key, def->key) != 0) i++;
    if (i == count) return def->key;
  }
  for (size_t i = 0; i < count; i++) {
    const ix_setting_def *def = common_settings;
    while (def->key && strcmp(def->key, config_engine_fields[i].key) != 0) def++;
    if (!def->key) return config_engine_fields[i].key;
  }
  return NULL;
}

int config_base_url_defaulted(const ix_config *config) {
  const config_setting *base = config_find(config, "base_url");
  const config_setting *region = config_find(config, "region");
  return base && base->value && !base->problem && strcmp(base->source, "default") == 0 &&
         !(region && region->value && strcmp(region->source, "default") != 0);
}

int config_defines(const ix_config *config, const char *key) {
  return config_find(config, key) != NULL;
}

const char *config_get(const ix_config *config, const char *key) {
  const config_setting *setting = config_find_known(config, key);
  return setting ? setting->value : NULL;
}

sqlite3_int64 config_get_int(const ix_config *config, const char *key) {
  const config_setting *setting = config_find_known(config, key);
  return setting && setting->value ? config_number(setting, 0) : 0;
}

const char *config_origin(const ix_config *config, const char *key) {
  const config_setting *setting = config_find_known(config, key);
  return setting ? setting->origin : key;
}

int config_is_default(const ix_config *config, const char *key) {
  const config_setting *setting = config_find_known(config, key);
  return setting && setting->source && strcmp(setting->source, "default") == 0;
}

int config_count(const ix_config *config) {
  return config ? config->count : 0;
}

void config_at(const ix_config *config, int index, config_setting_view *view) {
  const config_setting *setting = &config->items[index];
  view->key = setting->def->key;
  view->value = setting->value;
  view->source = setting->source;
  view->problem = setting->problem;
  view->flags = setting->def->flags;
}
