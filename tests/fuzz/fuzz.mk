# libFuzzer targets (clang-14 from Debian): included by the top Makefile. See tests/fuzz/README.md.
#
#   make fuzz                  builds every target, replays its regressions, fuzzes each for
#                              $(FUZZ_SECONDS) seconds (default 30), $(FUZZ_JOBS) targets at a time
#   make fuzz-regressions      builds every target and only replays tests/fuzz/regressions/
#   make fuzz FUZZ_TARGETS=fuzz_url FUZZ_SECONDS=600 FUZZ_SEED=1
#
# Everything generated (objects, binaries, corpus, crashing inputs, logs) goes under build/fuzz/.

FUZZ_DIR      := $(or $(BUILD),build)/fuzz
FUZZ_CC       ?= clang-14
FUZZ_SECONDS  ?= 30
FUZZ_SEED     ?=
FUZZ_FLAGS    ?=
# SQLITE_CORE turns sqlite3ext.h's API macros into direct calls into libsqlite3, so the engine and
# providers run in the fuzz binary without being loaded as an extension.
FUZZ_CFLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer -g -O1 -DSQLITE_CORE -std=c11 -D_DEFAULT_SOURCE -Iext \
                 -Wall -Wextra
FUZZ_LDLIBS   := -lsqlite3 -lcurl -lcjson -lcrypto -lhiredis -lpthread
FUZZ_SOURCES  := $(or $(EXT_SOURCES),$(wildcard ext/*.c ext/*/*.c ext/*/*/*.c))
FUZZ_HEADERS  := $(wildcard ext/*/*.h ext/*/*/*.h tests/fuzz/*.h)
FUZZ_OBJECTS  := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SOURCES))

# One page-parser target per provider descriptor: every `const ix_provider <name>_provider = {` in
# ext/providers/*.c, so a new vendor needs no line here. Its dictionary, if any, is
# tests/fuzz/<vendor>.dict (vendor = the name's first word).
FUZZ_PAGE_PROVIDERS := $(shell sed -n 's/^const ix_provider \([a-z0-9_]*\)_provider = .*/\1/p' \
                         $(sort $(wildcard ext/providers/*.c)))
FUZZ_PAGE_TARGETS   := $(addprefix fuzz_page_,$(FUZZ_PAGE_PROVIDERS))
FUZZ_TARGETS        ?= $(FUZZ_PAGE_TARGETS) fuzz_url fuzz_timefmt fuzz_jsonarena fuzz_scrub

# Seeds, copied into build/fuzz/corpus/<target>/ before each run: hand-made ones in
# tests/fuzz/seeds/<target>/, and for page targets the shared tests/fuzz/seeds/fuzz_page/ and the
# vendors' own sample responses.
FUZZ_FIXTURES := $(wildcard tests/sandbox/fixtures/*.json)
fuzz_seeds     = tests/fuzz/seeds/$(1) $(if $(filter fuzz_page_% fuzz_jsonarena,$(1)),tests/fuzz/seeds/fuzz_page $(FUZZ_FIXTURES))
fuzz_dict      = $(wildcard tests/fuzz/$(firstword $(subst _, ,$(patsubst fuzz_page_%,%,$(1)))).dict)

.PHONY: fuzz fuzz-build fuzz-regressions

# Targets run side by side, FUZZ_JOBS at a time (default: one per CPU; each libFuzzer process uses
# one core), each target's output printed whole when it ends (--output-sync), so the log reads as
# if they had run one after another.
FUZZ_JOBS     ?= $(shell nproc 2>/dev/null || echo 1)

fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@$(MAKE) --no-print-directory -k -j$(FUZZ_JOBS) --output-sync=target FUZZ_MODE=fuzz \
	  $(addprefix fuzz-run-,$(FUZZ_TARGETS)) || { \
	  echo "make fuzz: failures in the targets named above. A new input: diagnose it and keep it in" \
	       "tests/fuzz/regressions/<target>/. A regression input: fix the code." >&2; exit 1; }

fuzz-regressions: fuzz-build
	@$(MAKE) --no-print-directory -k -j$(FUZZ_JOBS) --output-sync=target FUZZ_MODE=regress \
	  $(addprefix fuzz-run-,$(FUZZ_TARGETS)) || { \
	  echo "make fuzz-regressions: failures in the targets named above" >&2; exit 1; }

# One target's run (regress, or regress then fuzz): what `make fuzz` and `make fuzz-regressions`
# start once per target. The name is never a file, so it always runs.
FUZZ_MODE ?= fuzz
fuzz-run-%:
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED='$(FUZZ_SEED)' \
	  FUZZ_FLAGS='$(FUZZ_FLAGS)' sh tests/fuzz/run.sh \
	  $(if $(call fuzz_dict,$*),-d $(call fuzz_dict,$*)) $(FUZZ_MODE) $* \
	  $(if $(filter fuzz,$(FUZZ_MODE)),$(call fuzz_seeds,$*)) || { \
	  echo "$*: FAILED" >&2; exit 1; }

# Objects are kept (not intermediate) so a rebuild after one change compiles one file.
.SECONDARY: $(FUZZ_OBJECTS) $(patsubst %,$(FUZZ_DIR)/obj/tests/fuzz/%.o,$(FUZZ_TARGETS))

$(FUZZ_DIR)/.deps: tools/deps.sh
	@tools/deps.sh build fuzz
	@mkdir -p $(FUZZ_DIR) && touch $@

# The extension's sources, compiled once with the fuzzer's instrumentation and shared by all.
$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HEADERS) $(FUZZ_DIR)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/tests/fuzz/fuzz_page_%.o: tests/fuzz/fuzz_page.c $(FUZZ_HEADERS) $(FUZZ_DIR)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_PROVIDER=$*_provider -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_OBJECTS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LDLIBS)
