" Vim syntax file for ganc's .gan experiment files (docs/language.md).
" Install: copy editors/vim/syntax and editors/vim/ftdetect into ~/.vim/ (or add editors/vim to
" 'runtimepath'). tests/editors.sh checks that every keyword of compiler/lexer.l is highlighted.
if exists("b:current_syntax")
  finish
endif

" every keyword of compiler/lexer.l
syn keyword ganKeyword use batch seed data noise net def loss constrain train log sample every times param return if else state next projection hyper ema together weights fid

syn match   ganComment  "#.*$" contains=@Spell
syn region  ganString   start=+"+ skip=+\\[\\"]+ end=+"+ end=+$+ oneline
syn match   ganNumber   "\<\d\+\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=\>"
syn match   ganNumber   "\.\d\+\([eE][+-]\=\d\+\)\=\>"
syn match   ganOperator "->\|[-+*/^=<>!]=\="
syn match   ganCall     "\<\h\w*\ze\s*("
syn match   ganDefName  "\(\<\(net\|def\)\s\+\)\@<=\h\w*"

hi def link ganKeyword  Keyword
hi def link ganComment  Comment
hi def link ganString   String
hi def link ganNumber   Number
hi def link ganOperator Operator
hi def link ganCall     Function
hi def link ganDefName  Function

let b:current_syntax = "gan"
