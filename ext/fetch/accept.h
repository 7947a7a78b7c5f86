/*
 * A final answer made the current page: a 404 that is the vendor's "no such customer" or a "not
 * found" body is no rows, another status an error, a 2xx is parsed and its body kept with the page;
 * paging that goes round is an error; an accepted fresh answer is cached.
 */
#ifndef IX_FETCH_ACCEPT_H
#define IX_FETCH_ACCEPT_H

#include "fetch/fetch.h"

/* Turns a final response into the current page (fresh: it came from the wire, cache it). */
int accept_response(fetch_cursor *fetch, http_response *response, const ix_request *request,
                    int fresh, char **error_out);

#endif
