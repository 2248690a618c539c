#!/bin/sh
# simplify.sh: the structural-zeros pass (compiler/simplify.c) against the untransformed graphs.
# Every example and bench program (batch-16 copies, tests/small_batch.sh): `ganc eval` in float64
# gives the same losses, gradients and logs with the pass as with --no-simplify; two interpreter
# training steps of the gradient-penalty benches give the same parameters; and --emit=ir-opt's
# FLOP counts show the pass never adds work to a graph and removes some where the rules apply;
# and the plan computes products and biases into the adds that read them (GEMM with beta = 1).
# usage: sh tests/simplify.sh
cd "$(dirname "$0")/.." || exit 1
GANC=${GANC:-build/ganc}
export GANC
. tests/check.sh

same() { # same COMMAND(eval|run) FILE [ARGS...]: the pass on and off, compared in float64
    cmd=$1 file=$2
    shift 2
    name=$(basename "$file" .gan)
    work=$tmp/$cmd.$name
    mkdir -p "$work"
    sh tests/small_batch.sh "$file" "$work/$name.gan" 16
    "$GANC" "$cmd" "$work/$name.gan" --dtype f64 "$@" -o "$work/on.st" > "$work/out" 2>&1 &&
        "$GANC" "$cmd" "$work/$name.gan" --dtype f64 "$@" --no-simplify -o "$work/off.st" >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/on.st" "$work/off.st" --tolerance 1e-12 >> "$work/out" 2>&1
    check $? "simplify $cmd $name: the same values with the pass as without (f64, 1e-12)" "$(tail -3 "$work/out" | tr '\n' ' ')"
}

# --one TMP COMMAND FILE [ARGS...]: one comparison, for the parallel runs below
if [ "${1:-}" = --one ]; then
    rm -rf "$tmp"   # check.sh's own folder: this run works in the caller's, which it must not remove
    trap - EXIT
    tmp=$2
    shift 2
    same "$@"
    exit 0
fi

flops() { # flops FILE [--no-simplify]: "GRAPH PRODUCTS ELEMENTWISE" per graph
    "$GANC" --emit=ir-opt "$@" | sed -n 's/^flops \([^:]*\): \([0-9]*\) in products.*, \([0-9]*\) elementwise$/\1 \2 \3/p'
}

# the comparisons, one per CPU at a time (each an interpreter process), the largest files first
{
    ls -S examples/*.gan bench/*.gan | sed 's/^/eval /'
    printf 'run %s --steps 2\n' bench/narrow_wgan_gp.gan bench/dcgan_wgan_gp.gan examples/wgan_gp_8gaussians.gan
} | xargs -L 1 -P "$(nproc 2> /dev/null || echo 2)" sh "$0" --one "$tmp" | sort -k 3

# no graph gets more FLOPs (products + elementwise) with the pass
worse=""
for f in examples/*.gan bench/*.gan; do
    flops "$f" > "$tmp/on" 2> /dev/null
    flops "$f" --no-simplify > "$tmp/off" 2> /dev/null
    worse="$worse$(paste -d' ' "$tmp/on" "$tmp/off" | awk -v f="$f" '$2 + $3 > $5 + $6 { printf " %s:%s", f, $1 }')"
done
[ -z "$worse" ]
check $? "simplify never adds FLOPs to a graph" "more FLOPs with the pass in:$worse"

# where the rules apply, the count drops: leaky relu's derivative (DCGAN), a mean's constant seed
# multiplied through the critic's last layer (the narrow WGAN-GP's products)
saving() { # saving FILE GRAPH COLUMN(2 products, 3 elementwise) NAME
    on=$(flops "$1" | awk -v g="$2" -v c="$3" '$1 == g { print $c }')
    off=$(flops "$1" --no-simplify | awk -v g="$2" -v c="$3" '$1 == g { print $c }')
    [ -n "$on" ] && [ -n "$off" ] && [ "$on" -lt "$off" ]
    check $? "simplify removes $4 from $(basename "$1" .gan) $2 ($off -> $on)" "$on with the pass, $off without"
}
saving bench/dcgan_wgan_gp.gan step_D 3 "elementwise FLOPs"
saving bench/narrow_wgan_gp.gan step_D 2 "product FLOPs"

# the plan's GEMM accumulation (plan.h, INTO): in the narrow NS step every dense layer's product
# and bias go into the add's buffer (GEMM with beta = 1), and the gradient sums of D's weights
# (one product per application of D) into one another
"$GANC" --emit=ir-opt bench/narrow_ns.gan > "$tmp/plan" 2>&1
into=$(sed -n '/^plan step_D/,/^plan /p' "$tmp/plan" | grep -c ' matmul .* into %')
adds=$(sed -n '/^plan step_D/,/^plan /p' "$tmp/plan" | grep -c ' add .* call @')
[ "$into" -ge 8 ] && [ "$adds" -ge 8 ]
check $? "plan: products computed into their adds in narrow_ns step_D ($into matmuls into $adds adds)" "$(head -1 "$tmp/plan")"
