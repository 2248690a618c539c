#!/bin/sh
# sanitizers.sh: the sanitizer build (make asan: AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-asan/) on everything that reads input:
#   - every file of tests/fuzz/corpus/TARGET/ replayed through build-asan/fuzz/TARGET (the
#     corpora hold each issue-9 defect's regression file and the fuzzing campaigns' minimised
#     inputs), each in its own process, leaks checked at exit
#   - every example through the front end (`--emit=ir-grad`), two through `ganc check`, and one
#     compiled natively against the sanitized runtime (build-asan/cc) and trained 20 rounds
#     (writing samples and checkpoints, resumed once), and `ganc run` 20 rounds
# Any sanitizer report fails the check that ran it. Prints `ok - NAME` / `not ok - NAME: why`,
# then `N passed, M failed`. Usage: sh tests/sanitizers.sh (after make asan). About a minute on
# two cores.
cd "$(dirname "$0")/.." || exit 2
A=build-asan
if [ ! -x $A/ganc ] || [ ! -x $A/cc ]; then
    echo "not ok - sanitizers: $A is not built (make asan)"
    echo "0 passed, 1 failed"
    exit 1
fi
# halt_on_error: the first report ends the process with exitcode 86, which fails the check
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=86:allocator_may_return_null=1
UBSAN_OPTIONS=halt_on_error=1:exitcode=86:print_stacktrace=1
export ASAN_OPTIONS UBSAN_OPTIONS
. tests/checks.sh
# reported RC: the run that just wrote $tmp/err exited past 1 or a sanitizer reported
reported() {
    [ "$1" -gt 1 ] || grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$tmp/err"
}
why() { echo "exit $1: $(grep -m3 "ERROR\|runtime error\|SUMMARY" "$tmp/err" | tr '\n' ' ' | head -c 400)"; }
# clean NAME CMD...: CMD exits 0 or 1 (an error it reports is fine) with no sanitizer report
clean() {
    name=$1; shift
    "$@" > /dev/null 2> "$tmp/err"
    rc=$?
    if reported $rc; then check 1 "$name" "$(why $rc)"; else check 0 "$name"; fi
}

for target in frontend safetensors idx npy gzip; do
    out=$($A/fuzz/$target tests/fuzz/corpus/$target 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^(not )?ok - ')
    [ $rc -eq 0 ] && check 0 "asan: $(printf '%s\n' "$line" | sed 's/^ok - //')" ||
        check 1 "asan: fuzz/$target corpus" "$(printf '%s\n' "$out" | grep -m3 "not ok\|ERROR\|runtime error" | tr '\n' ' ')"
done

# (the fmnist examples need build/fmnist_classifier.safetensors, which `make test` makes first;
# without it they stop at a clean error, which is still a run of the front end to check)
n=0 reports=
for f in examples/*.gan; do
    "$A/ganc" --emit=ir-grad "$f" > /dev/null 2> "$tmp/err"
    rc=$?
    reported $rc && reports="$reports $f ($(why $rc))"
    n=$((n + 1))
done
[ -z "$reports" ]
check $? "asan: ganc --emit=ir-grad on the $n examples" "$reports"
for f in tests/golden/tiny_wgan.gan examples/ns_gan_8gaussians.gan; do
    clean "asan: ganc check $(basename "$f")" "$A/ganc" check "$f"
done
clean "asan: ganc run ns_gan_8gaussians.gan --steps 20" "$A/ganc" run examples/ns_gan_8gaussians.gan --steps 20

CC=$A/cc "$A/ganc" examples/ns_gan_8gaussians.gan -O1 -o "$tmp/ns_gan" 2> "$tmp/err"
check $? "asan: compile ns_gan_8gaussians natively against the sanitized runtime" "$(head -c 300 "$tmp/err")"
if [ -x "$tmp/ns_gan" ]; then
    clean "asan: the native executable trains 20 rounds" "$tmp/ns_gan" --steps 20 --out "$tmp/run" --quiet
    clean "asan: ... and resumes to 30" "$tmp/ns_gan" --steps 30 --out "$tmp/run" --resume "$tmp/run/ckpt/last.safetensors" --quiet
    clean "asan: ... and evaluates" "$tmp/ns_gan" --eval -o "$tmp/eval.safetensors"
fi

summary
