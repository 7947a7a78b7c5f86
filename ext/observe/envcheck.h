/*
 * Typos in environment variables. A misspelt CAPILLARY_BASE_URL or CAPILLARY_PASSWORD is otherwise
 * silent: the table falls back to the vendor's production host, or to no credentials. Any variable
 * whose prefix is a vendor's (or one letter off, as in CAPILARY_) and that no setting reads is
 * reported, with the closest name a setting does read: once per process on stderr (the first time a
 * table resolves its settings), and as a row of interactions_settings. Never a value: it may be a
 * secret.
 */
#ifndef IX_ENVCHECK_H
#define IX_ENVCHECK_H

#include "provider/provider.h"

/* The names the check knows: every setting of these providers (<VENDOR>_<KEY>) and these
 * process-wide variables (INTERACTIONS_...). Called at load; the lists must be static. */
void envcheck_init(const ix_provider *const *providers, int provider_count,
                   const char *const *globals, int global_count);

/* Calls each(context, vendor, name, closest) for every unknown variable, in environment order;
 * vendor is the provider's vendor or "interactions". Stops at and returns each's non-zero result.
 */
int envcheck_each_unknown(int (*each)(void *context, const char *vendor, const char *name,
                                      const char *closest),
                          void *context);

/* Why a table must not use its vendor's production host (production_url, the default it would
 * use because no base URL was given), or NULL (sqlite3_mprintf'd, without the table's name). The
 * rule: the default host is refused while a variable that looks like this vendor's base URL is
 * set (CAP_BASE_URL, capillary_base_url: it was meant, and the credentials set are probably a
 * test account's), or while another vendor's base URL points at a loopback host (the sandbox:
 * these settings are a test setup). Setting <VENDOR>_BASE_URL to the production host says it is
 * meant. */
char *envcheck_production_guard(const char *vendor, const char *production_url);

/* The stderr warning, once per process (INTERACTIONS_QUIET=1 hides it). */
void envcheck_warn_once(void);

/* Edit distance (Levenshtein) of two short strings; long ones count as far apart. */
int envcheck_distance(const char *a, const char *b);

#endif
