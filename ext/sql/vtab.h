/*
 * The generic virtual-table engine's entry points: what one connection's tables share, and
 * registering a provider's descriptor (provider.h) as a virtual table (vtab.c). Engine only:
 * providers include provider.h.
 */
#ifndef IX_VTAB_H
#define IX_VTAB_H

#include "provider/provider.h"
#include "util/http.h"

/* What one database connection shares between its tables: the HTTP client (connection reuse). */
typedef struct vtab_session {
  http_client *http;
  int refs; /* one per registered module, plus the creator's */
} vtab_session;

vtab_session *vtab_session_new(void);
void vtab_session_release(vtab_session *session);

/* Registers one provider as an eponymous virtual table module on db. */
int vtab_register_provider(sqlite3 *db, const ix_provider *provider, vtab_session *session);

#endif
