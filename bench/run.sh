#!/bin/sh
# bench/run.sh (`make bench`, not part of `make test`): the six workloads of issue 10, natively
# (bench/NAME.gan compiled by ganc -O3) and in PyTorch (bench/torch_workloads.py, Debian's
# python3-torch), side by side in alternating rounds, so both see the same machine load.
#
# Per workload it prints generator iterations per second (the median of the rounds), the ratio
# ganc / PyTorch, the useful GFLOP/s (the products' flops of one iteration, from
# `ganc --emit=ir-opt`, times the rate) and their share of the machine's sgemm peak at the
# workload's thread count (the faster of OpenBLAS and oneDNN), measured in the same run by
# bench/sgemm_peak.c right after the workload's rounds (the load of a shared machine drifts). The native rate
# excludes process start-up and the first iteration: (N2 - N1) / (t(N2) - t(N1)) for two runs
# of N1 and N2 iterations. PyTorch runs at its best thread setting on a 2-core machine, found
# by measurement (issue 10): the MLPs with torch.set_num_threads(1) and OpenBLAS on the
# workload's threads, the convolutional GANs with 2 OpenMP threads and OMP_WAIT_POLICY=PASSIVE.
#
# usage: sh bench/run.sh [ROUNDS] [WORKLOAD...]   (ROUNDS default 3; BENCH_SCALE=K multiplies
#        the timed iterations by K, 0.5 say on a loaded machine; GANC_FLAGS=--merge, say,
#        compiles the native side with those flags)
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
[ $# -gt 0 ] && shift
scale=${BENCH_SCALE:-1}
make --no-print-directory build/ganc build/sgemm_peak > /dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# NAME THREADS CRITIC_STEPS ITERS TORCH_THREADS GOAL_RATIO
WORKLOADS='
toy_wgan_gp 2 5 12 1 1.7
toy_ns 2 5 12 1 2
narrow_ns 1 1 400 1 2
narrow_wgan_gp 1 1 300 1 2
dcgan_ns 2 1 16 2 2
dcgan_wgan_gp 2 5 4 2 2
'
selected=${*:-$(echo "$WORKLOADS" | awk 'NF { print $1 }')}

now() { date +%s.%N; }

# seconds for `EXE --steps N` (start-up included; the caller takes a difference)
native_time() {
    t0=$(now)
    "$1" --steps "$2" --threads "$3" --quiet --out "$tmp/run" > /dev/null
    t1=$(now)
    rm -rf "$tmp/run"
    echo "$t0 $t1" | awk '{ printf "%.6f", $2 - $1 }'
}

native_rate() { # EXE THREADS ITERS
    a=$(native_time "$1" 1 "$2")
    b=$(native_time "$1" $(($3 + 1)) "$2")
    echo "$3 $a $b" | awk '{ printf "%.3f", $1 / ($3 - $2) }'
}

torch_rate() { # NAME THREADS ITERS TORCH_THREADS
    if [ "$4" = 1 ]; then
        OPENBLAS_NUM_THREADS=$2 /usr/bin/python3 bench/torch_workloads.py "$1" 1 "$3" 1
    else
        OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_workloads.py "$1" 1 "$3" "$4"
    fi
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# flops of one generator iteration: CRITIC_STEPS x step_D + step_G (products only)
iteration_flops() {
    build/ganc --emit=ir-opt "bench/$1.gan" | awk -v k="$2" '
        /^flops step_D:/ { d = $3 } /^flops step_G:/ { g = $3 } END { printf "%.0f", k * d + g }'
}

have_torch=1
/usr/bin/python3 -c 'import torch' 2> /dev/null || have_torch=0
peak1=$(build/sgemm_peak 1)
peak2=$(build/sgemm_peak 2)
echo "ganc vs PyTorch, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sgemm peak (the faster of OpenBLAS and oneDNN, n=1024): $peak1 GFLOP/s on 1 thread, $peak2 on 2 (at start)"
printf '%-15s %3s %10s %10s %7s %5s %9s %6s %9s %6s\n' workload thr 'ganc it/s' 'torch it/s' ratio goal 'ganc GF/s' '%peak' 'torch GF/s' '%peak'
for name in $selected; do
    line=$(echo "$WORKLOADS" | awk -v n="$name" '$1 == n')
    [ -n "$line" ] || { echo "bench: no workload $name" >&2; exit 1; }
    set -- $line
    threads=$2 critic=$3 tthreads=$5 goal=$6
    iters=$(awk -v n="$4" -v k="$scale" 'BEGIN { v = int(n * k); print v < 1 ? 1 : v }')
    build/ganc "bench/$name.gan" -O3 ${GANC_FLAGS:-} -o "$tmp/$name"
    flops=$(iteration_flops "$name" "$critic")
    nat="" tor=""
    r=0
    while [ $r -lt "$rounds" ]; do
        nat="$nat $(native_rate "$tmp/$name" "$threads" "$iters")"
        [ $have_torch = 1 ] && tor="$tor $(torch_rate "$name" "$threads" "$iters" "$tthreads")"
        r=$((r + 1))
    done
    n=$(echo "$nat" | median)
    t=$([ $have_torch = 1 ] && echo "$tor" | median || echo 0)
    # the peak again next to the workload's rounds: on a shared machine the load drifts
    peak=$(build/sgemm_peak "$threads")
    echo "$name $threads $n $t $goal $flops $peak" | awk '{
        ratio = $4 > 0 ? sprintf("%.2f", $3 / $4) : "-"
        printf "%-15s %3d %10.2f %10.2f %7s %5s %9.1f %5.0f%% %9.1f %5.0f%%\n", $1, $2, $3, $4, ratio, $5,
               $3 * $6 / 1e9, 100 * $3 * $6 / 1e9 / $7, $4 * $6 / 1e9, 100 * $4 * $6 / 1e9 / $7 }'
    echo "    rounds: ganc$nat | torch$tor | sgemm peak $peak GFLOP/s" | sed 's/  */ /g'
done
echo "sgemm peak at the end: $(build/sgemm_peak 1) GFLOP/s on 1 thread, $(build/sgemm_peak 2) on 2; load average $(cut -d' ' -f1-3 /proc/loadavg)"
