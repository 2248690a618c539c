#!/bin/sh
# robustness.sh: no input makes the compiler's front end crash or hang.
#
# Deterministically mutates every examples/*.gan and tests/errors/*.gan: truncation at every
# TRUNC_STRIDE-th byte (41), single-byte replacements at every REPLACE_STRIDE-th byte (53; each
# position gets BYTES_PER_POS (2) bytes of { } ( ) [ ] , : = - > ^ 0 9 e . " # newline NUL 0xff,
# rotating), deletion of each line and duplication of each line: about 12,000 mutants (11,946 of
# the 42 examples and the error files in December 2026). Each goes through the front end
# exactly as `ganc --emit=ir-grad` runs it, 10 s of CPU at most:
#   pass: exit 0, or exit 1 whose stderr starts with a "...: error: " line
#   fail: a signal, a timeout, an internal-error message, exit 1 without an error line, or any
#         other status
# build/mutants (tests/fuzz/mutants.c) makes the mutants in memory and runs each in a child it
# forks, with the front end already loaded: no shell, no exec, no dynamic loading of LLVM per
# mutant, which is what made this the suite's slowest part. Failing mutants are saved in
# $ROBUSTNESS_OUT (default /tmp/ganc-robustness). Prints `ok - robustness: N mutants` or
# `not ok - robustness: ...` naming the first failures, then `N passed, M failed`.
# Usage: sh tests/robustness.sh (JOBS, default 2: children at a time; MUTANTS: the engine).
cd "$(dirname "$0")/.." || exit 2
MUTANTS=${MUTANTS:-build/mutants}
OUT=${ROBUSTNESS_OUT:-/tmp/ganc-robustness}
if [ ! -x "$MUTANTS" ]; then
    echo "not ok - robustness: $MUTANTS is not built (make build/mutants)"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$OUT" && rm -f "$OUT"/*.gan
exec "$MUTANTS" -j "${JOBS:-2}" -o "$OUT" examples/*.gan tests/errors/*.gan
