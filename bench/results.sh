#!/bin/sh
# bench/results.sh (`make results`): trains the toy examples natively over seeds 1, 2 and 3 and
# writes docs/results.md, one table per claim of the papers that the toys can test.
#
# Every example is compiled once (build/ganc FILE -O3 -o build/results/bin/NAME) and run as
#   build/results/bin/NAME --steps N --seed S --threads 1 --quiet --out build/results/runs/NAME_sS
# for S = 1, 2, 3, RESULTS_JOBS runs at a time (default 2: the two cores), the longest first.
# N is the paper's iteration count where it fits the budget (about 30 minutes on two cores) and
# a stated fraction of it where it does not; the tables give both. The numbers come from each
# run's log.jsonl (the runtime's final metrics line, logged expressions) and its last sample
# (samples/fake_N.csv), parsed with awk and sed.
#
# usage: sh bench/results.sh   (RESULTS_JOBS=N: N runs at a time; RESULTS_STEPS_DIV=N: every
#        count divided by N, to test the script quickly; RESULTS_REPORT_ONLY=1: only rewrite
#        docs/results.md from the runs of the last complete run)
set -u
cd "$(dirname "$0")/.." || exit 1

. bench/results_lib.sh
if [ "${1:-}" = "__run" ]; then run_one "$2" "$3" "$4"; exit 0; fi
if [ "${1:-}" = "__compile" ]; then compile_one "$2"; exit 0; fi

# ---- the experiments: NAME STEPS PAPER_STEPS COST ----------------------------------------------
# COST is a rough CPU-seconds estimate per run, only used to start the longest runs first.
# PAPER_STEPS: the count of the paper or its code (the `train` line of the example).
EXPERIMENTS='
wgan_gp_8gaussians 800 100000 170
wgan_gp_25gaussians 800 100000 170
wgan_gp_swissroll 800 100000 170
wgan_clip_8gaussians 800 100000 140
ns_gan_8gaussians 5000 20000 13
minimax_gan_8gaussians 5000 20000 12
hinge_8gaussians 5000 20000 13
lsgan_8gaussians 2000 35000 40
ns_gan_ring8 2000 35000 40
rsgan_5gaussians 10000 20000 16
jsgan_5gaussians 10000 20000 14
rsgan_5gaussians_plain 10000 20000 14
jsgan_5gaussians_plain 10000 20000 12
ra_sgan_5gaussians 10000 20000 16
ra_lsgan_5gaussians 10000 20000 16
ra_hinge_5gaussians 10000 20000 16
rel_hinge_5gaussians 10000 20000 16
rsgan_2cluster 5000 5000 9
jsgan_2cluster 5000 5000 8
gp0_8gaussians 20000 20000 27
gp1_8gaussians 20000 20000 28
r1_8gaussians 20000 20000 17
nogp_8gaussians 20000 20000 18
lgan_x 50 100000 15
lgan_log_sigmoid 50 100000 15
lgan_exp 50 100000 15
lgan_sqrt 50 100000 15
lgan_log_sigmoid_nolip 50 100000 14
mmd_gan 3000 20000 23
mmd_gp 3000 20000 36
cramer_gan 4000 20000 27
dirac_gan_gan 500 500 1
dirac_gan_wgan 500 500 1
dirac_gan_r1 500 500 1
'
# RESULTS_STEPS_DIV=N divides every count by N (at least 1 step): a quick test of this script.
DIV=${RESULTS_STEPS_DIV:-1}
[ -n "${RESULTS_REPORT_ONLY:-}" ] && [ -f "$B/timing" ] && DIV=$(cut -d" " -f5 "$B/timing")
EXPERIMENTS=$(echo "$EXPERIMENTS" | awk -v d="$DIV" 'NF { s = int($2 / d); if (s < 1) s = 1; print $1, s, $3, $4 }')

names=$(echo "$EXPERIMENTS" | awk 'NF { print $1 }')
JOBS=${RESULTS_JOBS:-2}
if [ -n "${RESULTS_REPORT_ONLY:-}" ]; then
    # RESULTS_REPORT_ONLY=1: rewrite docs/results.md from the runs already in build/results
    [ -f "$B/timing" ] || { echo "bench/results.sh: no finished runs in $B" >&2; exit 1; }
    read -r elapsed cpu_total JOBS load0 _ < "$B/timing"
    load0=$(echo "$load0" | tr '_' ' ') load1=${load0#*|} load0=${load0%|*}
else
    t0=$(date +%s)
    load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
    echo "make results: building build/ganc"
    make --no-print-directory build/ganc > /dev/null || exit 1
    for n in $names; do
        [ -f "examples/$n.gan" ] || { echo "bench/results.sh: examples/$n.gan is missing" >&2; exit 1; }
    done
    for n in $names; do rm -rf "$BIN/$n" "$RUNS/${n}"_s*; done   # the image runs stay
    mkdir -p "$BIN" "$RUNS"
    echo "compiling $(echo "$names" | wc -l | tr -d ' ') examples"
    echo "$names" | xargs -P "$JOBS" -n 1 sh "$0" __compile
    echo "training (seeds $SEEDS, $JOBS runs at a time)"
    echo "$EXPERIMENTS" | awk -v seeds="$SEEDS" 'NF { n = split(seeds, s, " "); for (i = 1; i <= n; i++) print $4, $1, $2, s[i] }' |
        sort -k1,1nr | cut -d' ' -f2- | xargs -P "$JOBS" -L 1 sh "$0" __run
    t1=$(date +%s)
    load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
    elapsed=$((t1 - t0))
    # CPU time of everything the script ran (its children's, waited for)
    times > "$B/times"
    cpu_total=$(awk 'NR == 2 { split($1, a, /[ms]/); split($2, b, /[ms]/); printf "%.0f", a[1] * 60 + a[2] + b[1] * 60 + b[2] }' "$B/times")
    echo "$elapsed $cpu_total $JOBS $(echo "$load0|$load1" | tr ' ' '_') $DIV" > "$B/timing"
fi

# ---- reading the results ---------------------------------------------------------------------
steps_of() { echo "$EXPERIMENTS" | awk -v n="$1" '$1 == n { print $2 }'; }
paper_of() { echo "$EXPERIMENTS" | awk -v n="$1" '$1 == n { print $3 }'; }

metric() { field "$1" "$2" '"modes total"' "$3"; }

# the last sample of a run
sample_csv() { echo "$(rundir "$1" "$2")/samples/fake_$(steps_of "$1").csv"; }

# modes_extra NAME SEED KIND ARGS...: "DIST CELLS" from the last sample: the mean distance from a
# sample to its nearest mode centre, and the number of modes whose Voronoi cell holds at least half
# of its fair share (n / 2K) of the samples. KIND: g8 RADIUS SCALE | g25 SPACING SCALE | ring M R.
modes_extra() {
    f=$(sample_csv "$1" "$2")
    { ok "$1" "$2" && [ -f "$f" ]; } || { echo "NA NA"; return; }
    awk -F, -v kind="$3" -v a="$4" -v b="$5" '
    BEGIN { pi = atan2(0, -1)
        if (kind == "g8") { K = 8; for (k = 0; k < K; k++) { cx[k] = a * cos(k * pi / 4) / b; cy[k] = a * sin(k * pi / 4) / b } }
        if (kind == "g25") { K = 25; for (k = 0; k < K; k++) { cx[k] = a * (int(k / 5) - 2) / b; cy[k] = a * (k % 5 - 2) / b } }
        if (kind == "ring") { K = a; for (k = 0; k < K; k++) { cx[k] = b * cos(2 * pi * k / K); cy[k] = b * sin(2 * pi * k / K) } } }
    NF >= 2 { best = 1e300
        for (k = 0; k < K; k++) { d = sqrt(($1 - cx[k]) ^ 2 + ($2 - cy[k]) ^ 2); if (d < best) { best = d; m = k } }
        n++; sum += best; cnt[m]++ }
    END { cells = 0; for (k = 0; k < K; k++) if (cnt[k] >= n / (2 * K)) cells++
        if (n) printf "%.3g %d\n", sum / n, cells; else print "NA NA" }' "$f"
}

# swissroll NAME SEED: "DIST ON BINS": the mean distance from a sample to the noiseless roll
# (t cos t, t sin t) / 7.5, t in [1.5 pi, 4.5 pi]; the fraction within 0.1 of it (3 noise stds,
# 0.25 / 7.5 each); how many of 10 equal ranges of t hold such a sample (coverage of the roll).
swissroll() {
    f=$(sample_csv "$1" "$2")
    { ok "$1" "$2" && [ -f "$f" ]; } || { echo "NA NA NA"; return; }
    awk -F, 'BEGIN { pi = atan2(0, -1); G = 3000
        for (i = 0; i < G; i++) { t = 1.5 * pi + 3 * pi * i / (G - 1); px[i] = t * cos(t) / 7.5; py[i] = t * sin(t) / 7.5 } }
    NF >= 2 { best = 1e300
        for (i = 0; i < G; i++) { d = ($1 - px[i]) ^ 2 + ($2 - py[i]) ^ 2; if (d < best) { best = d; bi = i } }
        best = sqrt(best); n++; sum += best
        if (best < 0.1) { on++; bin[int(10 * bi / G)] = 1 } }
    END { bins = 0; for (j = 0; j < 10; j++) bins += (j in bin)
        if (n) printf "%.3g %.3g %d\n", sum / n, on / n, bins; else print "NA NA NA" }' "$f"
}

# clusters NAME SEED: "IN0 IN1": the code of GAN2_2Cluster.py's count of generated points within
# 1.2 * 0.3 of each cluster's left end (0 and 4), on the last sample (100 points).
clusters() {
    f=$(sample_csv "$1" "$2")
    { ok "$1" "$2" && [ -f "$f" ]; } || { echo "NA NA"; return; }
    awk -F, 'NF >= 1 { if ($1 > -0.36 && $1 < 0.36) a++; if ($1 > 3.64 && $1 < 4.36) b++ }
        END { printf "%d %d\n", a, b }' "$f"
}

# count3 V1 V2 V3 TEST: how many of the three values pass an awk test on v
count3() { echo "$1 $2 $3" | awk "{ c = 0; for (i = 1; i <= 3; i++) { v = \$i; if (v != \"NA\" && ($4)) c++ } print c }"; }

command_of() {
    echo "\`build/ganc examples/$1.gan -O3 -o $BIN/$1 && $BIN/$1 --steps $(steps_of "$1") --seed S --threads 1 --quiet --out $RUNS/$1_sS\` (S = 1, 2, 3)"
}
steps_cell() {
    s=$(steps_of "$1") p=$(paper_of "$1")
    if [ "$s" = "$p" ]; then echo "$s (the paper's)"; else echo "$s of $p"; fi
}
failnote() { f=$(failed "$1"); [ "$f" = 0 ] || echo " **$f of 3 runs failed** (see $RUNS/$1_s*/stdout.txt)"; }

# a row of the table for a 2-D mode toy: modes, high quality, KL, mean distance, cells
mode_row() { # NAME KIND A B
    n=$1
    m1=$(metric "$n" 1 "modes fake") m2=$(metric "$n" 2 "modes fake") m3=$(metric "$n" 3 "modes fake")
    K=$(metric "$n" 1 "modes total")
    q1=$(metric "$n" 1 "high_quality fake") q2=$(metric "$n" 2 "high_quality fake") q3=$(metric "$n" 3 "high_quality fake")
    k1=$(metric "$n" 1 "kl fake") k2=$(metric "$n" 2 "kl fake") k3=$(metric "$n" 3 "kl fake")
    set -- $(modes_extra "$n" 1 "$2" "$3" "$4") $(modes_extra "$n" 2 "$2" "$3" "$4") $(modes_extra "$n" 3 "$2" "$3" "$4")
    echo "| \`$n\`$(failnote "$n") | $(steps_cell "$n") | $(cell "$m1" "$m2" "$m3" %.3g) of $K | $(cell "$q1" "$q2" "$q3" %.2f) | $(cell "$k1" "$k2" "$k3" %.2f) | $(cell "$1" "$3" "$5" %.2f) | $(cell "$2" "$4" "$6" %.3g) | $(command_of "$n") |"
}
mode_head() {
    echo "| example | iterations run | modes covered | high-quality fraction | KL | mean distance to nearest mode | occupied cells | command |"
    echo "|---|---|---|---|---|---|---|---|"
}
modes_mean() { mean3 "$(metric "$1" 1 "modes fake")" "$(metric "$1" 2 "modes fake")" "$(metric "$1" 3 "modes fake")"; }
hq_mean() { mean3 "$(metric "$1" 1 "high_quality fake")" "$(metric "$1" 2 "high_quality fake")" "$(metric "$1" 3 "high_quality fake")"; }
modes_short() { count3 "$(metric "$1" 1 "modes fake")" "$(metric "$1" 2 "modes fake")" "$(metric "$1" 3 "modes fake")" "v < $2"; }
cells_of() { modes_extra "$1" "$2" "$3" "$4" "$5" | cut -d' ' -f2; }
dist_of() { modes_extra "$1" "$2" "$3" "$4" "$5" | cut -d' ' -f1; }
uptime_note() { [ -n "$load0" ] && echo "The load average (1, 5, 15 min) was $load0 when the script started and $load1 when the training ended: other processes sharing the cores stretch the wall time."; }
ratio() { echo "$(paper_of "$1") $(steps_of "$1")" | awk '{ printf "%.0f\n", $1 / $2 }'; }

# ---- docs/results.md -----------------------------------------------------------------------
echo "writing docs/results.md"
# the image section (bench/results_fmnist.sh) is kept as it is
image_section=$(sed -n '/^<!-- fmnist begin -->$/,/^<!-- fmnist end -->$/p' docs/results.md 2>/dev/null)
{
cat <<EOF
# Results: the papers' toy claims, reproduced natively

Generated by \`make results\` (\`sh bench/results.sh\`); do not edit by hand. Each example of
\`examples/\` was compiled with \`build/ganc FILE -O3\` and trained natively with \`--threads 1\`
for seeds 1, 2 and 3, $JOBS runs at a time, on $(nproc 2>/dev/null || echo '?') CPU(s) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)),
ganc at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- compiler runtime stdlib examples 2>/dev/null || echo ' with uncommitted changes'), $(date -u -r "$B/timing" '+%Y-%m-%d %H:%M UTC' 2>/dev/null).

The whole script, compiling included, took **$((elapsed / 60)) min $((elapsed % 60)) s** of wall time and
**$((cpu_total / 60)) min $((cpu_total % 60)) s** of CPU time (user + system of all its processes; on two otherwise idle
cores the wall time is about half the CPU time). $(uptime_note)

Every cell reads **mean (seed 1 / seed 2 / seed 3)**. "iterations run" is the number of rounds
of the \`train\` block (generator iterations; for the D-only LGAN toy, D steps; for the 2-cluster
toy, epochs of 10 D and 10 G steps) against the paper's count: where the paper's count did not
fit the budget of about 30 minutes on two cores, the runs are shortened, and a claim that does
not show at the shortened count is reported as not reproduced *at that count*.

The metrics are computed from the final sample of the generator (one batch on a fixed noise
draw, \`samples/fake_N.csv\`), as the runtime logs them (VEEGAN's definitions, Srivastava et al.
2017): a sample is **high quality** when it lies within 3 standard deviations of its nearest mode
centre; a mode is **covered** when it is the nearest centre of at least one high-quality sample;
**KL** is the KL divergence of the high-quality samples' mode histogram from the uniform one (0
when they spread evenly; 0 also when there is none). Two coarser numbers, computed here from the
same sample, show where the samples are when none is high quality: the **mean distance to the
nearest mode** (in data units) and the **occupied cells**, the number of modes whose Voronoi cell
holds at least half of its fair share (n / 2K) of the samples (K: a spread over every mode; 1:
all samples in one cell).

EOF

echo "## 1. WGAN-GP covers the modes (Gulrajani et al. 2017, gan_toy.py)"
echo
echo "Claim: WGAN-GP with the gan_toy.py settings learns the 8- and 25-Gaussian mixtures without"
echo "missing modes and fits the swiss roll."
echo
mode_head
mode_row wgan_gp_8gaussians g8 2 1.414
mode_row wgan_gp_25gaussians g25 2 2.828
echo
echo "| example | iterations run | mean distance to the roll | fraction within 0.1 of the roll | roll sections reached (of 10) | command |"
echo "|---|---|---|---|---|---|"
set -- $(swissroll wgan_gp_swissroll 1) $(swissroll wgan_gp_swissroll 2) $(swissroll wgan_gp_swissroll 3)
echo "| \`wgan_gp_swissroll\`$(failnote wgan_gp_swissroll) | $(steps_cell wgan_gp_swissroll) | $(cell "$1" "$4" "$7" %.3f) | $(cell "$2" "$5" "$8" %.2f) | $(cell "$3" "$6" "$9" %.3g) | $(command_of wgan_gp_swissroll) |"
roll_on=$(mean3 "$2" "$5" "$8")
echo
echo "The swiss roll has no modes; its numbers are the distance from each sample to the noiseless"
echo "roll and how many of ten equal sections of the roll's parameter t the samples reach (256 real"
echo "points: mean distance 0.026, all within 0.1, 10 of 10 sections)."
echo
m8=$(modes_short wgan_gp_8gaussians 8) m25=$(modes_short wgan_gp_25gaussians 25)
st=$(steps_of wgan_gp_8gaussians)
if [ "$m8" = 0 ] && [ "$m25" = 0 ]; then
    echo "**Verdict:** reproduced for mode coverage at $st of 100000 iterations: every seed covers all 8"
    echo "and all 25 modes. The high-quality fractions are those of an early stage of training."
elif [ "$m8" = 0 ]; then
    echo "**Verdict:** partly reproduced at $st of 100000 iterations: every seed covers all 8 modes of"
    echo "the 8-Gaussian mixture, but $m25 of 3 seeds miss some of the 25 modes at this count; the paper"
    echo "trains $(ratio wgan_gp_25gaussians) times longer."
else
    echo "**Verdict:** not reproduced at $st of 100000 iterations ($m8 of 3 seeds miss modes of the"
    echo "8-Gaussian mixture, $m25 of 3 of the 25-Gaussian one); the paper trains $(ratio wgan_gp_8gaussians) times longer."
fi
echo "Swiss roll: on average $(num "$roll_on" %.2f) of the samples lie within 0.1 of the roll."
echo

echo "## 2. Weight clipping vs gradient penalty (Gulrajani et al. 2017)"
echo
echo "Claim: with the same networks and data, the critic constrained by the gradient penalty trains"
echo "the generator better than weight clipping (Arjovsky et al.'s WGAN: RMSProp 5e-5, clip 0.01)."
echo
mode_head
mode_row wgan_gp_8gaussians g8 2 1.414
mode_row wgan_clip_8gaussians g8 2 1.414
echo
gp_q=$(hq_mean wgan_gp_8gaussians) cl_q=$(hq_mean wgan_clip_8gaussians)
gp_d=$(mean3 "$(dist_of wgan_gp_8gaussians 1 g8 2 1.414)" "$(dist_of wgan_gp_8gaussians 2 g8 2 1.414)" "$(dist_of wgan_gp_8gaussians 3 g8 2 1.414)")
cl_d=$(mean3 "$(dist_of wgan_clip_8gaussians 1 g8 2 1.414)" "$(dist_of wgan_clip_8gaussians 2 g8 2 1.414)" "$(dist_of wgan_clip_8gaussians 3 g8 2 1.414)")
if gt "$gp_q" "$cl_q" && gt "$cl_d" "$gp_d"; then
    echo "**Verdict:** reproduced at $(steps_of wgan_clip_8gaussians) of 100000 iterations: the gradient penalty gives more"
    echo "high-quality samples ($(num "$gp_q" %.2f) vs $(num "$cl_q" %.2f)) and samples closer to the modes"
    echo "(mean distance $(num "$gp_d" %.2f) vs $(num "$cl_d" %.2f))."
else
    echo "**Verdict:** not reproduced at $(steps_of wgan_clip_8gaussians) of 100000 iterations: high-quality fraction"
    echo "$(num "$gp_q" %.2f) (GP) vs $(num "$cl_q" %.2f) (clipping), mean distance $(num "$gp_d" %.2f) vs $(num "$cl_d" %.2f)."
fi
echo

echo "## 3. RS-GAN vs JS-GAN: mode collapse on the 5-Gaussian ring (Sun et al. 2020, 5gaussian.py)"
echo
echo "Claim: separable losses such as JS-GAN's have bad basins in which the generator collapses"
echo "onto some of the modes; the relativistic pairing loss of RS-GAN has none. Two discriminators:"
echo "the \`_plain\` examples are 5gaussian.py's exactly (plain linear layers; the last layer's"
echo "weight normalised after each D step for RS-GAN only), the others add spectral normalisation"
echo "to every layer of D and the normalisation of the last layer for every loss, as papers.md"
echo "describes the official code. Relativistic-average losses (RaSGAN, RaLSGAN, RaHinge) and the"
echo "relativistic hinge use the spectral-norm discriminator."
echo
mode_head
for n in rsgan_5gaussians jsgan_5gaussians rsgan_5gaussians_plain jsgan_5gaussians_plain ra_sgan_5gaussians ra_lsgan_5gaussians ra_hinge_5gaussians rel_hinge_5gaussians; do
    mode_row "$n" ring 5 1
done
echo
rs=$(modes_short rsgan_5gaussians 5) js=$(modes_short jsgan_5gaussians 5)
rsp=$(modes_short rsgan_5gaussians_plain 5) jsp=$(modes_short jsgan_5gaussians_plain 5)
echo "Seeds that miss a mode: RS-GAN $rs of 3, JS-GAN $js of 3 (spectral-norm D); RS-GAN $rsp of 3,"
echo "JS-GAN $jsp of 3 (5gaussian.py's D)."
echo
ra=0
for n in ra_sgan_5gaussians ra_lsgan_5gaussians ra_hinge_5gaussians rel_hinge_5gaussians; do
    ra=$((ra + $(modes_short "$n" 5)))
done
st5=$(steps_of rsgan_5gaussians)
if [ "$jsp" -gt "$rsp" ] && [ "$js" -gt "$rs" ]; then
    echo "**Verdict:** reproduced at $st5 of 20000 iterations with both discriminators: JS-GAN misses"
    echo "modes on more seeds than RS-GAN. With 3 seeds this is an indication, not a statistic."
elif [ "$jsp" -gt "$rsp" ]; then
    echo "**Verdict:** reproduced at $st5 of 20000 iterations with 5gaussian.py's discriminator only:"
    echo "there JS-GAN misses modes on $jsp of 3 seeds and RS-GAN on $rsp. With spectral normalisation"
    echo "(the papers.md variant) JS-GAN misses modes on $js of 3 seeds and RS-GAN on $rs: the"
    echo "normalised discriminator alone keeps JS-GAN from collapsing at this count. With 3 seeds this"
    echo "is an indication, not a statistic."
elif [ "$js" -gt "$rs" ]; then
    echo "**Verdict:** reproduced at $st5 of 20000 iterations with the spectral-norm discriminator only"
    echo "(JS-GAN misses modes on $js of 3 seeds, RS-GAN on $rs); with 5gaussian.py's discriminator"
    echo "JS-GAN misses modes on $jsp of 3 seeds and RS-GAN on $rsp."
else
    echo "**Verdict:** not reproduced at $st5 of 20000 iterations: JS-GAN does not miss modes on more"
    echo "seeds than RS-GAN with either discriminator."
fi
echo "The relativistic-average losses and the relativistic hinge miss a mode on $ra of their 12 runs."
echo

echo "## 4. RS-GAN vs JS-GAN: points per cluster on the 1-D two-cluster toy (GAN2_2Cluster.py)"
echo
echo "Claim: with a fixed set of 100 points in two clusters and a fixed noise batch, JS-GAN can get"
echo "stuck with the generated points in one cluster; RS-GAN puts them in both."
echo
echo "| example | epochs run | points in cluster [0, 0.3] | points in cluster [4, 4.3] | nearest-cluster counts (runtime) | high-quality fraction | command |"
echo "|---|---|---|---|---|---|---|"
for n in rsgan_2cluster jsgan_2cluster; do
    set -- $(clusters "$n" 1) $(clusters "$n" 2) $(clusters "$n" 3)
    a1=$1 b1=$2 a2=$3 b2=$4 a3=$5 b3=$6
    near=""
    for s in $SEEDS; do
        near="$near${near:+ / }$(metric "$n" "$s" "count0 fake"):$(metric "$n" "$s" "count1 fake")"
    done
    q1=$(metric "$n" 1 "high_quality fake") q2=$(metric "$n" 2 "high_quality fake") q3=$(metric "$n" 3 "high_quality fake")
    echo "| \`$n\`$(failnote "$n") | $(steps_cell "$n") | $(cell "$a1" "$a2" "$a3" %.3g) | $(cell "$b1" "$b2" "$b3" %.3g) | $near | $(cell "$q1" "$q2" "$q3" %.2f) | $(command_of "$n") |"
    stuck=0
    for s in $SEEDS; do
        set -- $(clusters "$n" "$s")
        if [ "$1" != NA ] && { [ "$1" -lt 10 ] || [ "$2" -lt 10 ]; }; then stuck=$((stuck + 1)); fi
    done
    eval "stuck_$n=$stuck"
done
echo
echo "The cluster counts are the code's own measure (generated points within 1.2 x 0.3 of each"
echo "cluster's left end, out of 100); the runtime's counts split all 100 points by nearest cluster"
echo "centre. The sample uses a second fixed noise draw, like the code's z_test."
echo
echo "Seeds with fewer than 10 points in one cluster: RS-GAN $stuck_rsgan_2cluster of 3, JS-GAN $stuck_jsgan_2cluster of 3."
echo
if [ "$stuck_jsgan_2cluster" -gt "$stuck_rsgan_2cluster" ]; then
    echo "**Verdict:** reproduced at $(steps_cell rsgan_2cluster) epochs: JS-GAN leaves a cluster (nearly) empty on"
    echo "more seeds than RS-GAN."
else
    echo "**Verdict:** not reproduced at $(steps_cell rsgan_2cluster) epochs with these seeds: JS-GAN does not leave a"
    echo "cluster empty more often than RS-GAN."
fi
echo

echo "## 5. 0-GP vs 1-GP vs R1 vs no penalty (Thanh-Tung et al. 2019, GradientPenaltiesGAN.py)"
echo
echo "Claim: the zero-centred penalty on interpolates (0-GP) keeps a GAN from collapsing and"
echo "improves generalisation; the one-centred penalty (1-GP) does not, and the unregularised GAN"
echo "collapses. Toy: 8 Gaussians on a circle of radius 10 / 1.414 (std 0.02 / 1.414), the script's"
echo "defaults (SGD 3e-3, batch 128, penalty weight 10 on the gradient of the sigmoid output)."
echo
mode_head
for n in gp0_8gaussians gp1_8gaussians r1_8gaussians nogp_8gaussians; do
    mode_row "$n" g8 10 1.414
done
echo
for n in gp0_8gaussians gp1_8gaussians r1_8gaussians nogp_8gaussians; do
    eval "cells_$n=\$(mean3 \"\$(cells_of $n 1 g8 10 1.414)\" \"\$(cells_of $n 2 g8 10 1.414)\" \"\$(cells_of $n 3 g8 10 1.414)\")"
    eval "dist_$n=\$(mean3 \"\$(dist_of $n 1 g8 10 1.414)\" \"\$(dist_of $n 2 g8 10 1.414)\" \"\$(dist_of $n 3 g8 10 1.414)\")"
done
echo "Mean occupied cells (of 8): 0-GP $(num "$cells_gp0_8gaussians"), 1-GP $(num "$cells_gp1_8gaussians"), R1 $(num "$cells_r1_8gaussians"), none $(num "$cells_nogp_8gaussians");"
echo "mean distance to the nearest mode: 0-GP $(num "$dist_gp0_8gaussians" %.2f), 1-GP $(num "$dist_gp1_8gaussians" %.2f), R1 $(num "$dist_r1_8gaussians" %.2f), none $(num "$dist_nogp_8gaussians" %.2f)."
echo
if gt "$cells_gp0_8gaussians" "$cells_nogp_8gaussians" && gt "$cells_gp0_8gaussians" "$cells_gp1_8gaussians"; then
    echo "**Verdict:** the ordering is reproduced at $(steps_cell gp0_8gaussians) iterations in the coarse sense:"
    echo "the 0-GP generator spreads over more modes than the unregularised and the 1-GP ones."
else
    echo "**Verdict:** not reproduced at $(steps_cell gp0_8gaussians) iterations: 0-GP does not spread over more"
    echo "modes than both the unregularised GAN and 1-GP."
fi
hq0=$(hq_mean gp0_8gaussians)
if ! gt "$hq0" 0.5; then
    echo "The samples are not yet high quality, though (0-GP's high-quality fraction is"
    echo "$(num "$hq0" %.2f)): at this scale (modes 5.4 apart, std 0.014) SGD at 3e-3 has not"
    echo "converged in $(steps_of gp0_8gaussians) iterations, so the claim about sample quality is not reproduced."
fi
echo

echo "## 6. Dirac-GAN: R1 converges, the unregularised GAN and WGAN do not (Mescheder et al. 2018)"
echo
echo "Claim: on p_data = delta_0 with G = delta_theta and D(x) = psi x, simultaneous gradient descent"
echo "(h = 0.2, 500 steps from distance sqrt(2) = 1.414) does not converge for the unregularised GAN"
echo "or for WGAN (clipping psi to [-1, 1]), and converges to the equilibrium (0, 0) with R1."
echo
echo "| example | steps run | final distance to equilibrium | final theta | final psi | command |"
echo "|---|---|---|---|---|---|"
for n in dirac_gan_gan dirac_gan_wgan dirac_gan_r1; do
    d1=$(field "$n" 1 '"distance"' distance) d2=$(field "$n" 2 '"distance"' distance) d3=$(field "$n" 3 '"distance"' distance)
    t1=$(field "$n" 1 '"distance"' theta) t2=$(field "$n" 2 '"distance"' theta) t3=$(field "$n" 3 '"distance"' theta)
    p1=$(field "$n" 1 '"distance"' psi) p2=$(field "$n" 2 '"distance"' psi) p3=$(field "$n" 3 '"distance"' psi)
    echo "| \`$n\`$(failnote "$n") | $(steps_cell "$n") | $(cell "$d1" "$d2" "$d3" %.3g) | $(cell "$t1" "$t2" "$t3" %.3g) | $(cell "$p1" "$p2" "$p3" %.3g) | $(command_of "$n") |"
    eval "dist_$n=\$(mean3 $d1 $d2 $d3)"
done
echo
echo "The model has no randomness that matters (the data are a constant, G ignores its noise), so"
echo "the three seeds agree."
echo
if gt 0.01 "$dist_dirac_gan_r1" && gt "$dist_dirac_gan_gan" 0.5 && gt "$dist_dirac_gan_wgan" 0.5; then
    echo "**Verdict:** reproduced: R1 ends $(num "$dist_dirac_gan_r1") from the equilibrium, the unregularised"
    echo "GAN $(num "$dist_dirac_gan_gan") and WGAN $(num "$dist_dirac_gan_wgan")."
else
    echo "**Verdict:** not reproduced: final distances R1 $(num "$dist_dirac_gan_r1"), GAN $(num "$dist_dirac_gan_gan"), WGAN $(num "$dist_dirac_gan_wgan")."
fi
echo

echo "## 7. Lipschitz GAN objectives train with MaxGP (Zhou et al. 2019, gan_synthetic4.py)"
echo
echo "Claim: under a Lipschitz constraint (MaxGP, lambda 0.1) every objective of the LGAN family"
echo "(phi, varphi below) trains a discriminator whose gradient at each fake point points towards"
echo "the real data. The D-only toy: fake ~ N((-0.75, 0), 0.15^2 I) fixed, real = half"
echo "N((1, 0), 0.15^2 I), half N((-1.25, 0), 0.15^2 I); a 4 x 1024 ReLU critic. Measured on a fresh"
echo "batch after the last step: **toward**, the fraction of fake points whose gradient is within 26"
echo "degrees of the direction to one of the real centres, and **right**, the fraction heading to"
echo "the right-hand centre (optimal transport sends half of the fake mass each way). The control"
echo "\`lgan_log_sigmoid_nolip\` is the same objective without the penalty."
echo
echo "| example | D steps run | toward | right | final D loss | command |"
echo "|---|---|---|---|---|---|"
for n in lgan_x lgan_log_sigmoid lgan_exp lgan_sqrt lgan_log_sigmoid_nolip; do
    w1=$(field "$n" 1 '"toward"' toward) w2=$(field "$n" 2 '"toward"' toward) w3=$(field "$n" 3 '"toward"' toward)
    r1=$(field "$n" 1 '"toward"' right) r2=$(field "$n" 2 '"toward"' right) r3=$(field "$n" 3 '"toward"' right)
    l1=$(field "$n" 1 '"toward"' "loss D") l2=$(field "$n" 2 '"toward"' "loss D") l3=$(field "$n" 3 '"toward"' "loss D")
    echo "| \`$n\`$(failnote "$n") | $(steps_cell "$n") | $(cell "$w1" "$w2" "$w3" %.2f) | $(cell "$r1" "$r2" "$r3" %.2f) | $(cell "$l1" "$l2" "$l3" %.3g) | $(command_of "$n") |"
    eval "tw_$n=\$(mean3 $w1 $w2 $w3)"
    eval "rt_$n=\$(mean3 $r1 $r2 $r3)"
done
echo
lip_min=$(echo "$tw_lgan_x $tw_lgan_log_sigmoid $tw_lgan_exp $tw_lgan_sqrt" | awk '{ m = 2; for (i = 1; i <= 4; i++) { if ($i == "NA") { print "NA"; exit } if ($i < m) m = $i } print m }')
nf=0; for n in lgan_x lgan_log_sigmoid lgan_exp lgan_sqrt; do nf=$((nf + $(failed "$n"))); done
echo "All four objectives trained with MaxGP without a non-finite value in $((12 - nf)) of 12 runs."
if gt "$lip_min" 0.9; then
    echo "**Verdict:** reproduced at $(steps_of lgan_x) D steps: for every objective more than 90% of the fake"
    echo "points' gradients point at real data (control without the penalty: $(num "$tw_lgan_log_sigmoid_nolip" %.2f))."
else
    echo "**Verdict:** partly reproduced at $(steps_of lgan_x) D steps (the script trains until stopped): every"
    echo "objective trains with MaxGP, but the fraction of fake points whose gradient points at real data"
    echo "is at least $(num "$lip_min" %.2f) for the four objectives against $(num "$tw_lgan_log_sigmoid_nolip" %.2f) for the unconstrained"
    echo "control, which does not separate them at this count."
fi
r_lo=$(echo "$rt_lgan_log_sigmoid $rt_lgan_exp $rt_lgan_sqrt" | awk '{ m = 2; for (i = 1; i <= 3; i++) if ($i != "NA" && $i < m) m = $i; print m }')
r_hi=$(echo "$rt_lgan_log_sigmoid $rt_lgan_exp $rt_lgan_sqrt" | awk '{ m = -1; for (i = 1; i <= 3; i++) if ($i != "NA" && $i > m) m = $i; print m }')
echo "What the constraint does change here is where the gradients point: with MaxGP the Wasserstein"
echo "objective (x) sends $(num "$rt_lgan_x" %.2f) of the fake points towards the right-hand mode (optimal transport: 0.5),"
echo "the other three objectives $(num "$r_lo" %.2f) to $(num "$r_hi" %.2f), and the unconstrained control $(num "$rt_lgan_log_sigmoid_nolip" %.2f): without"
echo "the Lipschitz constraint nearly every gradient points to the nearer real mode."
echo

echo "## 8. MMD GAN and Cramer GAN train (Li et al. 2017; Binkowski et al. 2018; Bellemare et al. 2017)"
echo
echo "Claim: the particle-based distances train a generator (no claim on the toys in the papers;"
echo "the settings are ours, see each example's header). Data: the 8-Gaussian toy of gan_toy.py."
echo
mode_head
for n in mmd_gan mmd_gp cramer_gan; do mode_row "$n" g8 2 1.414; done
echo
for n in mmd_gan mmd_gp cramer_gan; do
    eval "d_$n=\$(mean3 \"\$(dist_of $n 1 g8 2 1.414)\" \"\$(dist_of $n 2 g8 2 1.414)\" \"\$(dist_of $n 3 g8 2 1.414)\")"
done
echo "**Verdict:** all three train without a non-finite value ($(( $(failed mmd_gan) + $(failed mmd_gp) + $(failed cramer_gan) )) failed runs of 9);"
echo "after the shortened runs the mean distance to the nearest mode is $(num "$d_mmd_gan" %.2f) (MMD GAN, clipped"
echo "encoder), $(num "$d_mmd_gp" %.2f) (MMD GAN with the witness gradient penalty) and $(num "$d_cramer_gan" %.2f) (Cramer GAN), with"
echo "$(num "$(modes_mean mmd_gan)"), $(num "$(modes_mean mmd_gp)") and $(num "$(modes_mean cramer_gan)") of 8 modes covered on average."
for n in mmd_gan mmd_gp cramer_gan; do
    if gt 4 "$(modes_mean "$n")"; then
        echo "\`$n\` trains (its samples spread over $(num "$(mean3 "$(cells_of $n 1 g8 2 1.414)" "$(cells_of $n 2 g8 2 1.414)" "$(cells_of $n 3 g8 2 1.414)")") of the 8 cells) but is not yet precise at $(steps_of "$n") iterations."
    fi
done
echo

echo "## 9. Other separable losses on the mixtures of Gaussians"
echo
echo "LSGAN's claim (Mao et al. 2017, the mixture_gaussian scripts): with the same networks and"
echo "settings, the least-squares loss learns the 8-mode ring where the regular GAN (sig.py) collapses."
echo "The gan_toy.py-style 8-Gaussian runs of the non-saturating, minimax and hinge losses (no claim"
echo "in papers.md; our settings) are listed for comparison."
echo
mode_head
mode_row lsgan_8gaussians ring 8 1
mode_row ns_gan_ring8 ring 8 1
mode_row ns_gan_8gaussians g8 2 1.414
mode_row minimax_gan_8gaussians g8 2 1.414
mode_row hinge_8gaussians g8 2 1.414
echo
ls_m=$(modes_mean lsgan_8gaussians) sg_m=$(modes_mean ns_gan_ring8)
if gt "$ls_m" "$sg_m"; then
    echo "**Verdict (LSGAN):** reproduced at $(steps_of lsgan_8gaussians) of 35000 iterations: LSGAN covers"
    echo "$(num "$ls_m") modes on average against $(num "$sg_m") for the regular GAN."
else
    echo "**Verdict (LSGAN):** not reproduced at $(steps_of lsgan_8gaussians) of 35000 iterations: LSGAN covers"
    echo "$(num "$ls_m") modes on average, the regular GAN $(num "$sg_m")."
fi
echo
echo "## Runs"
echo
echo "$(for n in $names; do ls -d "$RUNS/${n}"_s* 2> /dev/null; done | wc -l | tr -d ' ') runs; logs, samples and the last checkpoint are in \`$RUNS/NAME_sSEED/\`, each run's exit"
echo "status, wall time and CPU time in its \`status\` file. Per example, the three seeds added:"
echo
echo "| example | wall seconds | CPU seconds |"
echo "|---|---|---|"
for n in $names; do
    echo "| \`$n\` | $(cat "$RUNS/${n}"_s*/status 2>/dev/null | awk '{ w += $2; c += $3 } END { printf "%d | %.0f", w, c }') |"
done
if [ -n "$image_section" ]; then echo; echo "$image_section"; fi
} > docs/results.md
echo "docs/results.md written (the script took $((elapsed / 60)) min $((elapsed % 60)) s, $((cpu_total / 60)) min $((cpu_total % 60)) s of CPU)"
