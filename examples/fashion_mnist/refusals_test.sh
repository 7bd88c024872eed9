#!/usr/bin/env bash
# ctest: the main job refuses, before reading any data, an --out it could not write its outputs to,
# --threads beyond the hardware, an unknown --model or --schedule, and a --resume whose flags
# (--model included) contradict the checkpoint; what the user
# had there stays as it was.
# usage: refusals_test.sh PROGRAM WORKDIR
set -euo pipefail
program=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# refused CODE MESSAGE ARGS...: the program exits with CODE, says MESSAGE, and never reads the data.
refused() {
    local code=$1 message=$2 rc=0
    shift 2
    "$program" --threads 1 "$@" >out.log 2>&1 || rc=$?
    cat out.log
    [ "$rc" -eq "$code" ] || fail "$*: exit code $rc, expected $code"
    grep -qF -- "$message" out.log || fail "$*: no '$message' in the output"
    if grep -q "^data:" out.log; then fail "$*: read the data before refusing"; fi
}

echo "precious" >afile
refused 1 "--out 'afile/run': 'afile' is a file, where a folder must go" --out afile/run
mkdir -p mine/checkpoint && echo "notes" >mine/checkpoint/notes.txt
refused 1 "--out 'mine': checkpoint 'mine/checkpoint': it exists and is not a checkpoint" --out mine
mkdir -p curvedir/curve.csv
refused 1 "'curve.csv' is a folder, where the curve goes" --out curvedir
[ "$(cat afile)" = precious ] && [ "$(cat mine/checkpoint/notes.txt)" = notes ] || fail "user files changed"
max=$(nproc --all)
rc=0
"$program" --threads $((max + 1)) >out.log 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -qF "this machine has $max hardware threads" out.log || fail "--threads $((max + 1)): $(cat out.log)"

"$program" --epochs 1 --limit 256 --batch-size 64 --threads 1 --out small >small.log 2>&1 || fail "$(cat small.log)"
refused 1 "--resume 'small/checkpoint': --epochs is 2 here but 1 in the checkpoint" --resume small/checkpoint --epochs 2
refused 1 "--resume 'small/checkpoint': --model is cnn here but mlp in the checkpoint" --resume small/checkpoint --model cnn
refused 1 "not a tapegrad checkpoint?" --resume afile
refused 2 "--model is mlp or cnn, not resnet" --model resnet
refused 2 "--schedule is cosine, onecycle or none, not linear" --model cnn --schedule linear
echo "all refused"
