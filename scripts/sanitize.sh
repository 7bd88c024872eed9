#!/usr/bin/env bash
# Runs tests under a sanitizer, each in its own build directory:
#   bash scripts/sanitize.sh          the whole suite (tests and examples) under AddressSanitizer +
#                                     UndefinedBehaviorSanitizer, in build-asan/
#   bash scripts/sanitize.sh thread   the concurrency tests under ThreadSanitizer, in build-tsan/
# Any sanitizer report fails the run. The install test is left out (it builds a consumer project
# of its own, without the sanitizers). -O1 -g1: reports keep file:line, and xtensor code is not
# unbearably slow as at -O0. Extra arguments go to cmake's configure. TAPEGRAD_ASAN_DIR /
# TAPEGRAD_TSAN_DIR choose other build directories.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=address
if [[ ${1:-} == thread || ${1:-} == address ]]; then
  mode=$1
  shift
fi
jobs=$(nproc 2>/dev/null || echo 2)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
configure() {
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DTAPEGRAD_BUILD_TESTS=ON \
    -DTAPEGRAD_BUILD_EXAMPLES=ON "${launcher[@]}" "${@:2}"
}
if [[ $mode == thread ]]; then
  dir=${TAPEGRAD_TSAN_DIR:-build-tsan}
  configure "$dir" -DTAPEGRAD_SANITIZE=thread "$@"
  cmake --build "$dir" -j"$jobs" --target concurrency
  # OpenBLAS is not instrumented: a race inside it could not be reported, and its own thread pool
  # is kept out of the picture by one BLAS thread (the tests' products are small anyway).
  export OPENBLAS_NUM_THREADS=1
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" -R "^concurrency:"
else
  dir=${TAPEGRAD_ASAN_DIR:-build-asan}
  configure "$dir" -DTAPEGRAD_SANITIZE=ON "$@"
  cmake --build "$dir" -j"$jobs"
  # halt_on_error: UBSan's checks are recoverable by default, and a report alone would not fail a test.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" -E "^install:"
fi
