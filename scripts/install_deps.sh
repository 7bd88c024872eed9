#!/usr/bin/env bash
# Installs every build, test and data dependency of tapegrad from Debian's packages.
# Idempotent: packages already present are skipped. Pass --bench to add the
# side-by-side benchmark dependencies (LibTorch, Gloo, Google Benchmark), --fuzz for clang's libFuzzer.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  xtensor-dev libxtensor-blas-dev libxsimd-dev xtl-dev
  libopenblas-dev libfmt-dev catch2 zlib1g-dev
  nlohmann-json3-dev  # the safetensors header's JSON parser (data/safetensors.cpp)
  dataset-fashion-mnist
  gnuplot-nox  # the main job's training-curve plot
  doxygen      # the API reference (scripts/api_docs.sh)
  graphviz     # dot: examples/graph_picture renders the graph of a model to PNG
  fortunes     # English text in /usr/share/games/fortunes: the character-level model's corpus
  libopenmpi-dev openmpi-bin  # tapegrad::distributed and its tests under mpirun
)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(libbenchmark-dev libtorch-dev libgloo-dev) ;;  # Gloo: LibTorch's c10d headers include it
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;  # libFuzzer for scripts/fuzz.sh
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install_deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
