/*
 * The rate limiter's Redis backend: see redis.h.
 *
 * How it works. Each account has a hash ix:{F}:state (windows, seq, paused_until) and a sorted
 * set ix:{F}:starts (one member per admitted request), F the account's fingerprint. The window
 * runs from when the request's answer began to arrive, as on one host (ratelimit.h), which Redis
 * cannot see without a second round trip per request; so a request is scored at admission with
 * its expected answer time (its start plus the third quartile of this process's last answer
 * times, rate_redis_expected), and only an answer later than that costs a second call (op "late",
 * moving the score). The script gives a request the earliest start at which, for every window
 * N/W, the N-th latest score is at least W before it (then no W holds more than N), and records it
 * there: the host sleeps until then and sends without asking again, so waiting hosts do not all
 * ask at once when a slot frees. A start more than the shortest window ahead is not reserved (an
 * interrupted statement would leave it unused): the host asks again later. A pause after a 429 is
 * a time every start waits for; one longer than the longest window plus the Retry-After cap is
 * damage and is reset, and the caller says so.
 *
 * A Redis that restarted lost the account's starts, though the vendor still counts them: the
 * first host to reach it again sees another run_id and creates the state paused for the longest
 * window, so the first window after a restart cannot burst (a host that never saw the old Redis
 * cannot tell, which is why README.md suggests persistence for long windows).
 *
 * One connection per account and process, used under a mutex (hiredis contexts are not
 * thread-safe), reopened after fork and after any failure.
 */
#include "limit/redis.h"
#include "limit/redisurl.h"

#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth/fingerprint.h"
#include "util/notes.h"

/* Redis answers an admission in well under a millisecond; one that takes longer than this is
 * treated as down (limiter_fallback decides what happens then). */
#define RATE_REDIS_TIMEOUT_MS 2000
#define RATE_REDIS_KEY_NAME "ix:fingerprint-key"
#define RATE_REDIS_KEY_BYTES 32
/* How many recent answer times the expected one is taken from. */
#define RATE_REDIS_LATENCIES 32

/* KEYS: state, starts. ARGV: op (admit | late | pause), windows ("N/Wms,..."), the longest pause
 * a 429 can set (rate_pause_cap_ms), op's number (admit: the answer time to expect, ms; late: how
 * much later it came, ms; pause: ms), op's text (late: the member), and "restarted" on the first
 * call since this host found Redis restarted. Answers {status, number, note, ahead}: status 0
 * done (admit: number is the member, reserved to start in ahead ms), 1 ask again in number ms, 2
 * other windows stored (note: them); note "damaged" when a pause was reset. */
static const char RATE_REDIS_SCRIPT[] =
    "local op, spec, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local number, text = tonumber(ARGV[4]), ARGV[5]\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local windows, longest = {}, 0\n"
    "for n, w in string.gmatch(spec, '(%d+)/(%d+)') do\n"
    "  n, w = tonumber(n), tonumber(w)\n"

    "  windows[#windows + 1] = {n, w}\n"
    "  if w > longest then longest = w end\n"
    "end\n"
    "local idle = math.max(cap, longest) + 1000\n"
    "local stored = redis.call('HGET', KEYS[1], 'windows')\n"
    "if not stored then\n"
    "  local paused = 0\n"
    "  if ARGV[6] == 'restarted' then paused = now + longest end\n"
    "  redis.call('HSET', KEYS[1], 'windows', spec, 'seq', 0, 'paused_until', paused)\n"
    "elseif stored ~= spec then\n"
    "  return {2, 0, stored}\n"
    "end\n"
    "local note = ''\n"
    "local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')\n"
    "if paused - now > cap + 1000 then\n"
    "  redis.call('HSET', KEYS[1], 'paused_until', 0)\n"
    "  paused, note = 0, 'damaged'\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], idle)\n"
    "if op == 'pause' then\n"
    "  local untilp = now + math.min(number, cap)\n"
    "  if untilp > paused then redis.call('HSET', KEYS[1], 'paused_until', untilp) end\n"
    "  return {0, 0, note}\n"
    "end\n"
    "if op == 'late' then\n"
    "  local score = redis.call('ZSCORE', KEYS[2], text)\n"
    "  if score then redis.call('ZADD', KEYS[2], 'XX', tonumber(score) + number, text) end\n"
    "  return {0, 0, note}\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - idle))\n"
    "local start, reach = now, longest\n"
    "if paused > start then start = paused end\n"
    "for _, window in ipairs(windows) do\n"
    "  local n, w = window[1], window[2]\n"
    "  if w < reach then reach = w end\n"
    "  local nth = redis.call('ZREVRANGE', KEYS[2], n - 1, n - 1, 'WITHSCORES')\n"
    "  if nth[2] and tonumber(nth[2]) + w > start then start = tonumber(nth[2]) + w end\n"
    "end\n"
    "if start - now > reach then return {1, start - now - reach, note, 0} end\n"
    "local member = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
    "redis.call('ZADD', KEYS[2], start + number, member)\n"
    "redis.call('PEXPIRE', KEYS[2], idle)\n"
    "return {0, member, note, start - now}\n";

struct rate_redis {
  pthread_mutex_t lock;
  redisContext *context; /* NULL when not connected */
  pid_t context_pid;     /* the process that opened it (a forked child opens its own) */
  char *host;            /* or the socket's path, when unix */
  int port;              /* 0: host is a Unix socket */
  int database;
  char *password; /* never in any text */
  char *where;    /* the URL without its password, for messages */
  char *scope;    /* the account (credentials): only ever sent as its fingerprint */
  char state_key[64];
  char starts_key[64];
  char sha[41];     /* the script's SHA1, from SCRIPT LOAD */
  char run_id[48];  /* the Redis we talked to last, to notice a restart */
  int restarted;    /* pass "restarted" on the next call */
  int refused;      /* the last failure was a refusal (password), not an outage */
  rate_limit limit; /* the windows of the last admission, for late and pause */
  long long latencies[RATE_REDIS_LATENCIES]; /* admission to answer, ms, the last few */
  unsigned latency_next;                     /* answers seen (the next index, modulo) */
};

static long long rate_redis_trips;

long long rate_redis_round_trips(void) {
  return __atomic_load_n(&rate_redis_trips, __ATOMIC_RELAXED);
}

const char *rate_redis_where(const rate_redis *redis) {
  return redis->where;
}

/* ---- The URL ---- */

/* Fills host, port, database and password from url; returns NULL or what is wrong with it. */
static const char *rate_redis_parse(rate_redis *redis, const char *url) {
  rate_redis_url parsed = {0};
  const char *problem = rate_redis_url_parse(url, &parsed);
  redis->host = parsed.host;
  redis->port = parsed.port;
  redis->database = parsed.database;
  redis->password = parsed.password;
  redis->where = parsed.where;
  return problem;
}

/* ---- Connection ---- */

static void rate_redis_disconnect(rate_redis *redis) {
  if (redis->context) redisFree(redis->context);
  redis->context = NULL;
}

/* A reply's error as a problem text: the password never appears in one, but Redis's words are
 * kept short and the AUTH cases get their fix. */
static void rate_redis_reply_problem(rate_redis *redis, const redisReply *reply, const char *doing,
                                     char *problem, size_t size) {
  const char *text = reply && reply->str ? reply->str : "no answer";
  if (strncmp(text, "WRONGPASS", 9) == 0 || strstr(text, "invalid password") ||
      strncmp(text, "NOAUTH", 6) == 0) {
    redis->refused = 1;
  }
  if (strncmp(text, "WRONGPASS", 9) == 0 || strstr(text, "invalid password")) {
    snprintf(problem, size,
             "it refused the password: check INTERACTIONS_LIMITER_PASSWORD or the URL's "
             "password");
  } else if (strncmp(text, "NOAUTH", 6) == 0) {
    snprintf(problem, size,
             "it needs a password: set INTERACTIONS_LIMITER_PASSWORD (or "
             "redis://:PASSWORD@host)");
  } else {
    snprintf(problem, size, "%s failed: %.120s", doing, text);
  }
}

/* The connection's own failure (refused, timed out, closed) as a problem text. */
static void rate_redis_io_problem(const redisContext *context, char *problem, size_t size) {
  if (!context) {
    snprintf(problem, size, "out of memory");
  } else if (context->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    snprintf(problem, size, "it did not answer within %d ms", RATE_REDIS_TIMEOUT_MS);
  } else {
    snprintf(problem, size, "%s", context->errstr[0] ? context->errstr : "connection lost");
  }
}

/* One command; NULL (the connection dropped) with problem filled, else the reply to free. */
static redisReply *rate_redis_call(rate_redis *redis, int argc, const char **argv,
                                   const size_t *lengths, char *problem, size_t size) {
  __atomic_add_fetch(&rate_redis_trips, 1, __ATOMIC_RELAXED);
  redisReply *reply = redisCommandArgv(redis->context, argc, argv, lengths);
  if (!reply) {
    rate_redis_io_problem(redis->context, problem, size);
    rate_redis_disconnect(redis);
  }
  return reply;
}

static redisReply *rate_redis_call_text(rate_redis *redis, char *problem, size_t size, int argc,
                                        const char *a, const char *b, const char *c,
                                        const char *d) {
  const char *argv[4] = {a, b, c, d};
  size_t lengths[4] = {0};
  for (int i = 0; i < argc; i++) lengths[i] = strlen(argv[i]);
  return rate_redis_call(redis, argc, argv, lengths, problem, size);
}

/* The key for fingerprints, shared by every host of this Redis: created once, random. */
static int rate_redis_fingerprint(rate_redis *redis, char *problem, size_t size) {
  /* Read on every connection: a Redis that restarted without persistence lost the key, and
   * every host must then agree on the new one. */
  unsigned char fresh[RATE_REDIS_KEY_BYTES];
  char fresh_hex[2 * RATE_REDIS_KEY_BYTES + 1];
  if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
    snprintf(problem, size, "no random key could be made");
    return -1;
  }
  for (size_t i = 0; i < sizeof(fresh); i++) sprintf(fresh_hex + 2 * i, "%02x", fresh[i]);
  redisReply *reply =
      rate_redis_call_text(redis, problem, size, 4, "SET", RATE_REDIS_KEY_NAME, fresh_hex, "NX");
  if (!reply) return -1;
  int failed = reply->type == REDIS_REPLY_ERROR;
  if (failed) rate_redis_reply_problem(redis, reply, "SET", problem, size);
  freeReplyObject(reply);
  if (failed) return -1;
  reply = rate_redis_call_text(redis, problem, size, 2, "GET", RATE_REDIS_KEY_NAME, NULL, NULL);
  if (!reply) return -1;
  if (reply->type != REDIS_REPLY_STRING || reply->len < 16) {
    rate_redis_reply_problem(redis, reply, "GET of its fingerprint key", problem, size);
    freeReplyObject(reply);
    return -1;
  }
  char hex[IX_FINGERPRINT_HEX];
  int hashed = fingerprint_hex((const unsigned char *)reply->str, (size_t)reply->len, redis->scope,
                               strlen(redis->scope), hex) == 0;
  freeReplyObject(reply);
  if (!hashed) {
    snprintf(problem, size, "the account's fingerprint cannot be computed");
    return -1;
  }
  snprintf(redis->state_key, sizeof(redis->state_key), "ix:{%s}:state", hex);
  snprintf(redis->starts_key, sizeof(redis->starts_key), "ix:{%s}:starts", hex);
  return 0;
}

/* Notes a restart: another run_id than the Redis this process used before. */
static void rate_redis_check_run_id(rate_redis *redis, const char *info) {
  const char *field = strstr(info, "run_id:");
  if (!field) return;
  field += 7;
  char run_id[sizeof(redis->run_id)];
  size_t length = strcspn(field, "\r\n");
  if (length >= sizeof(run_id)) length = sizeof(run_id) - 1;
  memcpy(run_id, field, length);
  run_id[length] = '\0';
  if (redis->run_id[0] && strcmp(run_id, redis->run_id) != 0) {
    redis->restarted = 1;
    notes_say(NOTES_NOTE, NULL,
              "the shared limiter at %s restarted: the requests it counted are lost, though the "
              "vendor still counts them, so the account waits one longest window before its next "
              "request (run Redis with appendonly yes to keep them)",
              redis->where);
  }
  memcpy(redis->run_id, run_id, length + 1);
}

/* Connects (AUTH, SELECT, SCRIPT LOAD, the fingerprint) unless connected. */
static int rate_redis_connect(rate_redis *redis, char *problem, size_t size) {
  if (redis->context && redis->context_pid == getpid()) return 0;
  if (redis->context) {
    /* A forked child must not talk on its parent's socket; the parent still owns it. */
    redisFreeKeepFd(redis->context);
    redis->context = NULL;
  }
  struct timeval timeout = {RATE_REDIS_TIMEOUT_MS / 1000, (RATE_REDIS_TIMEOUT_MS % 1000) * 1000};
  redis->context = redis->port ? redisConnectWithTimeout(redis->host, redis->port, timeout)
                               : redisConnectUnixWithTimeout(redis->host, timeout);
  if (!redis->context || redis->context->err) {
    snprintf(problem, size, "cannot connect: %s",
             redis->context ? redis->context->errstr : "out of memory");
    rate_redis_disconnect(redis);
    return -1;
  }
  redis->context_pid = getpid();
  redisSetTimeout(redis->context, timeout);
  redisReply *reply = NULL;
  if (redis->password) {
    reply = rate_redis_call_text(redis, problem, size, 2, "AUTH", redis->password, NULL, NULL);
    if (!reply) return -1;
    int failed = reply->type == REDIS_REPLY_ERROR;
    if (failed) rate_redis_reply_problem(redis, reply, "AUTH", problem, size);
    freeReplyObject(reply);
    if (failed) {
      rate_redis_disconnect(redis);
      return -1;
    }
  }
  char database[16];
  snprintf(database, sizeof(database), "%d", redis->database);
  const char *steps[3][3] = {
      {"SELECT", database, NULL}, {"SCRIPT", "LOAD", RATE_REDIS_SCRIPT}, {"INFO", "server", NULL}};
  for (int step = 0; step < 3; step++) {
    if (step == 0 && redis->database == 0) continue;
    reply = rate_redis_call_text(redis, problem, size, steps[step][2] ? 3 : 2, steps[step][0],
                                 steps[step][1], steps[step][2], NULL);
    if (!reply) return -1;
    if (reply->type == REDIS_REPLY_ERROR) {
      rate_redis_reply_problem(redis, reply, steps[step][0], problem, size);
      freeReplyObject(reply);
      rate_redis_disconnect(redis);
      return -1;
    }
    if (step == 1 && reply->type == REDIS_REPLY_STRING) {
      snprintf(redis->sha, sizeof(redis->sha), "%s", reply->str);
    }
    if (step == 2 && reply->type == REDIS_REPLY_STRING) rate_redis_check_run_id(redis, reply->str);
    freeReplyObject(reply);
  }
  if (rate_redis_fingerprint(redis, problem, size) != 0) {
    rate_redis_disconnect(redis);
    return -1;
  }
  return 0;
}

static void rate_redis_free(rate_redis *redis) {
  rate_redis_disconnect(redis);
  free(redis->host);
  if (redis->password) memset(redis->password, 0, strlen(redis->password));
  free(redis->password);
  free(redis->where);
  if (redis->scope) memset(redis->scope, 0, strlen(redis->scope));
  free(redis->scope);
  pthread_mutex_destroy(&redis->lock);
  free(redis);
}

void rate_redis_close(rate_redis *redis) {
  if (redis) rate_redis_free(redis);
}

rate_redis *rate_redis_open(const char *url, const char *password, const char *scope, char *problem,
                            size_t problem_size, int *refused, char **where) {
  if (where) *where = NULL;
  *refused = 0;
  problem[0] = '\0';
  rate_redis *redis = calloc(1, sizeof(*redis));
  if (!redis) {
    snprintf(problem, problem_size, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&redis->lock, NULL);
  const char *wrong = rate_redis_parse(redis, url);
  if (where && redis->where) *where = strdup(redis->where);
  if (!wrong && !redis->password && password && *password) {
    redis->password = strdup(password);
    if (!redis->password) wrong = "out of memory";
  }
  if (!wrong) {
    redis->scope = strdup(scope);
    if (!redis->scope) wrong = "out of memory";
  }
  if (wrong) {
    snprintf(problem, problem_size, "%s", wrong);
    rate_redis_free(redis);
    return NULL;
  }
  redis->refused = 0;
  if (rate_redis_connect(redis, problem, problem_size) != 0) *refused = redis->refused;
  return redis;
}

/* ---- The script ---- */

static void rate_redis_spec(const rate_limit *limit, char *spec, size_t size) {
  spec[0] = '\0';
  for (int i = 0; i < limit->count; i++) {
    size_t used = strlen(spec);
    snprintf(spec + used, size - used, "%s%d/%lld", i ? "," : "", limit->windows[i].max_requests,
             limit->windows[i].window_ms);
  }
}

/* "50/10000" back into the form rate_limit takes ("50/10000ms"), for the refusal. */
static void rate_redis_spec_shown(const char *spec, char *shown, size_t size) {
  shown[0] = '\0';
  const char *start = spec;
  while (*start) {
    size_t length = strcspn(start, ",");
    size_t used = strlen(shown);
    snprintf(shown + used, size - used, "%s%.*sms", used ? "," : "", (int)length, start);
    start += length;
    if (*start == ',') start++;
  }
}

typedef struct rate_redis_answer {
  long long status, number, ahead;
  char note[96];
} rate_redis_answer;

/* Runs the script once (connecting first, reloading it after NOSCRIPT). Returns 0 or -1. */
static int rate_redis_run(rate_redis *redis, const rate_limit *limit, const char *op,
                          long long number, const char *text, rate_redis_answer *answer,
                          char *problem, size_t size) {
  char spec[160], cap[24], number_text[24];
  rate_redis_spec(limit, spec, sizeof(spec));
  snprintf(cap, sizeof(cap), "%lld", rate_pause_cap_ms(limit));
  snprintf(number_text, sizeof(number_text), "%lld", number);
  for (int attempt = 0; attempt < 2; attempt++) {
    /* A dropped connection is tried once more at once: a restarted Redis answers. */
    if (rate_redis_connect(redis, problem, size) != 0) {
      if (attempt == 0) continue;
      return -1;
    }
    /* Known only once connected: this connection may be the one that found a restarted Redis,
     * and whichever call comes first creates the state, paused. */
    const char *argv[] = {"EVALSHA",
                          redis->sha,
                          "2",
                          redis->state_key,
                          redis->starts_key,
                          op,
                          spec,
                          cap,
                          number_text,
                          text,
                          redis->restarted ? "restarted" : ""};
    size_t lengths[11];
    for (int i = 0; i < 11; i++) lengths[i] = strlen(argv[i]);
    redisReply *reply = rate_redis_call(redis, 11, argv, lengths, problem, size);
    if (!reply) continue;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
      freeReplyObject(reply);
      rate_redis_disconnect(redis); /* reconnecting loads it again */
      continue;
    }
    int good = reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3 &&
               reply->element[0]->type == REDIS_REPLY_INTEGER &&
               reply->element[1]->type == REDIS_REPLY_INTEGER;
    if (!good) {
      rate_redis_reply_problem(redis, reply, "the limiter script", problem, size);
      freeReplyObject(reply);
      return -1;
    }
    redis->restarted = 0;
    answer->status = reply->element[0]->integer;
    answer->number = reply->element[1]->integer;
    snprintf(answer->note, sizeof(answer->note), "%s",
             reply->element[2]->str ? reply->element[2]->str : "");
    answer->ahead = reply->elements > 3 && reply->element[3]->type == REDIS_REPLY_INTEGER
                        ? reply->element[3]->integer
                        : 0;
    freeReplyObject(reply);
    return 0;
  }
  return -1;
}

/* The script's answer beyond admit or wait: a reset pause said, other windows refused. */
static int rate_redis_check(const rate_redis *redis, const rate_limit *limit,
                            const rate_redis_answer *answer, char *problem, size_t size) {
  if (strcmp(answer->note, "damaged") == 0) {
    notes_say(NOTES_NOTE, NULL,
              "the rate-limit state in %s (key %s) held a pause longer than the longest window "
              "plus the Retry-After cap: it is damaged, so the pause was reset",
              redis->where, redis->state_key);
  }
  if (answer->status != 2) return 0;
  char ours[160], theirs[200], ours_shown[200];
  rate_redis_spec(limit, ours, sizeof(ours));
  rate_redis_spec_shown(ours, ours_shown, sizeof(ours_shown));
  rate_redis_spec_shown(answer->note, theirs, sizeof(theirs));
  snprintf(problem, size,
           "it holds other windows for this account (%s) than this table's (%s): give every host "
           "the same rate_limit and quota_share",
           theirs, ours_shown);
  return -1;
}

/* The answer time to expect: the third quartile of the last RATE_REDIS_LATENCIES answers. Not
 * the longest, which one slow answer (a new connection) would make every later score pay for; an
 * answer later than expected costs one more call (rate_redis_answered). */
static long long rate_redis_expected(const rate_redis *redis) {
  long long sorted[RATE_REDIS_LATENCIES];
  int count =
      redis->latency_next < RATE_REDIS_LATENCIES ? (int)redis->latency_next : RATE_REDIS_LATENCIES;
  if (count == 0) return 0;
  memcpy(sorted, redis->latencies, (size_t)count * sizeof(*sorted));
  for (int i = 1; i < count; i++) { /* insertion sort: 32 at most */
    long long value = sorted[i];
    int j = i - 1;
    while (j >= 0 && sorted[j] > value) {
      sorted[j + 1] = sorted[j];
      j--;
    }
    sorted[j + 1] = value;
  }
  return sorted[(count * 3) / 4 < count ? (count * 3) / 4 : count - 1];
}

long long rate_redis_reserve(rate_redis *redis, const rate_limit *limit, rate_ticket *ticket,
                             char *problem, size_t problem_size) {
  pthread_mutex_lock(&redis->lock);
  redis->limit = *limit;
  redis->refused = 0;
  rate_redis_answer answer = {0};
  long long wait = -1;
  long long expected = rate_redis_expected(redis);
  if (rate_redis_run(redis, limit, "admit", expected, "", &answer, problem, problem_size) != 0) {
    if (redis->refused) wait = -2;
  } else if (rate_redis_check(redis, limit, &answer, problem, problem_size) != 0) {
    wait = -2;
  } else {
    wait = answer.status == 1 ? answer.number : answer.ahead;
    if (answer.status == 1 && wait < 1) wait = 1;
    if (answer.status == 0 && ticket) {
      ticket->generation = (unsigned long long)answer.number;
      ticket->expected_ms = expected;
      ticket->reserved = 1;
    }
  }
  pthread_mutex_unlock(&redis->lock);
  return wait;
}

void rate_redis_answered(rate_redis *redis, rate_ticket *ticket, long long answered_ms) {
  if (!ticket->generation) return;
  char member[24], problem[160];
  snprintf(member, sizeof(member), "%llu", ticket->generation);
  long long took = answered_ms - ticket->admitted_ms;
  long long late = took - ticket->expected_ms;
  ticket->generation = 0;
  pthread_mutex_lock(&redis->lock);
  redis->latencies[redis->latency_next++ % RATE_REDIS_LATENCIES] = took > 0 ? took : 0;
  if (late > 0) {
    rate_redis_answer answer = {0};
    /* A failure here is left to the next admission, which applies the policy. */
    rate_redis_run(redis, &redis->limit, "late", late, member, &answer, problem, sizeof(problem));
  }
  pthread_mutex_unlock(&redis->lock);
}

int rate_redis_pause(rate_redis *redis, long long pause_ms) {
  char problem[160];
  pthread_mutex_lock(&redis->lock);
  rate_redis_answer answer = {0};
  int rc = redis->limit.count ? rate_redis_run(redis, &redis->limit, "pause", pause_ms, "", &answer,
                                               problem, sizeof(problem))
                              : -1;
  pthread_mutex_unlock(&redis->lock);
  return rc;
}
