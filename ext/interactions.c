/*
 * sqlite-interactions: customer interaction history from marketing and contact-centre APIs, as
 * SQLite virtual tables.
 *
 *     .load ./build/interactions
 *     SELECT * FROM capillary_interactions('mobile', '919988221100');
 *
 * This file is the entry point: it registers every vendor table (one line each in
 * interactions_providers) and the helper functions, all sharing one per-connection session.
 */
#include <pthread.h>
#include <sqlite3ext.h>

#include "cache/cache.h"
#include "provider/descriptor.h"
#include "settings/numbers.h"
#include "sql/sqlversion.h"
#include "sql/tables/cachetable.h"
#include "sql/tables/introspect.h"
#include "sql/tables/requeststable.h"
#include "sql/tables/schema.h"
#include "sql/vtab.h"
#include "util/notes.h"
#include "util/version.h"

SQLITE_EXTENSION_INIT1

/* Every vendor table, from the one list of them (a new vendor is one line there). */
#define IX_PROVIDER(table) extern const ix_provider table##_provider;
#include "providers/list.h"
#undef IX_PROVIDER

static const ix_provider *const interactions_providers[] = {
#define IX_PROVIDER(table) &table##_provider,
#include "providers/list.h"
#undef IX_PROVIDER
};
#define IX_PROVIDER_COUNT (sizeof(interactions_providers) / sizeof(interactions_providers[0]))

static void interactions_version_function(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc, (void)argv;
  sqlite3_result_text(ctx, INTERACTIONS_VERSION, -1, SQLITE_STATIC);
}

static void interactions_cache_clear_function(sqlite3_context *ctx, int argc,
                                              sqlite3_value **argv) {
  (void)argc, (void)argv;
  sqlite3_result_int(ctx, cache_clear());
}

typedef struct interactions_function_def {
  const char *name;
  int argument_count;
  void (*function)(sqlite3_context *, int, sqlite3_value **);
  int flags;
} interactions_function_def;

static const interactions_function_def interactions_functions[] = {
    {"interactions_version", 0, interactions_version_function,
     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS},
    /* Direct only: a view or trigger in a file someone else wrote has no business with it. */
    {"interactions_cache_clear", 0, interactions_cache_clear_function,
     SQLITE_UTF8 | SQLITE_DIRECTONLY},
};

/* What an older SQLite lacks, once per process on stderr (INTERACTIONS_QUIET=1 hides it). */
static void interactions_version_warn(void) {
  const char *note = sqlversion_note(sqlite3_libversion_number());
  if (note) {
    notes_say(NOTES_NOTE, NULL, "SQLite %s %s (INTERACTIONS_QUIET=1 hides this)",
              sqlite3_libversion(), note);
  }
}

static void interactions_version_warn_once(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, interactions_version_warn);
}

/* The only exported symbol: everything else is built with hidden visibility, so our names cannot
 * clash with the host's or another extension's. */
#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
    int sqlite3_interactions_init(sqlite3 *db, char **error_out, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  const char *refusal = sqlversion_refusal(sqlite3_libversion_number());
  if (refusal) {
    *error_out =
        sqlite3_mprintf("interactions: %s (this is SQLite %s)", refusal, sqlite3_libversion());
    return SQLITE_ERROR;
  }
  interactions_version_warn_once();
  char number_problem[200];
  if (numbers_check_process(number_problem, sizeof(number_problem)) != 0) {
    *error_out = sqlite3_mprintf("interactions: %s", number_problem);
    return SQLITE_ERROR;
  }
  const char *init_error = http_global_init();
  if (init_error) {
    *error_out = sqlite3_mprintf("interactions: %s", init_error);
    return SQLITE_ERROR;
  }
  /* Every descriptor is checked before anything is registered: a bad one fails the load naming its
   * table and field (the message is complete), and leaves nothing of ours on the connection. */
  for (size_t i = 0; i < IX_PROVIDER_COUNT; i++) {
    int rc = descriptor_check(interactions_providers[i], error_out);
    if (rc != SQLITE_OK) return rc;
  }
  vtab_session *session = vtab_session_new();
  if (!session) return SQLITE_NOMEM;
  int rc = SQLITE_OK;
  for (size_t i = 0; rc == SQLITE_OK && i < IX_PROVIDER_COUNT; i++) {
    rc = vtab_register_provider(db, interactions_providers[i], session);
    if (rc != SQLITE_OK) {
      *error_out = sqlite3_mprintf("error creating module %s: %s", interactions_providers[i]->table,
                                   sqlite3_errmsg(db));
    }
  }
  for (size_t i = 0;
       rc == SQLITE_OK && i < sizeof(interactions_functions) / sizeof(interactions_functions[0]);
       i++) {
    const interactions_function_def *def = &interactions_functions[i];
    rc = sqlite3_create_function_v2(db, def->name, def->argument_count, def->flags, NULL,
                                    def->function, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      *error_out = sqlite3_mprintf("error creating function %s: %s", def->name, sqlite3_errmsg(db));
    }
  }
  if (rc == SQLITE_OK) {
    /* The helper tables, all registered here: interactions_requests, _cache, _settings (with
     * interactions_debug), _columns and _tables. */
    rc = requeststable_register(db);
    if (rc == SQLITE_OK) rc = cachetable_register(db);
    if (rc == SQLITE_OK)
      rc = introspect_register(db, interactions_providers, (int)IX_PROVIDER_COUNT);
    if (rc == SQLITE_OK) rc = schema_register(db, interactions_providers, (int)IX_PROVIDER_COUNT);
    if (rc != SQLITE_OK) {
      *error_out = sqlite3_mprintf("error creating the helper tables: %s", sqlite3_errmsg(db));
    }
  }
  /* The modules hold their own references; this one was the creator's. */
  vtab_session_release(session);
  return rc;
}
