#!/bin/sh
# distributed.sh: one machine's data-parallel measurement for docs/distributed.md: the same
# training run as 1 process with 2 BLAS threads and as 2 MPI processes with 1 thread each, in
# alternating rounds (the machine may be shared: compare within a round).
# usage: sh bench/distributed.sh [ROUNDS] [FILE.gan STEPS ...]
cd "$(dirname "$0")/.." || exit 1
rounds=${1:-3}
shift 2> /dev/null
set -- "${@:-examples/wgan_gp_8gaussians.gan}" ${2:-30}
[ $# -ge 2 ] || set -- "$1" 30
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seconds() { # seconds COMMAND...: wall time of the command, in seconds
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || echo "failed: $*" >&2
    echo "$(date +%s.%N) - $start" | bc
}
while [ $# -ge 2 ]; do
    file=$1 steps=$2
    shift 2
    build/ganc "$file" -O2 --ranks 2 -o "$tmp/exe" || exit 1
    for r in $(seq "$rounds"); do
        one=$(seconds "$tmp/exe" --steps "$steps" --threads 2 --out "$tmp/one" --quiet)
        two=$(seconds mpirun --allow-run-as-root --oversubscribe -np 2 "$tmp/exe" --steps "$steps" --threads 1 \
              --out "$tmp/two" --quiet)
        echo "$(basename "$file") round $r: 1 process x 2 threads ${one} s, 2 processes x 1 thread ${two} s ($steps iterations)"
    done
done
