#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build/Release (node-gyp with CXXFLAGS/LDFLAGS; binding.gyp is unchanged),
# and optionally runs the test suite against it.
#
#   scripts/fuzz/build-asan.sh                 # ASan build in build/Release of this tree
#   scripts/fuzz/build-asan.sh --worktree DIR  # copy the tree to DIR and build there:
#                                              # this tree's build/Release stays as it is
#   scripts/fuzz/build-asan.sh --test [vitest args]   # build, then run vitest against it
#                                              # (no args: every test folder, the native project)
#   scripts/fuzz/build-asan.sh --restore       # rebuild the normal addon (npx node-gyp rebuild)
#
# Node itself is not instrumented, so the ASan runtime must be preloaded
# (LD_PRELOAD) and leak detection turned off (V8's heap looks like leaks).
# While build/Release holds the ASan build, any Node process without LD_PRELOAD
# that loads wsbolt ABORTS ("ASan runtime does not come first in initial
# library list"; not a catchable error, so no fallback to JS): rebuild the
# normal addon right after (--restore), or better, use --worktree.
#
# What --test runs, and why:
# - only the `native` vitest project: the `js` project sets WSBOLT_NO_NATIVE=1,
#   so it never loads the addon and would only double the time;
# - every test folder: the addon sits under the frame reader of every server,
#   client, example, cluster worker and autobahn testee, so all of them use it.
#   Node children inherit LD_PRELOAD (they load the addon and need it); the
#   tests strip it for programs that are not Node (Chromium, Python,
#   redis-server: withoutSanitizers in test/support.ts).
# - test/adversarial in a second run, with ASan's quarantine off and its RSS
#   bounds doubled: they are for the normal allocator (see below).
# - Every sanitizer report, from vitest or from any child process, goes to
#   build/asan-reports/report.<pid> (log_path), and any such file fails the run: a
#   finding in a child whose exit status no test looks at still counts.
#   UBSan is built with -fno-sanitize-recover, so its first finding aborts too.
# - Everything is slower under ASan (every malloc of the process goes through
#   it): the default per-test and per-hook limits and the adversarial echo
#   bound are raised; the tests' own bounded waits are unchanged.
# Time: 5 to 7 minutes on 2 shared cores, the build included.
#
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$here"

mode=build
worktree=""
test_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --worktree) worktree="$2"; shift 2 ;;
    --test) mode=test; shift; test_args=("$@"); break ;;
    --restore) mode=restore; shift ;;
    *) echo "build-asan: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$mode" = restore ]; then
  npx node-gyp rebuild
  exit 0
fi

if [ -n "$worktree" ]; then
  # A private copy of the tree as git sees it (tracked files and new ones not
  # ignored: no build/, dist/, node_modules/, reports); node_modules is linked.
  mkdir -p "$worktree"
  worktree="$(cd "$worktree" && pwd)"
  # It is emptied first, but only when it is empty or a copy of wsbolt (an earlier worktree).
  if [ -n "$(ls -A "$worktree")" ] && ! grep -qs '"name": "wsbolt"' "$worktree/package.json"; then
    echo "build-asan: $worktree is neither empty nor an earlier worktree: not clearing it" >&2; exit 2
  fi
  find "$worktree" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |  # skip files deleted but not committed
    tar --null -T - -cf - | tar -xf - -C "$worktree"
  ln -sfn "$here/node_modules" "$worktree/node_modules"
  cd "$worktree"
  npx tsc -p tsconfig.build.json  # dist/, for the tests that load the built package
fi

# clang by default: its ASan runtime carries UBSan too, so UBSan reports also go
# to log_path (with CXX=g++, libubsan is a second runtime that reports to stderr
# only; the process still aborts). The rpath makes a Node without LD_PRELOAD
# abort as with gcc, rather than fail to load the addon and fall back to JS.
CXX="${CXX:-clang++}"
case "$CXX" in
  *clang*) CC="${CC:-clang}"; asan_lib="$("$CXX" -print-file-name=libclang_rt.asan-x86_64.so)"
           runtime_flags="-shared-libasan -Wl,-rpath,$(dirname "$asan_lib")" ;;
  *) CC="${CC:-gcc}"; asan_lib="$("$CXX" -print-file-name=libasan.so)"; runtime_flags="" ;;
esac
[ -f "$asan_lib" ] || { echo "build-asan: no ASan runtime for $CXX (Debian: apt-get install libclang-rt-14-dev)" >&2; exit 1; }
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
# -O1 keeps stack traces readable; binding.gyp's -O3 comes later on the line and wins, which is fine for ASan.
CXX="$CXX" CC="$CC" CXXFLAGS="$san -O1" CFLAGS="$san -O1" LDFLAGS="-fsanitize=address,undefined $runtime_flags" \
  npx node-gyp rebuild
# grep -c reads all of nm's output: with grep -q, nm can die of SIGPIPE and pipefail reports a false 'not instrumented'.
if [ "$(nm -D build/Release/wsbolt.node | grep -c __asan_)" = 0 ]; then
  echo "build-asan: build/Release/wsbolt.node is not instrumented (CXXFLAGS ignored?)" >&2
  exit 1
fi
echo "build-asan: $(pwd)/build/Release/wsbolt.node built with ASan + UBSan"
[ "$mode" = test ] || {
  echo "run tests with (or: $0 ${worktree:+--worktree $worktree }--test):"
  echo "  cd $(pwd) && LD_PRELOAD=$asan_lib ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 npx vitest run --project native --testTimeout=180000 --hookTimeout=120000"
  exit 0
}

report_dir="$(pwd)/build/asan-reports"  # build/ is ignored by git
rm -rf "$report_dir" && mkdir -p "$report_dir"
export LD_PRELOAD="$asan_lib"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}:log_path=$report_dir/report"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}:log_path=$report_dir/report"
# The adversarial tests' bounds on an honest client's echo round trip (500 ms) and on the server's RSS
# growth: twice those under ASan (its allocator keeps more resident: redzones, size classes never merged).
export ADVERSARIAL_RTT_MS="${ADVERSARIAL_RTT_MS:-1000}" ADVERSARIAL_RSS_FACTOR="${ADVERSARIAL_RSS_FACTOR:-2}"

# Check first that the instrumented addon is the one loaded (a silent fallback to JS would prove nothing).
node -e "
  const b = require('node-gyp-build')(process.cwd());
  const buf = Buffer.from('0123456789abcdef'.repeat(64));
  b.unmask(buf, Buffer.from([1, 2, 3, 4]), 0);
  console.log('build-asan: instrumented addon loads:', typeof b.scanFrames === 'function');
"
# Limits per test and per hook: three and four times the usual (tests that set their own keep them).
run_vitest() { npx vitest run --project native --testTimeout=180000 --hookTimeout=120000 "$@"; }
t0=$(date +%s)
set +e
if [ ${#test_args[@]} -gt 0 ]; then
  run_vitest "${test_args[@]}"; status=$?
else
  # test/adversarial bounds the server's RSS; ASan's quarantine (256 MiB of freed memory kept resident
  # to catch use after free) swamps those bounds, so that folder runs on its own without it
  # (overflows are still caught: the redzones stay). With vitest args, pass it yourself.
  # The packed-tarball install is left out: it packs from git (this copy has none) and loads the package's own
  # prebuild, not the instrumented addon, so it checks packaging, not memory safety (npm test runs it).
  run_vitest --exclude 'test/adversarial/**' --exclude 'test/package/install-without-compiler.test.ts'; status=$?
  ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0" run_vitest test/adversarial; s2=$?
  [ "$status" -ne 0 ] || status=$s2
fi
set -e
echo "build-asan: vitest exit status $status after $(( $(date +%s) - t0 )) s"
if [ -n "$(ls -A "$report_dir")" ]; then
  for f in "$report_dir"/*; do echo "== $f"; cat "$f"; done
  echo "build-asan: sanitizer reports above (from vitest or a child process)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit $status
