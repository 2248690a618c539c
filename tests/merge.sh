#!/bin/sh
# merge.sh: the row-merge pass (compiler/merge.c, docs/ir.md) held to the unmerged graphs:
#  - every example, tests/native/conv.gan, this folder's programs and bench/*.gan, their batch cut
#    to 16 (tests/small_batch.sh), in float64: the eval graph (every loss and gradient) with the
#    pass on equals it with within 1e-12 (the merged weight gradients add their terms
#    in another order); the programs that load a data set file only bench/dcgan_wgan_gp.gan,
#    whose reading of Fashion-MNIST is most of its time;
#  - one iteration of the schedule (every step with its optimizer update, Adam's eps at 1e-4 as
#    tests/native.sh explains) on and off within 1e-12, for the programs of RUN_FILES below: the
#    narrow MLP workloads of bench/ (the toy ones are the same graphs, wider), G applied twice
#    (Cramer GAN), a critic with batch norm, convolutions with a penalty;
#  - --emit=ir-opt says what merged and what was refused: the toy and DCGAN WGAN-GP and the NS
#    MLPs merge (fewer products than); a critic with batch norm (dcgan_fmnist,
#    bench/dcgan_ns, bn_critic.gan), MMD's pairwise kernel and MaxGP's max are refused;
#  - on 2 shards (--shards) each shard merges its rows, and equals.
# usage: sh tests/merge.sh [FILE.gan ...]   (files named: only their comparisons)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$self")/jobs.sh"

RUN_FILES="bench/narrow_ns.gan bench/narrow_wgan_gp.gan examples/cramer_gan.gan tests/merge/bn_critic.gan
tests/merge/conv_gp.gan"

# compare FILE WORK: the pass on and off, for one program
compare() {
    name="merge $(basename "$1")" work=$2 src=$work/$(basename "$1")
    grep -q 'load(' "$1" && return
    # the batch cut without small_batch.sh's compile check (a process per program): a program
    # that needs its own batch fails its first eval and runs at that batch instead
    GANC=true sh tests/small_batch.sh "$1" "$src" 16
    { "$GANC" eval --merge "$src" --dtype f64 -o "$work/on.st" > "$work/out" 2>&1 ||
        { cp "$1" "$src" && "$GANC" eval --merge "$src" --dtype f64 -o "$work/on.st" > "$work/out" 2>&1; }; } &&
        "$GANC" eval "$src" --dtype f64 -o "$work/off.st" >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/on.st" "$work/off.st" --tolerance 1e-12 >> "$work/out" 2>&1
    check $? "$name: eval graph merged and not within 1e-12" "$work/out"
    case " $(echo $RUN_FILES) " in *" $1 "*) ;; *) return ;; esac
    adam_eps "$src" "$work/eps.gan"
    "$GANC" run --merge "$work/eps.gan" --steps 1 --dtype f64 -o "$work/on_run.st" > "$work/out" 2>&1 &&
        "$GANC" run "$work/eps.gan" --steps 1 --dtype f64 -o "$work/off_run.st" >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/on_run.st" "$work/off_run.st" --tolerance 1e-12 >> "$work/out" 2>&1
    check $? "$name: one iteration merged and not within 1e-12" "$work/out"
    # natively, where the merged graphs' slices are views and their concats computed in place
    # (compiler/plan.h): the executable against the interpreter's merged graphs, as native.sh
    # does unmerged (eval graph, and the step functions on 1 and 2 threads)
    for dtype in f64 f32; do
        tol=1e-9 && [ $dtype = f32 ] && tol=1e-4
        "$GANC" --merge "$work/eps.gan" --dtype $dtype -o "$work/exe" > "$work/out" 2>&1 &&
            "$GANC" eval --merge "$work/eps.gan" --dtype $dtype -o "$work/interp.st" >> "$work/out" 2>&1 &&
            "$work/exe" --eval -o "$work/native.st" --quiet >> "$work/out" 2>&1 &&
            "$GANC" compare "$work/interp.st" "$work/native.st" --tolerance $tol >> "$work/out" 2>&1 &&
            { [ $dtype = f32 ] || for t in 1 2; do
                "$work/exe" --steps 1 --threads $t --out "$work/run$t" --quiet >> "$work/out" 2>&1 &&
                    "$GANC" compare "$work/on_run.st" "$work/run$t/ckpt/last.safetensors" --tolerance $tol >> "$work/out" 2>&1 ||
                    return 1
            done; }
        check $? "$name: native $dtype merged equals the interpreter's merged graphs within $tol" "$work/out"
    done
}

if [ "${1:-}" = --one ]; then
    work=$2/$(basename "$3" .gan)
    mkdir -p "$work"
    compare "$3" "$work" > "$work/result"
    exit 0
fi

files=${*:-examples/*.gan tests/native/conv.gan tests/merge/*.gan bench/*.gan}
# shellcheck disable=SC2086 # the list splits into file names
ls -S $files | xargs -I FILE -P "$(nproc 2>/dev/null || echo 2)" sh "$self" --one "$tmp" FILE
for f in $files; do
    r=$tmp/$(basename "$f" .gan)/result
    [ -f "$r" ] && cat "$r"
done
[ $# -gt 0 ] && exit 0

# merges FILE GRAPH LANES: --emit=ir-opt says GRAPH merged D's LANES applications, with fewer
# products than
merges() {
    "$GANC" --emit=ir-opt --merge "$1" > "$tmp/on" 2>&1
    "$GANC" --emit=ir-opt "$1" > "$tmp/off" 2>&1
    products() { sed -n "/^plan $2:/,/^plan /p" "$1" | grep -cE '^ +%[0-9]+ +(matmul|conv|conv_bd|conv_bf) '; }
    on=$(products "$tmp/on" "$2") off=$(products "$tmp/off" "$2")
    grep -q "^merge $2: D x$3 rows" "$tmp/on" && [ "$on" -lt "$off" ] && ! grep -q '^merge' "$tmp/off"
    check $? "merge: $(basename "$1") $2 runs D's $3 applications together ($off products -> $on)" "$tmp/on"
}
# The plan copies none of what the merge creates in the toy WGAN-GP's critic step: its slices
# of whole rows are views, the interpolates are computed into their rows of the concat (plan.h),
# and no two buffers live at the same time overlap (tests/plan_overlaps.awk, over every merged
# bench program); the updates go straight into the parameters and Adam's moments.
"$GANC" --emit=ir-opt --merge bench/toy_wgan_gp.gan > "$tmp/on" 2>&1
step_d=$(sed -n '/^plan step_D:/,/^plan /p' "$tmp/on")
copied=$(echo "$step_d" | grep -cE '^ +%[0-9]+ +slice .* call @')
views=$(echo "$step_d" | grep -cE '^ +%[0-9]+ +slice .* view of %')
echo "$step_d" | grep -qE "^memory step_D: [0-9]+ views, [1-9][0-9]* computed into a concat, [1-9][0-9]* outputs computed in place, [0-1] copied out" &&
    [ "$copied" -eq 0 ] && [ "$views" -gt 10 ]
check $? "plan: the merged toy WGAN-GP critic copies no slice ($views views, $copied copies) and updates in place: $(grep '^memory step_D' "$tmp/on")" "$tmp/on"
for f in bench/*.gan; do
    "$GANC" --emit=ir-opt --merge "$f" 2>&1 | awk -f tests/plan_overlaps.awk
done > "$tmp/overlaps"
[ ! -s "$tmp/overlaps" ]
check $? "plan: no two live buffers overlap in any merged bench program" "$tmp/overlaps"
make -s build/test_plan > "$tmp/out" 2>&1 && build/test_plan > "$tmp/plan" 2>&1
check $? "test_plan: the plan's views, concats and in-place updates on hand-made graphs" "$tmp/plan"

merges bench/toy_wgan_gp.gan step_D 3
merges bench/dcgan_wgan_gp.gan step_D 3
merges bench/toy_ns.gan step_D 2
merges bench/narrow_ns.gan step_D 2
merges bench/narrow_wgan_gp.gan step_D 3

# refused FILE PATTERN NAME: --emit=ir-opt says step_D's merge of D is refused, and why
refused() {
    "$GANC" --emit=ir-opt --merge "$1" > "$tmp/on" 2>&1
    grep -q "^merge refused step_D: D: $2" "$tmp/on" && ! grep -q "^merge step_D: D " "$tmp/on"
    check $? "merge: refused for $3 ($(basename "$1"))" "$tmp/on"
}
refused examples/dcgan_fmnist.gan "sum at .*batch_norm.* (batch statistics)" "a critic with batch norm"
refused bench/dcgan_ns.gan "sum at .*batch_norm.* (batch statistics)" "a critic with batch norm"
refused tests/merge/bn_critic.gan "sum at .*batch_norm.* (batch statistics)" "a critic with batch norm"
refused examples/mmd_gan.gan ".* it couples the rows" "MMD's pairwise kernel"
refused examples/lgan_exp.gan "max at .* takes the max over the rows" "MaxGP's max over the batch"

# After the batch-axis split (--shards, docs/distributed.md) each shard merges its own rows.
src=$tmp/wgan_gp_16.gan
sh tests/small_batch.sh examples/wgan_gp_8gaussians.gan "$src" 16
"$GANC" --emit=ir-opt --merge --shards 2 "$src" > "$tmp/out" 2>&1 && grep -q '^merge step_D: D x3 rows 8+8+8' "$tmp/out" &&
    "$GANC" eval --merge "$src" --dtype f64 --shards 2 -o "$tmp/on.st" >> "$tmp/out" 2>&1 &&
    "$GANC" eval "$src" --dtype f64 --shards 2 -o "$tmp/off.st" >> "$tmp/out" 2>&1 &&
    "$GANC" compare "$tmp/on.st" "$tmp/off.st" --tolerance 1e-12 >> "$tmp/out" 2>&1
check $? "merge: on 2 shards, each shard's D x3 merged, eval graph within 1e-12 of" "$tmp/out"
