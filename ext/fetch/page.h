/*
 * One page of one customer: built, sent (or read from the cache), accepted.
 */
#ifndef IX_FETCH_PAGE_H
#define IX_FETCH_PAGE_H

#include "fetch/fetch.h"
#include "fetch/request.h"

/* The plan of a request for args (the cursor's, or one IN-list customer's) and page_token. */
request_plan page_plan(fetch_cursor *fetch, const ix_args *args, const char *page_token,
                       ix_request *request);

/* Fetches the next page of the current customer (the first when page.next_token is NULL): waits
 * for the limiter, retries what is worth retrying, and leaves the rows in fetch->page. */
int page_fetch(fetch_cursor *fetch, char **error_out);

#endif
