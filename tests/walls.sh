#!/bin/sh
# walls.sh: the include walls between the parts of ganc, checked over every #include "..."
# and what it includes in turn (`make walls`; the build of build/ganc runs it first).
#
#   1. the runtime (runtime/) includes no compiler header: libganrt links into every generated
#      executable, which must not depend on the compiler;
#   2. the AST (ast.h, sema.h, the bison and flex headers) is seen only by the front end: the
#      parser and lexer, ast.c, sema.c, model.c (which asks sema to lower), stdlib.c and main.c.
#      Codegen, the plan, the interpreter and every other stage work on the model's graphs;
#   3. sema includes no runtime header (but contract.h, the leaf-initialiser vocabulary and
#      model records the IR shares with libganrt): what it needs from data files and samplers
#      comes through compiler/files.h.
# Prints `ok - walls: ...` or `not ok - walls: FILE includes HEADER (through A -> B): why`.
# Then, unless WALLS_NO_SELFTEST is set, it proves each wall holds: it plants a violation in a
# copy of the tree and expects this script to reject it. Exits 1 if anything failed.
# usage: sh tests/walls.sh [ROOT]      (ROOT: the tree to check, the repository by default)
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
self=$(cd "$(dirname "$0")" && pwd)/walls.sh
passed=0
failed=0
ok() { echo "ok - walls: $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - walls: $1"; failed=$((failed + 1)); }

# One awk pass: edges from every #include "...", then, per rule "FILE|FORBIDDEN|WHY", a walk
# over FILE's includes (a header is found next to its includer first, then in compiler/,
# runtime/ and build/) that reports the first forbidden header reached and the chain to it.
walk() {
    grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root"/compiler/*.[chly] "$root"/runtime/*.[ch] \
        "$root"/build/*.h 2>/dev/null | sed 's/:[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/ \1/' |
    awk -v rules="$1" -v root="$root" '
        function dir(f) { sub(/\/[^\/]*$/, "", f); return f }
        function base(f) { sub(/.*\//, "", f); return f }
        function find(h, from,   d, k) {
            if ((from "/" h) in exists) return from "/" h
            split(root "/compiler " root "/runtime " root "/build", d, " ")
            for (k = 1; k <= 3; k++) if ((d[k] "/" h) in exists) return d[k] "/" h
            return ""
        }
        function visit(f, chain, forbidden,   i, h, n, next_file) {
            if (f in seen) return ""
            seen[f] = 1
            n = count[f]
            for (i = 1; i <= n; i++) {
                h = inc[f, i]
                if ((" " forbidden " ") ~ (" " h " ")) return h " (through " chain ")"
                next_file = find(h, dir(f))
                if (next_file != "") { r = visit(next_file, chain " -> " h, forbidden); if (r != "") return r }
            }
            return ""
        }
        { inc[$1, ++count[$1]] = $2; exists[$1] = 1 }
        END {
            cmd = "ls " root "/compiler/* " root "/runtime/* " root "/build/*.h 2>/dev/null"
            while ((cmd | getline f) > 0) exists[f] = 1
            nr = split(rules, rule, "\n")
            for (k = 1; k <= nr; k++) {
                if (rule[k] == "") continue
                split(rule[k], part, "|")
                delete seen
                r = visit(part[1], base(part[1]), part[2])
                if (r != "") print substr(part[1], length(root) + 2) " includes " r ": " part[3]
            }
        }'
}

compiler_headers=$(cd "$root/compiler" && ls *.h | tr '\n' ' ')
# contract.h, the types the IR shares with the runtime (the leaf initialisers' vocabulary and
# the model's records), is the one runtime header sema may reach (through ir.h).
runtime_headers=$(cd "$root/runtime" && ls *.h | grep -vx 'contract.h' | tr '\n' ' ')
ast_headers="ast.h sema.h parser.h lexer.h"

# wall NAME RULES: one ok line, or a not ok line per file that breaks it.
wall() {
    out=$(walk "$2")
    if [ -z "$out" ]; then ok "$1"; return; fi
    printf '%s\n' "$out" | while read -r line; do echo "not ok - walls: $line"; done
    failed=$((failed + $(printf '%s\n' "$out" | wc -l)))
}

walls() {
    rules=""
    for f in "$root"/runtime/*.c "$root"/runtime/*.h; do
        rules="$rules$f|$compiler_headers|the runtime must not include compiler headers
"
    done
    wall "runtime/ includes no compiler header" "$rules"
    rules=""
    for f in "$root"/compiler/*.c "$root"/compiler/*.h; do
        case $(basename "$f") in
        ast.c | ast.h | sema.c | sema.h | model.c | stdlib.c | main.c) continue ;;
        esac
        rules="$rules$f|$ast_headers|only the front end (ast, sema, model.c, main) sees the AST
"
    done
    wall "no stage after sema sees the AST (codegen, plan, interp, ...)" "$rules"
    wall "sema includes no runtime header" "$root/compiler/sema.c|$runtime_headers|sema reaches runtime readers only through files.h
$root/compiler/sema.h|$runtime_headers|sema reaches runtime readers only through files.h"
}

walls

# The self-test: each planted violation must be caught.
if [ -z "${WALLS_NO_SELFTEST:-}" ]; then
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
    plant() { # plant FILE LINE WHAT
        rm -rf "$tmp/tree" && mkdir -p "$tmp/tree"
        cp -r "$root/compiler" "$root/runtime" "$tmp/tree/"
        printf '%s\n' "$2" >> "$tmp/tree/$1"
        if WALLS_NO_SELFTEST=1 sh "$self" "$tmp/tree" > "$tmp/out" 2>&1; then
            not_ok "selftest: $3 was not caught"
        elif grep -q "^not ok - walls: $1 includes" "$tmp/out"; then
            ok "selftest: $3 is caught ($(grep -m1 '^not ok' "$tmp/out" | sed 's/^not ok - walls: //'))"
        else
            not_ok "selftest: $3 failed without naming $1: $(head -3 "$tmp/out" | tr '\n' ' ')"
        fi
    }
    plant compiler/codegen.c '#include "sema.h"' "codegen.c including sema.h"
    plant compiler/plan.h '#include "ast.h"' "plan.h including ast.h"
    plant compiler/optim.h '#include "sema.h"' "optim.h including sema.h (codegen reaches it through model.h)"
    plant runtime/fill.c '#include "ir.h"' "a runtime file including ir.h"
    plant compiler/sema.c '#include "dataset.h"' "sema.c including dataset.h"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
