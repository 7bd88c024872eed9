#!/usr/bin/env bash
# Rewrites README.md's op table (between its marker comments) from the op table's rows
# (tests/ops/rows_*.cpp, each row's `readme` line): builds op_table_readme in build/ (configuring
# it first if needed) and runs tests/ops/readme_ops.cmake. ctest fails while the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j2 --target op_table_readme
cmake -DGENERATOR=build/tests/ops/op_table_readme -DREADME=README.md -DMODE=update -P tests/ops/readme_ops.cmake
