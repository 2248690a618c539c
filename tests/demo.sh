#!/bin/sh
# demo.sh: what `make demo` runs after the build: compile the WGAN-GP 8-Gaussians example to a
# native executable, train it (DEMO_STEPS generator iterations, each with 5 critic steps), and
# report what the runtime measured on the last sample batch: modes covered and the share of
# high-quality samples (VEEGAN's definitions: within 3 standard deviations of a mode).
set -e
cd "$(dirname "$0")/.."
steps=${DEMO_STEPS:-600}
out=runs/wgan_gp_8gaussians
echo "== compiling examples/wgan_gp_8gaussians.gan"
build/ganc examples/wgan_gp_8gaussians.gan -O3 -o build/wgan_gp_8gaussians
echo "== training $steps generator iterations natively on $(nproc) threads"
rm -rf "$out"
start=$(date +%s)
build/wgan_gp_8gaussians --steps "$steps" --threads "$(nproc)" --out "$out"
end=$(date +%s)
echo "== trained in $((end - start)) s"
grep '"modes fake"' "$out/log.jsonl" | tail -1 |
    sed 's/.*"modes fake": \([0-9]*\), "modes total": \([0-9]*\), "high_quality fake": \([0-9.e-]*\), "kl fake": \([0-9.e-]*\).*/modes covered: \1 of \2; high-quality samples: \3 (fraction); KL(modes || uniform): \4/'
echo "samples: $out/samples/   log: $out/log.jsonl   checkpoints: $out/ckpt/"
