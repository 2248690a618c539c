#!/bin/sh
# errors.sh: every malformed program in tests/errors/ is rejected with the right message.
#
# Each tests/errors/NAME.gan holds one mistake and starts with a line
#   # expect: FILE:LINE:COL: error: MESSAGE
# (FILE stands for the file's path). The test runs build/ganc on it (10 s at most) and asserts:
# exit status 1 (0 when the expectation is a `warning:`, which must not stop the compilation); the first line of stderr is the expectation with FILE replaced; and when the
# message has a LINE:COL, the second line is that line of the source and the third line has the
# caret under COL (diag.c keeps the tabs of the source before the caret, so it lines up).
# Prints `ok - errors/NAME` or `not ok - errors/NAME: what differed` per file, then
# `N passed, M failed`; exits 1 if any failed. Usage: sh tests/errors.sh (GANC=path overrides).
cd "$(dirname "$0")/.." || exit 2
GANC=${GANC:-build/ganc}
if [ ! -x "$GANC" ]; then
    echo "not ok - errors: $GANC is not built (make build/ganc)"
    echo "0 passed, 1 failed"
    exit 1
fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cp "$GANC" "$tmp/ganc" || exit 2   # a private copy: build/ganc may be rebuilt meanwhile
err=$tmp/stderr

passed=0
failed=0
fail() {
    echo "not ok - errors/$name: $1"
    failed=$((failed + 1))
}

for f in tests/errors/*.gan; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .gan)
    expect=$(sed -n '1s/^# expect: //p' "$f")
    if [ -z "$expect" ]; then
        fail "the first line is not '# expect: FILE:LINE:COL: error: MESSAGE'"
        continue
    fi
    want=$(printf '%s\n' "$expect" | sed "s|^FILE:|$f:|")

    case "$expect" in *": warning: "*) want_rc=0 ;; *) want_rc=1 ;; esac

    timeout 10 "$tmp/ganc" "$f" >/dev/null 2>"$err"
    rc=$?
    got1=$(sed -n 1p "$err")
    if [ "$rc" -eq 124 ]; then
        fail "timed out after 10 s"
        continue
    elif [ "$rc" -ne "$want_rc" ]; then
        fail "exit status $rc, not $want_rc (stderr: $got1)"
        continue
    elif [ "$got1" != "$want" ]; then
        fail "stderr starts with '$got1', not '$want'"
        continue
    fi

    # the source line and the caret, when the expectation has a location
    pos=$(printf '%s\n' "$expect" | sed -n 's/^FILE:\([0-9][0-9]*\):\([0-9][0-9]*\): .*/\1 \2/p')
    if [ -n "$pos" ]; then
        line=${pos% *}
        col=${pos#* }
        src=$(sed -n "${line}p" "$f")
        got2=$(sed -n 2p "$err")
        got3=$(sed -n 3p "$err")
        if [ "$col" -gt 1 ]; then
            caret="$(printf '%s' "$src" | cut -c "1-$((col - 1))" | tr -d '\n' | tr -c '\t' ' ')^"
        else
            caret="^"
        fi
        if [ "$got2" != "$src" ]; then
            fail "the second stderr line is '$got2', not line $line of the file: '$src'"
            continue
        elif [ "$got3" != "$caret" ]; then
            fail "the caret line is '$got3', not one with '^' at column $col"
            continue
        fi
    fi
    echo "ok - errors/$name"
    passed=$((passed + 1))
done

if [ $((passed + failed)) -eq 0 ]; then
    echo "not ok - errors: no tests/errors/*.gan"
    failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
