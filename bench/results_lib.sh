# bench/results_lib.sh: what bench/results.sh and bench/results_fmnist.sh share (sourced):
# the runs' folders, a run's exit status and logged values, and the table cells.
B=build/results
BIN=$B/bin
RUNS=$B/runs
SEEDS="1 2 3"

rundir() { echo "$RUNS/$1_s$2"; }
ok() { [ -f "$(rundir "$1" "$2")/status" ] && [ "$(cut -d' ' -f1 "$(rundir "$1" "$2")/status")" = 0 ]; }
failed() { c=0; for s in $SEEDS; do ok "$1" "$s" || c=$((c + 1)); done; echo $c; }

# field NAME SEED PATTERN KEY: KEY's value on the last line of log.jsonl that contains PATTERN
field() {
    ok "$1" "$2" || { echo NA; return; }
    v=$(grep -F "$3" "$(rundir "$1" "$2")/log.jsonl" | tail -n 1 |
        sed -n "s/.*\"$4\": \([^,}]*\).*/\1/p")
    [ -n "$v" ] && [ "$v" != null ] && echo "$v" || echo NA
}

# cell V1 V2 V3 [FMT]: "mean (v1 / v2 / v3)"; a missing value makes the mean n/a
cell() {
    echo "$1 $2 $3" | awk -v f="${4:-%.3g}" '{
        s = 0; bad = 0; out = ""
        for (i = 1; i <= 3; i++) { if ($i == "NA") { bad = 1; v = "n/a" } else { s += $i; v = sprintf(f, $i) }
            out = out (i > 1 ? " / " : "") v }
        printf "%s (%s)", bad ? "n/a" : sprintf(f, s / 3), out }'
}
mean3() { echo "$1 $2 $3" | awk '{ if ($1 == "NA" || $2 == "NA" || $3 == "NA") print "NA"; else print ($1 + $2 + $3) / 3 }'; }
num() { echo "$1" | awk -v f="${2:-%.3g}" '{ if ($1 == "NA") print "n/a"; else printf f "\n", $1 }'; }
gt() { echo "$1 $2" | awk '{ exit !($1 != "NA" && $2 != "NA" && $1 > $2) }'; }

# One run, called back through xargs by both scripts: NAME STEPS SEED, the executable
# $BIN/NAME, one thread; its exit status, wall and CPU seconds go to its `status` file.
run_one() {
    name=$1 steps=$2 seed=$3
    dir=$RUNS/${name}_s$seed
    rm -rf "$dir"
    mkdir -p "$dir"
    start=$(date +%s)
    OPENBLAS_NUM_THREADS=1 "$BIN/$name" --steps "$steps" --seed "$seed" --threads 1 --quiet \
        --out "$dir" > "$dir/stdout.txt" 2>&1
    rc=$?
    end=$(date +%s)
    rm -f "$dir"/ckpt/step_*.safetensors   # keep the last checkpoint only (disk space)
    # CPU seconds (user + system) of the run: the shell's children times
    times > "$dir/times"
    cpu=$(awk 'NR == 2 { split($1, a, /[ms]/); split($2, b, /[ms]/); printf "%.1f", a[1] * 60 + a[2] + b[1] * 60 + b[2] }' "$dir/times")
    echo "$rc $((end - start)) $cpu" > "$dir/status"
    echo "  $name seed $seed: exit $rc, $((end - start)) s, $cpu s CPU"
}
compile_one() { build/ganc "examples/$1.gan" -O3 -o "$BIN/$1" > /dev/null || echo "  compiling $1 failed"; }
