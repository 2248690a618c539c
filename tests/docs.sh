#!/usr/bin/env bash
# tests/docs.sh: the examples of docs/*.md are tests.
#
# Every fenced block is numbered in file order (block 1 is the file's first ``` block). By tag:
#   ```gan           a complete program: `build/ganc --emit=ir` must accept it (exit status 0).
#   ```gan-error     a program that must be rejected: exit status 1 and a message with `error:`.
#   ```gan-fragment  part of a program: not compiled.
#   ```console       run only when the last non-blank line before the fence is `<!-- test -->`
#                    and the block's first line starts with `$ build/ganc`. Then every line
#                    that starts with `$ ` is a command, run by bash from the repository root,
#                    in order; each must exit with status 0. Other lines are expected output
#                    and are not compared.
# Other blocks are not tested. Prints `ok - docs/FILE.md block N (...)` or `not ok - ...` per
# tested block, then `N passed, M failed`; exits 1 if anything failed.
#
# usage: bash tests/docs.sh [docs/FILE.md ...]     (default: every docs/*.md)

# Run by sh (tests/run.sh does), it starts again under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
ganc=build/ganc
if [ ! -x "$ganc" ]; then
    echo "tests/docs.sh: $ganc not found; run 'make build/ganc' first" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ganc-docs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

# report STATUS FILE BLOCK WHAT [DETAILS-FILE]
report() {
    if [ "$1" = ok ]; then
        passed=$((passed + 1))
        echo "ok - $2 block $3 ($4)"
    else
        failed=$((failed + 1))
        echo "not ok - $2 block $3 ($4)"
        if [ -n "${5:-}" ] && [ -s "$5" ]; then sed 's/^/#   /' "$5" | head -n 20; fi
    fi
}

# check_block FILE BLOCK TAG START-LINE TESTED BODY-FILE
check_block() {
    local file=$1 n=$2 tag=$3 line=$4 tested=$5 body=$6
    local src="$tmp/block$n.gan" log="$tmp/log" rc
    case "$tag" in
    gan)
        cp "$body" "$src"
        "$ganc" --emit=ir "$src" </dev/null >/dev/null 2>"$log"
        rc=$?
        if [ $rc -eq 0 ]; then
            report ok "$file" "$n" "gan, line $line"
        else
            report fail "$file" "$n" "gan, line $line: exit status $rc" "$log"
        fi
        ;;
    gan-error)
        cp "$body" "$src"
        "$ganc" --emit=ir "$src" </dev/null >/dev/null 2>"$log"
        rc=$?
        if [ $rc -eq 1 ] && grep -q 'error:' "$log"; then
            report ok "$file" "$n" "gan-error, line $line"
        else
            report fail "$file" "$n" "gan-error, line $line: exit status $rc, expected 1 and 'error:'" "$log"
        fi
        ;;
    console)
        [ "$tested" = 1 ] || return 0
        local first
        first=$(head -n 1 "$body")
        case "$first" in
        '$ build/ganc'*) ;;
        *)
            report fail "$file" "$n" "console, line $line: a tested block must start with '\$ build/ganc'"
            return 0
            ;;
        esac
        local cmd status=ok why=""
        while IFS= read -r cmd; do
            case "$cmd" in '$ '*) ;; *) continue ;; esac
            cmd=${cmd#\$ }
            bash -c "$cmd" </dev/null >"$log" 2>&1
            rc=$?
            if [ $rc -ne 0 ]; then
                status=fail
                why=": '$cmd' exited with status $rc"
                break
            fi
        done <"$body"
        report "$status" "$file" "$n" "console, line $line$why" "$log"
        ;;
    esac
}

check_file() {
    local file=$1 n=0 in_block=0 tag="" start=0 tested=0 lineno=0 prev="" line
    local body="$tmp/body"
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        if [ $in_block -eq 0 ]; then
            if [[ $line =~ ^\`\`\`([A-Za-z0-9_-]*)[[:space:]]*$ ]]; then
                in_block=1
                n=$((n + 1))
                tag=${BASH_REMATCH[1]}
                start=$lineno
                tested=0
                [ "$prev" = "<!-- test -->" ] && tested=1
                : >"$body"
            elif [[ $line =~ [^[:space:]] ]]; then
                prev=$line
            fi
        elif [[ $line =~ ^\`\`\`[[:space:]]*$ ]]; then
            in_block=0
            prev=""
            check_block "$file" "$n" "$tag" "$start" "$tested" "$body"
        else
            printf '%s\n' "$line" >>"$body"
        fi
    done <"$file"
    if [ $in_block -eq 1 ]; then
        report fail "$file" "$n" "line $start: the block is never closed"
    fi
}

if [ $# -gt 0 ]; then
    files=("$@")
else
    files=(docs/*.md)
fi
for f in "${files[@]}"; do
    [ -f "$f" ] || { echo "tests/docs.sh: no file $f" >&2; failed=$((failed + 1)); continue; }
    check_file "$f"
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
