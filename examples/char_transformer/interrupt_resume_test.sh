#!/usr/bin/env bash
# ctest: a char_transformer run stopped by SIGINT mid-run, then continued with the command it
# prints, ends bit for bit where an uninterrupted run ends (every .npy of the checkpoint byte for
# byte, and the curve's loss columns). A small text (this repository's README) keeps it short.
# usage: interrupt_resume_test.sh PROGRAM DATA WORKDIR
set -euo pipefail
program=$1
data=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
run=(--model transformer --data "$data" --steps 9 --eval-every 3 --seed 4 --sample 0 --threads 1)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

"$program" "${run[@]}" --out "$work/full" >"$work/full.log" 2>&1 || fail "uninterrupted run: $(cat "$work/full.log")"

out=$work/stopped
"$program" "${run[@]}" --out "$out" >"$out.log" 2>&1 &
pid=$!
# The first evaluation's line, then the signal: it lands among steps 4-9.
for _ in $(seq 6000); do
    grep -q "step 3/9:" "$out.log" && break
    sleep 0.01
done
grep -q "step 3/9:" "$out.log" || { kill -KILL $pid; fail "no 'step 3/9:' within a minute: $(cat "$out.log")"; }
kill -s INT $pid
rc=0
wait $pid || rc=$?
cat "$out.log"
[ "$rc" -eq 130 ] || fail "exit code $rc after SIGINT, expected 130"
grep -q "SIGINT received: stopped after step" "$out.log" || fail "no message saying where it stopped"
resume=$(sed -n 's/.*resume with: //p' "$out.log")
[ -n "$resume" ] || fail "no resume command"
# The printed command, word for word (the paths here have no spaces).
$resume --sample 0 >"$out.resumed.log" 2>&1 || fail "resuming failed: $(cat "$out.resumed.log")"
grep -q "resuming from" "$out.resumed.log" || fail "the resumed run did not say where it resumed"
tail -n 3 "$out.resumed.log"
for f in "$work"/full/checkpoint/model/*.npy "$work"/full/checkpoint/optimizer/*.npy; do
    cmp "$f" "$out/${f#"$work"/full/}" || fail "${f#"$work"/full/} differs from the uninterrupted run's"
done
diff <(cut -d, -f1-4 "$work/full/curve.csv") <(cut -d, -f1-4 "$out/curve.csv") || fail "the curves differ"
echo "the interrupted and resumed run is bit-identical to the uninterrupted one"
