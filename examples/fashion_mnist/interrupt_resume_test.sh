#!/usr/bin/env bash
# ctest: runs of the main job stopped by real signals, then continued with --resume, end bit for
# bit where an uninterrupted run ends (every .npy of the checkpoint byte for byte, and the curve's
# loss and accuracy columns):
#   SIGINT during epoch 2 (stops after the current step: exit 130, checkpoint of that step),
#   SIGTERM after epoch 2 (exit 143), and two SIGINTs at once (the second may kill the save in
#   progress: the previous checkpoint must still resume, and the next save removes the debris).
# usage: interrupt_resume_test.sh PROGRAM WORKDIR [FLAGS...] (FLAGS override the run's, e.g.
# --model cnn --limit 1536: a smaller slice, the signals still landing mid-epoch)
set -euo pipefail
program=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
run=(--epochs 3 --limit 12000 --test-limit 1000 --batch-size 64 --threads 1 --seed 5 "${@:3}")

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# same DIR_A DIR_B: identical checkpoints (.npy bytes: weights, buffers such as batch norm's
# running statistics, optimiser state) and curves (all but the seconds column).
same() {
    shopt -s nullglob
    for f in "$1"/checkpoint/model/*.npy "$1"/checkpoint/buffers/*.npy "$1"/checkpoint/optimizer/*.npy; do
        cmp "$f" "$2/${f#"$1"/}" || fail "$2: ${f#"$1"/} differs from the uninterrupted run's"
    done
    diff <(cut -d, -f1-4 "$1/curve.csv") <(cut -d, -f1-4 "$2/curve.csv") || fail "$2: the curves differ"
}

# interrupt NAME "SIGNALS" WAIT_FOR CODE: starts a run, sends the signals (kill -s names) once its
# output shows WAIT_FOR, checks the exit code, resumes it and compares with the uninterrupted run.
interrupt() {
    local out=$work/$1 log=$work/$1.log code=$4
    "$program" "${run[@]}" --out "$out" >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 6000); do
        grep -q "$3" "$log" && break
        sleep 0.01
    done
    grep -q "$3" "$log" || { kill -KILL $pid; fail "no '$3' within a minute: $(cat "$log")"; }
    for signal in $2; do kill -s "$signal" $pid; done
    local rc=0
    wait $pid || rc=$?
    cat "$log"
    [ "$rc" -eq "$code" ] || fail "$1: exit code $rc after $2, expected $code"
    if [ "$2" != "INT INT" ]; then  # after two signals, the first message may have been cut short
        grep -q "SIG$2 received: stopped after" "$log" || fail "$1: no message saying where it stopped"
        grep -q -- "resume with: .* --resume $out/checkpoint --out $out --threads 1" "$log" || fail "$1: no resume command"
    fi
    "$program" --resume "$out/checkpoint" --out "$out" --threads 1 >"$out.resumed.log" 2>&1 ||
        fail "$1: resuming failed: $(cat "$out.resumed.log")"
    tail -n 3 "$out.resumed.log"
    ls -A "$out" | grep -q '\.tmp-' && fail "$1: temporary folders left in $out: $(ls -A "$out")"
    same "$work/full" "$out"
}

"$program" "${run[@]}" --out "$work/full" >"$work/full.log" 2>&1 || fail "uninterrupted run: $(cat "$work/full.log")"
# The signal usually lands among epoch 2's steps (188 of the MLP's); a few tries make sure that case is covered.
for attempt in 1 2 3; do
    interrupt "sigint$attempt" INT "epoch 1/3:" 130
    grep -q "stopped after step" "$work/sigint$attempt.log" && break
    [ "$attempt" -lt 3 ] || fail "three SIGINTs never landed in the middle of an epoch"
done
interrupt sigterm TERM "epoch 2/3:" 143
interrupt twice "INT INT" "epoch 1/3:" 130
echo "interrupted and resumed runs are bit-identical to the uninterrupted one"
