#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build/Release (node-gyp with CXXFLAGS/LDFLAGS; binding.gyp is unchanged),
# and prints how to run the tests against it.
#
#   scripts/fuzz/build-asan.sh                 # ASan build in build/Release of this tree
#   scripts/fuzz/build-asan.sh --worktree DIR  # copy the sources to DIR and build there:
#                                              # this tree's build/Release stays as it is
#   scripts/fuzz/build-asan.sh --test [vitest args]   # build, then run vitest against it
#                                              # (default args: test/core test/native)
#   scripts/fuzz/build-asan.sh --restore       # rebuild the normal addon (npx node-gyp rebuild)
#
# Node itself is not instrumented, so the ASan runtime must be preloaded and
# leak detection turned off (V8's heap looks like leaks):
#   LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
#     WSBOLT_EXPECT_BACKEND=native npx vitest run --project native test/core test/native
# Only the native project means anything here (the js project does not load the addon).
# While build/Release holds the ASan build, any Node process without LD_PRELOAD
# that loads wsbolt ABORTS ("ASan runtime does not come first in initial
# library list"; not a catchable error, so no fallback to JS): rebuild the
# normal addon right after (--restore), or better, use --worktree.
# Under ASan everything runs several times slower: --test raises testTimeout.
#
# The compiler is gcc by default (its libasan is what LD_PRELOAD names); with
# CXX=clang++ use LD_PRELOAD=$(clang++ -print-file-name=libclang_rt.asan-x86_64.so).
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
  # A private copy: sources, tests and configuration; node_modules is linked.
  mkdir -p "$worktree"
  for item in src native test scripts binding.gyp package.json tsconfig.json tsconfig.build.json vitest.config.mts; do
    rm -rf "${worktree:?}/$item"
    cp -R "$item" "$worktree/$item"
  done
  ln -sfn "$here/node_modules" "$worktree/node_modules"
  cd "$worktree"
  npx tsc -p tsconfig.build.json  # dist/, for the tests that load the built package
fi

CXX="${CXX:-g++}"
case "$CXX" in
  *clang*) asan_lib="$("$CXX" -print-file-name=libclang_rt.asan-x86_64.so)" ;;
  *) asan_lib="$("$CXX" -print-file-name=libasan.so)" ;;
esac
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
# -O1 keeps stack traces readable; binding.gyp's -O3 comes later on the line and wins, which is fine for ASan.
CXX="$CXX" CC="${CC:-gcc}" CXXFLAGS="$san -O1" CFLAGS="$san -O1" LDFLAGS="-fsanitize=address,undefined" \
  npx node-gyp rebuild
if ! nm -D build/Release/wsbolt.node | grep -q __asan_; then
  echo "build-asan: build/Release/wsbolt.node is not instrumented (CXXFLAGS ignored?)" >&2
  exit 1
fi
echo "build-asan: $(pwd)/build/Release/wsbolt.node built with ASan + UBSan"
echo "run tests with:"
echo "  cd $(pwd) && LD_PRELOAD=$asan_lib ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 npx vitest run --project native --testTimeout=600000 test/core test/native test/fuzz"

if [ "$mode" = test ]; then
  [ ${#test_args[@]} -eq 0 ] && test_args=(test/core test/native)
  # Check first that the instrumented addon is the one loaded (a silent fallback to JS would prove nothing).
  LD_PRELOAD="$asan_lib" ASAN_OPTIONS=detect_leaks=0 node -e "
    const b = require('node-gyp-build')(process.cwd());
    const buf = Buffer.from('0123456789abcdef'.repeat(64));
    b.unmask(buf, Buffer.from([1, 2, 3, 4]), 0);
    console.log('build-asan: instrumented addon loads:', typeof b.scanFrames === 'function');
  "
  set +e
  LD_PRELOAD="$asan_lib" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" \
    npx vitest run --project native --testTimeout=600000 "${test_args[@]}"
  status=$?
  set -e
  echo "build-asan: vitest exit status $status"
  exit $status
fi
