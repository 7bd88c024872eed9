#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (default 60 s each; FUZZ_SECONDS=N to change),
# starting from fuzz/corpus/<target>/. New interesting inputs go to build-fuzz/corpus/<target>/
# (copy the ones worth keeping into fuzz/corpus/); crash reproducers are written to
# fuzz/corpus/<target>/ directly, so that ctest replays them from then on.
# Needs clang (scripts/install_deps.sh --fuzz). Usage: scripts/fuzz.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
dir=build-fuzz
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(idx npy checkpoint shapes safetensors npz); fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S fuzz -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_NATIVE=OFF \
  "${launcher[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/%/_fuzz}"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  "$dir/${t}_fuzz" "$dir/corpus/$t" "fuzz/corpus/$t" -max_total_time="$seconds" -max_len=4096 \
    -rss_limit_mb=2048 -artifact_prefix="fuzz/corpus/$t/crash-" -print_final_stats=1 2>"$dir/$t.log" || {
    status=1
    echo "fuzz: $t FAILED; reproducer in fuzz/corpus/$t/, log in $dir/$t.log"
    tail -30 "$dir/$t.log"
  }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$dir/$t.log" | sed "s/^/  /" || true
done
exit $status
