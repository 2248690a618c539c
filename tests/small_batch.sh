#!/bin/sh
# small_batch.sh SRC DST N: writes to DST a copy of the program SRC with its batch cut to N (a
# `batch N` line added when it has none), and exits 0 when that copy compiles and is smaller
# than SRC's own batch; otherwise exits 1 and DST is SRC as it is. The tests use it to keep
# interpreter runs (finite differences, ganc eval/run) fast: a step's code is the same at any
# batch, only its shapes change. A program that needs its batch (a fixed data set of `batch`
# points, say) does not compile with another one and is kept as it is.
src=$1 dst=$2 small=$3
GANC=${GANC:-build/ganc}
batch=$(sed -n 's/^[[:space:]]*batch[[:space:]][[:space:]]*\([0-9][0-9]*\).*/\1/p' "$src" | head -n 1)
if [ -z "$batch" ]; then
    { cat "$src"; echo; echo "batch $small"; } > "$dst"
    batch=64   # the language's default
else
    sed "s/^\([[:space:]]*\)batch[[:space:]][[:space:]]*[0-9][0-9]*/\1batch $small/" "$src" > "$dst"
fi
if [ "$batch" -gt "$small" ] && "$GANC" "$dst" > /dev/null 2>&1; then exit 0; fi
cp "$src" "$dst"
exit 1
