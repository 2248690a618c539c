#!/bin/sh
# robustness.sh: no input makes the compiler crash or hang.
#
# Deterministically mutates every examples/*.gan and tests/errors/*.gan: truncation at every
# TRUNC_STRIDE-th byte, single-byte replacements at every REPLACE_STRIDE-th byte (each position
# gets BYTES_PER_POS bytes of the set below, rotating), deletion of each line and duplication of
# each line. Each mutant goes through `build/ganc --emit=ir-grad` under `timeout 10`.
#   pass: exit 0, or exit 1 whose stderr starts with a "...: error: " line
#   fail: a signal (status >= 128), a timeout (124), an assertion or internal-error message, exit 1
#         without an error line, or any other status
# Failing mutants are copied to $ROBUSTNESS_OUT (default /tmp/ganc-robustness) for inspection.
# Prints `ok - robustness: N mutants` or `not ok - robustness: ...` naming the first failures,
# then `N passed, M failed`; exits 1 if any failed.
# Usage: sh tests/robustness.sh. JOBS (default 2) workers run in parallel; the strides below set
# the size of the run (about 4000 mutants, under a minute on 2 idle cores: almost all of it is
# starting ganc, ~25 ms a run).
#
# Replacement bytes: { } ( ) [ ] , : = - > ^ 0 9 e . " # newline NUL 0xff, as octal escapes.
BYTES='173 175 050 051 133 135 054 072 075 055 076 136 060 071 145 056 042 043 012 000 377'
NBYTES=21
TRUNC_STRIDE=${TRUNC_STRIDE:-41}
REPLACE_STRIDE=${REPLACE_STRIDE:-53}
BYTES_PER_POS=${BYTES_PER_POS:-2}
GANC=${GANC:-build/ganc}
OUT=${ROBUSTNESS_OUT:-/tmp/ganc-robustness}

# ---- worker: mutate one source file and check every mutant; prints "N <count>" and one
# "F <saved mutant> <reason>" line per failure.
if [ "$1" = --worker ]; then
    src=$2
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
    base=$(basename "$src" .gan)
    mut=$tmp/m.gan
    err=$tmp/err
    n=0

    check() { # $1: a description of the mutant in $mut
        n=$((n + 1))
        timeout 10 "$GANC" --emit=ir-grad "$mut" >/dev/null 2>"$err"
        rc=$?
        why=
        case $rc in
        0) ;;
        1)
            first=
            IFS= read -r first < "$err"
            case $first in
            *": error: internal error"*) why="internal error: $first" ;;
            *": error: "*) ;;
            *) why="exit 1 without an error line" ;;
            esac
            ;;
        124) why="timeout (10 s)" ;;
        *) if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"; else why="exit status $rc"; fi ;;
        esac
        if [ -n "$why" ]; then
            mkdir -p "$OUT"
            cp "$mut" "$OUT/$base.$1.gan"
            echo "F $OUT/$base.$1.gan $why"
        fi
    }

    size=$(wc -c < "$src")
    lines=$(wc -l < "$src")

    # prefixes
    p=0
    while [ "$p" -lt "$size" ]; do
        head -c "$p" "$src" > "$mut"
        check "trunc$p"
        p=$((p + TRUNC_STRIDE))
    done

    # single-byte replacements; position k tries bytes k, k+7, k+14 ... of the set (mod 21)
    p=0
    k=0
    while [ "$p" -lt "$size" ]; do
        j=0
        while [ "$j" -lt "$BYTES_PER_POS" ]; do
            idx=$(( (k + j * 7) % NBYTES + 1 ))
            set -- $BYTES
            eval "oct=\${$idx}"
            { head -c "$p" "$src"; printf "\\$oct"; tail -c +"$((p + 2))" "$src"; } > "$mut"
            check "rep$p-$oct"
            j=$((j + 1))
        done
        p=$((p + REPLACE_STRIDE))
        k=$((k + 1))
    done

    # each line deleted, each line doubled
    l=1
    while [ "$l" -le "$lines" ]; do
        sed "${l}d" "$src" > "$mut"
        check "del$l"
        sed "${l}p" "$src" > "$mut"
        check "dup$l"
        l=$((l + 1))
    done

    echo "N $n"
    exit 0
fi

# ---- driver
cd "$(dirname "$0")/.." || exit 2
if [ ! -x "$GANC" ]; then
    echo "not ok - robustness: $GANC is not built (make build/ganc)"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$OUT" && rm -f "$OUT"/*.gan
# A private copy of the compiler: build/ganc may be rebuilt while the mutants run.
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
cp "$GANC" "$work/ganc" || exit 2
GANC=$work/ganc
export GANC OUT
results=$work/results
ls examples/*.gan tests/errors/*.gan 2>/dev/null |
    xargs -P "${JOBS:-2}" -n 1 sh tests/robustness.sh --worker > "$results"

total=$(awk '$1 == "N" { n += $2 } END { print n + 0 }' "$results")
failed=$(grep -c '^F ' "$results")
passed=$((total - failed))
if [ "$failed" -eq 0 ]; then
    echo "ok - robustness: $total mutants"
else
    first=$(grep '^F ' "$results" | head -n 3 | sed 's/^F \([^ ]*\) \(.*\)/\1 (\2)/' | paste -s -d ';' - | sed 's/;/; /g')
    echo "not ok - robustness: $failed of $total mutants failed (saved in $OUT): $first"
    grep '^F ' "$results" | head -n 10 | sed 's/^F /#   /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
