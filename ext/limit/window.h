/*
 * The windows a request must fit in, and a request's claim on them: what the limiter
 * (ratelimit.c), its state file (local.c) and its Redis backend (redis.c) all speak. Parsing
 * "N/W" settings, the share of a quota one installation takes (quota_share), and the longest
 * pause a 429 can set. No state here.
 */
#ifndef IX_LIMIT_WINDOW_H
#define IX_LIMIT_WINDOW_H

#define RATE_MAX_WINDOWS 4
/* Far more than any vendor documents; bounds a window's count (and so the ring, 32 bytes a slot). */
#define RATE_MAX_REQUESTS 100000
/* The longest Retry-After obeyed (transport.c's cap), the pause cap's second part. */
#define RATE_RETRY_AFTER_CAP_MS 60000

typedef struct rate_window {
  int max_requests;
  long long window_ms;
} rate_window;

/* Every window a request must fit in. */
typedef struct rate_limit {
  int count;
  rate_window windows[RATE_MAX_WINDOWS];
} rate_limit;

/* A started request's claim on its slot. Zero-initialised means no claim. */
typedef struct rate_ticket {
  unsigned long long generation; /* in the local history, or the request's member in Redis */
  long long admitted_ms;         /* clock_ms when admitted (Redis: to time the answer) */
  long long expected_ms;         /* Redis: the answer time its score assumed */
  int remote;                    /* admitted by Redis */
  int reserved;                  /* Redis recorded it to start at admitted_ms: no need to ask */
  unsigned long long local_generation; /* a Redis admission's copy in this host's history */
} rate_ticket;

/* Parses "N/W" windows separated by commas: "50/10s", "50/10s,2000/1h"; W is "Ws", "Wms", "Wm",
 * "Wmin", "Wh" or bare seconds. Returns 0 or -1. */
int rate_limit_parse(const char *text, rate_limit *limit);
/* The shortest window: after a 429 without Retry-After, the least time in which the vendor's
 * window can have cleared. */
long long rate_limit_shortest_ms(const rate_limit *limit);
/* The longest window of limit. */
long long rate_limit_longest_ms(const rate_limit *limit);
/* limit with each window's count cut to share of it (0 < share <= 1), at least 1. */
void rate_limit_share(rate_limit *limit, double share);
/* The longest pause a 429 can set: the longest window plus the Retry-After cap (60 s). A longer
 * one is damage (ratelimit.c's rate_check_pause, redis.c's script). */
long long rate_pause_cap_ms(const rate_limit *limit);

#endif
