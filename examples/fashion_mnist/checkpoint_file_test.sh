#!/usr/bin/env bash
# ctest: --checkpoint RUN.safetensors writes the checkpoint as one safetensors file (no checkpoint
# folder), and a run stopped by SIGTERM and resumed from that file ends bit for bit where an
# uninterrupted run ends: every tensor of the file (the data after its header) byte for byte, and
# the curve's loss and accuracy columns. The header differs only by the extras it holds (the curve's
# seconds column).
# usage: checkpoint_file_test.sh PROGRAM WORKDIR
set -euo pipefail
program=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
run=(--epochs 3 --limit 12000 --test-limit 1000 --batch-size 64 --threads 1 --seed 5)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# The tensors' bytes of a safetensors file: all that follows the 8-byte header length and the header.
data_bytes() {
    local n
    n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    tail -c +$((n + 9)) "$1"
}

"$program" "${run[@]}" --out "$work/full" --checkpoint "$work/full.safetensors" >"$work/full.log" 2>&1 ||
    fail "uninterrupted run: $(cat "$work/full.log")"
[ -f "$work/full.safetensors" ] || fail "no $work/full.safetensors"
[ -e "$work/full/checkpoint" ] && fail "a checkpoint folder was written too"

ckpt=$work/cut.safetensors
"$program" "${run[@]}" --out "$work/cut" --checkpoint "$ckpt" >"$work/cut.log" 2>&1 &
pid=$!
for _ in $(seq 6000); do
    grep -q "epoch 1/3:" "$work/cut.log" && break
    sleep 0.01
done
grep -q "epoch 1/3:" "$work/cut.log" || { kill -KILL $pid; fail "no 'epoch 1/3:' within a minute"; }
kill -s TERM $pid
rc=0
wait $pid || rc=$?
cat "$work/cut.log"
[ "$rc" -eq 143 ] || fail "exit code $rc after SIGTERM, expected 143"
grep -q -- "resume with: .* --resume $ckpt --checkpoint $ckpt --out $work/cut --threads 1" "$work/cut.log" ||
    fail "no resume command"
"$program" --resume "$ckpt" --checkpoint "$ckpt" --out "$work/cut" --threads 1 >"$work/resumed.log" 2>&1 ||
    fail "resuming failed: $(cat "$work/resumed.log")"
tail -n 3 "$work/resumed.log"
cmp <(data_bytes "$work/full.safetensors") <(data_bytes "$ckpt") || fail "the tensors differ from the uninterrupted run's"
diff <(cut -d, -f1-4 "$work/full/curve.csv") <(cut -d, -f1-4 "$work/cut/curve.csv") || fail "the curves differ"
ls -A "$work" | grep -q '\.tmp-' && fail "temporary files left in $work: $(ls -A "$work")"
echo "stopped and resumed from a safetensors checkpoint: bit-identical to the uninterrupted run"
