#!/bin/sh
# mpi.sh: native executables under Open MPI's mpirun against the same executable alone
# (docs/distributed.md):
#  - batch norm (tests/native/conv.gan), relativistic, MMD, Cramer, the exponential loss and
#    WGAN-GP (batch cut to 16), built in float64 with --ranks: two iterations on 2 processes (and
#    on 4 for batch norm and WGAN-GP) end with the parameters and optimizer state of the
#    single-process run within 1e-12 (Adam's and RMSProp's eps at 1e-4, as tests/shards.sh
#    explains); WGAN-GP in float32 within 1e-5; the 4-rank log says how many ranks;
#  - built with --exact (the process alone sums over the batch in the ranks' order), batch norm,
#    relativistic, MMD and WGAN-GP alone and on 2 and 4 ranks end bit-identical (tolerance 0);
#  - the collectives (tests/test_dist.c) on 3 and 4 ranks equal the rank-order sum bit for bit,
#    on either route (GANRT_ALLREDUCE=gather, =scatter: runtime/dist.c) and many tensors in one;
#  - a step's gradients are one group (one collective); two 4-rank runs, and a run whose sums
#    all take the gather route, are bit-identical;
#  - an executable launched on a process count it was not built for stops with a message that
#    says how to rebuild it;
#  - a rank killed in the middle of a run ends the job with an error, and the last checkpoint
#    is intact: it reads back, and runs resumed from it alone and on 2 ranks end equal.
# usage: sh tests/mpi.sh [FILE.gan ...]   (files named: only their comparisons)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$self")/jobs.sh"
# tests run as root in CI containers, and the ranks outnumber the cores
MPIRUN="mpirun --allow-run-as-root --oversubscribe"

if ! command -v mpirun > /dev/null; then
    echo "not ok - mpi: mpirun is not installed (make deps installs openmpi-bin)"
    exit 0
fi

# compare_ranks FILE DTYPE TOLERANCE RANKS: the file alone and on each count of RANKS (2,4)
compare_ranks() {
    name="mpi $(basename "$1") $2" work=$tmp/$(basename "$1" .gan)_$2
    mkdir -p "$work"
    src=$work/$(basename "$1")
    sh tests/small_batch.sh "$1" "$work/small.gan" 16
    sed 's/\<\(adam\|rmsprop\)(\([^)]\)/\1(eps: 1e-4, \2/g; s/\<\(adam\|rmsprop\)()/\1(eps: 1e-4)/g' "$work/small.gan" > "$src"
    if ! "$GANC" "$src" --dtype "$2" --ranks "$4" -o "$work/exe" > "$work/out" 2>&1; then
        check 1 "$name builds with --ranks $4" "$work/out"; return
    fi
    "$work/exe" --steps 2 --seed 3 --out "$work/alone" --quiet > "$work/out" 2>&1
    check $? "$name runs alone" "$work/out"
    for np in $(echo "$4" | tr , ' '); do
        $MPIRUN -np $np "$work/exe" --steps 2 --seed 3 --out "$work/np$np" --quiet > "$work/out" 2>&1 &&
            "$GANC" compare "$work/alone/ckpt/last.safetensors" "$work/np$np/ckpt/last.safetensors" \
                --tolerance "$3" >> "$work/out" 2>&1
        check $? "$name on $np ranks equals the single process within $3" "$work/out"
        grep -q "\"ranks\": $np" "$work/np$np/log.jsonl" 2> /dev/null
        check $? "$name: the log of the $np-rank run says so" "$work/np$np/log.jsonl"
    done
}

if [ $# -gt 0 ]; then
    for f in "$@"; do compare_ranks "$f" f64 1e-12 2,4; done
    exit 0
fi
compare_ranks tests/native/conv.gan f64 1e-12 2,4
for f in examples/ra_sgan_5gaussians.gan examples/mmd_gan.gan examples/cramer_gan.gan examples/lgan_exp.gan; do
    compare_ranks "$f" f64 1e-12 2
done
compare_ranks examples/wgan_gp_8gaussians.gan f64 1e-12 2,4
compare_ranks examples/wgan_gp_8gaussians.gan f32 1e-5 2

# --exact: the copies compare_ranks made, built for 2 and for 4 ranks, alone and on that many
# ranks, one thread each: bit-identical. The builds go side by side.
exact_ranks() { # exact_ranks FILE NP
    work=$tmp/$(basename "$1" .gan)_f64 exe=$tmp/$(basename "$1" .gan)_f64/exact$2
    name="mpi $(basename "$1") f64 --exact on $2 ranks"
    if ! "$GANC" "$work/$(basename "$1")" --dtype f64 --ranks "$2" --exact -o "$exe" > "$exe.out" 2>&1; then
        check 1 "$name: builds" "$exe.out"; return
    fi
    "$exe" --steps 2 --seed 3 --threads 1 --out "$exe.alone" --quiet > "$exe.out" 2>&1 &&
        $MPIRUN -np "$2" "$exe" --steps 2 --seed 3 --threads 1 --out "$exe.np" --quiet >> "$exe.out" 2>&1 &&
        "$GANC" compare "$exe.alone/ckpt/last.safetensors" "$exe.np/ckpt/last.safetensors" --tolerance 0 >> "$exe.out" 2>&1
    check $? "$name: alone and under mpirun, bit-identical" "$exe.out"
}
exact_files="tests/native/conv.gan examples/ra_sgan_5gaussians.gan examples/mmd_gan.gan examples/wgan_gp_8gaussians.gan"
for f in $exact_files; do
    for np in 2 4; do exact_ranks "$f" $np > "$tmp/exact_$(basename "$f" .gan)_$np" & done
done
wait
for f in $exact_files; do cat "$tmp/exact_$(basename "$f" .gan)_2" "$tmp/exact_$(basename "$f" .gan)_4"; done

# The collectives alone (tests/test_dist.c): the sums equal the rank-order sum bit for bit on
# both routes (gather; reduce-scatter + allgather, the ring's bytes) and the default choice.
[ -x "$(dirname "$GANC")/test_dist" ] || echo "not ok - mpi: $(dirname "$GANC")/test_dist is not built (make build/test_dist)"
for route in gather scatter ""; do
    for np in 3 4; do
        [ "$route" != scatter ] && [ $np = 3 ] && continue # 3 ranks: the uneven chunks
        GANRT_ALLREDUCE=$route $MPIRUN -np $np "$(dirname "$GANC")/test_dist" 2>&1 |
            sed "s/ - dist on/ - mpi: GANRT_ALLREDUCE=${route:-unset}: dist on/"
    done
done

# One collective for a step's gradients: every parameter gradient's allreduce_sum is in the
# step graph's last group, which codegen makes one call (runtime/dist.h's allreduce_group).
"$GANC" --emit=ir-grad --shards 4 examples/wgan_gp_8gaussians.gan > "$tmp/ir" 2>&1
awk '/^graph/ { g = $2 } / allreduce_sum / { n[g]++; if ($0 ~ / group=1 /) one[g]++ }
     END { for (g in n) if (n[g] != one[g]) exit 1; exit !(n["step_D"] >= 8 && n["step_G"] >= 8) }' "$tmp/ir"
check $? "mpi: WGAN-GP's steps sum all their gradients in one group (one collective per step)" "$tmp/ir"

# Bits: on 4 ranks (WGAN-GP's gradients, 0.5 MB each step, take the reduce-scatter route) a
# second run, and a run whose sums all take the gather route, end bit-identical to the first.
work=$tmp/wgan_gp_8gaussians_f64
$MPIRUN -np 4 "$work/exe" --steps 2 --seed 3 --out "$work/again" --quiet > "$work/out" 2>&1 &&
    "$GANC" compare "$work/np4/ckpt/last.safetensors" "$work/again/ckpt/last.safetensors" --tolerance 0 >> "$work/out" 2>&1
check $? "mpi: two runs on 4 ranks are bit-identical" "$work/out"
GANRT_ALLREDUCE=gather $MPIRUN -np 4 "$work/exe" --steps 2 --seed 3 --out "$work/gather" --quiet > "$work/out" 2>&1 &&
    "$GANC" compare "$work/np4/ckpt/last.safetensors" "$work/gather/ckpt/last.safetensors" --tolerance 0 >> "$work/out" 2>&1
check $? "mpi: reduce-scatter + allgather and gather + sum give the same bits on 4 ranks" "$work/out"

# built for 2 and 4 ranks, launched on 3
$MPIRUN -np 3 "$work/exe" --steps 1 --out "$work/np3" --quiet > "$work/out3" 2>&1
rc=$?
grep -q "launched on 3 ranks, but built without --ranks 3: rebuild with ganc FILE.gan --ranks 3" "$work/out3"
check $((rc == 0 ? 1 : $?)) "mpi: 3 ranks for an executable built for 2 and 4 is an error saying how to rebuild" "$work/out3"

# A rank killed mid-run: a checkpoint every 5 iterations (`sample every 5`); the rank processes
# are mpirun's children, found once the first checkpoint exists, and the last one is killed.
work=$tmp/kill
mkdir -p "$work"
sed 's/^sample every [0-9]*/sample every 5/' "$tmp/wgan_gp_8gaussians_f64/wgan_gp_8gaussians.gan" > "$work/k.gan"
"$GANC" "$work/k.gan" --dtype f64 --ranks 2 -o "$work/exe" > "$work/out" 2>&1
$MPIRUN -np 2 "$work/exe" --steps 1000000 --out "$work/run" --quiet > "$work/out" 2>&1 &
launcher=$!
for _ in $(seq 150); do [ -f "$work/run/ckpt/last.safetensors" ] && break; sleep 0.2; done
victim=$(pgrep -P "$launcher" | tail -1)
[ -n "$victim" ] && kill -9 "$victim"
wait "$launcher"
rc=$?
check $((rc == 0 || ${victim:-0} == 0)) "mpi: a killed rank ends the job with an error (status $rc)" "$work/out"
grep -q . "$work/out"
check $? "mpi: the killed job says why" "$work/out"
# The checkpoint reads back; runs resumed from it alone and on 2 ranks (--resume with any count)
# end equal.
"$GANC" compare "$work/run/ckpt/last.safetensors" "$work/run/ckpt/last.safetensors" > "$work/cmp" 2>&1 &&
    iter=$(ls "$work/run/ckpt" | sed -n 's/^step_\([0-9]*\)\.safetensors$/\1/p' | sort -n | tail -1) &&
    steps=$((iter + 3)) &&
    "$work/exe" --resume "$work/run/ckpt/last.safetensors" --steps $steps --out "$work/alone" --quiet >> "$work/cmp" 2>&1 &&
    $MPIRUN -np 2 "$work/exe" --resume "$work/run/ckpt/last.safetensors" --steps $steps --out "$work/np2" \
        --quiet >> "$work/cmp" 2>&1 &&
    "$GANC" compare "$work/alone/ckpt/last.safetensors" "$work/np2/ckpt/last.safetensors" --tolerance 1e-12 >> "$work/cmp" 2>&1
check $? "mpi: the last checkpoint is intact; resumed alone and on 2 ranks, the runs end equal" "$work/cmp"
