# jobs.sh: the common start of the test scripts that run one job per program side by side
# (native.sh, shards.sh), sourced after they set `self` to their own path: the repository root
# as the working directory, build/ganc, one BLAS thread per process, a work folder removed at
# exit, and check STATUS NAME OUTPUT-FILE, which prints the ok / not ok line.
cd "$(dirname "$self")/.." || exit 1
GANC=build/ganc
# the interpreter's BLAS calls: one thread each, the jobs run side by side
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check STATUS NAME OUTPUT-FILE
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2: $(tail -3 "$3" | tr '\n' ' ')"; fi
}

# adam_eps SRC DST: SRC with Adam's and RMSProp's eps at 1e-4 (tests/native.sh says why: with
# eps 1e-8, an element whose gradient is near eps turns the last-bit differences of two correct
# orders of summation into update differences 1e4 times larger)
adam_eps() {
    sed 's/\<\(adam\|rmsprop\)(\([^)]\)/\1(eps: 1e-4, \2/g; s/\<\(adam\|rmsprop\)()/\1(eps: 1e-4)/g' "$1" > "$2"
}
