/*
 * Unit tests for ext/limit/ratelimit.c: every window is exact (never more than N starts in any W), the
 * history is shared by processes (fork), a killed process's slot expires, a ring that grows keeps
 * outstanding tickets, pauses hold every caller, parsing of "N/W,N/W" forms, and the state
 * directory is private and names no credential.
 */
#include "limit/ratelimit.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static rate_limit limit_of(const char *text) {
  rate_limit limit = {0};
  if (rate_limit_parse(text, &limit) != 0) diag("cannot parse %s", text);
  return limit;
}

/* Drives a limiter with a fake clock: every 7 ms someone wants to start a request. Returns the
 * largest number of starts seen in any window of window_ms. */
static int busiest_window(const long long *starts, int count, long long window_ms) {
  int busiest = 0;
  for (int i = 0; i < count; i++) {
    int in_window = 0;
    for (int j = i; j < count && starts[j] < starts[i] + window_ms; j++) in_window++;
    if (in_window > busiest) busiest = in_window;
  }
  return busiest;
}

static void start_many(rate_limiter *limiter, const rate_limit *limit, long long *starts,
                       int count) {
  int started = 0;
  for (long long now = 0; started < count; now += 7) {
    if (rate_limiter_reserve(limiter, limit, now, 0, NULL) == 0) starts[started++] = now;
  }
}

/* Runs body in a child process and waits for it; returns its exit status. */
static int in_child(void (*body)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static void child_starts_three(void) {
  rate_limit limit = limit_of("5/1000ms");
  rate_limiter *limiter = rate_limiter_get("unit|shared", "unit");
  int failed = !rate_limiter_is_shared(limiter);
  for (int i = 0; i < 3; i++) failed |= rate_limiter_reserve(limiter, &limit, 0, 0, NULL) != 0;
  _exit(failed);
}

static void child_dies_holding_a_slot(void) {
  rate_limit limit = limit_of("1/1000ms");
  rate_limiter *limiter = rate_limiter_get("unit|killed", "unit");
  rate_ticket ticket = {0};
  /* Started at 0 with a time limit of 500, then killed before giving the ticket back. */
  if (rate_limiter_reserve(limiter, &limit, 0, 500, &ticket) != 0) _exit(1);
  _exit(0);
}

static void child_gets_a_429(void) {
  rate_limiter_pause(rate_limiter_get("unit|pause-shared", "unit"), 5000);
  _exit(0);
}

static rate_limiter *inherited;
static void child_uses_inherited(void) {
  /* After fork the child has its parent's limiter: it must lock apart from the parent. */
  rate_limit limit = limit_of("2/1000ms");
  _exit(rate_limiter_reserve(inherited, &limit, 0, 0, NULL) != 0);
}

static int directory_lists(const char *directory, const char *text) {
  DIR *dir = opendir(directory);
  int found = 0;
  for (struct dirent *entry; dir && (entry = readdir(dir)) != NULL;) {
    found |= strstr(entry->d_name, text) != NULL;
  }
  if (dir) closedir(dir);
  return found;
}

static int file_mode_of_limits(const char *directory) {
  DIR *dir = opendir(directory);
  int mode = -1;
  for (struct dirent *entry; dir && (entry = readdir(dir)) != NULL;) {
    if (!strstr(entry->d_name, ".limit")) continue;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", directory, entry->d_name);
    struct stat info;
    if (stat(path, &info) == 0) mode = (int)(info.st_mode & 0777);
  }
  if (dir) closedir(dir);
  return mode;
}

int main(void) {
  char directory[] = "/tmp/ix-ratelimit-test-XXXXXX";
  if (!mkdtemp(directory)) return 1;
  char state_dir[256];
  snprintf(state_dir, sizeof(state_dir), "%s/state", directory);
  setenv("INTERACTIONS_STATE_DIR", state_dir, 1);
  /* The notes some steps earn (a released slot, an open directory) are not this test's output:
   * tests/cases/limiter/state_dir_unusable.case checks them. */
  setenv("INTERACTIONS_QUIET", "1", 1);

  rate_limit limit = {0};
  ok(rate_limit_parse("50/10s", &limit) == 0 && limit.count == 1 &&
         limit.windows[0].max_requests == 50 && limit.windows[0].window_ms == 10000,
     "50/10s");
  ok(rate_limit_parse("100/60s", &limit) == 0 && limit.windows[0].window_ms == 60000, "100/60s");
  ok(rate_limit_parse("5/250ms", &limit) == 0 && limit.windows[0].window_ms == 250, "5/250ms");
  ok(rate_limit_parse("1000/1m", &limit) == 0 && limit.windows[0].window_ms == 60000, "1000/1m");
  ok(rate_limit_parse("3/2", &limit) == 0 && limit.windows[0].window_ms == 2000, "bare seconds");
  ok(rate_limit_parse("50/10s,2000/1h", &limit) == 0 && limit.count == 2 &&
         limit.windows[0].max_requests == 50 && limit.windows[0].window_ms == 10000 &&
         limit.windows[1].max_requests == 2000 && limit.windows[1].window_ms == 3600000,
     "50/10s,2000/1h: two windows");
  ok(rate_limit_parse(" 5/1s , 20/10s ", &limit) == 0 && limit.count == 2, "spaces around commas");
  is_int(rate_limit_shortest_ms(&limit), 1000, "the shortest window");
  ok(rate_limit_parse("0/1s", &limit) != 0, "zero requests refused");
  ok(rate_limit_parse("fast", &limit) != 0, "words refused");
  ok(rate_limit_parse("5/1parsec", &limit) != 0, "unknown unit refused");
  ok(rate_limit_parse("5/-1s", &limit) != 0, "negative window refused");
  ok(rate_limit_parse("5/1s,", &limit) != 0, "empty window refused");
  ok(rate_limit_parse("5/1s,,6/2s", &limit) != 0, "empty window in the middle refused");
  ok(rate_limit_parse("1/1s,2/2s,3/3s,4/4s,5/5s", &limit) != 0, "more than four windows refused");
  ok(rate_limit_parse("5/1s,x", &limit) != 0, "a bad second window refused");
  ok(rate_limit_parse(NULL, &limit) != 0, "NULL refused");

  rate_limit three = limit_of("3/1000ms");
  rate_limiter *limiter = rate_limiter_get("unit|a", "unit");
  ok(limiter != NULL && rate_limiter_is_shared(limiter), "limiter created, shared in the dir");
  is_int(rate_limiter_reserve(limiter, &three, 0, 0, NULL), 0, "1st at 0 starts");
  is_int(rate_limiter_reserve(limiter, &three, 10, 0, NULL), 0, "2nd at 10 starts");
  is_int(rate_limiter_reserve(limiter, &three, 20, 0, NULL), 0, "3rd at 20 starts");
  is_int(rate_limiter_reserve(limiter, &three, 30, 0, NULL), 970,
         "4th at 30 waits until the 1st is 1000 ms old");
  is_int(rate_limiter_reserve(limiter, &three, 999, 0, NULL), 1, "still 1 ms at 999");
  is_int(rate_limiter_reserve(limiter, &three, 1000, 0, NULL), 0, "starts at 1000");
  is_int(rate_limiter_reserve(limiter, &three, 1000, 0, NULL), 10,
         "the next waits for the 2nd to age");
  ok(rate_limiter_get("unit|a", "unit") == limiter, "the same scope is the same limiter");
  ok(rate_limiter_get("unit|b", "unit") != limiter, "another scope is another limiter");

  rate_limit hundred = limit_of("100/1000ms");
  rate_limiter *paused = rate_limiter_get("unit|paused", "unit");
  rate_limiter_pause(paused, 5000);
  is_int(rate_limiter_reserve(paused, &hundred, 1000, 0, NULL), 4000,
         "a pause holds a limiter with room");
  rate_limiter_pause(paused, 3000);
  is_int(rate_limiter_reserve(paused, &hundred, 1000, 0, NULL), 4000,
         "a shorter pause does not shorten it");
  is_int(rate_limiter_reserve(paused, &hundred, 5000, 0, NULL), 0, "after the pause it starts");

  long long starts[500];
  rate_limit optimove = limit_of("50/10s");
  start_many(rate_limiter_get("unit|optimove", "unit"), &optimove, starts, 500);
  is_int(busiest_window(starts, 500, 10000), 50,
         "Optimove 50/10s: never more than 50 in any 10 s (a bucket would allow 100)");
  is_int(starts[49], 49 * 7, "the first 50 go at once (burst)");
  ok(starts[50] >= 10000, "the 51st waits for the window (started at %lld)", starts[50]);

  rate_limit both = limit_of("4/100ms,10/1000ms");
  start_many(rate_limiter_get("unit|two-windows", "unit"), &both, starts, 200);
  is_int(busiest_window(starts, 200, 100), 4, "two windows: never more than 4 in any 100 ms");
  is_int(busiest_window(starts, 200, 1000), 10, "two windows: never more than 10 in any 1000 ms");
  ok(starts[10] >= 1000, "the 11th waits for the long window (started at %lld)", starts[10]);

  /* A request holds its slot until it completes: the window runs from its completion, which is
   * never before the vendor saw it arrive. */
  rate_limit two = limit_of("2/1000ms");
  rate_limiter *slow = rate_limiter_get("unit|slow", "unit");
  rate_ticket first = {0}, second = {0};
  is_int(rate_limiter_reserve(slow, &two, 0, 60000, &first), 0, "1st starts at 0, stays pending");
  is_int(rate_limiter_reserve(slow, &two, 5, 60000, &second), 0, "2nd starts at 5");
  ok(rate_limiter_reserve(slow, &two, 2000, 0, NULL) > 0,
     "a 3rd waits while the 1st is still running");
  rate_limiter_done(slow, &first, 800);
  is_int(rate_limiter_reserve(slow, &two, 1500, 0, NULL), 300,
         "then waits for 1000 ms after it completed");
  is_int(rate_limiter_reserve(slow, &two, 1800, 0, NULL), 0, "and starts at 1800");
  rate_ticket stale = second;
  rate_limiter_done(slow, &second, 1900);
  ok(second.generation == 0, "a ticket given back is cleared");
  ok(rate_limiter_reserve(slow, &two, 2000, 0, NULL) > 0,
     "the 4th waits for the 2nd's completion + W");
  is_int(rate_limiter_reserve(slow, &two, 2900, 0, NULL), 0, "and starts at 2900");
  rate_limiter_done(slow, &stale, 9000); /* stale: the 2nd completed at 1900 already */
  is_int(rate_limiter_reserve(slow, &two, 3000, 0, NULL), 0,
         "the 5th starts at 3000 (two after the 3rd, 1800)");
  is_int(rate_limiter_reserve(slow, &two, 3900, 0, NULL), 0,
         "the 6th at 3900: a stale ticket did not move the 4th's time to 9000");

  /* The ring grows while tickets are out (a table with a larger limit on the same account): each
   * ticket still finds its slot. Before, a resize moved slots to new indexes while the tickets
   * kept the old ones, so the moved slots stayed pending for ever and every start waited. */
  rate_limiter *grown = rate_limiter_get("unit|grows", "unit");
  rate_ticket a = {0}, b = {0};
  rate_limit sixty_four = limit_of("64/1000ms");
  for (int i = 0; i < 62; i++) rate_limiter_reserve(grown, &sixty_four, 0, 0, NULL);
  is_int(rate_limiter_reserve(grown, &sixty_four, 0, 60000, &a), 0, "a starts (63rd)");
  is_int(rate_limiter_reserve(grown, &sixty_four, 0, 60000, &b), 0, "b starts (64th)");
  rate_limit thousand = limit_of("1000/1000ms");
  is_int(rate_limiter_reserve(grown, &thousand, 0, 0, NULL), 0, "a larger limit grows the ring");
  rate_limit three_per = limit_of("3/1000ms");
  is_int(rate_limiter_reserve(grown, &three_per, 5000, 0, NULL), 10,
         "a start three after a waits while a runs");
  rate_limiter_done(grown, &a, 1100);
  is_int(rate_limiter_reserve(grown, &three_per, 5000, 0, NULL), 0,
         "and goes once a is given back: a's ticket found its moved slot");
  is_int(rate_limiter_reserve(grown, &three_per, 5000, 0, NULL), 10, "the next waits for b");
  rate_limiter_done(grown, &b, 1100);
  is_int(rate_limiter_reserve(grown, &three_per, 5000, 0, NULL), 0,
         "and goes once b is given back, not never");

  /* Shared by processes: a child's starts count for the parent. */
  is_int(in_child(child_starts_three), 0, "a child process starts 3 of 5");
  rate_limit five = limit_of("5/1000ms");
  rate_limiter *shared = rate_limiter_get("unit|shared", "unit");
  is_int(rate_limiter_reserve(shared, &five, 0, 0, NULL), 0, "the parent starts the 4th");
  is_int(rate_limiter_reserve(shared, &five, 0, 0, NULL), 0, "and the 5th");
  is_int(rate_limiter_reserve(shared, &five, 0, 0, NULL), 1000,
         "the 6th waits for the child's 1st to age");

  is_int(in_child(child_gets_a_429), 0, "a child process pauses the account after a 429");
  is_int(
      rate_limiter_reserve(rate_limiter_get("unit|pause-shared", "unit"), &hundred, 1000, 0, NULL),
      4000, "the parent holds off until the child's pause ends");

  inherited = rate_limiter_get("unit|inherited", "unit");
  is_int(rate_limiter_reserve(inherited, &two, 0, 0, NULL), 0, "the parent starts one of 2");
  is_int(in_child(child_uses_inherited), 0, "a forked child starts the other");
  is_int(rate_limiter_reserve(inherited, &two, 0, 0, NULL), 1000,
         "the parent sees the child's start");

  /* A process killed mid-request: its slot counts as completed at the request's time limit. */
  is_int(in_child(child_dies_holding_a_slot), 0, "a child starts a request and dies");
  rate_limit one = limit_of("1/1000ms");
  rate_limiter *killed = rate_limiter_get("unit|killed", "unit");
  ok(rate_limiter_reserve(killed, &one, 100, 0, NULL) > 0, "before its time limit, it holds");
  is_int(rate_limiter_reserve(killed, &one, 600, 0, NULL), 900,
         "after it (500), it counts as completed at 500");
  is_int(rate_limiter_reserve(killed, &one, 1500, 0, NULL), 0, "and the window runs from there");

  /* Private: the directory is 0700, files 0600, and no file name carries the account text. */
  rate_limiter_get("unit|password=hunter2-secret", "unit");
  struct stat info;
  ok(stat(state_dir, &info) == 0 && (info.st_mode & 0777) == 0700, "the directory is 0700");
  is_int(file_mode_of_limits(state_dir), 0600, "account files are 0600");
  ok(!directory_lists(state_dir, "hunter2") && !directory_lists(state_dir, "unit"),
     "no file name holds the account text");

  /* A directory others can read is refused: the process keeps its own limits. */
  char open_dir[256];
  snprintf(open_dir, sizeof(open_dir), "%s/open", directory);
  mkdir(open_dir, 0755);
  chmod(open_dir, 0755);
  setenv("INTERACTIONS_STATE_DIR", open_dir, 1);
  rate_limiter *refused = rate_limiter_get("unit|refused", "unit");
  ok(refused && !rate_limiter_is_shared(refused), "a 0755 directory is not used");
  ok(!directory_lists(open_dir, ".limit"), "and nothing is written in it");
  is_int(rate_limiter_reserve(refused, &one, 0, 0, NULL), 0, "the private limiter still works");
  is_int(rate_limiter_reserve(refused, &one, 0, 0, NULL), 1000, "and still limits");

  /* Where the state goes by default: computed only, nothing is written there. */
  char shown[512], want[512];
  unsetenv("INTERACTIONS_STATE_DIR");
  setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  rate_state_dir(shown, sizeof(shown));
  is_str(shown, "/run/user/4242/sqlite-interactions", "default: under XDG_RUNTIME_DIR");
  unsetenv("XDG_RUNTIME_DIR");
  setenv("TMPDIR", "/var/tmp", 1);
  rate_state_dir(shown, sizeof(shown));
  snprintf(want, sizeof(want), "/var/tmp/sqlite-interactions-%u", (unsigned)geteuid());
  is_str(shown, want, "without it: a per-user directory under TMPDIR");
  unsetenv("TMPDIR");
  rate_state_dir(shown, sizeof(shown));
  snprintf(want, sizeof(want), "/tmp/sqlite-interactions-%u", (unsigned)geteuid());
  is_str(shown, want, "or under /tmp");
  setenv("INTERACTIONS_STATE_DIR", "/somewhere/else", 1);
  rate_state_dir(shown, sizeof(shown));
  is_str(shown, "/somewhere/else", "INTERACTIONS_STATE_DIR moves it");

  char command[512];
  snprintf(command, sizeof(command), "rm -rf '%s'", directory);
  if (system(command) != 0) diag("could not remove %s", directory);
  return done_testing();
}
