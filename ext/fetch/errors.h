/*
 * Error texts of the fetch path: each names the table, says what happened and the fix, and never
 * holds a secret or a header value we sent. Vendor text is found, scrubbed, then cut.
 */
#ifndef IX_FETCH_ERRORS_H
#define IX_FETCH_ERRORS_H

#include "fetch/account.h"

/* A short, printable, scrubbed excerpt of the vendor's own explanation in an error body, or NULL. */
char *errors_vendor_message(const char *body, size_t body_len, const char *content_type,
                            const ix_config *config, const http_headers *headers);
/* " (the API said: ...)" for an error response, or "" (sqlite3_malloc'd). */
char *errors_vendor_said(const fetch_account *account, const http_response *response,
                         const http_headers *headers);
/* A provider's error text ("table: ... vendor text ..."), scrubbed; takes text. */
char *errors_scrub(const ix_config *config, const http_headers *headers, char *text);
/* Names of the settings that hold this table's credentials, for "check ..." hints. */
char *errors_credential_hint(const ix_provider *provider, const ix_config *config);
/* The error of a final HTTP status (401, 403, 3xx, 429, others). call is the provider's context
 * for its status_hint. */
char *errors_status(const fetch_account *account, const ix_call *call,
                    const http_response *response, const http_headers *headers);
/* The error of a request that did not get a usable answer (unreachable, cut, too large...). */
char *errors_transport(const fetch_account *account, http_outcome outcome,
                       const http_response *response, int attempts);

#endif
