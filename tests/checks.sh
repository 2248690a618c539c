# checks.sh: sourced by the shell test parts (reliability.sh, sanitizers.sh): a scratch
# directory $tmp removed at exit, check STATUS NAME [DETAIL] printing `ok - NAME` or
# `not ok - NAME: DETAIL` and counting them, and summary, the closing `N passed, M failed` line
# whose status is the part's.
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {
    if [ "$1" -eq 0 ]; then
        echo "ok - $2"; passed=$((passed + 1))
    else
        echo "not ok - $2${3:+: $3}"; failed=$((failed + 1))
    fi
}
summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
