#!/bin/sh
# threads.sh: the native executable on 1, 2 and 4 threads (--threads: the pool's fused loops,
# oneDNN's batch chunks, BLAS's threads) against the reference interpreter, and bit-identical
# from run to run at a given thread count. Batch-16 copies (tests/small_batch.sh) of an MLP GAN
# with a gradient penalty and the conv program of the native tests, in float32 (oneDNN's convs)
# and float64 (im2col + BLAS), and the DCGAN pair with batch norm in float32: two iterations in
# float64 under 1e-9, one in float32 under 1e-4 with Adam's eps at 1e-4, as tests/native.sh does.
# usage: sh tests/threads.sh
cd "$(dirname "$0")/.." || exit 1
GANC=${GANC:-build/ganc}
export GANC
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check STATUS NAME OUTPUT-FILE
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2: $(tail -3 "$3" | tr '\n' ' ')"; fi
}

one() { # one FILE DTYPE TOLERANCE ITERS
    name=$(basename "$1" .gan)
    src="$tmp/${name}_$2.gan"
    sh tests/small_batch.sh "$1" "$tmp/small.gan" 16
    sed 's/\<\(adam\|rmsprop\)(\([^)]\)/\1(eps: 1e-4, \2/g; s/\<\(adam\|rmsprop\)()/\1(eps: 1e-4)/g' "$tmp/small.gan" > "$src"
    exe="$tmp/${name}_$2"
    if ! "$GANC" "$src" --dtype "$2" -o "$exe" > "$tmp/out" 2>&1 ||
        ! "$GANC" run "$src" --steps "$4" --dtype "$2" -o "$tmp/interp.st" > "$tmp/out" 2>&1; then
        check 1 "threads $name $2 builds and runs in the interpreter" "$tmp/out"
        return
    fi
    for t in 1 2 4; do
        "$exe" --steps "$4" --threads $t --out "$tmp/run$t" --quiet > "$tmp/out" 2>&1 &&
            "$GANC" compare "$tmp/interp.st" "$tmp/run$t/ckpt/last.safetensors" --tolerance "$3" >> "$tmp/out" 2>&1
        check $? "threads $name $2: --steps $4 --threads $t within $3 of the interpreter" "$tmp/out"
    done
    "$exe" --steps "$4" --threads 2 --out "$tmp/again" --quiet > "$tmp/out" 2>&1 &&
        "$GANC" compare "$tmp/run2/ckpt/last.safetensors" "$tmp/again/ckpt/last.safetensors" --tolerance 0 >> "$tmp/out" 2>&1
    # every tensor equal (the files' run records differ: start time, output directory)
    check $? "threads $name $2: two runs on 2 threads are bit-identical" "$tmp/out"
    rm -rf "$tmp"/run* "$tmp/again"
}

# float64 convolutions are the im2col kernels, covered by conv.gan; the DCGAN's float32 run
# covers oneDNN's batch chunks at batch 16 (the interpreter's float64 DCGAN would cost most of
# the part's time)
for f in examples/wgan_gp_8gaussians.gan tests/native/conv.gan; do
    one "$f" f64 1e-9 2
    one "$f" f32 1e-4 1
done
one bench/dcgan_ns.gan f32 1e-4 1
