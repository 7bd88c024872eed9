#!/usr/bin/env bash
# The main job: installs dependencies, builds, and trains the Fashion-MNIST MLP on the real
# data. Arguments go to the example (try --help); outputs land in out/fashion_mnist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
./build/examples/fashion_mnist --out out/fashion_mnist "$@"
