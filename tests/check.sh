# check.sh: sourced by the shell test parts (tests/report.sh, tests/editors.sh) for their
# `ok - NAME` / `not ok - NAME: DETAIL` lines. Also sets up $tmp, removed at exit.
check() { # check STATUS NAME [DETAIL]
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2${3:+: $3}"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
