#!/bin/sh
# toy_metrics.sh: modes covered and the high-quality fraction of 8-Gaussians samples (the WGAN-GP
# toy: centres 2(cos k pi/4, sin k pi/4), std 0.02, all divided by 1.414). A sample is high
# quality when it lies within 3 standard deviations of its nearest centre; a mode is covered
# when it is the nearest centre of at least one high-quality sample (the definitions of VEEGAN,
# Srivastava et al. 2017, which the later mode-collapse papers use).
# Usage: sh tests/toy_metrics.sh SAMPLES.csv   (one "x,y" row per sample)
awk -F, '
BEGIN { s = 1.414; std = 0.02 / s; pi = atan2(0, -1)
        for (k = 0; k < 8; k++) { cx[k] = 2 * cos(k * pi / 4) / s; cy[k] = 2 * sin(k * pi / 4) / s } }
NF >= 2 { n++; best = 1e9
          for (k = 0; k < 8; k++) { d = sqrt(($1 - cx[k])^2 + ($2 - cy[k])^2); if (d < best) { best = d; nearest = k } }
          if (best < 3 * std) { hq++; count[nearest]++ } }
END { covered = 0
      for (k = 0; k < 8; k++) if (count[k] >= 1) covered++
      printf "modes covered: %d/8, high-quality samples: %.1f%% of %d\n", covered, 100 * hq / (n ? n : 1), n }' "$1"
