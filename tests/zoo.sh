#!/bin/sh
# tests/zoo.sh: the GAN zoo end to end, and a gradient check of every penalty of the stdlib.
#
# For every examples/*.gan (whatever exists when it runs):
#   - `build/ganc check` passes: autodiff against finite differences, second order where the
#     loss contains grad(). To keep this fast the check runs on a copy whose batch is cut to
#     ZOO_CHECK_BATCH (default 16): the derivatives are the same code at any batch, and
#     tests/run.sh checks every example at its own batch. ZOO_CHECK_BATCH=0 checks the file as
#     it is, and so does a copy that does not compile (a program that needs its batch size).
#   - the native executable trains ZOO_STEPS rounds (default 20):
#     `build/ganc F -o EXE && EXE --steps 20 --out DIR --quiet --threads 1` exits 0 (the
#     executable stops with an error on a non-finite loss or parameter), and DIR/log.jsonl
#     exists, has the line of the last round and no non-finite value (null).
# A check with a FAILED line fails even when ganc exits 0 (an error of NaN).
# Then for each penalty of the stdlib, a small program with a nonlinear critic that uses it must
# pass `ganc check`: the penalty's inner grad() and D's parameters against finite differences.
# And every tests/losses/*.gan program (tests/test_losses.c) must pass `ganc check`.
#
# Examples run ZOO_JOBS at a time (default: the number of CPUs); each command is stopped after
# ZOO_TIMEOUT seconds (default 300). Prints `ok - zoo ...` / `not ok - zoo ...: why` lines, then
# `N passed, M failed`; exits 1 on a failure.
#
# usage: sh tests/zoo.sh [examples/FILE.gan ...]     (default: every examples/*.gan)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.." || exit 1
GANC=build/ganc
STEPS=${ZOO_STEPS:-20}
CHECK_BATCH=${ZOO_CHECK_BATCH:-16}
TIMEOUT=${ZOO_TIMEOUT:-300}
JOBS=${ZOO_JOBS:-$(nproc 2>/dev/null || echo 2)}
# the interpreter's BLAS calls: one thread each, the jobs run side by side
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS

if [ ! -x "$GANC" ]; then
    echo "tests/zoo.sh: $GANC not found; run 'make build/ganc' first" >&2
    exit 1
fi

limit() { # limit CMD...: the command, stopped after TIMEOUT seconds when `timeout` exists
    if command -v timeout > /dev/null; then timeout "$TIMEOUT" "$@"; else "$@"; fi
}

result() { # result STATUS NAME [DETAIL]
    if [ "$1" -eq 0 ]; then
        echo "ok - zoo $2"
    else
        echo "not ok - zoo $2${3:+: $3}"
    fi
}

oneline() { tail -n "${2:-3}" "$1" 2> /dev/null | tr '\n' ' ' | cut -c1-300; }

# check_file NAME FILE WORK: `ganc check`, on a copy with a smaller batch where that compiles.
check_file() {
    name=$1 f=$2 work=$3
    target=$f note=""
    if [ "$CHECK_BATCH" -gt 0 ] && sh tests/small_batch.sh "$f" "$work/$name" "$CHECK_BATCH"; then
        target=$work/$name note=" (batch $CHECK_BATCH)"
    fi
    limit "$GANC" check "$target" > "$work/$name.check" 2>&1
    rc=$?
    # a line that failed fails the check, also when its error is NaN
    if [ $rc -eq 0 ] && { ! grep -q '^check passed' "$work/$name.check" || grep -q 'FAILED' "$work/$name.check"; }; then
        rc=1
    fi
    why="$(grep -m 1 'FAILED' "$work/$name.check" | tr -s ' ')"
    result $rc "ganc check $name$note" "${why:-$(oneline "$work/$name.check")}"
}

# example FILE WORK: every test of one example; its lines go to WORK/NAME.out
example() {
    f=$1 work=$2
    name=$(basename "$f")
    exe="$work/${name%.gan}.exe" dir="$work/${name%.gan}.run"
    {
        check_file "$name" "$f" "$work"
        limit "$GANC" "$f" -o "$exe" > "$work/$name.build" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            result $rc "native $name: $STEPS steps" "compiling failed (exit status $rc): $(oneline "$work/$name.build")"
        else
            limit "$exe" --steps "$STEPS" --out "$dir" --quiet --threads 1 > "$work/$name.run" 2>&1
            rc=$?
            why="exit status $rc: $(oneline "$work/$name.run")"
            if [ $rc -eq 0 ]; then
                if [ ! -s "$dir/log.jsonl" ]; then
                    rc=1 why="no log.jsonl"
                elif ! grep -q "\"step\": ${STEPS}[,}]" "$dir/log.jsonl"; then
                    rc=1 why="log.jsonl has no line for step $STEPS: $(oneline "$dir/log.jsonl" 1)"
                elif grep -Eiq ': *(null|-?nan|-?inf)' "$dir/log.jsonl"; then
                    rc=1 why="a non-finite value in log.jsonl: $(grep -Ei ': *(null|-?nan|-?inf)' "$dir/log.jsonl" | head -n 1)"
                fi
            fi
            result $rc "native $name: $STEPS steps, log.jsonl finite" "$why"
        fi
        rm -rf "$exe" "$exe.o" "$dir"
    } > "$work/$name.out"
}

if [ "${1:-}" = --example ]; then # --example WORK FILE: one example, for the parallel loop below
    example "$3" "$2"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ganc-zoo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/examples" "$tmp/penalties"

if [ $# -gt 0 ]; then files="$*"; else files=$(ls examples/*.gan 2> /dev/null); fi
# the slowest first, so that the parallel jobs end together: those that load a data set file
# (Fashion-MNIST's 60,000 images, 20 DCGAN rounds at batch 64 and the FID), then the largest
# files (by size alone the data set programs, short files, came last)
# shellcheck disable=SC2086 # the list splits into file names
{ grep -l 'load(' $files 2> /dev/null; printf '%s\n' $files | xargs -r ls -S 2> /dev/null; } | awk '!seen[$0]++' |
    xargs -r -n 1 -P "$JOBS" sh "$self" --example "$tmp/examples"
out=$tmp/all.out
: > "$out"
for f in $files; do
    name=$(basename "$f")
    if [ -s "$tmp/examples/$name.out" ]; then
        cat "$tmp/examples/$name.out" >> "$out"
    else
        result 1 "$name" "no result (file missing or the job failed)" >> "$out"
    fi
done

# ---- every penalty of the stdlib in a small program: D is nonlinear, scaled so that gradient
# norms fall on both sides of 1 (lipschitz_penalty's kink) -------------------------------------
penalty_program() { # penalty_program FILE PENALTY
    cat > "$1" <<EOF
use std
batch 8
seed 3
data  x = gaussians8()
noise z = normal(2)
net G(z) { z -> dense(8) -> tanh -> dense(2) }
net D(x) {
    h = x -> dense(16) -> tanh -> dense(16) -> leaky_relu -> dense(1)
    6 * h
}
fake = G(z)
loss D = wgan_d(D, x, fake)
loss G = wgan_g(D, fake)
constrain D: $2
train 10 { D: adam(lr: 1e-4)  G: adam(lr: 1e-4) }
EOF
}
cramer_program() { # the Cramer GAN's penalty needs D as a feature map and a second fake batch
    cat > "$1" <<EOF
use std
batch 8
seed 3
data  x = gaussians8()
noise z = normal(2)
noise z2 = normal(2)
net G(z) { z -> dense(8) -> tanh -> dense(2) }
net D(x) { x -> dense(16) -> tanh -> dense(16) -> leaky_relu -> dense(4) }
fake = G(z)
fake2 = G(z2)
loss D = cramer_d(D, x, fake, fake2)
loss G = cramer_g(D, x, fake, fake2)
constrain D: $2
train 10 { D: adam(lr: 1e-4)  G: adam(lr: 1e-4) }
EOF
}

i=0
while IFS='|' read -r kind penalty; do
    [ -n "$penalty" ] || continue
    i=$((i + 1))
    src="$tmp/penalties/penalty$i.gan"
    if [ "$kind" = cramer ]; then cramer_program "$src" "$penalty"; else penalty_program "$src" "$penalty"; fi
    limit "$GANC" check "$src" > "$tmp/penalty.out" 2>&1
    rc=$?
    # the penalty's grad() must be among what was checked, and no line may have failed
    if [ $rc -eq 0 ] && { ! grep -Eq '^loss D: .* [1-9][0-9]* grad\(\) inside' "$tmp/penalty.out" ||
        grep -q 'FAILED' "$tmp/penalty.out"; }; then
        rc=1
    fi
    result $rc "ganc check of a critic with $penalty" "exit status $rc: $(oneline "$tmp/penalty.out")" >> "$out"
done <<'EOF'
mlp|gradient_penalty(x, fake)
mlp|gradient_penalty(x, fake, center: 0)
mlp|gradient_penalty(x, fake, prob: true)
mlp|gradient_penalty(x, fake, center: 0, prob: true)
mlp|lipschitz_penalty(x, fake)
mlp|lipschitz_penalty(x, fake, prob: true)
mlp|max_gradient_penalty(x, fake)
mlp|max_gradient_penalty(x, fake, prob: true)
mlp|r1(x)
mlp|r1(x, prob: true)
mlp|r2(fake)
mlp|r2(fake, prob: true)
mlp|dragan_penalty(x)
cramer|cramer_penalty(x, fake, fake2)
EOF

# ---- the loss programs of tests/test_losses.c ----------------------------------------------
for f in tests/losses/*.gan; do
    [ -f "$f" ] || continue
    limit "$GANC" check "$f" > "$tmp/loss.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'FAILED' "$tmp/loss.out"; then rc=1; fi
    result $rc "ganc check $f" "$(oneline "$tmp/loss.out")" >> "$out"
done

cat "$out"
pass=$(grep -c '^ok - ' "$out")
fail=$(grep -c '^not ok - ' "$out")
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
