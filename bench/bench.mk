# make bench: how close the extension comes to the physical limits (bench/README.md). A benchmark,
# not a test: it prints a table and never fails on a time. Included by the Makefile; on its own:
#   make -f Makefile -f bench/bench.mk bench
#   make bench BENCH_ARGS="--quick"            # a smoke run with small sizes (about 20 s)
#   make bench BENCH_ARGS="--only rate"        # one scenario: latency, rate, throughput, memory
BENCH_ARGS ?=

.PHONY: bench

bench: $(LIB) $(BUILD)/.deps-test
	@tools/deps.sh bench
	IX_LIB=$(LIB) python3 bench/run.py $(BENCH_ARGS)
