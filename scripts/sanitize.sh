#!/usr/bin/env bash
# Builds the whole test suite (tests and examples) with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ and runs it with ctest; any sanitizer report fails the run. The install test is
# left out (it builds a consumer project of its own, without the sanitizers).
# -O1 -g1: sanitizer reports keep file:line, and xtensor code is not unbearably slow as at -O0.
# Extra arguments go to cmake's configure. Set TAPEGRAD_ASAN_DIR to use another build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${TAPEGRAD_ASAN_DIR:-build-asan}
jobs=$(nproc 2>/dev/null || echo 2)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DTAPEGRAD_SANITIZE=ON -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_EXAMPLES=ON "${launcher[@]}" "$@"
cmake --build "$dir" -j"$jobs"
# allocator_may_return_null: an allocation too large for memory is std::bad_alloc, as without ASan
# (tests check that tapegrad turns it into a ResourceError). halt_on_error: UBSan's checks are recoverable by default, and a report alone would not fail a test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ctest --test-dir "$dir" --output-on-failure -j"$jobs" -E "^install:"
