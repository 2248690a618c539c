#!/bin/sh
# editors.sh: the editor support of editors/ highlights every keyword of the language. The
# keywords are read from compiler/lexer.l's table, so a new keyword without highlighting fails:
#  - TextMate (VS Code, editors/vscode): the grammar's keyword rule matches each in full, and
#    nothing else (a name like `dense` or `useful` is no keyword);
#  - Vim (editors/vim): each keyword, and every keyword token of every example (its line and
#    column from `ganc --emit=tokens`), is in the Keyword highlight group; names and comments
#    are not. Needs vim; without it the Vim checks fail with a note.
cd "$(dirname "$0")/.." || exit 1
GANC=build/ganc
. tests/check.sh

keywords=$(grep -o '{"[a-z_]*", KW_[A-Z_]*}' compiler/lexer.l | sed 's/{"\([a-z_]*\)".*/\1/')
count=$(echo "$keywords" | wc -l)
[ "$count" -ge 20 ]
check $? "editors: $count keywords read from compiler/lexer.l" "$(echo $keywords)"

# --- TextMate: the "keyword" rule's pattern, JSON's doubled backslashes undone ---
grammar=editors/vscode/syntaxes/gan.tmLanguage.json
pattern=$(sed -n '/"keyword": {/,/}/s/.*"match": "\(.*\)".*/\1/p' "$grammar" | sed 's/\\\\/\\/g')
missing=""
for k in $keywords; do
    printf '%s\n' "$k" | grep -Eqx "$pattern" || missing="$missing $k"
done
check "$([ -n "$pattern" ] && [ -z "$missing" ]; echo $?)" "editors: the TextMate grammar highlights every keyword" \
    "pattern '$pattern', missing:$missing"
wrong=$(printf 'dense\nuseful\nx\nlogits\n' | grep -Ex "$pattern")
check "$([ -z "$wrong" ]; echo $?)" "editors: the TextMate keyword rule matches no other name" "$wrong"
grep -q '"extensions": \[".gan"\]' editors/vscode/package.json && grep -q '"path": "./syntaxes/gan.tmLanguage.json"' editors/vscode/package.json
check $? "editors: the VS Code package maps .gan to the grammar"

# --- Vim: highlight groups at given positions, in a headless vim ---
if ! command -v vim > /dev/null; then
    check 1 "editors: the Vim syntax file" "vim is not installed"
    exit 0
fi
# groups POSITIONS OUT: for each line "FILE LINE COL" of POSITIONS, the line and the syntax
# group there (one vim for all the files)
groups() {
    cat > "$tmp/groups.vim" <<VIM
let out = []
for item in readfile('$1')
  let [f, l, c] = split(item, ' ')
  if expand('%') !=# f | execute 'edit ' . fnameescape(f) | endif
  call add(out, item . ' ' . synIDattr(synID(str2nr(l), str2nr(c), 1), 'name'))
endfor
call writefile(out, '$2')
VIM
    vim -Nu NONE -i NONE -es --cmd 'set rtp^=editors/vim' -c 'filetype on' -c 'syntax on' \
        -c "source $tmp/groups.vim" -c 'qa!' < /dev/null > /dev/null 2>&1
}
# every keyword at the start of a line, then a name, a call and a comment that are not keywords
{ for k in $keywords; do echo "$k x"; done; echo "dense x"; echo "useful(x)"; echo "# use batch"; } > "$tmp/all.gan"
n=$(echo "$keywords" | wc -l)
awk -v f="$tmp/all.gan" -v n="$n" 'BEGIN { for (i = 1; i <= n + 2; i++) print f, i, 1; print f, n + 3, 3 }' > "$tmp/all.pos"
for f in examples/*.gan; do
    "$GANC" --emit=tokens "$f" 2> /dev/null | awk -v f="$f" '$2 == "keyword" { split($1, p, ":"); print f, p[1], p[2] }'
done > "$tmp/ex.pos"
cat "$tmp/all.pos" "$tmp/ex.pos" > "$tmp/both.pos"
groups "$tmp/both.pos" "$tmp/groups.out"
head -n "$n" "$tmp/groups.out" | grep -v ' ganKeyword$' > "$tmp/bad"
check "$([ -s "$tmp/groups.out" ] && [ ! -s "$tmp/bad" ]; echo $?)" "editors: Vim highlights every keyword" "$(head -5 "$tmp/bad" | tr '\n' ' ')"
others=$(sed -n "$((n + 1)),$((n + 3))p" "$tmp/groups.out" | awk '{ print ($4 == "" ? "plain" : $4) }' | tr '\n' ' ')
check "$([ "$others" = "plain ganCall ganComment " ]; echo $?)" "editors: Vim leaves names plain, calls as functions, keywords in comments as comment" "'$others'"
total=$(wc -l < "$tmp/ex.pos")
tail -n +"$((n + 4))" "$tmp/groups.out" | grep -v ' ganKeyword$' > "$tmp/exbad"
[ "$total" -gt 100 ] && [ "$(wc -l < "$tmp/groups.out")" -eq "$((n + 3 + total))" ] && [ ! -s "$tmp/exbad" ]
check $? "editors: Vim highlights all $total keyword tokens of the examples" "$(head -5 "$tmp/exbad" | tr '\n' ' ')"
