#!/bin/sh
# shards.sh: the batch-axis pass (compiler/shard.c) held to the whole-batch step, in the
# interpreter's shard simulator (docs/distributed.md):
#  - every example, its batch cut to 16 (tests/small_batch.sh), in float64: its eval graph (every
#    loss and gradient) on 2 shards, and one iteration of its schedule (every step function with
#    its optimizer update) on 4 shards, equal the whole batch's within 1e-12 (the iteration of
#    the programs that load a data set file only with SHARDS_ALL=1 or when named, see below). The run uses Adam's
#    and RMSProp's eps at 1e-4, as tests/native.sh explains: with eps 1e-8 an element whose
#    gradient is near eps turns the last-bit differences of a reordered sum into update
#    differences 1e4 times larger, between any two correct orders of summation;
#  - the collectives the pass inserts where rows meet: allgather for MMD's pairwise kernel,
#    allreduce_max for MaxGP's max, allreduce_sum for batch norm's statistics;
#  - the blocked graphs of `--exact` (compiler/shard.c: the shards side by side in one graph, each
#    sum over the batch added in shard order): every example's eval graph blocked for 2 shards
#    equals the 2-shard simulation bit for bit (tolerance 0) and the whole batch's within 1e-12;
#    one blocked iteration of a batch-norm program on 4 shards equals the simulation bit for bit;
#  - a batch that does not split evenly is an error naming both numbers; --exact with two --ranks
#    counts is an error.
# usage: sh tests/shards.sh [FILE.gan ...]   (files named: only their comparisons)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$self")/jobs.sh"

# compare_shards FILE WORK: both comparisons of one program
compare_shards() {
    name="shards $(basename "$1")" work=$2
    # A program that loads a data set file spends most of each ganc run reading it (Fashion-MNIST:
    # 60000 images per process), so the suite checks one of them, dcgan_fmnist's eval graph, and
    # leaves their schedules to tests/mpi.sh's batch-norm program; SHARDS_ALL=1, or naming the
    # files, checks them all.
    loads=""
    [ -z "${SHARDS_ALL:-}" ] && [ -z "${named:-}" ] && grep -q 'load(' "$1" && loads=1
    [ -n "$loads" ] && [ "$(basename "$1")" != dcgan_fmnist.gan ] && return
    "$GANC" eval "$1" --dtype f64 -o "$work/whole_eval.st" > "$work/out" 2>&1 &&
        "$GANC" eval "$1" --dtype f64 --shards 2 -o "$work/shard_eval.st" >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/whole_eval.st" "$work/shard_eval.st" --tolerance 1e-12 >> "$work/out" 2>&1
    check $? "$name: eval graph on 2 shards within 1e-12" "$work/out"
    "$GANC" eval "$1" --dtype f64 --shards 2 --exact -o "$work/blocked_eval.st" > "$work/out" 2>&1 &&
        "$GANC" compare "$work/shard_eval.st" "$work/blocked_eval.st" --tolerance 0 >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/whole_eval.st" "$work/blocked_eval.st" --tolerance 1e-12 >> "$work/out" 2>&1
    check $? "$name: eval graph blocked for 2 shards (--exact) equals the shards bit for bit" "$work/out"
    [ -n "$loads" ] && return
    src="$work/eps_$(basename "$1")"
    adam_eps "$1" "$src"
    "$GANC" run "$src" --steps 1 --dtype f64 -o "$work/whole_run.st" > "$work/out" 2>&1 &&
        "$GANC" run "$src" --steps 1 --dtype f64 --shards 4 -o "$work/shard_run.st" >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/whole_run.st" "$work/shard_run.st" --tolerance 1e-12 >> "$work/out" 2>&1
    check $? "$name: one iteration on 4 shards within 1e-12" "$work/out"
}

if [ "${1:-}" = --one ]; then
    named=$4
    work=$2/$(basename "$3" .gan)
    mkdir -p "$work"
    src=$work/$(basename "$3")
    sh tests/small_batch.sh "$3" "$src" 16
    compare_shards "$src" "$work" > "$work/result"
    exit 0
fi

files=${*:-examples/*.gan tests/native/conv.gan}
# shellcheck disable=SC2086 # the list splits into file names
ls -S $files | xargs -I FILE -P "${SHARD_JOBS:-$(nproc 2>/dev/null || echo 2)}" sh "$self" --one "$tmp" FILE "$*"
for f in $files; do
    r=$tmp/$(basename "$f" .gan)/result
    if [ -s "$r" ]; then cat "$r"; elif [ ! -f "$r" ]; then echo "not ok - shards $(basename "$f"): no result"; fi
done
[ $# -gt 0 ] && exit 0

# shows_op FILE OP NAME [FLAG]: the sharded step graphs of FILE contain OP
shows_op() {
    "$GANC" --emit=ir-grad --shards 2 ${4:-} "$1" > "$tmp/ir" 2>&1
    grep -q " = $2 " "$tmp/ir"
    check $? "shards: $3" "$tmp/ir"
}
shows_op examples/mmd_gan.gan allgather "MMD's pairwise kernel gathers the other shards' features"
shows_op examples/lgan_exp.gan allreduce_max "MaxGP's max over the batch is an allreduce_max"
shows_op tests/native/conv.gan allreduce_sum "batch norm's statistics are allreduced"

# One iteration (a step function with its optimizer update) of the batch-norm program blocked for
# 4 shards equals the shard simulation bit for bit; the blocked graph holds block_sums.
"$GANC" run tests/native/conv.gan --steps 1 --dtype f64 --shards 4 -o "$tmp/sim.st" > "$tmp/out" 2>&1 &&
    "$GANC" run tests/native/conv.gan --steps 1 --dtype f64 --shards 4 --exact -o "$tmp/blocked.st" >> "$tmp/out" 2>&1 &&
    "$GANC" compare "$tmp/sim.st" "$tmp/blocked.st" --tolerance 0 >> "$tmp/out" 2>&1
check $? "shards: an iteration of conv.gan blocked for 4 shards (--exact) equals the simulation bit for bit" "$tmp/out"
shows_op tests/native/conv.gan "block_sum" "batch norm's statistics are block_sums in the blocked graph --exact" --exact

"$GANC" tests/native/conv.gan --ranks 2,4 --exact -o "$tmp/x" > "$tmp/err" 2>&1
rc=$?
grep -q "give one --ranks N, not 2 counts" "$tmp/err"
check $((rc == 1 ? $? : 1)) "shards: --exact with two --ranks counts is an error" "$tmp/err"

"$GANC" --emit=ir-grad --shards 3 examples/wgan_gp_8gaussians.gan > "$tmp/err" 2>&1
rc=$?
grep -q "batch of 256 does not split into 3 equal shards" "$tmp/err"
check $((rc == 1 ? $? : 1)) "shards: a batch of 256 on 3 shards is an error naming both" "$tmp/err"
