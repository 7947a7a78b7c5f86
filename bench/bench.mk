# make bench: the extension, a client, measured against what the same pages cost without it
# (bench/README.md). A benchmark, not a test: it prints a table and never fails on a time. Included
# by the Makefile; on its own:
#   make -f Makefile -f bench/bench.mk bench
#   make bench BENCH_ARGS="--quick"            # a smoke run with small sizes
#   make bench BENCH_ARGS="--only sweep"       # one scenario: throughput, memory, sweep, latency, rate
#   IX_BENCH_MAX_IN=10000 make bench           # cap the largest IN list (default 50,000)
BENCH_ARGS ?=

.PHONY: bench

# nginx comes with the test dependencies (.deps-test), as for tests/nginx_limit.t.
bench: $(LIB) $(BUILD)/.deps-test
	@tools/deps.sh bench
	IX_LIB=$(LIB) python3 bench/run.py $(BENCH_ARGS)
