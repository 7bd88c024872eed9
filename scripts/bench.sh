#!/usr/bin/env bash
# Side-by-side benchmarks: builds bench/ (Google Benchmark; LibTorch's program only when
# libtorch-dev is installed), runs tapegrad, the raw-BLAS floor and LibTorch alternately in
# separate processes for several rounds, prints min/median and ratios, writes bench/RESULTS.md.
# Then trains on Fashion-MNIST with the example's recipe, tapegrad's example and its LibTorch port
# alternately, for the epoch-time and peak-RSS targets ($FASHION_EPOCHS epochs, default 2; 0, or
# the data not installed, skips it). Then the CNN of `fashion_mnist --model cnn` beside its LibTorch
# port, with the example's recipe, $CNN_EPOCHS epochs (default 15, the recipe's; 0 skips it),
# $CNN_ROUNDS rounds (default 1), the two alternating. Then the character-level models of examples/char_transformer
# and bench/libtorch_char_model on the fortunes corpus, once each: the transformer for $CHAR_STEPS
# steps (default 1500, the recipe's; 0 skips both), the LSTM for $CHAR_LSTM_STEPS (default 250).
# Then the data-parallel MLP (issue 16) under mpirun at 1 and 2 ranks, tapegrad's DataParallel beside
# LibTorch on Gloo, $DIST_STEPS timed steps per run (default 300; 0, or no MPI, skips it), alternating.
# Usage: scripts/bench.sh [rounds=5] [benchmark filter regex]. Build dir: $BENCH_BUILD_DIR or build-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
filter=${2:-.}
build=${BENCH_BUILD_DIR:-build-bench}
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCH=ON >/dev/null
programs=(tapegrad floor)
targets=(bench_tapegrad bench_floor bench_alloc fashion_mnist char_transformer)
if grep -q '^Torch_DIR:PATH=.*-NOTFOUND' "$build/CMakeCache.txt" || ! grep -q '^Torch_DIR:PATH=' "$build/CMakeCache.txt"; then
  echo "bench: LibTorch not found (scripts/install_deps.sh --bench installs it); running tapegrad and the floor only"
else
  programs+=(libtorch)
  targets+=(bench_libtorch libtorch_fashion_mnist libtorch_char_model)
fi
# The data-parallel programs exist only when MPI (tapegrad::distributed) and Gloo's headers are found.
available=$(cmake --build "$build" --target help)
for t in bench_distributed libtorch_distributed_bench; do
  if grep -q "^\.\.\. $t\b\|^$t:" <<<"$available"; then targets+=("$t"); fi
done
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

out="$build/bench-results"
rm -rf "$out"
mkdir -p "$out"
for ((r = 1; r <= rounds; r++)); do
  for p in "${programs[@]}"; do
    echo "bench: round $r/$rounds: $p"
    # A warm-up per benchmark (each program alike): the first iterations of a large workload pay for
    # mapping fresh memory, which pools and allocators only serve from the second one on.
    "$build/bench/bench_$p" --benchmark_filter="$filter" --benchmark_min_time="${BENCH_MIN_TIME:-0.3}" \
      --benchmark_min_warmup_time="${BENCH_WARMUP_TIME:-0.5}" \
      --benchmark_format=json --benchmark_out="$out/$p-round$r.json" --benchmark_out_format=json >/dev/null
  done
done

fashion_data=/usr/share/datasets/fashion-mnist
epochs=${FASHION_EPOCHS:-2}
if [[ $epochs == 0 ]]; then
  echo "bench: FASHION_EPOCHS=0, skipping the Fashion-MNIST comparison"
elif [[ -f $fashion_data/train-images-idx3-ubyte.gz && -x /usr/bin/time ]]; then
  # Runs in the example's stdout format (epoch lines with samples/s), with /usr/bin/time -v's peak RSS.
  fashion() {
    local name=$1 r=$2
    shift 2
    echo "bench: round $r/$rounds: fashion-mnist $name"
    /usr/bin/time -v -o "$out/fashion-$name-round$r.time" "$@" >"$out/fashion-$name-round$r.txt"
  }
  for ((r = 1; r <= rounds; r++)); do
    # tapegrad at its defaults; the example's own recipe minus the cosine schedule (PyTorch's has none).
    fashion tapegrad "$r" "$build/examples/fashion_mnist" --epochs "$epochs" --schedule none --seed 0 \
      --data "$fashion_data" --out "$out/fashion_mnist"
    if [[ " ${programs[*]} " == *" libtorch "* ]]; then
      for threads in 1 2; do
        fashion "libtorch-blas$threads" "$r" "$build/bench/libtorch_fashion_mnist" --epochs "$epochs" \
          --threads "$threads" --seed 0 --data "$fashion_data"
      done
    fi
  done
else
  echo "bench: Fashion-MNIST data ($fashion_data) or /usr/bin/time missing; skipping the epoch-time comparison"
fi

cnn_epochs=${CNN_EPOCHS:-15}
cnn_rounds=${CNN_ROUNDS:-1}
if [[ $cnn_epochs == 0 ]]; then
  echo "bench: CNN_EPOCHS=0, skipping the Fashion-MNIST CNN"
elif [[ -f $fashion_data/train-images-idx3-ubyte.gz && -x /usr/bin/time ]]; then
  # As the MLP's runs: the example's stdout (epoch lines with samples/s) and /usr/bin/time -v's peak RSS.
  cnn() {
    local name=$1 r=$2
    shift 2
    echo "bench: round $r/$cnn_rounds: fashion-mnist cnn $name ($cnn_epochs epochs)"
    /usr/bin/time -v -o "$out/cnn-$name-round$r.time" "$@" >"$out/cnn-$name-round$r.txt"
  }
  for ((r = 1; r <= cnn_rounds; r++)); do
    # Both with the example's cnn recipe (its defaults); tapegrad picks its threads itself, LibTorch
    # runs with its fastest setting for this model on 2 cores: 2 intra-op threads, OpenBLAS 1 (one
    # epoch in one comparison: 32 s, against 51 s at 1 intra-op and 1 OpenBLAS thread, 59 s at 1 and 2).
    cnn tapegrad "$r" "$build/examples/fashion_mnist" --model cnn --epochs "$cnn_epochs" --seed 0 \
      --data "$fashion_data" --out "$out/fashion_cnn"
    if [[ " ${programs[*]} " == *" libtorch "* ]]; then
      cnn libtorch-intra2 "$r" "$build/bench/libtorch_fashion_mnist" --model cnn --epochs "$cnn_epochs" \
        --threads 1 --intra-op 2 --seed 0 --data "$fashion_data"
    fi
  done
else
  echo "bench: Fashion-MNIST data ($fashion_data) or /usr/bin/time missing; skipping the CNN"
fi

char_steps=${CHAR_STEPS:-1500}
lstm_steps=${CHAR_LSTM_STEPS:-250}
if [[ $char_steps == 0 ]]; then
  echo "bench: CHAR_STEPS=0, skipping the character-level models"
elif [[ -d /usr/share/games/fortunes && -x /usr/bin/time ]]; then
  # One training run per program and model (minutes each), with /usr/bin/time -v's peak RSS.
  char() {
    local name=$1
    shift
    echo "bench: character-level model: $name"
    /usr/bin/time -v -o "$out/char-$name.time" "$@" >"$out/char-$name.txt"
  }
  char tapegrad-transformer "$build/examples/char_transformer" --steps "$char_steps" --sample 0 \
    --out "$out/char_transformer"
  char tapegrad-lstm "$build/examples/char_transformer" --model lstm --steps "$lstm_steps" \
    --eval-every "$lstm_steps" --sample 0 --out "$out/char_lstm"
  if [[ " ${programs[*]} " == *" libtorch "* ]]; then
    char libtorch-transformer "$build/bench/libtorch_char_model" --steps "$char_steps"
    char libtorch-lstm "$build/bench/libtorch_char_model" --model lstm --steps "$lstm_steps" --eval-every "$lstm_steps"
  fi
else
  echo "bench: the fortunes corpus or /usr/bin/time missing; skipping the character-level models"
fi

dist_steps=${DIST_STEPS:-300}
if [[ $dist_steps == 0 ]]; then
  echo "bench: DIST_STEPS=0, skipping the data-parallel MLP"
elif [[ -x $build/bench/bench_distributed ]] && command -v mpirun >/dev/null; then
  # The Fashion-MNIST MLP trained data-parallel (per-rank batch 128), 1 rank against 2 with one BLAS
  # thread each (issue 16), alternating: tapegrad's DataParallel at PyTorch's default bucket cap
  # (25 MB: the MLP's 0.94 MB of gradients in one bucket, nothing to overlap) and at 0.1 MB (four
  # buckets), and LibTorch's C++ recipe on Gloo (allreduce after backward). Every run, 1 rank
  # included, goes through mpirun; Open MPI needs --oversubscribe for 2 ranks on 2 cores, and
  # --allow-run-as-root as root (containers, CI).
  launch=(env OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe)
  if [[ $(id -u) == 0 ]]; then launch+=(--allow-run-as-root); fi
  dist() {
    local name=$1 ranks=$2 r=$3
    shift 3
    echo "bench: round $r/$rounds: data-parallel MLP, $name, $ranks rank(s), $dist_steps steps"
    "${launch[@]}" -np "$ranks" "$@" --steps "$dist_steps" >"$out/dist-$name-ranks$ranks-round$r.txt"
  }
  for ((r = 1; r <= rounds; r++)); do
    for ranks in 1 2; do
      dist tapegrad-cap25 "$ranks" "$r" "$build/bench/bench_distributed" --bucket-cap-mb 25
      dist tapegrad-cap0.1 "$ranks" "$r" "$build/bench/bench_distributed" --bucket-cap-mb 0.1
      # A deeper MLP, whose gradient bytes are spread over its layers: what the buckets can hide.
      dist tapegrad-deep-cap1 "$ranks" "$r" "$build/bench/bench_distributed" --hidden 1024,1024,1024 --bucket-cap-mb 1
      if [[ -x $build/bench/libtorch_distributed_bench ]]; then
        # Gloo's ranks meet through a FileStore: a fresh path per run.
        dist libtorch-gloo "$ranks" "$r" "$build/bench/libtorch_distributed_bench" \
          --store "$out/gloo-store-ranks$ranks-round$r"
      fi
    done
  done
else
  echo "bench: bench_distributed (needs MPI: libopenmpi-dev) or mpirun missing; skipping the data-parallel MLP"
fi

echo "bench: counting heap allocations per step"
"$build/bench/bench_alloc" >"$out/alloc.md"

# What a consumer pays to compile one translation unit that includes the umbrella header, beside
# the xtensor headers alone (Release flags, the build tree's include roots; best of 3).
echo "bench: timing a consumer translation unit's compilation"
compile_seconds() {
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    ${CXX:-c++} -std=c++20 -O2 -I"$build/layers/umbrella" -I"$build/layers/nn" -I"$build/layers/data" \
      -I"$build/layers/ops" -I"$build/layers/autograd" -I"$build/generated/ops" -c "$1" -o /dev/null
    t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 $best" | awk '{d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3}')
  done
  echo "$best"
}
umbrella=$(compile_seconds bench/compile/umbrella.cpp)
xtensor=$(compile_seconds bench/compile/xtensor_only.cpp)
{
  echo "| translation unit | compile time (g++ -O2, best of 3) |"
  echo "|---|---|"
  echo "| \`#include <tapegrad/tapegrad.hpp>\` and a backward (bench/compile/umbrella.cpp) | $(printf %.2f "$umbrella") s |"
  echo "| \`#include <xtensor/xarray.hpp>\`, \`<xtensor/xmath.hpp>\`, the same arithmetic (bench/compile/xtensor_only.cpp) | $(printf %.2f "$xtensor") s |"
  echo "| ratio | $(echo "$umbrella $xtensor" | awk '{printf "%.2fx", $1 / $2}') |"
} >"$out/compile.md"

machine="$out/machine.md"
{
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores ($(lscpu | sed -n 's/^Flags:.*\(avx512f\).*/AVX-512/p'))"
  echo "- Load average at the end of the run: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share the machine)"
  echo "- Compiler: $(${CXX:-c++} --version | head -1)"
  for pkg in libopenblas0-pthread libtorch1.13 libbenchmark1debian xtensor-dev; do
    v=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || echo "not installed")
    echo "- $pkg: $v"
  done
  echo "- tapegrad: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)'), OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}"
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$machine"
python3 bench/report.py "$out" "$machine" bench/RESULTS.md bench/NOTES.md
echo "bench: wrote bench/RESULTS.md"
