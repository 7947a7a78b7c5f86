/*
 * When a 404 means "no such customer" (no rows): a vendor's declarative rule (ix_not_found_rule in
 * provider.h) read against the 404's JSON body, and the rule that a 404 after a customer's first
 * page is never that. Engine side: fetch/accept.c calls notfound_is_unknown_customer and
 * words every other 404 as an error about the path.
 */
#ifndef IX_NOTFOUND_H
#define IX_NOTFOUND_H

#include "provider/provider.h"

/* Whether a 404 with body root (parsed JSON, or NULL) is the vendor's documented "no such
 * customer" for the page call->page_index (1 = the first): 1 yes (no rows), 0 no. With 0,
 * *error_out may hold the error to give (a later page's 404, a wrong setting the rule names); else
 * the caller words the 404 as an error about the path. */
int notfound_is_unknown_customer(const ix_call *call, const cJSON *root, char **error_out);

/* Whether the rule's match (a path and values) holds in body: exposed for the unit tests. */
int notfound_rule_matches(const ix_not_found_rule *rule, const cJSON *body);

#endif
