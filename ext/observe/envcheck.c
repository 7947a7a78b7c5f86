/*
 * Typos in environment variables: see envcheck.h.
 *
 * How it works
 *   The known names are derived from the descriptors (every vendor's settings, common and its own,
 *   as <VENDOR>_<KEY>) plus the process-wide INTERACTIONS_* list introspect.c shows, so a new
 *   setting or vendor needs no line here. A variable is checked when the part before its first '_'
 *   is a vendor's name or INTERACTIONS, or one edit away from one (two for names of nine letters
 *   or more): CAPILARY_BASE_URL is as much a typo as CAPILLARY_BASE_URLS.
 */
#include "observe/envcheck.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/config.h"
#include "util/notes.h"
#include "util/url.h"

SQLITE_EXTENSION_INIT3

extern char **environ;

#define ENVCHECK_MAX_NAME 96
#define ENVCHECK_GLOBAL_VENDOR "interactions"
#define ENVCHECK_GLOBAL_VENDOR_PREFIX "INTERACTIONS"

static const ix_provider *const *envcheck_providers;
static int envcheck_provider_count;
static const char *const *envcheck_globals;
static int envcheck_global_count;

void envcheck_init(const ix_provider *const *providers, int provider_count,
                   const char *const *globals, int global_count) {
  envcheck_providers = providers;
  envcheck_provider_count = provider_count;
  envcheck_globals = globals;
  envcheck_global_count = global_count;
}

int envcheck_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la >= ENVCHECK_MAX_NAME || lb >= ENVCHECK_MAX_NAME) return ENVCHECK_MAX_NAME;
  int row[ENVCHECK_MAX_NAME + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diagonal = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int above = row[j];
      int cost = toupper((unsigned char)a[i - 1]) == toupper((unsigned char)b[j - 1]) ? 0 : 1;
      int best = diagonal + cost;
      if (above + 1 < best) best = above + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
    }
  }
  return row[lb];
}

/* <VENDOR>_<KEY> upper-cased into out. */
static void envcheck_variable(const char *vendor, const char *key, char *out, size_t size) {
  snprintf(out, size, "%s_%s", vendor, key);
  for (char *p = out; *p; p++) *p = (char)toupper((unsigned char)*p);
}

/* text's letters and digits upper-cased, every separator dropped: "which_50-api_key" and
 * "WHICH50_APIKEY" both squash to "WHICH50APIKEY". */
static void envcheck_squash(const char *text, char *out, size_t size) {
  size_t n = 0;
  for (const char *p = text; *p && n + 1 < size; p++) {
    if (isalnum((unsigned char)*p)) out[n++] = (char)toupper((unsigned char)*p);
  }
  out[n] = '\0';
}

/* Whether a head (the name up to its first '_') is close enough to this prefix to be meant as it.
 */
static int envcheck_near_prefix(const char *head, size_t head_length, const char *prefix) {
  char copy[ENVCHECK_MAX_NAME];
  if (head_length >= sizeof(copy)) return 0;
  memcpy(copy, head, head_length);
  copy[head_length] = '\0';
  int allowed = strlen(prefix) >= 9 ? 2 : 1;
  return envcheck_distance(copy, prefix) <= allowed;
}

/* How a variable's name is meant for a vendor, if it is: the part after the vendor, squashed. */
typedef enum envcheck_how {
  ENVCHECK_NOT_MEANT,
  ENVCHECK_PREFIX,      /* CAPILLARY_..., capillary_..., CAPILARY_... (a near miss) */
  ENVCHECK_SEPARATED,   /* WHICH_50_..., ALPHA_RUN_..., CX_ENGAGE_... (separators in the name) */
  ENVCHECK_ABBREVIATED, /* CAP_..., ALPHA_...: meant only when the rest names a setting */
} envcheck_how;

static envcheck_how envcheck_meant(const char *name, const char *vendor, char *rest,
                                   size_t rest_size) {
  char squashed[ENVCHECK_MAX_NAME], vendor_squashed[ENVCHECK_MAX_NAME], head[ENVCHECK_MAX_NAME];
  const char *underscore = strchr(name, '_');
  size_t head_length = underscore ? (size_t)(underscore - name) : strlen(name);
  envcheck_squash(name, squashed, sizeof(squashed));
  envcheck_squash(vendor, vendor_squashed, sizeof(vendor_squashed));
  size_t vendor_length = strlen(vendor_squashed);
  if (underscore && envcheck_near_prefix(name, head_length, vendor_squashed)) {
    envcheck_squash(underscore + 1, rest, rest_size);
    return ENVCHECK_PREFIX;
  }
  if (strncmp(squashed, vendor_squashed, vendor_length) == 0) {
    snprintf(rest, rest_size, "%s", squashed + vendor_length);
    return ENVCHECK_SEPARATED;
  }
  snprintf(head, sizeof(head), "%.*s", (int)head_length, name);
  envcheck_squash(head, head, sizeof(head));
  if (underscore && strlen(head) >= 3 && strncmp(vendor_squashed, head, strlen(head)) == 0) {
    envcheck_squash(underscore + 1, rest, rest_size);
    return ENVCHECK_ABBREVIATED;
  }
  return ENVCHECK_NOT_MEANT;
}

/* Whether name is exactly a variable some setting reads (environment names are case-sensitive:
 * capillary_base_url is not CAPILLARY_BASE_URL, and getenv would not find it). */
static int envcheck_is_known(const char *name) {
  char known[ENVCHECK_MAX_NAME];
  for (int p = 0; p < envcheck_provider_count; p++) {
    const ix_provider *provider = envcheck_providers[p];
    const ix_setting_def *lists[2] = {provider->settings, common_settings};
    for (int l = 0; l < 2; l++) {
      for (const ix_setting_def *def = lists[l]; def && def->key; def++) {
        envcheck_variable(provider->vendor, def->key, known, sizeof(known));
        if (strcmp(known, name) == 0) return 1;
      }
    }
  }
  for (int g = 0; g < envcheck_global_count; g++) {
    if (strcmp(envcheck_globals[g], name) == 0) return 1;
  }
  return 0;
}

typedef struct envcheck_guess {
  const char *vendor; /* NULL: not meant for this extension */
  int distance;       /* of the closest setting, squashed */
  char closest[ENVCHECK_MAX_NAME];
} envcheck_guess;

/* The setting of this vendor whose squashed key is closest to rest. */
static void envcheck_closest_key(const ix_provider *provider, const char *rest, int *distance,
                                 char *closest, size_t size) {
  const ix_setting_def *lists[2] = {provider->settings, common_settings};
  char key[ENVCHECK_MAX_NAME];
  *distance = ENVCHECK_MAX_NAME;
  for (int l = 0; l < 2; l++) {
    for (const ix_setting_def *def = lists[l]; def && def->key; def++) {
      envcheck_squash(def->key, key, sizeof(key));
      int d = envcheck_distance(rest, key);
      if (d < *distance) {
        *distance = d;
        envcheck_variable(provider->vendor, def->key, closest, size);
      }
    }
  }
}

/* Which vendor (or INTERACTIONS) an unknown name is meant for, and the closest real name. */
static void envcheck_guess_name(const char *name, envcheck_guess *guess) {
  memset(guess, 0, sizeof(*guess));
  guess->distance = ENVCHECK_MAX_NAME;
  for (int p = 0; p < envcheck_provider_count; p++) {
    const ix_provider *provider = envcheck_providers[p];
    char rest[ENVCHECK_MAX_NAME], closest[ENVCHECK_MAX_NAME];
    envcheck_how how = envcheck_meant(name, provider->vendor, rest, sizeof(rest));
    if (how == ENVCHECK_NOT_MEANT) continue;
    int distance;
    envcheck_closest_key(provider, rest, &distance, closest, sizeof(closest));
    /* An abbreviation alone (CAP_, OPT_) is too common to claim a name: its rest must be a key. */
    if (how == ENVCHECK_ABBREVIATED && distance > 1) continue;
    if (!guess->vendor || distance < guess->distance) {
      guess->vendor = provider->vendor;
      guess->distance = distance;
      snprintf(guess->closest, sizeof(guess->closest), "%s", closest);
    }
  }
  const char *underscore = strchr(name, '_');
  if (underscore &&
      envcheck_near_prefix(name, (size_t)(underscore - name), ENVCHECK_GLOBAL_VENDOR_PREFIX)) {
    for (int g = 0; g < envcheck_global_count; g++) {
      int distance = envcheck_distance(name, envcheck_globals[g]);
      if (!guess->vendor || distance < guess->distance) {
        guess->vendor = ENVCHECK_GLOBAL_VENDOR;
        guess->distance = distance;
        snprintf(guess->closest, sizeof(guess->closest), "%s", envcheck_globals[g]);
      }
    }
    if (!guess->vendor) guess->vendor = ENVCHECK_GLOBAL_VENDOR;
  }
}

/* The name of an environ entry ("NAME=value") copied into name; returns its value, or NULL for an
 * entry without a name or with one too long to be a setting's variable. */
static const char *envcheck_entry_name(const char *entry, char name[ENVCHECK_MAX_NAME]) {
  const char *equals = strchr(entry, '=');
  if (!equals || equals == entry || equals - entry >= ENVCHECK_MAX_NAME) return NULL;
  memcpy(name, entry, (size_t)(equals - entry));
  name[equals - entry] = '\0';
  return equals + 1;
}

int envcheck_each_unknown(int (*each)(void *context, const char *vendor, const char *name,
                                      const char *closest),
                          void *context) {
  for (char **entry = environ; entry && *entry; entry++) {
    char name[ENVCHECK_MAX_NAME];
    const char *value = envcheck_entry_name(*entry, name);
    if (!value) continue;
    if (!strchr(name, '_') || envcheck_is_known(name)) continue;
    envcheck_guess guess;
    envcheck_guess_name(name, &guess);
    if (!guess.vendor) continue;
    int rc = each(context, guess.vendor, name, guess.closest[0] ? guess.closest : NULL);
    if (rc) return rc;
  }
  return 0;
}

/* The first other vendor whose base URL variable points at a loopback host, into variable. */
static int envcheck_other_test_server(const char *vendor, char *variable, size_t size, char *host,
                                      size_t host_size) {
  for (int p = 0; p < envcheck_provider_count; p++) {
    const ix_provider *provider = envcheck_providers[p];
    if (strcmp(provider->vendor, vendor) == 0) continue;
    envcheck_variable(provider->vendor, "base_url", variable, size);
    const char *value = getenv(variable);
    int is_https = 0;
    const char *problem = NULL;
    if (value && *value && url_check_base(value, host, host_size, &is_https, &problem) == 0 &&
        url_host_is_loopback(host)) {
      return 1;
    }
  }
  return 0;
}

char *envcheck_production_guard(const char *vendor, const char *production_url) {
  char base_variable[ENVCHECK_MAX_NAME];
  envcheck_variable(vendor, "base_url", base_variable, sizeof(base_variable));
  for (char **entry = environ; entry && *entry; entry++) {
    char name[ENVCHECK_MAX_NAME];
    const char *value = envcheck_entry_name(*entry, name);
    if (!value) continue;
    if (!*value || !strchr(name, '_') || envcheck_is_known(name)) continue;
    envcheck_guess guess;
    envcheck_guess_name(name, &guess);
    if (guess.vendor && strcmp(guess.closest, base_variable) == 0) {
      return sqlite3_mprintf(
          "not using the production host %s while %s is set, which no setting reads (did you "
          "mean %s?): rename it, or set %s to the production host to mean it",
          production_url, name, base_variable, base_variable);
    }
  }
  char other[ENVCHECK_MAX_NAME], host[256];
  if (envcheck_other_test_server(vendor, other, sizeof(other), host, sizeof(host))) {
    return sqlite3_mprintf(
        "not using the production host %s while %s points at a test server (%s) and %s is not "
        "set: set %s (for the sandbox, source examples/sandbox.env), or set it to the production "
        "host to mean it",
        production_url, other, host, base_variable, base_variable);
  }
  return NULL;
}

static int envcheck_print(void *context, const char *vendor, const char *name,
                          const char *closest) {
  (void)context, (void)vendor;
  if (closest) {
    notes_say(NOTES_NOTE, NULL,
              "no setting reads %s: did you mean %s? (INTERACTIONS_QUIET=1 hides this)", name,
              closest);
  } else {
    notes_say(NOTES_NOTE, NULL, "no setting reads %s (INTERACTIONS_QUIET=1 hides this)", name);
  }
  return 0;
}

static void envcheck_warn(void) {
  if (!notes_shown(NOTES_NOTE)) return;
  envcheck_each_unknown(envcheck_print, NULL);
}

void envcheck_warn_once(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, envcheck_warn);
}
