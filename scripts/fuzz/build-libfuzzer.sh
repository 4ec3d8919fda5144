#!/usr/bin/env bash
# Builds the libFuzzer targets (native/*.h without N-API or libuv) with ASan +
# UBSan into test/fuzz/.build/: native_fuzz (test/fuzz/native_fuzz.cc: the
# kernels) and read_fuzz (test/fuzz/read_fuzz.cc: the native transport's read
# path, frame boundaries and direct reads over any chunking).
#
#   scripts/fuzz/build-libfuzzer.sh            # clang++ from PATH (or CXX=clang++-14 ...)
#
# Needs clang with the fuzzer runtime: on Debian/Ubuntu
#   apt-get install -y clang libclang-rt-dev    (or clang-14 libclang-rt-14-dev)
set -euo pipefail
cd "$(dirname "$0")/../.."

CXX="${CXX:-}"
if [ -z "$CXX" ]; then
  for c in clang++ clang++-19 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then CXX="$c"; break; fi
  done
fi
if [ -z "$CXX" ] || ! "$CXX" --version 2>/dev/null | grep -qi clang; then
  echo "build-libfuzzer: clang++ not found (apt-get install -y clang libclang-rt-dev)" >&2
  exit 2
fi

out=test/fuzz/.build
mkdir -p "$out"
set -x
for target in native_fuzz read_fuzz; do
  "$CXX" -std=c++17 -O1 -g -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Wall -Wextra -Wno-unused-parameter \
    "test/fuzz/$target.cc" -o "$out/$target"
done
