/*
 * What the extension can tell about itself: interactions_settings (the effective configuration of
 * every vendor and where each value came from) and interactions_debug() (versions and build, for
 * bug reports).
 */
#ifndef IX_INTROSPECT_H
#define IX_INTROSPECT_H

#include "provider/provider.h"

/* Registers interactions_settings and interactions_debug() for these providers. */
int introspect_register(sqlite3 *db, const ix_provider *const *providers, int provider_count);

#endif
