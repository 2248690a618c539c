#!/bin/sh
# pipeline.sh: the stages of compiler/main.c run in order and --emit stops after the one it names.
#   - `--emit=ir-opt` prints the plan without creating an LLVM module: with an unknown
#     --target-cpu, LLVM would warn on stderr (and does for --emit=llvm, the control);
#   - a weights file is read once per compilation, however many parameters and graphs use it
#     (strace counts the opens), and a tensor of the wrong shape is a compile error at the
#     parameter's line, raised by the files check after the model is built: --emit=ir, which
#     stops before, accepts the program;
#   - codegen emits one function per loop structure, not per loop: fewer loop functions than
#     fused loops in --emit=llvm; and on x86-64 a float32 program's exp and tanh are SLEEF's
#     vector functions there, a float64 program's too (Sleef_expf8_u10, Sleef_tanhd4_u10, ...);
#   - an executable's module is compiled in parts on several threads (compiler/emit.c): with
#     GANC_EMIT_THREADS=1, 2 and 3 the executables train to the same bits, every part compiles
#     some of the loops, a bad GANC_EMIT_THREADS is an error, and `-o FILE.o` writes one object;
#   - OpenBLAS is loaded by the interpreter, not by every ganc: a compilation runs without it,
#     and an interpreter that finds a library without cblas_dgemm says so.
# Prints `ok - pipeline: ...` / `not ok - pipeline: ...: why`, then `N passed, M failed`.
cd "$(dirname "$0")/.." || exit 2
GANC=${GANC:-build/ganc}
passed=0
failed=0
record() { # record STATUS NAME [WHY]
    if [ "$1" -eq 0 ]; then echo "ok - pipeline: $2"; passed=$((passed + 1))
    else echo "not ok - pipeline: $2${3:+: $3}"; failed=$((failed + 1)); fi
}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
prog=tests/golden/tiny_wgan.gan

# --emit=ir-opt stops at the plan: no LLVM target machine, so no warning about the CPU.
"$GANC" --emit=ir-opt --target-cpu=no-such-cpu "$prog" > "$tmp/plan" 2> "$tmp/err"
rc=$?
grep -q '^plan step_D: ' "$tmp/plan" && [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]
record $? "--emit=ir-opt prints the plan without touching LLVM" "exit $rc, stderr: $(head -2 "$tmp/err")"
"$GANC" --emit=llvm --target-cpu=no-such-cpu "$prog" > /dev/null 2> "$tmp/err"
grep -q 'no-such-cpu' "$tmp/err"
record $? "control: --emit=llvm does create the target machine (LLVM warns about the CPU)" "no warning"

# A weights file for D: the state after one step of the tiny WGAN.
"$GANC" run "$prog" --steps 1 -o "$tmp/state.safetensors" > /dev/null 2>&1
record $? "ganc run writes the state a weights file is made of"
sed "s|^train 10|weights D = \"$tmp/state.safetensors\"\ntrain 10|" "$prog" > "$tmp/weights.gan"
if command -v strace > /dev/null; then
    strace -f -e trace=open,openat -o "$tmp/trace" "$GANC" "$tmp/weights.gan" > "$tmp/out" 2>&1
    rc=$?
    opens=$(grep -c 'state.safetensors"' "$tmp/trace")
    [ $rc -eq 0 ] && [ "$opens" -eq 1 ]
    record $? "the weights file is read once (D's 5 parameters, in 4 graphs)" "exit $rc, $opens opens: $(head -2 "$tmp/out")"
else
    record 1 "the weights file is read once" "strace is not installed (make deps installs it)"
fi

# A parameter whose tensor has another shape: the files check rejects it; --emit=ir stops before.
sed 's|net D(x) { x -> dense(3)|net D(x) { x -> dense(4)|' "$tmp/weights.gan" > "$tmp/mismatch.gan"
"$GANC" "$tmp/mismatch.gan" > /dev/null 2> "$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "^$tmp/mismatch.gan:7:[0-9]*: error: .*state.safetensors has no tensor 'D.dense0.w' of shape \[2,4\]" "$tmp/err"
record $? "a weights tensor of the wrong shape is an error at the parameter's line" "exit $rc: $(head -1 "$tmp/err")"
"$GANC" --emit=ir "$tmp/mismatch.gan" > /dev/null 2> "$tmp/err"
record $? "--emit=ir stops before the files check" "$(head -1 "$tmp/err")"

# Deduplicated loops: the tiny WGAN's 4 Adam updates of D (and G's) share one loop function.
"$GANC" -O0 --emit=llvm "$prog" > "$tmp/tiny.ll" 2> "$tmp/err"
fns=$(grep -c '^define internal void @loop' "$tmp/tiny.ll")
calls=$(grep -c 'call void @ganrt_parallel_loop' "$tmp/tiny.ll")
[ "$fns" -gt 0 ] && [ "$fns" -lt "$calls" ]
record $? "fused loops with one structure share a function ($fns functions for $calls loops)" "$(head -2 "$tmp/err")"

# exp and tanh in fused loops: SLEEF's vector functions, not libm per element.
cat > "$tmp/exp.gan" <<'GAN'
use std
batch 8
data  x = gaussians8()
noise z = normal(2)
net G(z) { z -> dense(5) -> tanh -> dense(2) }
net D(x) { x -> dense(5) -> relu -> dense(1) }
fake = G(z)
loss D = lgan_exp_d(D, x, fake)
loss G = mean(exp(-D(fake)))
train 2 { D: adam() G: adam() }
GAN
case $(uname -m) in
x86_64)
    for dtype in f32 f64; do
        letter=f; [ $dtype = f64 ] && letter=d
        "$GANC" --dtype $dtype --emit=llvm "$tmp/exp.gan" > "$tmp/exp.ll" 2> "$tmp/err"
        grep -q "call <[0-9]* x [a-z]*> @Sleef_exp${letter}[0-9]*_u10(" "$tmp/exp.ll" &&
            grep -q "call <[0-9]* x [a-z]*> @Sleef_tanh${letter}[0-9]*_u10(" "$tmp/exp.ll" &&
            ! grep -q "call [a-z]* @\(expf\?\|tanhf\?\|llvm\.exp\.[fv]\)" "$tmp/exp.ll"
        record $? "$dtype exp and tanh in fused loops call SLEEF's vector functions" \
            "$(grep -o '@[A-Za-z_.0-9]*\(exp\|tanh\)[A-Za-z_.0-9]*' "$tmp/exp.ll" | sort -u | tr '\n' ' ') $(head -2 "$tmp/err")"
    done ;;
*) echo "# skip: SLEEF calls are checked on x86-64 only" ;;
esac

# The module cut in parts compiled side by side: the same program, whatever the cut.
for prog2 in "$prog" examples/mmd_gp.gan; do
    name=$(basename "$prog2" .gan)
    for n in 1 2 3; do
        GANC_TIME=1 GANC_EMIT_THREADS=$n "$GANC" "$prog2" -o "$tmp/$name$n" > /dev/null 2> "$tmp/time$n" &&
            "$tmp/$name$n" --steps 3 --threads 1 --quiet --out "$tmp/run_$name$n" > /dev/null 2>&1
        record $? "$name compiled in $n part(s) trains" "$(grep -v 'time:' "$tmp/time$n" | head -2)"
    done
    for n in 2 3; do
        "$GANC" compare "$tmp/run_${name}1/ckpt/last.safetensors" "$tmp/run_$name$n/ckpt/last.safetensors" \
            --tolerance 0 > "$tmp/cmp" 2>&1
        record $? "$name: $n parts give the bits of one module" "$(tail -1 "$tmp/cmp")"
    done
    parts=$(grep -c 'part [0-9]: [1-9][0-9]* loop functions' "$tmp/time3")
    [ "$parts" -eq 3 ] && ! ls "$tmp/$name"*.o > /dev/null 2>&1
    record $? "$name: each of 3 parts compiles some loops, and the objects are removed" "$(grep part "$tmp/time3")"
done
GANC_EMIT_THREADS=0 "$GANC" "$prog" -o "$tmp/bad" > /dev/null 2> "$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "GANC_EMIT_THREADS must be a number from 1 to 4, not '0'" "$tmp/err"
record $? "GANC_EMIT_THREADS=0 is an error" "exit $rc: $(head -1 "$tmp/err")"
GANC_TIME=1 GANC_EMIT_THREADS=2 "$GANC" "$prog" -o "$tmp/one.o" > /dev/null 2> "$tmp/err"
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/one.o" ] && ! grep -q 'part 1' "$tmp/err" && [ "$(ls "$tmp" | grep -c '^one')" -eq 1 ]
record $? "-o FILE.o writes the whole module as one object" "exit $rc: $(ls "$tmp" | grep '^one' | tr '\n' ' ')"

# A libopenblas.so.0 without the cblas functions, found first: compiling does not touch it, the
# interpreter's first product names it.
mkdir -p "$tmp/fakeblas"
if echo 'int not_blas(void) { return 0; }' | cc -shared -fPIC -x c - -o "$tmp/fakeblas/libopenblas.so.0"; then
    if command -v strace > /dev/null; then   # ganc's own opens (not the linker's, which reads it)
        LD_LIBRARY_PATH="$tmp/fakeblas" strace -e trace=open,openat -o "$tmp/trace" "$GANC" "$prog" -o "$tmp/noblas" \
            > /dev/null 2> "$tmp/err"
        rc=$?
        [ $rc -eq 0 ] && ! grep -q 'libopenblas' "$tmp/trace"
        record $? "a compilation does not load OpenBLAS" "exit $rc: $(grep libopenblas "$tmp/trace" | head -1) $(head -2 "$tmp/err")"
    fi
    LD_LIBRARY_PATH="$tmp/fakeblas" "$GANC" run "$prog" --steps 1 > /dev/null 2> "$tmp/err"
    rc=$?
    [ $rc -eq 1 ] && grep -q "the interpreter cannot load OpenBLAS (libopenblas.so.0): no cblas_dgemm" "$tmp/err"
    record $? "the interpreter names an OpenBLAS it cannot use" "exit $rc: $(head -2 "$tmp/err")"
else
    record 1 "a stand-in libopenblas.so.0" "cc -shared failed"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
