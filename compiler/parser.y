/* parser.y: the grammar, the second stage of the compiler.
 *
 *   .gan source -> lexer -> [parser] -> AST -> sema -> IR -> ...
 *
 * A pure (reentrant) LALR(1) parser that builds the AST of ast.h in the compilation's Arena. It
 * only rejects what does not parse, plus the few checks that need nothing but the tokens (counts
 * that must be integers, argument order, repeated argument names); names, arities and shapes are
 * sema's job. Every error goes through diag_error, which exits, so there is no error recovery.
 *
 * Locations: a node's loc is its first token, except where ast.h's users want the operator or the
 * name: EX_BINARY -> the operator, EX_CALL -> the callee, EX_PIPE -> the layer's name, a named
 * Arg -> its name, ST_PARAM -> the param's name, a "loss D" log item -> D. Items without a name
 * (batch, seed, train, log, sample) get their number's location as name_loc.
 *
 * Precedence, lowest first: `->` (left; its right side is a layer, `name` or `name(args)`),
 * binary + - (left), * / (left), unary -, ^ (right; binds tighter than unary minus on its left,
 * and its exponent may be negated: -a^-b = -(a^(-b))). The stratified rules (expr, arith, term,
 * unary, power, primary) encode this; %precedence below settles only statement boundaries. */

%code requires {
#include "ast.h"

/* A token's or rule's extent: where it starts, and its byte range in the file's text. */
typedef struct Span {
    SrcLoc loc;
    int begin, end;
} Span;

typedef struct LexState LexState;   /* the scanner's private state (lexer.l) */
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* Growable arrays for the rules that collect lists; LIST_PUSH appends in the arena. */
#define DEFINE_LIST(Name, T) typedef struct Name { T *items; int n, cap; } Name
DEFINE_LIST(ExprList, Expr *);
DEFINE_LIST(ArgList, Arg);
DEFINE_LIST(FormalList, Formal);
DEFINE_LIST(StmtList, Stmt *);
DEFINE_LIST(EntryList, TrainEntry);
DEFINE_LIST(LogList, LogItem);

typedef struct ParseCtx {
    Arena *arena;
    const SourceFile *file;
    Program *prog;
    int items_cap;          /* capacity of prog->items */
    int groups;             /* "together" blocks seen, numbering their entries */
} ParseCtx;

yyscan_t lexer_open(Arena *arena, const SourceFile *file);
void lexer_close(yyscan_t scanner);

/* What the scanner has seen of braces, so a syntax error can say that a '}' is missing. */
typedef struct BraceInfo {
    int open;             /* some '{' is not closed yet */
    SrcLoc brace;         /* the outermost one of them */
    SrcLoc decl;          /* a keyword starting a declaration at column 1 inside it (line 0: none) */
    const char *word;     /* that keyword */
    int at_eof;           /* the scanner has reached the end of the file */
} BraceInfo;
BraceInfo lex_braces(yyscan_t scanner);
}

%code {
#include <limits.h>
#include <math.h>
#include <string.h>
#include "lexer.h"

/* Bison's stack, when deep nesting grows it past its first 200 entries, lives in the arena like
 * everything else the parser makes: an error mid-parse then leaves nothing to free (a harness
 * that recovers from errors, tests/fuzz/, would otherwise leak it). */
#define YYMALLOC(size) arena_alloc(ctx->arena, size)
#define YYFREE(p) ((void)(p))

/* A rule's span runs from its first symbol's start to its last symbol's end; an empty rule sits
 * at the end of what precedes it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                            \
    do {                                                                                      \
        if (N) {                                                                              \
            (Cur).loc = YYRHSLOC(Rhs, 1).loc;                                                 \
            (Cur).begin = YYRHSLOC(Rhs, 1).begin;                                             \
            (Cur).end = YYRHSLOC(Rhs, N).end;                                                 \
        } else {                                                                              \
            (Cur).loc = YYRHSLOC(Rhs, 0).loc;                                                 \
            (Cur).begin = (Cur).end = YYRHSLOC(Rhs, 0).end;                                   \
        }                                                                                     \
    } while (0)

#define LIST_PUSH(ctx, list, value) ARENA_PUSH((ctx)->arena, (list).items, (list).n, (list).cap, (value))

static void yyerror(Span *at, yyscan_t scanner, ParseCtx *ctx, const char *msg);
static Expr *new_expr(ParseCtx *ctx, ExprKind kind, Span at);
static Expr *binary(ParseCtx *ctx, int op, Span at, Expr *lhs, Expr *rhs);
static Expr *nested(Expr *e);
static Expr *call(ParseCtx *ctx, const char *callee, Span at, ArgList args);
static void add_arg(ParseCtx *ctx, ArgList *args, Arg arg);
static Stmt *new_stmt(ParseCtx *ctx, StmtKind kind, Span at, Expr *value);
static Stmt *if_stmt(ParseCtx *ctx, Span at, Expr *cond, StmtList then, StmtList els);
static Item *new_item(ParseCtx *ctx, ItemKind kind, Span at, Span name_at, const char *name);
static Item *value_item(ParseCtx *ctx, ItemKind kind, Span at, Span name_at, const char *name,
                        Expr *value);
static Item *function_item(ParseCtx *ctx, ItemKind kind, Span at, Span name_at, const char *name,
                           FormalList formals, StmtList body);
static Item *count_item(ParseCtx *ctx, ItemKind kind, Span at, Span num_at, double num, int min,
                        const char *msg);
static int count(Span at, double v, int min, const char *msg);
static void once(SrcLoc *seen, Span keyword, const char *word, const char *net);
static LogItem log_expr(ParseCtx *ctx, Span at, Expr *e);
static int starts_line(const ParseCtx *ctx, Span at);
static void open_paren_on_line(const ParseCtx *ctx, Span paren, const char *callee);
}

%define api.pure full
%define api.location.type {Span}
%define parse.error detailed
%locations
%param {yyscan_t scanner}
%parse-param {ParseCtx *ctx}
%expect 0

%union {
    double num;
    const char *str;
    Expr *expr;
    Stmt *stmt;
    Item *item;
    Arg arg;
    Formal formal;
    TrainEntry entry;
    LogItem log;
    ExprList exprs;
    ArgList args;
    FormalList formals;
    StmtList stmts;
    EntryList entries;
    LogList logs;
}

%token <str> IDENT "identifier"
%token <num> NUMBER "number"
%token <str> STRING "string"
%token ARROW "->"
%token <str> KW_USE "'use'" KW_BATCH "'batch'" KW_SEED "'seed'" KW_DATA "'data'" KW_NOISE "'noise'"
%token <str> KW_NET "'net'" KW_DEF "'def'" KW_LOSS "'loss'" KW_CONSTRAIN "'constrain'"
%token <str> KW_TRAIN "'train'" KW_LOG "'log'" KW_SAMPLE "'sample'" KW_EVERY "'every'"
%token <str> KW_TIMES "'times'" KW_PARAM "'param'" KW_RETURN "'return'" KW_IF "'if'" KW_ELSE "'else'"
%token <str> KW_STATE "'state'" KW_NEXT "'next'" KW_PROJECTION "'projection'" KW_HYPER "'hyper'"
%token <str> KW_EMA "'ema'" KW_TOGETHER "'together'" KW_WEIGHTS "'weights'" KW_FID "'fid'"

%type <str> name
%type <item> item
%type <expr> expr arith term unary power primary call layer
%type <exprs> exprs
%type <arg> arg
%type <args> args arg_list
%type <formal> formal
%type <formals> formals formal_list
%type <stmt> stmt if_stmt
%type <stmts> block stmts
%type <entry> train_entry
%type <entries> train_entries train_group
%type <log> log_item
%type <logs> log_items

/* Statements have no separator, so in `y = a  -b` or `y = f  (b)` the '-' or '(' could continue
 * the expression or start the next statement. Like C's dangling else, the longer reading wins
 * (y = a - b, y = f(b)): the rules that would end the expression there get EXPR_END, lower than
 * the tokens that would continue it. A statement meant to start with '-' or '(' after a bare
 * expression can be written `return -b`. */
%precedence EXPR_END
%precedence '-' '('

%%

program:
    %empty
  | program item  { ARENA_PUSH(ctx->arena, ctx->prog->items, ctx->prog->nitems, ctx->items_cap, $2); }
  ;

item:
    KW_USE IDENT                      { $$ = new_item(ctx, IT_USE, @1, @2, $2); }
  | KW_BATCH NUMBER                   { $$ = count_item(ctx, IT_BATCH, @1, @2, $2, 1, "batch size must be a positive integer"); }
  | KW_SEED NUMBER                    { $$ = count_item(ctx, IT_SEED, @1, @2, $2, 0, "seed must be a non-negative integer"); }
  | KW_DATA IDENT '=' expr            { $$ = value_item(ctx, IT_DATA, @1, @2, $2, $4); }
  | KW_NOISE IDENT '=' expr           { $$ = value_item(ctx, IT_NOISE, @1, @2, $2, $4); }
  | KW_NET IDENT '(' formals ')' block  { $$ = function_item(ctx, IT_NET, @1, @2, $2, $4, $6); }
  | KW_DEF IDENT '(' formals ')' block  { $$ = function_item(ctx, IT_DEF, @1, @2, $2, $4, $6); }
  | KW_PROJECTION IDENT '(' formals ')' block  { $$ = function_item(ctx, IT_PROJECTION, @1, @2, $2, $4, $6); }
  | KW_HYPER IDENT '=' expr          { $$ = value_item(ctx, IT_HYPER, @1, @2, $2, $4); }
  | KW_WEIGHTS IDENT '=' expr        { $$ = value_item(ctx, IT_WEIGHTS, @1, @2, $2, $4); }
  | KW_FID KW_EVERY NUMBER ':' log_items {
        $$ = count_item(ctx, IT_FID, @1, @3, $3, 1, "'every' needs a positive integer");
        $$->logs = $5.items;
        $$->nlogs = $5.n;
    }
  | KW_LOSS IDENT '=' expr            { $$ = value_item(ctx, IT_LOSS, @1, @2, $2, $4); }
  | KW_CONSTRAIN IDENT ':' expr       { $$ = value_item(ctx, IT_CONSTRAIN, @1, @2, $2, $4); }
  | IDENT '=' expr                    { $$ = value_item(ctx, IT_LET, @1, @1, $1, $3); }
  | KW_TRAIN NUMBER '{' train_entries '}' {
        $$ = count_item(ctx, IT_TRAIN, @1, @2, $2, 1, "the number of training steps must be a positive integer");
        $$->entries = $4.items;
        $$->nentries = $4.n;
    }
  | KW_LOG KW_EVERY NUMBER ':' log_items {
        $$ = count_item(ctx, IT_LOG, @1, @3, $3, 1, "'every' needs a positive integer");
        $$->logs = $5.items;
        $$->nlogs = $5.n;
    }
  | KW_SAMPLE KW_EVERY NUMBER ':' log_items {
        $$ = count_item(ctx, IT_SAMPLE, @1, @3, $3, 1, "'every' needs a positive integer");
        $$->logs = $5.items;
        $$->nlogs = $5.n;
    }
  ;

formals:
    %empty       { $$ = (FormalList){0}; }
  | formal_list
  ;

formal_list:
    formal                  { $$ = (FormalList){0}; LIST_PUSH(ctx, $$, $1); }
  | formal_list ',' formal  { $$ = $1; LIST_PUSH(ctx, $$, $3); }
  ;

formal:
    IDENT           { $$ = (Formal){$1, NULL, @1.loc}; }
  | IDENT ':' expr  { $$ = (Formal){$1, $3, @1.loc}; }
  ;

block:
    '{' stmts '}'  { $$ = $2; }
  ;

stmts:
    %empty      { $$ = (StmtList){0}; }
  | stmts stmt  { $$ = $1; LIST_PUSH(ctx, $$, $2); }
  ;

stmt:
    IDENT '=' expr  { $$ = new_stmt(ctx, ST_LET, @1, $3); $$->name = $1; }
  | KW_PARAM IDENT '[' exprs ']' '=' expr {
        $$ = new_stmt(ctx, ST_PARAM, @2, $7);
        $$->name = $2;
        $$->shape = $4.items;
        $$->nshape = $4.n;
    }
  | KW_STATE IDENT '[' exprs ']' '=' expr {
        $$ = new_stmt(ctx, ST_STATE, @2, $7);
        $$->name = $2;
        $$->shape = $4.items;
        $$->nshape = $4.n;
    }
  | KW_NEXT IDENT '=' expr  { $$ = new_stmt(ctx, ST_NEXT, @2, $4); $$->name = $2; }
  | KW_RETURN expr  { $$ = new_stmt(ctx, ST_RETURN, @1, $2); }
  | expr            { $$ = new_stmt(ctx, ST_RETURN, @1, $1); }
  | if_stmt
  ;

if_stmt:
    KW_IF expr block                     { $$ = if_stmt(ctx, @1, $2, $3, (StmtList){0}); }
  | KW_IF expr block KW_ELSE block       { $$ = if_stmt(ctx, @1, $2, $3, $5); }
  | KW_IF expr block KW_ELSE if_stmt {
        StmtList els = {0};
        LIST_PUSH(ctx, els, $5);
        $$ = if_stmt(ctx, @1, $2, $3, els);
    }
  ;

train_entries:
    %empty                     { $$ = (EntryList){0}; }
  | train_entries train_entry  { $$ = $1; LIST_PUSH(ctx, $$, $2); }
  | train_entries train_group  { $$ = $1; for (int i = 0; i < $2.n; i++) LIST_PUSH(ctx, $$, $2.items[i]); }
  ;

/* together { D: ... G: ... }: one simultaneous update, every loss taken at the same parameters */
train_group:
    KW_TOGETHER '{' train_entries '}' {
        $$ = $3;
        ctx->groups++;
        for (int i = 0; i < $$.n; i++) $$.items[i].group = ctx->groups;
    }
  ;

train_entry:
    IDENT ':' expr  { $$ = (TrainEntry){.net = $1, .loc = @1.loc, .optimizer = $3, .times = 1}; }
  | train_entry KW_TIMES NUMBER {
        $$ = $1;
        once(&$$.times_loc, @2, "times", $$.net);
        $$.times = count(@3, $3, 1, "'times' needs a positive integer");
    }
  | train_entry KW_EMA NUMBER {
        $$ = $1;
        once(&$$.ema_loc, @2, "ema", $$.net);
        if (!($3 > 0 && $3 < 1)) diag_error(@3.loc, "'ema' needs a decay between 0 and 1, such as 0.999");
        $$.ema = $3;
    }
  ;

log_items:
    log_item                { $$ = (LogList){0}; LIST_PUSH(ctx, $$, $1); }
  | log_items ',' log_item  { $$ = $1; LIST_PUSH(ctx, $$, $3); }
  ;

log_item:
    KW_LOSS IDENT  { $$ = (LogItem){1, arena_printf(ctx->arena, "loss %s", $2), NULL, @2.loc}; }
  | expr           { $$ = log_expr(ctx, @1, $1); }
  ;

expr:
    expr ARROW layer  { $$ = new_expr(ctx, EX_PIPE, @3); $$->lhs = $1; $$->rhs = $3; $$ = nested($$); }
  | arith %prec EXPR_END
  ;

layer:
    name %prec EXPR_END  { $$ = new_expr(ctx, EX_NAME, @1); $$->str = $1; }
  | call
  ;

arith:
    arith '+' term  { $$ = binary(ctx, '+', @2, $1, $3); }
  | arith '-' term  { $$ = binary(ctx, '-', @2, $1, $3); }
  | term
  ;

term:
    term '*' unary  { $$ = binary(ctx, '*', @2, $1, $3); }
  | term '/' unary  { $$ = binary(ctx, '/', @2, $1, $3); }
  | unary
  ;

unary:
    '-' unary  { $$ = new_expr(ctx, EX_NEG, @1); $$->lhs = $2; $$ = nested($$); }
  | power
  ;

power:
    primary '^' unary  { $$ = binary(ctx, '^', @2, $1, $3); }
  | primary
  ;

primary:
    NUMBER                { $$ = new_expr(ctx, EX_NUM, @1); $$->num = $1; }
  | STRING                { $$ = new_expr(ctx, EX_STR, @1); $$->str = $1; }
  | name %prec EXPR_END   { $$ = new_expr(ctx, EX_NAME, @1); $$->str = $1; }
  | call
  | '(' expr ')'          { $$ = $2; }
  | '[' ']'               { $$ = new_expr(ctx, EX_LIST, @1); }
  | '[' exprs ']'         { $$ = new_expr(ctx, EX_LIST, @1); $$->items = $2.items; $$->nitems = $2.n; $$ = nested($$); }
  ;

call:
    name '(' args ')'  { open_paren_on_line(ctx, @2, $1); $$ = call(ctx, $1, @1, $3); }
  ;

exprs:
    expr            { $$ = (ExprList){0}; LIST_PUSH(ctx, $$, $1); }
  | exprs ',' expr  { $$ = $1; LIST_PUSH(ctx, $$, $3); }
  ;

args:
    %empty    { $$ = (ArgList){0}; }
  | arg_list
  ;

arg_list:
    arg               { $$ = (ArgList){0}; add_arg(ctx, &$$, $1); }
  | arg_list ',' arg  { $$ = $1; add_arg(ctx, &$$, $3); }
  ;

arg:
    expr            { $$ = (Arg){NULL, $1, @1.loc}; }
  | name ':' expr   { $$ = (Arg){$1, $3, @1.loc}; }
  ;

/* Where a name is used (a variable, a callee, a layer, an argument's key) a keyword is a name too,
 * so `uniform([batch, 1])` and `log(p)` parse. loss, param, return, if and else stay reserved: each
 * starts a construct where a name could also stand, so bison would find conflicts. Declarations
 * (items, formals, lets, params) still need a plain identifier. */
name:
    IDENT | KW_USE | KW_BATCH | KW_SEED | KW_DATA | KW_NOISE | KW_NET | KW_DEF | KW_CONSTRAIN
  | KW_TRAIN | KW_LOG | KW_SAMPLE | KW_EVERY | KW_TIMES | KW_EMA | KW_TOGETHER | KW_WEIGHTS | KW_FID
  ;

%%

/* bison's message (parse.error detailed) at the unexpected token, unless an open '{' explains it
 * better: the error is then really a missing '}'. */
static void yyerror(Span *at, yyscan_t scanner, ParseCtx *ctx, const char *msg) {
    BraceInfo b = lex_braces(scanner);
    if (b.open && b.decl.line)
        diag_error(b.decl, "missing '}' before '%s' (the '{' at line %d is not closed)", b.word, b.brace.line);
    if (b.open && b.at_eof)
        diag_error(at->loc, "missing '}' at the end of the file (the '{' at line %d is not closed)", b.brace.line);
    if (strcmp(msg, "memory exhausted") == 0) diag_error(at->loc, "the expression is nested too deeply");
    if (strstr(msg, "unexpected '('") && starts_line(ctx, *at))
        diag_error(at->loc, "this line starts with '(' right after an expression, which cannot be called: "
                            "name its value (y = (...))");
    diag_error(at->loc, "%s", msg);
}

static Expr *new_expr(ParseCtx *ctx, ExprKind kind, Span at) {
    Expr *e = ARENA_NEW(ctx->arena, Expr);
    e->kind = kind;
    e->loc = at.loc;
    e->depth = 1;
    return e;
}

/* e with its depth set from its children's; past AST_MAX_DEPTH, an error at e (a left-leaning
 * chain such as a + a + ... never deepens the parser's own stack, so it is counted here). */
static Expr *nested(Expr *e) {
    int deepest = 0;
    if (e->lhs && e->lhs->depth > deepest) deepest = e->lhs->depth;
    if (e->rhs && e->rhs->depth > deepest) deepest = e->rhs->depth;
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i].value->depth > deepest) deepest = e->args[i].value->depth;
    for (int i = 0; i < e->nitems; i++)
        if (e->items[i]->depth > deepest) deepest = e->items[i]->depth;
    e->depth = deepest + 1;
    if (e->depth > AST_MAX_DEPTH)
        diag_error(e->loc, "this expression is nested too deeply (more than %d levels)", AST_MAX_DEPTH);
    return e;
}

static Expr *binary(ParseCtx *ctx, int op, Span at, Expr *lhs, Expr *rhs) {
    Expr *e = new_expr(ctx, EX_BINARY, at);
    e->op = op;
    e->lhs = lhs;
    e->rhs = rhs;
    return nested(e);
}

static Expr *call(ParseCtx *ctx, const char *callee, Span at, ArgList args) {
    Expr *e = new_expr(ctx, EX_CALL, at);
    e->str = callee;
    e->args = args.items;
    e->nargs = args.n;
    return nested(e);
}

/* Positional arguments come first and a name is given once: both are visible in the call's
 * text alone, so they are syntax, not semantics. */
static void add_arg(ParseCtx *ctx, ArgList *args, Arg arg) {
    for (int i = 0; i < args->n; i++) {
        const Arg *prev = &args->items[i];
        if (!arg.name && prev->name) diag_error(arg.loc, "positional argument after named argument");
        if (arg.name && prev->name && strcmp(arg.name, prev->name) == 0)
            diag_error(arg.loc, "argument '%s' given twice", arg.name);
    }
    LIST_PUSH(ctx, *args, arg);
}

static Stmt *new_stmt(ParseCtx *ctx, StmtKind kind, Span at, Expr *value) {
    Stmt *s = ARENA_NEW(ctx->arena, Stmt);
    s->kind = kind;
    s->loc = at.loc;
    s->value = value;
    return s;
}

static Stmt *if_stmt(ParseCtx *ctx, Span at, Expr *cond, StmtList then, StmtList els) {
    Stmt *s = new_stmt(ctx, ST_IF, at, NULL);
    s->cond = cond;
    s->then = (Block){then.items, then.n};
    s->els = (Block){els.items, els.n};
    return s;
}

static Item *new_item(ParseCtx *ctx, ItemKind kind, Span at, Span name_at, const char *name) {
    Item *it = ARENA_NEW(ctx->arena, Item);
    it->kind = kind;
    it->loc = at.loc;
    it->name_loc = name_at.loc;
    it->name = name;
    return it;
}

static Item *value_item(ParseCtx *ctx, ItemKind kind, Span at, Span name_at, const char *name,
                        Expr *value) {
    Item *it = new_item(ctx, kind, at, name_at, name);
    it->value = value;
    return it;
}

static Item *function_item(ParseCtx *ctx, ItemKind kind, Span at, Span name_at, const char *name,
                           FormalList formals, StmtList body) {
    Item *it = new_item(ctx, kind, at, name_at, name);
    it->formals = formals.items;
    it->nformals = formals.n;
    it->body = (Block){body.items, body.n};
    return it;
}

static Item *count_item(ParseCtx *ctx, ItemKind kind, Span at, Span num_at, double num, int min,
                        const char *msg) {
    Item *it = new_item(ctx, kind, at, num_at, NULL);
    it->num = count(num_at, num, min, msg);
    return it;
}

/* A count (batch size, steps, repetitions, a seed) must be a whole number >= min that fits an
 * int, so later stages can convert it without checking again. */
static int count(Span at, double v, int min, const char *msg) {
    if (v >= min && v <= INT_MAX && v == (int)v) return (int)v;
    if (v > INT_MAX && v == floor(v)) diag_error(at.loc, "number too large (at most %d)", INT_MAX);
    diag_error(at.loc, "%s", msg);
}

/* Whether only blanks precede the token on its line. */
static int starts_line(const ParseCtx *ctx, Span at) {
    for (int i = at.begin - 1; i >= 0 && ctx->file->text[i] != '\n'; i--)
        if (ctx->file->text[i] != ' ' && ctx->file->text[i] != '\t') return 0;
    return 1;
}

/* Statements have no separator, so a line starting with '(' after a name would silently call it
 * (`h = x -> relu` then `(h + 1) -> dense(1)` on the next line reads relu(h + 1)). A call's '('
 * must be on its callee's line. */
static void open_paren_on_line(const ParseCtx *ctx, Span paren, const char *callee) {
    if (starts_line(ctx, paren))
        diag_error(paren.loc, "this line starts with '(', which would call '%s' from the line before: put the '(' "
                              "right after '%s' to call it, or begin a new statement with 'return'", callee, callee);
}

/* `times` and `ema` are given at most once per train entry: a second one would silently win. */
static void once(SrcLoc *seen, Span keyword, const char *word, const char *net) {
    if (seen->line)
        diag_error(keyword.loc, "'%s' is given twice for '%s' (first at column %d): give it once", word, net, seen->col);
    *seen = keyword.loc;
}

/* A logged expression is labelled by its name, or else by its exact source text. */
static LogItem log_expr(ParseCtx *ctx, Span at, Expr *e) {
    const char *label = e->kind == EX_NAME
        ? e->str
        : arena_printf(ctx->arena, "%.*s", at.end - at.begin, ctx->file->text + at.begin);
    return (LogItem){0, label, e, at.loc};
}

Program *parse_program(Arena *arena, const SourceFile *file) {
    Program *prog = ARENA_NEW(arena, Program);
    prog->file = file;
    ParseCtx ctx = {arena, file, prog, 0, 0};
    yyscan_t scanner = lexer_open(arena, file);
    yyparse(scanner, &ctx);   /* an error never returns: diag_error exits */
    lexer_close(scanner);
    return prog;
}
