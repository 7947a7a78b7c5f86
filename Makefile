# sqlite-interactions: `make` builds build/interactions.so; `make test` and `make demo` are the two
# commands a new user needs (both install missing Debian packages first).

BUILD    := build
LIB      := $(BUILD)/interactions.so
CC       ?= cc
CFLAGS   ?= -O2 -g
# The library never unloads (-z nodelete): libcurl's resolver threads may outlive a connection
# and SQLite dlcloses extensions when the connection closes (docs/libcurl.md#global-init).
BASE_CFLAGS := -std=c11 -Iext -D_DEFAULT_SOURCE -Wall -Wextra -Werror -fPIC -fvisibility=hidden
LIB_LDFLAGS := -shared -Wl,-z,nodelete -Wl,-z,defs
LDLIBS   := -lcurl -lcjson -lcrypto -lhiredis -lpthread
# The sanitized builds (unit tests, make asan) are the debug builds too: with IX_DEBUG a
# programming error such as reading a setting the table does not define aborts (config.h).
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
            -DIX_DEBUG

EXT_SOURCES := $(wildcard ext/*.c ext/*/*.c ext/*/*/*.c)
EXT_HEADERS := $(wildcard ext/*/*.h ext/*/*/*.h)
UNIT_TESTS  := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
# Each unit test links only the pure-C modules it names (no SQLite, no libcurl).
UNIT_SOURCES_test_timefmt := ext/util/timefmt.c
UNIT_SOURCES_test_url     := ext/util/url.c
UNIT_SOURCES_test_auth    := ext/auth/auth.c ext/util/http.c ext/util/url.c ext/util/clock.c
UNIT_SOURCES_test_scrub   := -DSQLITE_CORE ext/auth/scrub.c ext/auth/auth.c ext/util/http.c ext/util/url.c ext/util/clock.c \
                             ext/settings/config.c ext/settings/common.c ext/settings/numbers.c \
                             ext/observe/envcheck.c ext/util/notes.c -lsqlite3
UNIT_SOURCES_test_ratelimit := ext/limit/ratelimit.c ext/limit/local.c ext/limit/window.c \
                               ext/limit/redis.c ext/limit/redisurl.c ext/util/clock.c \
                               ext/auth/fingerprint.c ext/util/privatedir.c ext/util/notes.c
UNIT_SOURCES_test_plan      := -DSQLITE_CORE ext/sql/plan.c ext/sql/rowid.c ext/provider/jsonspan.c \
                               ext/provider/descriptor.c ext/settings/common.c \
                               ext/json/jsonarena.c ext/util/timefmt.c -lsqlite3
UNIT_SOURCES_test_memlimits := ext/json/memlimits.c
UNIT_SOURCES_test_sqlversion := ext/sql/sqlversion.c
UNIT_SOURCES_test_http       := ext/util/http.c ext/util/url.c ext/util/clock.c
UNIT_SOURCES_test_jsonspan  := -DSQLITE_CORE ext/provider/jsonspan.c ext/json/jsonarena.c -lsqlite3
UNIT_SOURCES_test_jsonarena := ext/json/jsonarena.c
UNIT_SOURCES_test_joinsql   := ext/observe/joinsql.c
UNIT_SOURCES_test_progress  := -DSQLITE_CORE ext/observe/progress.c ext/observe/joinsql.c ext/util/clock.c \
                               ext/util/notes.c -lsqlite3
UNIT_SOURCES_test_config    := -DSQLITE_CORE ext/settings/config.c ext/settings/common.c \
                               ext/settings/numbers.c ext/observe/envcheck.c ext/util/notes.c \
                               ext/util/url.c -lsqlite3
# The descriptor check runs the extension's entry point over every real provider: the whole
# extension, linked against libsqlite3 directly (SQLITE_CORE, as the fuzz targets do).
UNIT_SOURCES_test_descriptor := -DSQLITE_CORE $(EXT_SOURCES) -lsqlite3

PROVE    := prove
SQL_TESTS = tests/*.t
# Tests never touch the user's own rate-limit state: a fresh directory per run, removed after it
# (tests/cases.t gives each step its own).
TEST_STATE = tools/with-state-dir.sh env

.PHONY: all deps test check-long unit asan valgrind lint format tidy demo sandbox clean install uninstall bench \
	differential-long
.DEFAULT_GOAL := all

all: $(LIB)

$(BUILD)/.deps-build: tools/deps.sh
	@tools/deps.sh build
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/.deps-test: tools/deps.sh
	@tools/deps.sh build test
	@mkdir -p $(BUILD) && touch $@

$(LIB): $(EXT_SOURCES) $(EXT_HEADERS) $(BUILD)/.deps-build
	@mkdir -p $(BUILD)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LIB_LDFLAGS) -o $@ $(EXT_SOURCES) $(LDLIBS)

# The unit tests build with the sanitizers always: they are small and fast.
$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(EXT_HEADERS) $(EXT_SOURCES) $(BUILD)/.deps-build
	@mkdir -p $(BUILD)/tests
	$(CC) $(BASE_CFLAGS) -O1 -g $(SANITIZE) -Iext -o $@ $< $(UNIT_SOURCES_$*) $(LDLIBS)

unit: $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

# Every fuzz target (its saved regressions, then a short run with a fixed seed, so CI explores a
# little every time without depending on luck; the targets run side by side), then the tests, the
# test files side by side too (prove -j; tests/cases.t runs its cases in parallel itself).
# `make fuzz` is the long exploration.
# The builds it needs (the library, the sanitized unit tests, the fuzz targets) and the lint run
# side by side too, one job per CPU: one after the other they were half of its time on 2 cores.
TEST_FUZZ_SECONDS ?= 2
# Four test files at a time on any machine: most of their time is waiting on purpose (rate-limit
# windows, a sandbox holding its answers), not computing; nothing depends on the machine's speed.
# Under a load average of 8 on 2 cores the test files took 140 s at 4, 179 s at 2.
PROVE_JOBS ?= 4
TEST_BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: $(BUILD)/.deps-test
	@# The packages first, one apt-get at a time.
	@$(MAKE) --no-print-directory $(BUILD)/.deps-build $(FUZZ_DIR)/.deps && tools/deps.sh lint
	@$(MAKE) --no-print-directory -j$(TEST_BUILD_JOBS) $(LIB) unit fuzz-build lint
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) FUZZ_SEED=1
	$(TEST_STATE) IX_LIB=$(LIB) $(PROVE) -j$(PROVE_JOBS) $(SQL_TESTS) $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

# The long runs, apart from `make test` so that it stays within 3 minutes on an idle 2-core
# machine: every fuzz target explored for FUZZ_SECONDS (30 s each, not 2), the stress test at
# IX_STRESS_SCALE (3: three times the threads and queries of `make test`'s run) and the
# differential test over more seeds. .ci/run runs both. The fuzz runs start from a fixed seed
# (CHECK_LONG_FUZZ_SEED) so that a gate's failure can be replayed; `make fuzz` alone explores from a
# new one each time.
CHECK_LONG_FUZZ_SEED ?= 1
check-long: $(LIB) $(BUILD)/.deps-test
	$(MAKE) --no-print-directory fuzz FUZZ_SEED=$(CHECK_LONG_FUZZ_SEED)
	$(TEST_STATE) IX_STRESS_SCALE=$${IX_STRESS_SCALE:-3} IX_LIB=$(LIB) $(PROVE) tests/stress.t
	$(MAKE) --no-print-directory differential-long

# The differential test over more seeds and queries than make test runs (seeds 1-3, 1,000 each):
# ten seeds of 5,000 queries, a few minutes.
DIFF_LONG_SEEDS ?= 1,2,3,4,5,6,7,8,9,10
differential-long: $(LIB) $(BUILD)/.deps-test
	$(TEST_STATE) IX_LIB=$(LIB) IX_DIFF_SEEDS=$(DIFF_LONG_SEEDS) IX_DIFF_QUERIES=5000 \
	  $(PROVE) -v tests/differential.t

# The whole suite against a library built with AddressSanitizer and UBSan, preloaded into the
# (uninstrumented) sqlite3 shell.
$(BUILD)/asan/interactions.so: $(EXT_SOURCES) $(EXT_HEADERS) $(BUILD)/.deps-build
	@mkdir -p $(BUILD)/asan
	$(CC) $(BASE_CFLAGS) -O1 -g $(SANITIZE) $(LIB_LDFLAGS) -o $@ $(EXT_SOURCES) $(LDLIBS)

asan: $(BUILD)/asan/interactions.so unit $(BUILD)/.deps-test
	$(TEST_STATE) IX_STRESS_SCALE=$${IX_STRESS_SCALE:-3} IX_LIB=$(BUILD)/asan/interactions.so \
	IX_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(PROVE) $(SQL_TESTS) $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

valgrind: $(LIB) $(BUILD)/.deps-test
	@tools/deps.sh valgrind
	$(TEST_STATE) IX_LIB=$(LIB) IX_SQLITE3_WRAPPER="valgrind -q --error-exitcode=97 --leak-check=full \
	  --show-leak-kinds=definite --errors-for-leak-kinds=definite" $(PROVE) $(SQL_TESTS)

CLANG_FORMAT_FILES = $(EXT_SOURCES) $(EXT_HEADERS) $(wildcard tests/unit/*.c tests/unit/*.h) \
                     $(wildcard tests/fuzz/*.c tests/fuzz/*.h)

lint:
	@tools/deps.sh lint
	clang-format --dry-run --Werror $(CLANG_FORMAT_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iext $(EXT_SOURCES)
	@# No engine or provider function a reader needs a map for: cyclomatic complexity at most 30.
	@pmccabe $(EXT_SOURCES) | awk '$$1 > 25 { print "too complex (" $$1 " > 25): " $$6 ": " $$7; bad = 1 } \
	  END { exit bad }'

format:
	clang-format -i $(CLANG_FORMAT_FILES)

tidy:
	clang-tidy --quiet $(EXT_SOURCES) -- -std=c11 -D_DEFAULT_SOURCE -Iext

# The demo: the sandbox, a local CRM table, and example queries joining the two.
demo: $(LIB) $(BUILD)/.deps-test
	tools/with-sandbox.sh sqlite3 -bail :memory: ".load $(BUILD)/interactions" \
	  ".read examples/crm.sql" ".read sql/timeline.sql" ".read examples/demo.sql"

SANDBOX_PORT ?= 8765
sandbox: $(BUILD)/.deps-test
	@echo "Point the tables at it with:  SANDBOX_URL=http://127.0.0.1:$(SANDBOX_PORT) . examples/sandbox.env"
	python3 tests/sandbox/server.py --port $(SANDBOX_PORT)

# `.load interactions` (no path) finds the library only in a directory dlopen searches by itself:
# on Debian that is /usr/lib/<multiarch>, not /usr/local/lib, hence these defaults. With another
# LIBDIR, load it by its path.
PREFIX   ?= /usr
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR   ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
DATADIR  ?= $(PREFIX)/share/sqlite-interactions

install: $(LIB)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(LIB) $(DESTDIR)$(LIBDIR)/interactions.so
	install -m 0644 $(wildcard sql/*.sql) README.md $(DESTDIR)$(DATADIR)/
	@# The pages the README links to, at the same relative paths, so its links work where installed.
	install -d $(DESTDIR)$(DATADIR)/docs/tables $(DESTDIR)$(DATADIR)/docs/reference
	install -m 0644 $(wildcard docs/*.md) $(DESTDIR)$(DATADIR)/docs/
	install -m 0644 $(wildcard docs/tables/*.md) $(DESTDIR)$(DATADIR)/docs/tables/
	install -m 0644 $(wildcard docs/reference/*.md) $(DESTDIR)$(DATADIR)/docs/reference/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/interactions.so
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(BUILD)

include tests/fuzz/fuzz.mk
include bench/bench.mk
