#!/bin/sh
# run.sh: the whole test suite, what `make test` runs. Every part prints `ok - NAME` or
# `not ok - NAME: why` lines; this script gathers them and ends with `N passed, M failed`.
# Parts: runtime and kernel unit tests, first/second-order gradient checks of every op, golden
# IR, the include walls, the pipeline's stages, malformed programs, mutated programs, run locks,
# signals and file contracts, the fuzz corpora and examples under the sanitizers, the docs'
# examples, ganc check/eval/run on the examples, the native backend against the interpreter,
# the batch-axis pass against the whole batch, the row-merge pass against the unmerged graphs,
# run records, plots and `ganc report` (in headless Chromium), and valgrind on the compiler.
cd "$(dirname "$0")/.." || exit 1
GANC=build/ganc
# One BLAS thread per process: the parts that run jobs side by side fill the cores themselves.
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
# Two lanes side by side (CI has 2 cores). The heavy lane: the parts that fill both cores with
# jobs of their own (native, zoo, simplify, shards, robustness, merge, mpi), one after another,
# printed as they go. The light lane: the single-process parts, one after another, printed after
# the heavy lane's lines. Run in one row, the single-process parts (about 190 s of CPU) left
# the second core idle. No two parts share a file (each works in its own mktemp folder or under
# its own build/test_* names). `# time:` lines are each lane's own and the lanes overlap.

record() { # record STATUS NAME [DETAIL]
    if [ "$1" -eq 0 ]; then
        echo "ok - $2"
    else
        echo "not ok - $2${3:+: $3}"
    fi
}

# A program that prints its own ok/not ok lines; its summary line is replaced by ours (the
# final count is taken over both lanes' lines).
suite() {
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(not )?ok - '
    if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok - '; then
        record 1 "$*" "exit status $rc: $(printf '%s\n' "$out" | tail -3 | tr '\n' ' ')"
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# part NAME: starts timing part NAME and prints how long the previous part of this lane took
# (`# time:` lines, so that CI's budget can be watched; they count as neither pass nor fail).
part_name="" part_start=$(date +%s)
part() {
    now=$(date +%s)
    [ -n "$part_name" ] && echo "# time: $part_name $((now - part_start)) s"
    part_name=$1 part_start=$now
}

light() {
part "test_runtime"
suite build/test_runtime
part "test_ops"
suite build/test_ops
part "test_kernels"
suite build/test_kernels
part "test_ganrt"
suite build/test_ganrt
part "test_data"
suite build/test_data
part "test_fid"
suite build/test_fid
part "test_losses"
suite build/test_losses
part "test_record"
suite build/test_record
part "test_language"
suite build/test_language

part golden
for f in tests/golden/*.gan; do
    "$GANC" --emit=ir-grad "$f" > "$tmp/golden.ir" 2>&1
    diff -u "${f%.gan}.ir" "$tmp/golden.ir" > "$tmp/golden.diff"
    record $? "golden $(basename "$f")" "$(head -20 "$tmp/golden.diff")"
done

part "walls.sh"
suite sh tests/walls.sh
part "pipeline.sh"
suite sh tests/pipeline.sh
part "errors.sh"
suite sh tests/errors.sh
part "docs.sh"
suite sh tests/docs.sh

part "ganc check examples"
# The two first examples at their own batch; tests/zoo.sh checks every example (at batch 16).
for f in examples/ns_gan_8gaussians.gan examples/wgan_gp_8gaussians.gan; do
    "$GANC" check "$f" > "$tmp/check.out" 2>&1
    rc=$?
    grep -q '^check passed' "$tmp/check.out"
    record $((rc + $?)) "ganc check $(basename "$f")" "$(tail -3 "$tmp/check.out")"
done

part "ganc run"
"$GANC" run examples/ns_gan_8gaussians.gan --steps 300 > "$tmp/run.out" 2>&1
first=$(head -1 "$tmp/run.out"); last=$(tail -1 "$tmp/run.out")
changed=1
case "$last" in *'"step": 300'*) [ "$(echo "$first" | cut -d, -f2-)" != "$(echo "$last" | cut -d, -f2-)" ] && changed=0 ;; esac
record $changed "ganc run ns_gan_8gaussians: D's and G's losses change over 300 steps" "$first / $last"

part "test_eval"
suite build/test_eval
part "threads.sh"
suite sh tests/threads.sh
part "report.sh"
suite sh tests/report.sh
part "editors.sh"
suite sh tests/editors.sh
part "reliability.sh"
suite sh tests/reliability.sh
part "sanitizers.sh"
suite sh tests/sanitizers.sh

# The compiler frees what it allocates: no leak and no memory error under valgrind.
part valgrind
if command -v valgrind > /dev/null; then
    for f in examples/wgan_gp_8gaussians.gan examples/ns_gan_8gaussians.gan; do
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
            "$GANC" --emit=ir-grad "$f" > /dev/null 2> "$tmp/vg.out"
        record $? "valgrind ganc --emit=ir-grad $(basename "$f")" "$(head -5 "$tmp/vg.out")"
    done
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
        "$GANC" check tests/golden/tiny_wgan.gan > /dev/null 2> "$tmp/vg.out"
    record $? "valgrind ganc check tiny_wgan.gan" "$(head -5 "$tmp/vg.out")"
    GANC_EMIT_THREADS=2 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
        "$GANC" tests/golden/tiny_wgan.gan -o "$tmp/vg.exe" > /dev/null 2> "$tmp/vg.out"
    record $? "valgrind ganc -o EXE tiny_wgan.gan (codegen, the module in 2 parts on 2 threads)" "$(head -5 "$tmp/vg.out")"
else
    record 1 "valgrind" "valgrind is not installed (make deps installs it)"
fi

part end
}

# the heaviest first: the light lane's parts fit beside them
heavy() {
part "native.sh"
suite sh tests/native.sh
part "zoo.sh"
suite sh tests/zoo.sh
part "simplify.sh"
suite sh tests/simplify.sh
part "shards.sh"
suite sh tests/shards.sh
part "robustness.sh"
suite sh tests/robustness.sh
part "merge.sh"
suite sh tests/merge.sh
part "mpi.sh"
suite sh tests/mpi.sh
part end
}

light > "$tmp/light.out" 2>&1 &
light_pid=$!
heavy | tee "$tmp/heavy.out"
wait $light_pid
cat "$tmp/light.out"
pass=$(cat "$tmp/heavy.out" "$tmp/light.out" | grep -c '^ok - ')
fail=$(cat "$tmp/heavy.out" "$tmp/light.out" | grep -c '^not ok - ')
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
