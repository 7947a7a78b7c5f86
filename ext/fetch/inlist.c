/*
 * IN lists: many customers, fetched concurrently.
 *
 * WHERE mobile IN (...) arrives whole in one xFilter (sqlite3_vtab_in). The first page of up to
 * max_concurrency customers is requested at once on the connection's multi handle, each start
 * admitted by the rate limiter, and customers are served in the order their answers arrive.
 * Further pages of a customer are fetched lazily, one at a time, as its rows are read. A first
 * page whose concurrent attempt failed in a way worth retrying is fetched again on the ordinary
 * path, with the full retry policy, so concurrency changes nothing about what a query returns.
 * Each first attempt on the wire holds a slot in the limiter, given back in one place
 * (inlist_slot_settle) when it is answered or cancelled; every wait of the cursor keeps those
 * transfers moving (inlist_pump, handed to transport.c as a hook), so no slot outlives its
 * request.
 *
 * What it costs, for lists of 50,000 and more:
 * - Per customer only its key is kept (fetch->customers, in the list's order). The customers not
 *   started yet are exactly those from fetch->customers_started on, so starting the next one is
 *   O(1); a key moves to the cursor when its customer is taken (and is NULL from then on).
 * - A request and its response live in a slot (fetch->slots) only while the first page is on the
 *   wire (RUNNING) or has arrived and waits to be read (READY). At most max_concurrency are
 *   running and at most max_concurrency ready, so 2 x max_concurrency slots (at most 128) are
 *   enough, allocated once per list. Every step scans the slots, never the list: the work per
 *   customer does not grow with the list's length.
 * - Of the ready ones the earliest in the list is served first, as before the slots.
 * - When the limiter says not yet, the cursor waits exactly as long as it says (keeping the
 *   transfers on the wire moving) and then starts as many as it may at once: taking the next
 *   customer alone on the ordinary path instead would leave the other max_concurrency - 1 places
 *   idle for one answer time at every window's opening (measured: one answer time per window,
 *   x1.05 at 50/1s with 50 ms answers, on top of the safe limiter's own).
 * - A customer whose first page could not be started for another reason (the shared limiter
 *   failed, the request cannot be built) is taken on the ordinary path (page_fetch), with no slot,
 *   which reports the error with its context.
 * - A first page taken on the ordinary path after its concurrent attempt failed counts that
 *   attempt: the request log numbers the next one 2, and max_retries bounds both together.
 */
#include "fetch/inlist.h"
#include "fetch/limiting.h"

#include "fetch/accept.h"
#include "fetch/page.h"
#include "observe/requestlog.h"
#include "provider/columns.h"

#include <string.h>

SQLITE_EXTENSION_INIT3

/* How long after it was cancelled a request may still arrive at the vendor: network and server
 * queues, generously. */
#define IX_CANCEL_GRACE_MS 1000
#define IX_MAX_CONCURRENCY 64

typedef enum inlist_slot_state {
  IX_SLOT_FREE,
  IX_SLOT_RUNNING, /* its customer's first page is on the wire */
  IX_SLOT_READY,   /* its customer's first page has arrived */
  IX_SLOT_TAKEN,   /* its customer is being made current; released right after */
} inlist_slot_state;

struct inlist_slot {
  inlist_slot_state state;
  int customer; /* index in fetch->customers */
  ix_request request;
  http_job *job;
  http_response response;
  int from_cache;
  sqlite3_int64 log_id; /* its request-log entry, when answered from the cache */
  rate_ticket ticket;   /* its slot in the limiter while job runs */
};

static int inlist_concurrency(const fetch_cursor *fetch) {
  long long concurrency = config_engine(fetch->account.config)->max_concurrency;
  return concurrency < 1                    ? 1
         : concurrency > IX_MAX_CONCURRENCY ? IX_MAX_CONCURRENCY
                                            : (int)concurrency;
}

/* The one place a concurrent first attempt ends, answered or cancelled: the job's response is
 * kept (or dropped) and its slot in the limiter given back. A 429 pauses the account right away,
 * so the retry on the ordinary path and every other cursor hold off. */
static void inlist_slot_settle(fetch_cursor *fetch, inlist_slot *slot, int keep) {
  int answered = http_job_done(slot->job);
  http_job_finish(slot->job, keep ? &slot->response : NULL);
  slot->job = NULL;
  /* A request cancelled on the wire (LIMIT stopped the statement) may still reach the vendor
   * after we let go of it, and be counted then: it holds its slot a little longer. */
  rate_limiter_done(fetch->account.limiter, &slot->ticket,
                    answered && keep
                        ? limiting_answered_ms(&slot->response, transport_completed_ms())
                        : transport_completed_ms() + (answered ? 0 : IX_CANCEL_GRACE_MS));
  if (keep && slot->response.outcome == HTTP_OK && slot->response.status == 429) {
    transport_throttle_delay(&fetch->account, &slot->response, 0);
  }
}

static void inlist_slot_release(fetch_cursor *fetch, inlist_slot *slot) {
  if (slot->job) inlist_slot_settle(fetch, slot, 0); /* the statement stopped early */
  /* A start the shared limiter reserved for this slot, never used: it holds no window (pending,
   * it would hold the account's next window until its time limit). */
  rate_limiter_done(fetch->account.limiter, &slot->ticket, transport_completed_ms());
  http_response_clear(&slot->response);
  account_request_clear(&slot->request);
  memset(slot, 0, sizeof(*slot));
  slot->state = IX_SLOT_FREE;
}

int inlist_collect(fetch_cursor *fetch) {
  int running = 0;
  for (int i = 0; i < fetch->slot_count; i++) {
    inlist_slot *slot = &fetch->slots[i];
    if (slot->state != IX_SLOT_RUNNING) continue;
    if (http_job_done(slot->job)) {
      inlist_slot_settle(fetch, slot, 1);
      slot->state = IX_SLOT_READY;
    } else {
      running++;
    }
  }
  return running;
}

int inlist_pump(void *fetch) {
  return inlist_collect(fetch);
}

void inlist_clear(fetch_cursor *fetch) {
  for (int i = 0; i < fetch->slot_count; i++) inlist_slot_release(fetch, &fetch->slots[i]);
  sqlite3_free(fetch->slots);
  fetch->slots = NULL;
  fetch->slot_count = 0;
  /* A key not taken yet is still the list's, started or not. */
  for (int i = 0; i < fetch->customer_count; i++) sqlite3_value_free(fetch->customers[i]);
  sqlite3_free(fetch->customers);
  fetch->customers = NULL;
  fetch->customer_count = fetch->customer_capacity = 0;
  fetch->customers_started = fetch->customers_taken = 0;
  fetch->in_column = -1;
}

int inlist_add(fetch_cursor *fetch, int column, sqlite3_value *key) {
  if (fetch->customer_count == fetch->customer_capacity) {
    /* Doubling: adding N keys copies O(N) pointers in all. */
    int capacity = fetch->customer_capacity ? fetch->customer_capacity * 2 : 16;
    sqlite3_value **grown =
        sqlite3_realloc64(fetch->customers, (sqlite3_uint64)capacity * sizeof(*grown));
    if (!grown) return SQLITE_NOMEM;
    fetch->customers = grown;
    fetch->customer_capacity = capacity;
  }
  sqlite3_value *copy = sqlite3_value_dup(key);
  if (!copy) return SQLITE_NOMEM;
  fetch->customers[fetch->customer_count++] = copy;
  fetch->in_column = column;
  return SQLITE_OK;
}

int inlist_has_more_customers(const fetch_cursor *fetch) {
  return fetch->customers_taken < fetch->customer_count;
}

/* The slots, allocated once per list: enough for max_concurrency running and as many ready. */
static int inlist_slots_ready(fetch_cursor *fetch) {
  if (fetch->slots) return SQLITE_OK;
  int count = 2 * IX_MAX_CONCURRENCY;
  if (count > fetch->customer_count) count = fetch->customer_count;
  if (count < 1) count = 1;
  fetch->slots = sqlite3_malloc64((sqlite3_uint64)count * sizeof(inlist_slot));
  if (!fetch->slots) return SQLITE_NOMEM;
  memset(fetch->slots, 0, (size_t)count * sizeof(inlist_slot));
  fetch->slot_count = count;
  return SQLITE_OK;
}

/* The args of one customer of the list: the plan's args with the key replaced. */
static ix_args inlist_customer_args(const fetch_cursor *fetch, int customer) {
  ix_args args = fetch->args;
  args.eq[fetch->in_column] = fetch->customers[customer];
  return args;
}

/* Starts the first page of plan's customer in slot: from the cache (READY), or on the wire once
 * the limiter admitted it and its request was authenticated (RUNNING). Anything else leaves the
 * slot free: SQLITE_BUSY with *limiter_wait the milliseconds the limiter asked for, or an error,
 * the customer then taken on the ordinary path, which reports it with its context. */
static int inlist_start(fetch_cursor *fetch, inlist_slot *slot, request_plan *plan,
                        long long *limiter_wait) {
  char *error = NULL;
  int rc = request_build(plan, &error);
  if (rc == SQLITE_OK) {
    http_request http = transport_http_options(&fetch->account, &slot->request);
    if (transport_from_cache(&fetch->account, &fetch->sending, http.url, &slot->response)) {
      slot->from_cache = 1;
      slot->log_id = fetch->sending.last_request_id;
      slot->state = IX_SLOT_READY;
      return SQLITE_OK;
    }
    rc = request_prepare(plan, 1, 0, &error);
  }
  long long now = clock_ms();
  long long wait = 0;
  if (rc == SQLITE_OK) {
    limiting_account limiting = account_limiting(&fetch->account);
    wait = limiting_admit(&limiting, &slot->ticket, now, transport_deadline(&fetch->account, now),
                          &error);
  }
  if (rc == SQLITE_OK && wait != 0) {
    /* Not yet (a wait), or the shared limiter failed: the ordinary path says so. */
    rc = wait > 0 ? SQLITE_BUSY : SQLITE_ERROR;
    if (wait > 0) *limiter_wait = wait;
  } else if (rc == SQLITE_OK) {
    rc = request_prepare(plan, 1, 1, &error); /* authenticated once admitted */
    http_request http = transport_http_options(&fetch->account, &slot->request);
    if (rc == SQLITE_OK && (slot->job = http_job_start(fetch->account.http, &http)) == NULL) {
      rc = SQLITE_NOMEM;
    }
    if (rc != SQLITE_OK) {
      rate_limiter_done(fetch->account.limiter, &slot->ticket, transport_completed_ms());
    }
  }
  request_plan_clear(plan);
  sqlite3_free(error);
  if (rc != SQLITE_OK) {
    account_request_clear(&slot->request);
    return rc;
  }
  slot->state = IX_SLOT_RUNNING;
  return SQLITE_OK;
}

/* Records the first pages that arrived and starts more, up to max_concurrency in flight. Returns
 * how long the limiter asked to wait before the next start, 0 when it did not stop them. */
static long long inlist_top_up(fetch_cursor *fetch) {
  long long limiter_wait = 0;
  if (inlist_slots_ready(fetch) != SQLITE_OK) return 0; /* taken on the ordinary path instead */
  int running = inlist_collect(fetch), ready = 0;
  inlist_slot *free_slots[2 * IX_MAX_CONCURRENCY];
  int free_count = 0;
  for (int i = 0; i < fetch->slot_count; i++) {
    ready += fetch->slots[i].state == IX_SLOT_READY;
    if (fetch->slots[i].state == IX_SLOT_FREE) free_slots[free_count++] = &fetch->slots[i];
  }
  int concurrency = inlist_concurrency(fetch);
  /* Answers not yet read are bounded too: memory stays flat however long the list. */
  while (fetch->customers_started < fetch->customer_count && running < concurrency &&
         ready < concurrency && free_count > 0) {
    for (int i = 0; i < free_count - 1; i++) {
      /* A slot holding a start the shared limiter reserved (limit/redis.h) goes first: left
       * unused, the reservation would spend a place in the account's window for nothing. */
      if (free_slots[i]->ticket.reserved) {
        inlist_slot *reserved = free_slots[i];
        free_slots[i] = free_slots[free_count - 1];
        free_slots[free_count - 1] = reserved;
        break;
      }
    }
    inlist_slot *slot = free_slots[free_count - 1];
    int customer = fetch->customers_started;
    ix_args args = inlist_customer_args(fetch, customer);
    request_plan plan = page_plan(fetch, &args, NULL, &slot->request);
    if (inlist_start(fetch, slot, &plan, &limiter_wait) != SQLITE_OK) break; /* see inlist_start */
    if (slot->state == IX_SLOT_READY) {
      ready++;
    } else {
      running++;
    }
    slot->customer = customer;
    free_count--;
    fetch->customers_started++;
  }
  return limiter_wait;
}

/* The next customer to read: one whose answer arrived (its slot in *slot_out), waiting for one if
 * needed, else the next not yet started (no slot). -1 when interrupted. */
static int inlist_pick_customer(fetch_cursor *fetch, inlist_slot **slot_out) {
  *slot_out = NULL;
  for (;;) {
    long long limiter_wait = inlist_top_up(fetch);
    int running = 0;
    inlist_slot *first = NULL;
    for (int i = 0; i < fetch->slot_count; i++) {
      inlist_slot *slot = &fetch->slots[i];
      if (slot->state == IX_SLOT_READY && (!first || slot->customer < first->customer)) {
        first = slot;
      }
      running += slot->state == IX_SLOT_RUNNING;
    }
    if (first) {
      *slot_out = first;
      return first->customer;
    }
    if (!running && limiter_wait > 0) {
      /* Nothing on the wire: wait exactly for the limiter, then start a whole batch. */
      char *error = NULL;
      int rc = transport_wait_rate_limit(&fetch->account, &fetch->sending.hooks, clock_ms(),
                                         limiter_wait, &error);
      sqlite3_free(error); /* the caller says "interrupted" */
      if (rc != SQLITE_OK) return -1;
      continue;
    }
    if (!running) {
      if (fetch->customers_started < fetch->customer_count) return fetch->customers_started++;
      return -1;
    }
    if (interrupt_pending(&fetch->account.interrupt)) return -1;
    progress_waiting(&fetch->progress, "answers", -1);
    /* Until an answer arrives, or the limiter's wait is over, whichever comes first. */
    http_client_run(fetch->account.http, limiter_wait > 0 && limiter_wait < IX_INTERRUPT_POLL_MS
                                             ? (int)limiter_wait
                                             : IX_INTERRUPT_POLL_MS);
  }
}

int inlist_next_customer(fetch_cursor *fetch, char **error_out) {
  http_client_set_concurrency(fetch->account.http, inlist_concurrency(fetch));
  inlist_slot *slot = NULL;
  int index = inlist_pick_customer(fetch, &slot);
  if (index < 0) {
    *error_out = ix_errorf("%s: interrupted", fetch->account.table_name);
    return SQLITE_INTERRUPT;
  }
  fetch->customers_taken++;
  progress_customer(&fetch->progress);
  /* The customer becomes the plan's: its key is the one columns echo. */
  columns_page_reset(&fetch->page);
  if (fetch->page.customer_state && fetch->page.free_customer_state) {
    fetch->page.free_customer_state(fetch->page.customer_state);
  }
  fetch->page.customer_state = NULL;
  sqlite3_value_free(fetch->args.eq[fetch->in_column]);
  fetch->args.eq[fetch->in_column] = fetch->customers[index];
  fetch->customers[index] = NULL;
  fetch->pages_fetched = 0;

  if (!slot) return page_fetch(fetch, error_out);
  slot->state = IX_SLOT_TAKEN; /* out of the scans while its page is accepted or fetched again */
  int rc;
  http_response *response = &slot->response;
  int usable = response->outcome == HTTP_OK && !transport_status_retryable(response->status) &&
               !transport_body_incomplete(response) &&
               !request_token_refused(&fetch->account, response, &slot->request);
  if (usable) {
    if (slot->from_cache) {
      fetch->sending.last_request_id = slot->log_id;
    } else {
      fetch->sending.last_request_id = requestlog_add(
          response->started_unix_ms, fetch->account.provider->vendor, slot->request.url.text,
          response->status, 1, response->elapsed_ms, (sqlite3_int64)response->body_len, 0, NULL);
      progress_request_done(&fetch->progress);
    }
    fetch->pages_fetched = 1;
    rc = accept_response(fetch, response, &slot->request, !slot->from_cache, error_out);
    if (rc == SQLITE_OK) progress_rows(&fetch->progress, fetch->page.row_count);
  } else {
    requestlog_add(response->started_unix_ms, fetch->account.provider->vendor,
                   slot->request.url.text, response->outcome == HTTP_OK ? response->status : 0, 1,
                   response->elapsed_ms, (sqlite3_int64)response->body_len, 0,
                   response->outcome == HTTP_OK ? NULL : response->error);
    progress_request_done(&fetch->progress);
    fetch->sending.attempts_made = slot->from_cache ? 0 : 1; /* the concurrent one was attempt 1 */
    rc = page_fetch(fetch, error_out);
    fetch->sending.attempts_made = 0;
  }
  inlist_slot_release(fetch, slot);
  return rc;
}
