#!/bin/sh
# native.sh: the native backend held to the reference interpreter, and the executable's runtime.
#  - every program below, built natively in float64 and float32: its eval graph (every loss and
#    gradient, `EXE --eval` against `ganc eval`) and two iterations of its training schedule
#    (every step function with its optimizer update, `EXE --steps 2` against `ganc run`);
#    relative error under 1e-9 in float64 and 1e-4 in float32;
#  - resume: N iterations straight equal N/2, stop, resume, N/2, bit for bit;
#  - a truncated checkpoint, a bad flag and a NaN each stop with a clear error.
cd "$(dirname "$0")/.." || exit 1
GANC=build/ganc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check STATUS NAME OUTPUT-FILE
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2: $(tail -3 "$3" | tr '\n' ' ')"; fi
}

compare_native() { # compare_native FILE DTYPE TOLERANCE
    name="native $(basename "$1") $2"
    exe="$tmp/exe_$2"
    if ! "$GANC" "$1" --dtype "$2" -o "$exe" > "$tmp/build.out" 2>&1; then
        check 1 "$name builds" "$tmp/build.out"; return
    fi
    "$GANC" eval "$1" --dtype "$2" -o "$tmp/interp_eval.st" > "$tmp/out" 2>&1 &&
        "$exe" --eval -o "$tmp/native_eval.st" --quiet >> "$tmp/out" 2>&1 &&
        "$GANC" compare "$tmp/interp_eval.st" "$tmp/native_eval.st" --tolerance "$3" >> "$tmp/out" 2>&1
    check $? "$name eval graph within $3" "$tmp/out"
    "$GANC" run "$1" --steps 2 --dtype "$2" -o "$tmp/interp_run.st" > "$tmp/out" 2>&1 &&
        "$exe" --steps 2 --out "$tmp/run" --quiet >> "$tmp/out" 2>&1 &&
        "$GANC" compare "$tmp/interp_run.st" "$tmp/run/ckpt/last.safetensors" --tolerance "$3" >> "$tmp/out" 2>&1
    check $? "$name step functions within $3" "$tmp/out"
    rm -rf "$tmp/run"
}

for f in tests/native/ops.gan tests/native/conv.gan tests/eval/linear.gan tests/golden/*.gan examples/*.gan; do
    compare_native "$f" f64 1e-9
    compare_native "$f" f32 1e-4
done

# resume: 10 iterations straight == 5, stop, resume to 10 (parameters, optimizer state, RNG)
exe="$tmp/ns"
"$GANC" examples/ns_gan_8gaussians.gan -o "$exe" > "$tmp/out" 2>&1
"$exe" --steps 10 --out "$tmp/straight" --quiet > "$tmp/out" 2>&1 &&
    "$exe" --steps 5 --out "$tmp/resumed" --quiet >> "$tmp/out" 2>&1 &&
    "$exe" --steps 10 --out "$tmp/resumed" --resume "$tmp/resumed/ckpt/last.safetensors" --quiet >> "$tmp/out" 2>&1 &&
    "$GANC" compare "$tmp/straight/ckpt/last.safetensors" "$tmp/resumed/ckpt/last.safetensors" --tolerance 0 >> "$tmp/out" 2>&1
check $? "resume: 10 straight iterations equal 5 + resume + 5, bit for bit" "$tmp/out"

# a truncated checkpoint is an error that names the file
head -c 100 "$tmp/straight/ckpt/last.safetensors" > "$tmp/broken.safetensors"
"$exe" --steps 10 --out "$tmp/r2" --resume "$tmp/broken.safetensors" --quiet > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "broken.safetensors" "$tmp/out"
check $? "a truncated checkpoint is an error naming the file" "$tmp/out"

# bad flags
"$exe" --stepz 3 > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "error: .*--stepz" "$tmp/out"
check $? "an unknown flag is an error naming it" "$tmp/out"
"$exe" --steps 3x > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "error: .*3x" "$tmp/out"
check $? "a bad flag value is an error naming it" "$tmp/out"

# a NaN stops the run with the step and the tensor, and the last checkpoint stays intact
cat > "$tmp/nan.gan" <<'GAN'
use std
batch 8
data  x = gaussians8()
noise z = normal(2)
net G(z) { z -> dense(2) }
net D(x) { x -> dense(1) }
loss D = mean(log(D(x))) - mean(D(G(z)))
loss G = -mean(D(G(z)))
train 10 {
    D: sgd(lr: 0.01)
    G: sgd(lr: 0.01)
}
GAN
"$GANC" "$tmp/nan.gan" -o "$tmp/nan" > "$tmp/out" 2>&1
"$tmp/nan" --steps 5 --out "$tmp/nanrun" --quiet > "$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "step 1: .*loss/D.* not finite" "$tmp/out" && [ ! -e "$tmp/nanrun/ckpt/last.safetensors" ]
check $? "a NaN stops the run naming the step and the tensor, writing no checkpoint" "$tmp/out"

# The WGAN-GP 8-Gaussians toy trained natively covers all 8 modes (VEEGAN's definition: each mode
# is the nearest of at least one sample within 3 standard deviations), as the demo shows.
"$GANC" examples/wgan_gp_8gaussians.gan -O3 -o "$tmp/wgan" > "$tmp/out" 2>&1 &&
    "$tmp/wgan" --steps 500 --threads 2 --out "$tmp/wgan_run" --quiet >> "$tmp/out" 2>&1
grep '"modes fake"' "$tmp/wgan_run/log.jsonl" | tail -1 > "$tmp/modes"
grep -q '"modes fake": 8,' "$tmp/modes"
check $? "WGAN-GP 8 Gaussians trained natively (500 iterations) covers 8 of 8 modes: $(cat "$tmp/modes")" "$tmp/out"
