#!/bin/sh
# run.sh: the whole test suite, what `make test` runs. Every part prints `ok - NAME` or
# `not ok - NAME: why` lines; this script gathers them and ends with `N passed, M failed`.
# Parts: runtime and kernel unit tests, first/second-order gradient checks of every op, golden
# IR, malformed programs, mutated programs, the docs' examples, ganc check/eval/run on the
# examples, the native backend against the interpreter, and valgrind on the compiler.
cd "$(dirname "$0")/.." || exit 1
GANC=build/ganc
pass=0
fail=0

record() { # record STATUS NAME [DETAIL]
    if [ "$1" -eq 0 ]; then
        echo "ok - $2"; pass=$((pass + 1))
    else
        echo "not ok - $2${3:+: $3}"; fail=$((fail + 1))
    fi
}

# A program that prints its own ok/not ok lines; its summary line is replaced by ours.
suite() {
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(not )?ok - '
    p=$(printf '%s\n' "$out" | grep -c '^ok - ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        record 1 "$*" "exit status $rc: $(printf '%s\n' "$out" | tail -3 | tr '\n' ' ')"
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

suite build/test_runtime
suite build/test_ops
suite build/test_kernels
suite build/test_ganrt
suite build/test_data
suite build/test_fid
suite build/test_losses

for f in tests/golden/*.gan; do
    "$GANC" --emit=ir-grad "$f" > "$tmp/golden.ir" 2>&1
    diff -u "${f%.gan}.ir" "$tmp/golden.ir" > "$tmp/golden.diff"
    record $? "golden $(basename "$f")" "$(head -20 "$tmp/golden.diff")"
done

suite sh tests/errors.sh
suite sh tests/docs.sh

for f in examples/*.gan; do
    "$GANC" check "$f" > "$tmp/check.out" 2>&1
    rc=$?
    grep -q '^check passed' "$tmp/check.out"
    record $((rc + $?)) "ganc check $(basename "$f")" "$(tail -3 "$tmp/check.out")"
done

# The NS-GAN example trains in the interpreter: both losses move over 300 steps.
"$GANC" run examples/ns_gan_8gaussians.gan --steps 300 > "$tmp/run.out" 2>&1
first=$(head -1 "$tmp/run.out"); last=$(tail -1 "$tmp/run.out")
changed=1
case "$last" in *'"step": 300'*) [ "$(echo "$first" | cut -d, -f2-)" != "$(echo "$last" | cut -d, -f2-)" ] && changed=0 ;; esac
record $changed "ganc run ns_gan_8gaussians: D's and G's losses change over 300 steps" "$first / $last"

suite build/test_eval
suite sh tests/native.sh
suite sh tests/zoo.sh
suite sh tests/robustness.sh

# The compiler frees what it allocates: no leak and no memory error under valgrind.
if command -v valgrind > /dev/null; then
    for f in examples/wgan_gp_8gaussians.gan examples/ns_gan_8gaussians.gan; do
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
            "$GANC" --emit=ir-grad "$f" > /dev/null 2> "$tmp/vg.out"
        record $? "valgrind ganc --emit=ir-grad $(basename "$f")" "$(head -5 "$tmp/vg.out")"
    done
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
        "$GANC" check tests/golden/tiny_wgan.gan > /dev/null 2> "$tmp/vg.out"
    record $? "valgrind ganc check tiny_wgan.gan" "$(head -5 "$tmp/vg.out")"
else
    record 1 "valgrind" "valgrind is not installed (make deps installs it)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
