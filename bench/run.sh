#!/bin/sh
# bench/run.sh: generator iterations per second of the WGAN-GP 8-Gaussians experiment, natively
# (ganc -O3) and in PyTorch (Debian's python3-torch), with the same thread count, in one run.
# Not part of `make test`. Usage: sh bench/run.sh [ITERS] [THREADS]
set -e
cd "$(dirname "$0")/.."
iters=${1:-200}
threads=${2:-$(nproc)}
make --no-print-directory build/ganc > /dev/null
exe=$(mktemp -d)/wgan
build/ganc examples/wgan_gp_8gaussians.gan -O3 -o "$exe"
out=$(dirname "$exe")/run
start=$(date +%s.%N)
"$exe" --steps "$iters" --threads "$threads" --quiet --out "$out" > /dev/null
end=$(date +%s.%N)
native=$(echo "$iters $start $end" | awk '{printf "%.3f", $1 / ($3 - $2)}')
if ! /usr/bin/python3 -c 'import torch' 2> /dev/null; then
    echo "native: $native generator iterations/s ($threads threads); PyTorch: python3-torch is not installed"
    exit 0
fi
torch=$(/usr/bin/python3 bench/wgan_gp_torch.py "$iters" "$threads")
echo "WGAN-GP 8 Gaussians, $iters generator iterations (5 critic steps each), $threads threads"
echo "ganc native: $native it/s"
echo "PyTorch:     $torch it/s"
echo "$native $torch" | awk '{printf "ratio (ganc / PyTorch): %.2f\n", $1 / $2}'
rm -rf "$(dirname "$exe")"
