#!/bin/sh
# demo.sh: what `make demo` runs after the build: compile the WGAN-GP 8-Gaussians example to a
# native executable, train it (DEMO_STEPS generator iterations, each with 5 critic steps), and
# report the modes covered and the share of high-quality samples of the last sample batch.
set -e
cd "$(dirname "$0")/.."
steps=${DEMO_STEPS:-1000}
out=runs/wgan_gp_8gaussians
echo "== compiling examples/wgan_gp_8gaussians.gan"
build/ganc examples/wgan_gp_8gaussians.gan -O3 -o build/wgan_gp_8gaussians
echo "== training $steps generator iterations natively ($(nproc) threads)"
rm -rf "$out"
start=$(date +%s)
build/wgan_gp_8gaussians --steps "$steps" --threads "$(nproc)" --out "$out"
end=$(date +%s)
last=$(ls "$out"/samples/fake_*.csv | sort -t_ -k2 -n | tail -1)
echo "== trained in $((end - start)) s; last samples: $last"
sh tests/toy_metrics.sh "$last"
echo "log: $out/log.jsonl   samples: $out/samples/   checkpoints: $out/ckpt/"
