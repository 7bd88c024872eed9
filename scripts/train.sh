#!/usr/bin/env bash
# The main job: installs dependencies, builds, and trains the Fashion-MNIST MLP on the real
# data. Arguments go to the example (try --help); outputs land in out/fashion_mnist/ (--out
# changes it): `bash scripts/train.sh fashion_mnist --model cnn --out out/fashion_cnn` trains the CNN.
# `bash scripts/train.sh char_transformer [flags]` trains the character-level transformer of
# examples/char_transformer on Debian's fortunes corpus instead (outputs in out/char_transformer/).
set -euo pipefail
cd "$(dirname "$0")/.."
example=fashion_mnist
if [[ $# -gt 0 && $1 != -* ]]; then
  example=$1
  shift
fi
case $example in
  fashion_mnist | char_transformer) ;;
  *)
    echo "train.sh: no example '$example' (fashion_mnist, char_transformer)" >&2
    exit 2
    ;;
esac
bash scripts/install_deps.sh
bash scripts/build.sh
"./build/examples/$example" --out "out/$example" "$@"
