#!/bin/sh
# mpi_sweep.sh: issue 11's done-when check, for every example (long: outside CI; minutes per
# Fashion-MNIST example on a shared 2-core machine). Each example is built in float64 for 4 ranks,
# run for STEPS iterations alone and under `mpirun -np 4` (seed 3, one BLAS thread per process),
# and the two final checkpoints are compared with `ganc compare` at TOLERANCE. One line per
# example: ok / DIFF with the largest relative error and the tensor that has it, or why it could
# not run (a batch that does not split into 4 is ganc's error naming both numbers). With --exact
# the executables are built with `ganc --exact` (the process alone sums over the batch in the 4
# ranks' order, docs/distributed.md): every example should then be equal at tolerance 0.
# usage: sh bench/mpi_sweep.sh [--exact] [STEPS [TOLERANCE [FILE.gan ...]]]
#        GANC=path/to/ganc overrides build/ganc; the run directories stay in $SWEEP_DIR (a temp dir).
cd "$(dirname "$0")/.." || exit 1
exact=""
[ "${1:-}" = --exact ] && exact=--exact && shift
steps=${1:-20}
tol=${2:-1e-12}
shift 2 2> /dev/null
GANC=${GANC:-build/ganc}
MPIRUN="mpirun --allow-run-as-root --oversubscribe"
work=${SWEEP_DIR:-$(mktemp -d)}
mkdir -p "$work"
# the Fashion-MNIST examples' FID reads the classifier that make trains
[ -f build/fmnist_classifier.safetensors ] || make build/fmnist_classifier.safetensors || exit 1
equal=0 total=0
for f in ${*:-examples/*.gan}; do
    name=$(basename "$f" .gan) dir=$work/$name
    mkdir -p "$dir"
    total=$((total + 1))
    start=$(date +%s)
    if ! "$GANC" "$f" --dtype f64 --ranks 4 $exact -o "$dir/exe" > "$dir/build.out" 2>&1; then
        echo "$name: not built: $(grep -m1 error "$dir/build.out")"
        continue
    fi
    "$dir/exe" --steps "$steps" --seed 3 --threads 1 --out "$dir/alone" --quiet > "$dir/alone.out" 2>&1 ||
        { echo "$name: the single process failed: $(tail -1 "$dir/alone.out")"; continue; }
    $MPIRUN -np 4 "$dir/exe" --steps "$steps" --seed 3 --threads 1 --out "$dir/np4" --quiet > "$dir/np4.out" 2>&1 ||
        { echo "$name: the 4-rank run failed: $(tail -1 "$dir/np4.out")"; continue; }
    # the largest relative error, and the tensor that has it (--verbose lists every tensor)
    "$GANC" compare "$dir/alone/ckpt/last.safetensors" "$dir/np4/ckpt/last.safetensors" --tolerance "$tol" \
        --verbose > "$dir/compare.out" 2>&1
    rc=$?
    summary=$(grep -m1 "largest relative error" "$dir/compare.out")
    worst=$(grep -v "^compared" "$dir/compare.out" | awk '{print $2, $1}' | sort -g | tail -1)
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        equal=$((equal + 1))
        echo "$name: ok: $summary (${secs} s)"
    else
        echo "$name: DIFF: $summary; worst tensor: $worst (${secs} s)"
    fi
done
echo "mpi_sweep: $equal of $total examples equal within $tol after $steps iterations on 4 ranks${exact:+ (built with --exact)} (runs in $work)"
