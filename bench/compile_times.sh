#!/bin/sh
# bench/compile_times.sh: `ganc -O2 FILE -o EXE` for every example and bench program, two
# compilers side by side (alternating, so both see the same load), the best of R runs each:
# wall seconds and CPU seconds (user + system, the linker included), measured by /usr/bin/time.
# docs/performance.md ("Compile time") keeps the numbers. Not part of `make test`.
# usage: sh bench/compile_times.sh OLD_GANC NEW_GANC   (R=3 by default; the examples with a
#        `weights` line read build/fmnist_classifier.safetensors, which `make` writes)
cd "$(dirname "$0")/.." || exit 2
R=${R:-3}
old=$1 new=$2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
one() {
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$1" -O2 "$2" -o "$tmp/exe" > /dev/null 2>&1 || echo "FAIL $1 $2" >&2
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$tmp/time"
}
best() { sort -n -k2 | head -1; }
printf "%-36s %-19s %-19s\n" program "old wall/cpu" "new wall/cpu"
: > "$tmp/all_old"; : > "$tmp/all_new"
for f in examples/*.gan bench/*.gan; do
    : > "$tmp/old"; : > "$tmp/new"
    for r in $(seq "$R"); do one "$old" "$f" >> "$tmp/old"; one "$new" "$f" >> "$tmp/new"; done
    best < "$tmp/old" >> "$tmp/all_old"
    best < "$tmp/new" >> "$tmp/all_new"
    printf "%-36s %-19s %-19s\n" "$f" "$(best < "$tmp/old")" "$(best < "$tmp/new")"
done
# Per compiler: the median and largest wall and CPU times, and how many programs compile in
# under 0.5 s of wall time (issue 10's goal).
stats() { # stats FILE COLUMN: "median max"
    sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { printf "%.2f %.2f", v[int((NR + 1) / 2)], v[NR] }'
}
for which in old new; do
    set -- $(stats "$tmp/all_$which" 1) $(stats "$tmp/all_$which" 2)
    under=$(awk '$1 < 0.5' "$tmp/all_$which" | wc -l)
    echo "$which: wall median $1 s, max $2 s; cpu median $3 s, max $4 s; $under of $(wc -l < "$tmp/all_$which") under 0.5 s wall"
done
