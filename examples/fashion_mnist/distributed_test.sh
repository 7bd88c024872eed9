#!/usr/bin/env bash
# ctest: the main job with --distributed under mpirun (oversubscribed on a small machine).
#  1. The same run at any rank count: 1 rank (no launcher), 2 and 4 ranks, each rank taking 1/N of
#     every batch from the same DistributedSampler order, give the same curve (train and test loss,
#     test accuracy) up to rounding (see close()).
#  2. A signal to one rank stops every rank after the same step: rank 0 writes the checkpoint of
#     that step, all exit 143, and `mpirun ... --resume` ends byte for byte where the uninterrupted
#     2-rank run ends (so runs with a fixed rank count repeat bit for bit).
#  3. Ctrl-C on mpirun (Open MPI then sends SIGTERM to every rank and SIGKILL a second later), at
#     whatever moment: the checkpoint on disk is never half written: the run resumes from it and
#     again ends byte for byte where the uninterrupted run ends.
#  4. A 2-rank checkpoint resumes on 4 ranks (the data order does not depend on the rank count).
# usage: distributed_test.sh PROGRAM MPIEXEC WORKDIR
set -euo pipefail
program=$1
mpiexec=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
tests=1000  # test images evaluated (--test-limit)
run=(--distributed --epochs 3 --limit 6000 --test-limit $tests --batch-size 64 --threads 1 --seed 5)
mpi() { local n=$1; shift; "$mpiexec" -np "$n" --oversubscribe "$program" "$@"; }

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# same DIR_A DIR_B: byte-identical checkpoints and curves (all but the seconds column).
same() {
    for f in "$1"/checkpoint/model/*.npy "$1"/checkpoint/optimizer/*.npy; do
        cmp "$f" "$2/${f#"$1"/}" || fail "$2: ${f#"$1"/} differs from $1's"
    done
    diff <(cut -d, -f1-4 "$1/curve.csv") <(cut -d, -f1-4 "$2/curve.csv") || fail "$2: the curves differ"
}

# close DIR_A DIR_B: the same run up to rounding. The sums over ranks and the per-rank means are
# float32 sums in another order, which differ in the last bits; training carries such differences
# on and Adam amplifies them a little every step (about 1e-6 after the first steps, up to 1e-3 after
# a few hundred steps). So epoch 1's losses must agree to 1e-4 relative and its accuracy within 1 of the
# 1000 test images, the later epochs' to 5e-3 and 2 images. A real difference (a wrong share of the
# data, sums instead of means: N times the step size) moves epoch 1's loss by percents.
close() {
    paste -d, <(tail -n +2 "$1/curve.csv") <(tail -n +2 "$2/curve.csv") | awk -F, -v tests=$tests '
        function rel(x, y) { d = x - y; if (d < 0) d = -d; return d / (y < 0 ? -y : y) }
        { n = NF / 2; loss = NR == 1 ? 1e-4 : 5e-3; images = NR == 1 ? 1 : 2
          if ($1 != $(n + 1)) { print "epoch " $1 " against " $(n + 1); bad = 1 }
          if (rel($2, $(n + 2)) > loss || rel($3, $(n + 3)) > loss) { print "losses differ: " $0; bad = 1 }
          d = $4 - $(n + 4); if (d < 0) d = -d; if (d * tests > images + 0.5) { print "accuracies differ: " $0; bad = 1 } }
        END { if (NR != 3) { print NR " epochs compared, expected 3"; bad = 1 }; exit bad }' ||
        fail "$2's curve is not $1's"
}

"$program" "${run[@]}" --out "$work/one" >"$work/one.log" 2>&1 || fail "one rank: $(cat "$work/one.log")"
grep -q "distributed: 1 ranks" "$work/one.log" || fail "one rank without mpirun: $(cat "$work/one.log")"
for n in 2 4; do
    mpi $n "${run[@]}" --out "$work/n$n" >"$work/n$n.log" 2>&1 || fail "$n ranks: $(cat "$work/n$n.log")"
    grep -q "distributed: $n ranks, each $((64 / n)) samples of every batch of 64" "$work/n$n.log" ||
        fail "$n ranks: $(cat "$work/n$n.log")"
    [ "$(grep -c "final test accuracy" "$work/n$n.log")" -eq 1 ] || fail "$n ranks: rank 0 alone must report"
    close "$work/one" "$work/n$n"
done
tail -n 3 "$work/n2.log"

# wait_for LOG TEXT: until LOG shows TEXT (a minute at most).
wait_for() {
    for _ in $(seq 6000); do
        grep -q "$2" "$1" && return 0
        sleep 0.01
    done
    fail "no '$2' within a minute: $(cat "$1")"
}

# 2. SIGTERM to rank 1 alone (its pid: the process whose environment says rank 1).
out=$work/term
mpi 2 "${run[@]}" --out "$out" >"$out.log" 2>&1 &
launcher=$!
wait_for "$out.log" "epoch 1/3:"
rank1=""
for pid in $(pgrep -f -- "--out $out\$"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then rank1=$pid; fi
done
[ -n "$rank1" ] || fail "no rank 1 process found"
kill -TERM "$rank1"
rc=0
wait $launcher || rc=$?
cat "$out.log"
[ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was stopped by SIGTERM"
grep -q "SIGTERM received: stopped after" "$out.log" || fail "rank 0 did not stop with rank 1"
grep -q -- "resume with: mpirun -np 2 .* --resume $out/checkpoint --out $out --threads 1" "$out.log" ||
    fail "no resume command"
cp -a "$out/checkpoint" "$work/term_checkpoint"  # for 4.
mpi 2 --resume "$out/checkpoint" --out "$out" --threads 1 >"$out.resumed.log" 2>&1 ||
    fail "resuming on 2 ranks: $(cat "$out.resumed.log")"
tail -n 2 "$out.resumed.log"
same "$work/n2" "$out"

# 3. Ctrl-C on mpirun once the first epoch has ended: whatever it cuts short, a checkpoint resumes.
for when in "epoch 1/3:"; do
    out=$work/ctrlc
    mpi 2 "${run[@]}" --out "$out" >"$out.log" 2>&1 &
    launcher=$!
    wait_for "$out.log" "$when"
    kill -INT $launcher
    wait $launcher || true
    [ -f "$out/checkpoint/manifest.txt" ] || fail "Ctrl-C on mpirun left no checkpoint: $(ls -A "$out")"
    mpi 2 --resume "$out/checkpoint" --out "$out" --threads 1 >"$out.resumed.log" 2>&1 ||
        fail "resuming after Ctrl-C: $(cat "$out.resumed.log")"
    ls -A "$out" | grep -q '\.tmp-' && fail "temporary folders left in $out after the resumed run: $(ls -A "$out")"
    same "$work/n2" "$out"
done

# 4. The 2-rank checkpoint of 2., resumed on 4 ranks, ends where 1 rank ends.
mpi 4 --resume "$work/term_checkpoint" --out "$work/term4" --threads 1 >"$work/term4.log" 2>&1 ||
    fail "resuming a 2-rank checkpoint on 4 ranks: $(cat "$work/term4.log")"
close "$work/one" "$work/term4"
echo "the distributed main job: the same run on 1, 2 and 4 ranks, stopped and resumed byte for byte"
