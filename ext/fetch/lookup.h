/*
 * Lookups: a request a provider needs besides its pages (Optimove's channel names from
 * GetExecutionChannels, with channels='auto'). Asked once per account (account->account: vendor,
 * host, credentials and API group) and kept for the life of the process, so a join over many
 * customers costs one lookup, not one per customer or statement. It is sent by transport with a
 * sending of its own, through the account's rate limiter, retries and request log like any
 * request to the vendor, and touches nothing of a page's accounting.
 */
#ifndef IX_FETCH_LOOKUP_H
#define IX_FETCH_LOOKUP_H

#include "fetch/account.h"
#include "fetch/transport.h"

/* Sets *result_out to the account's lookup answer, as the provider's parse wrote it, asking the
 * vendor when the process has none yet. The text lives as long as the process. Two connections
 * that ask at the same moment may both send the request; the first answer is kept. */
int lookup_acquire(fetch_account *account, const transport_hooks *hooks, const char **result_out,
                   char **error_out);

#endif
