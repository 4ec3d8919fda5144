#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time.
#
#   scripts/fuzz/run-libfuzzer.sh [seconds] [target]   # default 60, native_fuzz (or read_fuzz)
#
# Seeds come from test/fuzz/corpus/ (read_fuzz: test/fuzz/corpus-read/; read
# only); inputs libFuzzer finds go to test/fuzz/.build/corpus/ (.build/corpus-read/
# for read_fuzz; the first corpus directory is where it writes).
# A crashing input is written to test/fuzz/.build/artifacts/ and copied into
# test/fuzz/corpus/ so that every later run replays it first. Extra libFuzzer
# flags can be passed in LIBFUZZER_FLAGS (e.g. "-jobs=2 -workers=2").
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
target="${2:-native_fuzz}"
case "$target" in
  native_fuzz) seeds=test/fuzz/corpus found=test/fuzz/.build/corpus ;;
  read_fuzz) seeds=test/fuzz/corpus-read found=test/fuzz/.build/corpus-read ;;
  *) echo "run-libfuzzer: unknown target $target (native_fuzz or read_fuzz)" >&2; exit 2 ;;
esac
bin=test/fuzz/.build/$target
if [ ! -x "$bin" ] || [ "test/fuzz/$target.cc" -nt "$bin" ] || [ -n "$(find native -newer "$bin" -name '*.h' 2>/dev/null)" ]; then
  scripts/fuzz/build-libfuzzer.sh || exit $?
fi
mkdir -p "$found" test/fuzz/.build/artifacts
log=test/fuzz/.build/last-run-$target.log

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
t0=$(date +%s)
# shellcheck disable=SC2086
"$bin" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=test/fuzz/.build/artifacts/ ${LIBFUZZER_FLAGS:-} \
  "$found" "$seeds" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - t0 ))

# The final stats (a crash prints them twice: take the last).
execs=$(grep -E '^stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2 + 0}')
rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
echo "run-libfuzzer: $target: ${execs} executions in ${elapsed}s (${rate}/s), corpus $(ls "$found" | wc -l) found + $(ls "$seeds" | wc -l) seeds, exit ${status}"
if [ "$status" -ne 0 ]; then
  for f in test/fuzz/.build/artifacts/*; do
    [ -f "$f" ] || continue
    cp "$f" "$seeds/finding-$(basename "$f")"
    echo "run-libfuzzer: kept $f as $seeds/finding-$(basename "$f") (replay: $bin $f)"
  done
fi
exit "$status"
