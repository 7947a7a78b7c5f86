/*
 * Unit tests for ext/settings/config.c's typed engine settings (config_engine): every common setting has its
 * field, the defaults, a vendor's own default, the environment over the default, an option over
 * the environment, empty values, refused values (strict) and recorded ones (lenient), and a key
 * the table does not define, which a debug build refuses loudly instead of reading it as unset;
 * and a vendor's region giving the base URL (config_apply_region) and its API group.
 */
#include "settings/config.h"
#include "settings/numbers.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static const ix_setting_def vendor_settings[] = {
    {"api_key", IX_SETTING_SECRET, NULL, "the key"},
    {"rate_limit", 0, "5/1s", "the vendor's documented limit"},
    {NULL, 0, NULL, NULL},
};

/* Strict resolution of table "t" (vendor "testvendor") with these CREATE VIRTUAL TABLE arguments;
 * *error_out gets the error text when it fails. */
static ix_config *resolve(int argc, const char *const *argv, char **error_out) {
  config_options *options = NULL;
  ix_config *config = NULL;
  *error_out = NULL;
  int rc = config_options_parse("t", vendor_settings, argc, argv, 0, &options, error_out);
  if (rc == SQLITE_OK) {
    rc = config_resolve("t", "testvendor", vendor_settings, "https://api.example.com/", options,
                        &config, error_out);
  }
  config_options_free(options);
  return rc == SQLITE_OK ? config : NULL;
}

static void test_fields(void) {
  const char *unmapped = config_engine_unmapped();
  ok(unmapped == NULL, "every common setting has its config_engine_settings field (unmapped: %s)",
     unmapped ? unmapped : "none");
}

static void test_defaults(void) {
  char *error = NULL;
  ix_config *config = resolve(0, NULL, &error);
  ok(config != NULL, "resolves with defaults only (%s)", error ? error : "no error");
  if (!config) return;
  const config_engine_settings *engine = config_engine(config);
  is_str(engine->base_url, "https://api.example.com", "base_url: the default, trailing / trimmed");
  is_str(engine->rate_limit, "5/1s", "rate_limit: the vendor's own default over the common one");
  is_int((int)engine->timeout_ms, 30000, "timeout_ms default");
  is_int((int)engine->connect_timeout_ms, 10000, "connect_timeout_ms default");
  is_int((int)engine->stall_timeout_ms, 20000, "stall_timeout_ms default");
  is_int((int)engine->max_retries, 4, "max_retries default");
  is_int((int)engine->retry_base_ms, 500, "retry_base_ms default");
  is_int((int)engine->retry_budget_ms, 120000, "retry_budget_ms default");
  is_int((int)engine->cache_ttl, 300, "cache_ttl default");
  is_int((int)engine->max_concurrency, 16, "max_concurrency default");
  is_str(engine->timezone, "UTC", "timezone default");
  is_int((int)engine->page_size, -1, "page_size unset reads -1 (the API's maximum)");
  is_int((int)engine->max_pages, 1000, "max_pages default");
  is_int((int)engine->max_response_bytes, 16777216, "max_response_bytes default");
  is_int((int)engine->any_404_is_no_rows, 0, "any_404_is_no_rows default");
  ok(engine->timeout_ms == config_get_int(config, "timeout_ms"),
     "the field and the string lookup agree");
  ok(config_get(config, "api_key") == NULL && config_defines(config, "api_key"),
     "a vendor's own unset setting is defined and reads NULL");
  ok(!config_defines(config, "timeout_msec"), "a misspelt key is not defined");
  config_free(config);
}

static void test_environment_and_options(void) {
  setenv("TESTVENDOR_TIMEOUT_MS", "1234", 1);
  setenv("TESTVENDOR_PAGE_SIZE", "0", 1);
  setenv("TESTVENDOR_MAX_PAGES", "7", 1);
  setenv("TESTVENDOR_TIMEZONE", "Asia/Kolkata", 1);
  setenv("TEST_CONFIG_PAGES", "3", 1);
  char *error = NULL;
  ix_config *config = resolve(0, NULL, &error);
  ok(config != NULL, "resolves with environment overrides (%s)", error ? error : "no error");
  if (config) {
    const config_engine_settings *engine = config_engine(config);
    is_int((int)engine->timeout_ms, 1234, "TESTVENDOR_TIMEOUT_MS over the default");
    is_int((int)engine->page_size, 0, "page_size=0 from the environment is set, not unset");
    is_int((int)engine->max_pages, 7, "TESTVENDOR_MAX_PAGES over the default");
    is_str(engine->timezone, "Asia/Kolkata", "TESTVENDOR_TIMEZONE over the default");
    config_free(config);
  }
  const char *argv[] = {"timeout_ms=77", "max_pages_env=TEST_CONFIG_PAGES", "cache_ttl=''",
                        "page_size=''", "base_url='http://127.0.0.1:9///'"};
  config = resolve(5, argv, &error);
  ok(config != NULL, "resolves with options (%s)", error ? error : "no error");
  if (config) {
    const config_engine_settings *engine = config_engine(config);
    is_int((int)engine->timeout_ms, 77, "an option over the environment");
    is_int((int)engine->max_pages, 3, "an option's _env variable over the vendor's variable");
    is_int((int)engine->cache_ttl, 0, "an empty option reads 0, as config_get_int read it");
    is_int((int)engine->page_size, -1, "an empty page_size is unset");
    is_str(engine->base_url, "http://127.0.0.1:9", "base_url option, every trailing / trimmed");
    is_str(engine->timezone, "Asia/Kolkata", "untouched settings keep the environment's value");
    config_free(config);
  }
  unsetenv("TESTVENDOR_TIMEOUT_MS");
  unsetenv("TESTVENDOR_PAGE_SIZE");
  unsetenv("TESTVENDOR_MAX_PAGES");
  unsetenv("TESTVENDOR_TIMEZONE");
  unsetenv("TEST_CONFIG_PAGES");
}

/* The shared limiter's settings also come from INTERACTIONS_<KEY>, after <VENDOR>_<KEY> (issue
 * 22: one Redis for every table). */
static void test_global_environment(void) {
  char *error = NULL;
  setenv("INTERACTIONS_LIMITER_URL", "redis://everyone:6379", 1);
  setenv("INTERACTIONS_QUOTA_SHARE", "0.5", 1);
  ix_config *config = resolve(0, NULL, &error);
  ok(config != NULL, "resolves with INTERACTIONS_LIMITER_URL set");
  if (config) {
    is_str(config_engine(config)->limiter_url, "redis://everyone:6379",
           "limiter_url from INTERACTIONS_LIMITER_URL");
    is_str(config_origin(config, "limiter_url"), "INTERACTIONS_LIMITER_URL", "and says so");
    is_str(config_engine(config)->quota_share, "0.5", "quota_share from INTERACTIONS_QUOTA_SHARE");
    is_str(config_engine(config)->limiter_fallback, "fail", "limiter_fallback defaults to fail");
    config_free(config);
  }
  setenv("TESTVENDOR_LIMITER_URL", "unix:///run/redis.sock", 1);
  config = resolve(0, NULL, &error);
  if (config) {
    is_str(config_engine(config)->limiter_url, "unix:///run/redis.sock",
           "the vendor's variable wins over INTERACTIONS_LIMITER_URL");
    config_free(config);
  } else {
    ok(0, "resolves with both set: %s", error ? error : "");
  }
  sqlite3_free(error);
  unsetenv("TESTVENDOR_LIMITER_URL");
  unsetenv("INTERACTIONS_LIMITER_URL");
  unsetenv("INTERACTIONS_QUOTA_SHARE");
}

static void test_bad_values(void) {
  setenv("TESTVENDOR_MAX_RETRIES", "-1", 1);
  char *error = NULL;
  ix_config *config = resolve(0, NULL, &error);
  ok(config == NULL, "a negative max_retries is refused");
  is_str(error,
         "t: max_retries must be a whole number from 0 to 100, got '-1' (from "
         "TESTVENDOR_MAX_RETRIES)",
         "the refusal names the setting, the value and the variable");
  sqlite3_free(error);
  config_free(config);
  const char *argv[] = {"retry_base_ms=soon"};
  unsetenv("TESTVENDOR_MAX_RETRIES");
  config = resolve(1, argv, &error);
  ok(config == NULL, "a word for a number is refused");
  is_str(error,
         "t: retry_base_ms must be a whole number from 0 to 3600000, got 'soon' (from option "
         "'retry_base_ms')",
         "the refusal names the option");
  sqlite3_free(error);
  config_free(config);

  /* Lenient resolution (interactions_settings) records the problem and goes on. */
  setenv("TESTVENDOR_MAX_RETRIES", "-1", 1);
  config = NULL;
  int rc = config_resolve_lenient("t", "testvendor", vendor_settings, "https://api.example.com",
                                  &config);
  ok(rc == SQLITE_OK && config, "lenient resolution goes past the bad value");
  const char *problem = NULL;
  for (int i = 0; config && i < config_count(config); i++) {
    config_setting_view view;
    config_at(config, i, &view);
    if (strcmp(view.key, "max_retries") == 0) problem = view.problem;
  }
  ok(problem && strstr(problem, "max_retries must be a whole number"), "the problem is recorded");
  if (config) {
    is_int((int)config_engine(config)->max_retries, 0,
           "the field reads an unusable value as unset, as config_get_int does");
    is_int((int)config_get_int(config, "max_retries"), 0, "config_get_int agrees");
    is_int((int)config_engine(config)->timeout_ms, 30000, "the other fields are resolved");
  }
  config_free(config);
  unsetenv("TESTVENDOR_MAX_RETRIES");
}

/* Runs fn in a child; returns the signal that ended it, or 0 when it exited. */
static int child_signal(void (*fn)(const ix_config *), const ix_config *config) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child's report is expected: keep it out of the TAP output. */
    if (!freopen("/dev/null", "w", stderr)) _exit(2);
    fn(config);
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void get_misspelt(const ix_config *config) {
  (void)config_get(config, "api_kye");
}

static void get_int_misspelt(const ix_config *config) {
  (void)config_get_int(config, "window_dayz");
}

static void origin_misspelt(const ix_config *config) {
  (void)config_origin(config, "tenant");
}

static void get_known(const ix_config *config) {
  (void)config_get(config, "api_key");
  (void)config_origin(config, "rate_limit");
}

static void test_unknown_keys(void) {
  char *error = NULL;
  ix_config *config = resolve(0, NULL, &error);
  if (!config) {
    diag("cannot resolve: %s", error ? error : "no error");
    skip(4, "no config");
    return;
  }
  is_int(child_signal(get_misspelt, config), SIGABRT, "config_get of an undefined key aborts");
  is_int(child_signal(get_int_misspelt, config), SIGABRT,
         "config_get_int of an undefined key aborts");
  is_int(child_signal(origin_misspelt, config), SIGABRT,
         "config_origin of an undefined key aborts");
  is_int(child_signal(get_known, config), 0, "defined keys do not");
  config_free(config);
}

/* One option refused with the text expected. */
static void refused(const char *option, const char *expected, const char *what) {
  char *error = NULL;
  const char *argv[] = {option};
  ix_config *config = resolve(1, argv, &error);
  ok(config == NULL, "%s is refused", option);
  is_str(error, expected, what);
  sqlite3_free(error);
  config_free(config);
}

/* Every number through one parser with its range: no NaN, no overflow, no silent clamp, and no 0
 * that would quietly mean "no limit". */
static void test_ranges(void) {
  refused("timeout_ms=NaN",
          "t: timeout_ms must be a whole number from 1 to 86400000, got 'NaN' (from option "
          "'timeout_ms')",
          "not a number, with the range");
  refused("timeout_ms=99999999999999999999",
          "t: timeout_ms must be a whole number from 1 to 86400000, got '99999999999999999999' "
          "(from option 'timeout_ms')",
          "above 2^63 is refused, not clamped by strtoll");
  refused("max_response_bytes=9223372036854775808",
          "t: max_response_bytes must be a whole number from 1 to 2147483647, got "
          "'9223372036854775808' (from option 'max_response_bytes')",
          "2^63 exactly is refused");
  refused("retry_budget_ms=18446744073709551616",
          "t: retry_budget_ms must be a whole number from 0 to 86400000, got "
          "'18446744073709551616' (from option 'retry_budget_ms')",
          "2^64 is refused");
  refused("timeout_ms=0",
          "t: timeout_ms must be a whole number from 1 to 86400000, got '0' (from option "
          "'timeout_ms'): 0 does not mean no limit",
          "timeout_ms=0 is not a silent 'no limit'");
  refused("max_pages=0",
          "t: max_pages must be a whole number from 1 to 1000000, got '0' (from option "
          "'max_pages'): 0 does not mean no limit",
          "max_pages=0 is not a silent 'no limit'");
  refused("max_concurrency=100",
          "t: max_concurrency must be a whole number from 1 to 64, got '100' (from option "
          "'max_concurrency')",
          "out of range is an error, not a clamp");
  refused("any_404_is_no_rows=2",
          "t: any_404_is_no_rows must be a whole number from 0 to 1, got '2' (from option "
          "'any_404_is_no_rows')",
          "a switch is 0 or 1");
  refused("max_retries= 3x",
          "t: max_retries must be a whole number from 0 to 100, got '3x' (from option "
          "'max_retries')",
          "trailing letters are refused");
  long long number = 0;
  ok(numbers_parse_whole("64", 1, 64, &number) == 0 && number == 64, "the top of a range reads");
  ok(numbers_parse_whole("+5", 0, 10, &number) != 0 &&
         numbers_parse_whole(" 5", 0, 10, &number) != 0 &&
         numbers_parse_whole("", 0, 10, &number) != 0 &&
         numbers_parse_whole("inf", 0, 10, &number) != 0,
     "signs, spaces, empty text and inf are refused");
}

/* The process-wide numbers are checked at load (numbers_check_process): a bad value names the
 * variable and its range; fractions of a MiB stay allowed; empty counts as unset. */
static void process_number(const char *variable, const char *value, const char *expected,
                           const char *name) {
  char problem[200] = "";
  setenv(variable, value, 1);
  int rc = numbers_check_process(problem, sizeof(problem));
  unsetenv(variable);
  if (!expected) {
    ok(rc == 0, "%s", name);
  } else {
    ok(rc != 0 && strcmp(problem, expected) == 0, "%s", name);
    if (rc == 0 || strcmp(problem, expected) != 0) diag("got: %s", problem);
  }
}

static void test_process_numbers(void) {
  process_number("INTERACTIONS_CACHE_MB", "0.011", NULL, "a fraction of a MiB is a cache size");
  process_number("INTERACTIONS_CACHE_MB", "0", NULL, "0 MiB turns the memory level off");
  process_number("INTERACTIONS_CACHE_MB", "", NULL, "an empty variable counts as unset");
  process_number("INTERACTIONS_CACHE_MB", "nan",
                 "INTERACTIONS_CACHE_MB must be a number of MiB (a fraction is fine) from 0 to "
                 "1048576, got 'nan'",
                 "INTERACTIONS_CACHE_MB=nan is refused with the range");
  process_number("INTERACTIONS_CACHE_DISK_MB", "1e3",
                 "INTERACTIONS_CACHE_DISK_MB must be a number of MiB (a fraction is fine) from 0 "
                 "to 1073741824, got '1e3'",
                 "an exponent is refused");
  process_number("INTERACTIONS_CACHE_MB", "2000000",
                 "INTERACTIONS_CACHE_MB must be a number of MiB (a fraction is fine) from 0 to "
                 "1048576, got '2000000'",
                 "a size over the top of the range is refused");
  process_number("INTERACTIONS_REQUEST_LOG_SIZE", "0",
                 "INTERACTIONS_REQUEST_LOG_SIZE must be a whole number from 1 to 1000000, got '0'",
                 "a request log of 0 entries is refused");
  process_number("INTERACTIONS_REQUEST_LOG_SIZE", "5000", NULL, "5000 entries is a request log");
}

/* A vendor with named regions: config_apply_region gives the base URL from the region. */
static const ix_setting_def region_settings[] = {
    {"region", IX_SETTING_URL, NULL, "na, eu or a URL"},
    {"api_group", 0, "all", "the API group"},
    {NULL, 0, NULL, NULL},
};
static const char *const regions[] = {"na", "https://na.example", "eu", "https://eu.example/",
                                      NULL};

/* The base URL (or the error) that region options give, strict. */
static char *region_base_url(int argc, const char *const *argv) {
  config_options *options = NULL;
  ix_config *config = NULL;
  char *error = NULL;
  int rc = config_options_parse("r", region_settings, argc, argv, 0, &options, &error);
  if (rc == SQLITE_OK) {
    rc = config_resolve("r", "regionvendor", region_settings, "https://default.example", options,
                        &config, &error);
  }
  if (rc == SQLITE_OK) rc = config_apply_region(config, "r", regions, 0, &error);
  char *result = rc == SQLITE_OK ? sqlite3_mprintf("%s", config_engine(config)->base_url)
                                 : sqlite3_mprintf("error: %s", error ? error : "");
  sqlite3_free(error);
  config_free(config);
  config_options_free(options);
  return result;
}

static void test_regions(void) {
  const char *none[] = {"api_group='reports'"};
  const char *eu[] = {"region='EU'"};
  const char *url[] = {"region='https://ap.example//'"};
  const char *bad[] = {"region='ap'"};
  const char *both[] = {"region='na'", "base_url='https://other.example'"};
  char *got = region_base_url(1, none);
  is_str(got, "https://default.example", "no region: the default base URL");
  sqlite3_free(got);
  got = region_base_url(1, eu);
  is_str(got, "https://eu.example", "a region name (any case) gives its URL, trailing / trimmed");
  sqlite3_free(got);
  got = region_base_url(1, url);
  is_str(got, "https://ap.example", "a region given as a URL is the base URL");
  sqlite3_free(got);
  got = region_base_url(1, bad);
  is_str(got, "error: r: region must be na, eu or a URL, got 'ap' (from option 'region')",
         "an unknown region name is refused with the setting's help");
  sqlite3_free(got);
  got = region_base_url(2, both);
  is_str(got,
         "error: r: region (from option 'region') and base_url (from option 'base_url') both say "
         "where the API is: set only one",
         "region and base_url of the same rank are refused");
  sqlite3_free(got);
  setenv("REGIONVENDOR_BASE_URL", "https://env.example", 1);
  got = region_base_url(1, eu);
  is_str(got, "https://eu.example", "a region option beats the base_url variable");
  sqlite3_free(got);
  unsetenv("REGIONVENDOR_BASE_URL");
  ix_config *config = NULL;
  char *error = NULL;
  if (config_resolve("r", "regionvendor", region_settings, "https://default.example", NULL, &config,
                     &error) == SQLITE_OK) {
    is_str(config_api_group(config), "all", "api_group: the group of a vendor that defines it");
    config_free(config);
  } else {
    ok(0, "resolves (%s)", error ? error : "no error");
  }
  sqlite3_free(error);
}

int main(void) {
  /* No provider list is registered here, so envcheck would warn about every INTERACTIONS_
   * variable the harness sets. */
  setenv("INTERACTIONS_QUIET", "1", 1);
#ifndef IX_DEBUG
  diag("built without IX_DEBUG: undefined keys read as unset, as in release builds");
#endif
  test_fields();
  test_defaults();
  test_environment_and_options();
  test_global_environment();
  test_bad_values();
  test_ranges();
  test_process_numbers();
  test_regions();
#ifdef IX_DEBUG
  test_unknown_keys();
#else
  skip(4, "undefined keys abort only with IX_DEBUG");
#endif
  return done_testing();
}
