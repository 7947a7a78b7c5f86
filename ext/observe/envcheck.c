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
#include <string.h>

#include "settings/config.h"
#include "util/notes.h"

SQLITE_EXTENSION_INIT3

extern char **environ;

#define ENVCHECK_MAX_NAME 96
#define ENVCHECK_GLOBAL_VENDOR "interactions"

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

/* Visits every known name of one vendor (its settings and the common ones); stops when visit does.
 */
static int envcheck_each_known(const ix_provider *provider,
                               int (*visit)(void *context, const char *known), void *context) {
  const ix_setting_def *lists[2] = {provider->settings, ix_common_settings};
  char name[ENVCHECK_MAX_NAME];
  for (int l = 0; l < 2; l++) {
    for (const ix_setting_def *def = lists[l]; def && def->key; def++) {
      envcheck_variable(provider->vendor, def->key, name, sizeof(name));
      if (visit(context, name)) return 1;
    }
  }
  return 0;
}

typedef struct envcheck_search {
  const char *name;
  int found;
  int best_distance;
  char best[ENVCHECK_MAX_NAME];
} envcheck_search;

static int envcheck_visit(void *context, const char *known) {
  envcheck_search *search = context;
  int distance = envcheck_distance(search->name, known);
  if (distance == 0) {
    search->found = 1;
    return 1;
  }
  if (distance < search->best_distance) {
    search->best_distance = distance;
    snprintf(search->best, sizeof(search->best), "%s", known);
  }
  return 0;
}

int envcheck_each_unknown(int (*each)(void *context, const char *vendor, const char *name,
                                      const char *closest),
                          void *context) {
  for (char **entry = environ; entry && *entry; entry++) {
    const char *equals = strchr(*entry, '=');
    const char *underscore = strchr(*entry, '_');
    if (!equals || !underscore || underscore > equals || equals - *entry >= ENVCHECK_MAX_NAME) {
      continue;
    }
    char name[ENVCHECK_MAX_NAME];
    memcpy(name, *entry, (size_t)(equals - *entry));
    name[equals - *entry] = '\0';
    size_t head_length = (size_t)(underscore - *entry);
    envcheck_search search = {name, 0, ENVCHECK_MAX_NAME, ""};
    const char *vendor = NULL;
    /* Only variables meant for this extension: a vendor's prefix or a near miss of one. */
    for (int p = 0; p < envcheck_provider_count; p++) {
      const ix_provider *provider = envcheck_providers[p];
      char prefix[ENVCHECK_MAX_NAME];
      envcheck_variable(provider->vendor, "", prefix, sizeof(prefix));
      prefix[strlen(prefix) - 1] = '\0'; /* without the '_' */
      if (!envcheck_near_prefix(name, head_length, prefix)) continue;
      int before = search.best_distance;
      if (envcheck_each_known(provider, envcheck_visit, &search)) break;
      if (!vendor || search.best_distance < before) vendor = provider->vendor;
    }
    if (!search.found && envcheck_near_prefix(name, head_length, "INTERACTIONS")) {
      int before = search.best_distance;
      for (int g = 0; g < envcheck_global_count && !search.found; g++) {
        envcheck_visit(&search, envcheck_globals[g]);
      }
      if (!vendor || search.best_distance < before) vendor = ENVCHECK_GLOBAL_VENDOR;
    }
    if (!vendor || search.found) continue;
    int rc = each(context, vendor, name, search.best[0] ? search.best : NULL);
    if (rc) return rc;
  }
  return 0;
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
