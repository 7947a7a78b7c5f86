#!/bin/sh
# Runs one libFuzzer target the way `make fuzz` and `make fuzz-regressions` do (tests/fuzz/fuzz.mk).
#
#   tests/fuzz/run.sh [-d DICT] regress TARGET
#   tests/fuzz/run.sh [-d DICT] fuzz TARGET [SEED_FILE_OR_DIR...]
#
# regress: runs every file in tests/fuzz/regressions/TARGET/ once; any crash, sanitizer report,
#          leak or timeout fails.
# fuzz:    regress first, then copies the seeds into $FUZZ_DIR/corpus/TARGET/ (kept between runs,
#          never in the repository) and fuzzes for $FUZZ_SECONDS. A crashing input is left under
#          $FUZZ_DIR/artifacts/TARGET/ and the script fails saying how to keep it as a regression.
#
# Environment: FUZZ_DIR (build/fuzz), FUZZ_SECONDS (30), FUZZ_SEED (libFuzzer -seed; empty =
# random, printed in the log), FUZZ_FLAGS (more libFuzzer flags, e.g. -jobs=4 or -max_len=65536).
set -eu

dict=""
if [ "${1:-}" = "-d" ]; then
  dict=$2
  shift 2
fi
mode=${1:?usage: run.sh [-d DICT] regress|fuzz TARGET [SEED...]}
target=${2:?usage: run.sh [-d DICT] regress|fuzz TARGET [SEED...]}
shift 2

FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
binary=$FUZZ_DIR/$target
regressions=tests/fuzz/regressions/$target
limits="-rss_limit_mb=2048 -timeout=10"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

[ -x "$binary" ] || { echo "run.sh: $binary is not built (make fuzz builds it)" >&2; exit 2; }

# ---- Regression inputs: each must run clean.
inputs=$(find "$regressions" -type f ! -name .gitkeep 2>/dev/null | LC_ALL=C sort)
if [ -n "$inputs" ]; then
  count=$(printf '%s\n' "$inputs" | wc -l)
  log=$FUZZ_DIR/$target.regress.log
  # shellcheck disable=SC2086 # one word per file; regression file names have no spaces
  if "$binary" $limits $inputs >"$log" 2>&1; then
    echo "$target: $count regression input(s) pass"
  else
    tail -n 40 "$log" >&2
    echo "$target: a regression input in $regressions/ fails again (log: $log)" >&2
    exit 1
  fi
else
  echo "$target: no regression inputs"
fi
[ "$mode" = regress ] && exit 0
[ "$mode" = fuzz ] || { echo "run.sh: unknown mode '$mode'" >&2; exit 2; }

# ---- Fuzzing for a bounded time.
corpus=$FUZZ_DIR/corpus/$target
artifacts=$FUZZ_DIR/artifacts/$target
mkdir -p "$corpus" "$artifacts"
for seed in "$@"; do
  if [ -d "$seed" ]; then
    find "$seed" -maxdepth 1 -type f ! -name .gitkeep -exec cp -f {} "$corpus/" \;
  elif [ -f "$seed" ]; then
    cp -f "$seed" "$corpus/"
  fi
done

log=$FUZZ_DIR/$target.log
set -- -max_total_time="$FUZZ_SECONDS" $limits -artifact_prefix="$artifacts/" -print_final_stats=1
[ -n "$dict" ] && set -- "$@" -dict="$dict"
[ -n "${FUZZ_SEED:-}" ] && set -- "$@" -seed="$FUZZ_SEED"
echo "$target: fuzzing for ${FUZZ_SECONDS}s (log: $log)"
# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
if "$binary" "$@" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1; then
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | sed "s/^/$target: /"
  exit 0
fi
# The report: from the first sanitizer, libFuzzer or invariant line (not the progress lines).
awk '/^==[0-9]+==|runtime error|invariant failed|^fuzz_|ERROR: libFuzzer|^SUMMARY/ { on = 1 }
     on && shown++ < 80' "$log" >&2
found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
echo "" >&2
if [ -n "$found" ]; then
  for file in $found; do
    echo "$target FOUND A FAILURE: the input is $file" >&2
    echo "  reproduce:  $binary $file" >&2
    echo "  keep it as a regression case:  cp $file $regressions/" >&2
  done
else
  echo "$target failed without writing an input (see $log)" >&2
fi
exit 1
