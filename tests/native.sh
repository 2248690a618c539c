#!/bin/sh
# native.sh: the native backend held to the reference interpreter, and the executable's runtime.
#  - every program below, built natively in float64 and float32: its eval graph (every loss and
#    gradient, `EXE --eval` against `ganc eval`) and its training schedule (every step function
#    with its optimizer update, `EXE --steps N --threads T` against `ganc run`, for T = 1, 2, 4):
#    two iterations under 1e-9 in float64, one under 1e-4 in float32 (with Adam's and
#    RMSProp's eps at 1e-4, see compare_native);
#  - resume: N iterations straight equal N/2, stop, resume, N/2, bit for bit;
#  - a truncated checkpoint, a bad flag and a NaN each stop with a clear error;
#  - labels with any text the language accepts reach log.jsonl and the sample files intact, and
#    `ganc run` logs at the executable's steps.
# usage: sh tests/native.sh [FILE.gan ...]   (files named: only their comparisons)
# Programs whose basenames coincide would share a work folder: keep them distinct.
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$self")/jobs.sh"

compare_native() { # compare_native FILE DTYPE TOLERANCE WORK (and $note, for the test names)
    name="native $(basename "$1")${note:-} $2"
    work=$4
    exe="$work/exe_$2"
    # Float32: one iteration (every step function once; float64 runs two, the state handed from
    # one to the next included), with Adam's and RMSProp's eps at 1e-4. Their update
    # lr g / (sqrt(v) + eps) has slope lr / (4 eps) where |g| = eps: with eps 1e-8, an element
    # whose gradient is that small turns the float32 rounding of the gradient (1e-7 of its
    # largest terms, more where a loss cancels, as MMD's does) into update differences of 1e-4
    # of the weights between any two correct float32 implementations, and a second iteration of
    # a batch-norm GAN amplifies them further. eps 1e-4 bounds that gain. The eval graph has no
    # optimizer, so one build of that program serves both comparisons.
    src=$1 iters=2
    if [ "$2" = f32 ]; then
        src="$work/f32_$(basename "$1")" iters=1
        sed 's/\<\(adam\|rmsprop\)(\([^)]\)/\1(eps: 1e-4, \2/g; s/\<\(adam\|rmsprop\)()/\1(eps: 1e-4)/g' "$1" > "$src"
    fi
    if ! "$GANC" "$src" --dtype "$2" -o "$exe" > "$work/build.out" 2>&1; then
        check 1 "$name builds" "$work/build.out"; return
    fi
    "$GANC" eval "$src" --dtype "$2" -o "$work/interp_eval.st" > "$work/out" 2>&1 &&
        "$exe" --eval -o "$work/native_eval.st" --quiet >> "$work/out" 2>&1 &&
        "$GANC" compare "$work/interp_eval.st" "$work/native_eval.st" --tolerance "$3" >> "$work/out" 2>&1
    check $? "$name eval graph within $3" "$work/out"
    # the step functions on 1, 2 and 4 threads (issue 10: the pool's loops, oneDNN, BLAS)
    "$GANC" run "$src" --steps $iters --dtype "$2" -o "$work/interp_run.st" > "$work/out" 2>&1
    rc=$?
    for t in 1 2 4; do
        [ $rc -eq 0 ] || break
        echo "--threads $t:" >> "$work/out"
        "$exe" --steps $iters --threads $t --out "$work/run$t" --quiet >> "$work/out" 2>&1 &&
            "$GANC" compare "$work/interp_run.st" "$work/run$t/ckpt/last.safetensors" --tolerance "$3" >> "$work/out" 2>&1
        rc=$?
        rm -rf "$work/run$t"
    done
    check $rc "$name step functions within $3 on 1, 2 and 4 threads" "$work/out"
}

# --one WORK FILE: both dtypes of one program, on a copy whose batch is cut to NATIVE_BATCH
# (default 16) where that compiles (tests/small_batch.sh): the interpreter's share of the time
# grows with the batch, the code under test does not change with it.
if [ "${1:-}" = --one ]; then
    work=$2/$(basename "$3" .gan)
    mkdir -p "$work"
    src=$work/$(basename "$3")
    note=""
    sh tests/small_batch.sh "$3" "$src" "${NATIVE_BATCH:-16}" && note=" (batch ${NATIVE_BATCH:-16})"
    # no FID at the last iteration: thousands of classifier rows per run, which the comparison of
    # the parameters does not read (tests/zoo.sh and test_fid cover the FID path)
    sed -i '/^fid every/d' "$src"
    compare_native "$src" f64 1e-9 "$work" > "$work/result"
    compare_native "$src" f32 1e-4 "$work" >> "$work/result"
    exit 0
fi

# The longest single job, the WGAN-GP toy's 500 iterations (checked at the end), starts first and
# runs beside the comparisons on one thread: on --threads 2 it took 1.6 times the CPU (the pool's
# waits) and ran alone at the end, after the comparisons.
if [ $# -eq 0 ]; then
    { "$GANC" examples/wgan_gp_8gaussians.gan -O3 -o "$tmp/wgan" &&
        "$tmp/wgan" --steps 500 --threads 1 --out "$tmp/wgan_run" --quiet; } > "$tmp/wgan_out" 2>&1 &
    wgan_pid=$!
fi

# the programs, NATIVE_JOBS at a time (default: the CPUs), the slowest first so that the jobs end
# together: those that load a data set file (each of their 12 processes reads all of it:
# Fashion-MNIST's 60,000 images, 5-10 times a toy's CPU time), then the largest files. By size
# alone the data set programs, short files, came last and one of them ran alone at the end.
files=${*:-tests/native/ops.gan tests/native/conv.gan tests/eval/linear.gan tests/golden/*.gan examples/*.gan}
# shellcheck disable=SC2086 # the list splits into file names
{ grep -l 'load(' $files; ls -S $files; } | awk '!seen[$0]++' |
    xargs -n 1 -P "${NATIVE_JOBS:-$(nproc 2>/dev/null || echo 2)}" sh "$self" --one "$tmp"
for f in $files; do
    r=$tmp/$(basename "$f" .gan)/result
    if [ -s "$r" ]; then cat "$r"; else echo "not ok - native $(basename "$f"): no result"; fi
done
[ $# -gt 0 ] && exit 0   # only the named programs

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

# Labels reach the executable intact (the model is constant data, runtime/contract.h): log and
# sample labels are source text, here with spaces, quotes, a backslash, a newline inside a
# comment, non-ASCII text and 203 characters. Each must be a key of log.jsonl, escaped as JSON
# wants, and name its sample files by the runtime's rule (bytes other than letters, digits, '-'
# and '_' become '_'). `ganc run` logs at the same steps (runtime/policy.h: log every 3 of 7).
nl='
'
l1='mean(fake * x)'
l2="mean(fake # a \"quoted\" \\ backslash, ü, ∑, 😀${nl}    + x)"
l3="$(printf 'mean(fake) + %.0s' 1 2 3 4 5 6 7 8 9 10 11 12 13 14)mean(fake * fake * x)"
s2='concat(fake, x)'
s3="concat(x, # ü \"q\" \\${nl}  fake)"
cat > "$tmp/labels.gan" <<GAN
use std
batch 8
data  x = gaussians8()
noise z = normal(2)
net G(z) { z -> dense(2) }
net D(x) { x -> dense(1) }
fake = G(z)
loss D = ns_gan_d(D, x, fake)
loss G = ns_gan_g(D, fake)
train 7 {
    D: sgd(lr: 0.01)
    G: sgd(lr: 0.01)
}
log every 3: loss D, $l1, $l2, $l3
sample every 7: fake, $s2, $s3
GAN
json_key() { # the label as the JSON string of a key, quotes included
    printf '%s\n' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'NR > 1 { printf "\\u000a" } { printf "%s", $0 }' |
        sed 's/.*/"&": /'
}
"$GANC" "$tmp/labels.gan" -o "$tmp/labels" > "$tmp/out" 2>&1 && "$tmp/labels" --out "$tmp/labels_run" --quiet >> "$tmp/out" 2>&1
ok=$?
for label in "loss D" "$l1" "$l2" "$l3"; do
    [ "$(grep -cF -- "$(json_key "$label")" "$tmp/labels_run/log.jsonl")" -eq 4 ] || { ok=1; echo "missing in log.jsonl: $label" >> "$tmp/out"; }
done
for label in fake "$s2" "$s3"; do
    stem=$(printf '%s' "$label" | LC_ALL=C tr -c 'A-Za-z0-9_-' '_')
    for ext in npy csv; do
        [ -s "$tmp/labels_run/samples/${stem}_7.$ext" ] || { ok=1; echo "missing: samples/${stem}_7.$ext" >> "$tmp/out"; }
    done
done
[ ${#l3} -ge 200 ] || ok=1
check $ok "log and sample labels with spaces, quotes, backslashes, newlines, unicode and ${#l3} characters reach the executable intact" "$tmp/out"
"$GANC" run "$tmp/labels.gan" > "$tmp/interp_log" 2> "$tmp/out"
grep -o '^{"step": [0-9]*' "$tmp/interp_log" > "$tmp/interp_steps"
grep -F '"loss D"' "$tmp/labels_run/log.jsonl" | grep -o '^{"step": [0-9]*' > "$tmp/native_steps"
[ "$(tr '\n' ' ' < "$tmp/native_steps")" = '{"step": 1 {"step": 3 {"step": 6 {"step": 7 ' ] && cmp -s "$tmp/interp_steps" "$tmp/native_steps"
check $? "ganc run and the executable log at the same steps (1 3 6 7 of 7, every 3): $(tr '\n' ' ' < "$tmp/interp_steps" | tr -d '{"')" "$tmp/out"

# The WGAN-GP 8-Gaussians toy trained natively covers all 8 modes (VEEGAN's definition: each mode
# is the nearest of at least one sample within 3 standard deviations), as the demo shows.
wait $wgan_pid
grep '"modes fake"' "$tmp/wgan_run/log.jsonl" | tail -1 > "$tmp/modes"
grep -q '"modes fake": 8,' "$tmp/modes"
check $? "WGAN-GP 8 Gaussians trained natively (500 iterations) covers 8 of 8 modes: $(cat "$tmp/modes")" "$tmp/wgan_out"
