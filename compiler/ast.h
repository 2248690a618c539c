/* ast.h: the abstract syntax tree the parser builds and sema walks.
 *
 * The tree mirrors the surface language of docs/language.md closely; all checking of names,
 * arities and shapes happens later in sema.c, so the parser only rejects what does not parse.
 * Everything is allocated in the compilation's Arena. */
#ifndef GANC_AST_H
#define GANC_AST_H
#include <stdio.h>
#include "arena.h"
#include "diag.h"

typedef struct Expr Expr;
typedef struct Stmt Stmt;

typedef enum {
    EX_NUM,    /* 1.5e-3                 num                                   */
    EX_STR,    /* "file.npy"             str                                   */
    EX_NAME,   /* fake                   str                                   */
    EX_LIST,   /* [batch, 1]             items                                 */
    EX_BINARY, /* a + b                  op in "+-*^/", lhs, rhs               */
    EX_NEG,    /* -a                     lhs                                   */
    EX_CALL,   /* f(a, b, k: c)          str = callee name, args               */
    EX_PIPE,   /* a -> layer             lhs = a, rhs = EX_NAME or EX_CALL     */
} ExprKind;

typedef struct Arg {
    const char *name; /* NULL for a positional argument */
    Expr *value;
    SrcLoc loc;
} Arg;

struct Expr {
    ExprKind kind;
    SrcLoc loc;
    double num;
    const char *str;
    int op;
    Expr *lhs, *rhs;
    Arg *args;
    int nargs;
    Expr **items;
    int nitems;
    int depth; /* 1 + its deepest child's: the parser refuses more than AST_MAX_DEPTH */
};

/* How deeply expressions may nest. Every stage after the parser (printing, sema, autodiff)
 * recurses over expressions, so bounding them here keeps a hostile 100,000-term chain from
 * overflowing any stage's stack. */
enum { AST_MAX_DEPTH = 5000 };

typedef enum {
    ST_LET,    /* name = value                                   */
    ST_PARAM,  /* param name[shape...] = init                    */
    ST_RETURN, /* return value, or the block's final expression  */
    ST_IF,     /* if cond { then } else { els } (compile time)   */
    ST_STATE,  /* state name[shape...] = init: persistent, not trained */
    ST_NEXT,   /* next name = value: the state's value after a step   */
} StmtKind;

typedef struct Block {
    Stmt **stmts;
    int nstmts;
} Block;

struct Stmt {
    StmtKind kind;
    SrcLoc loc;
    const char *name;
    Expr *value;        /* LET, RETURN, NEXT; PARAM, STATE: the initialiser call */
    Expr **shape;       /* PARAM, STATE                                  */
    int nshape;
    Expr *cond;         /* IF                                            */
    Block then, els;    /* IF                                            */
};

typedef struct Formal {
    const char *name;
    Expr *default_value; /* NULL: required */
    SrcLoc loc;
} Formal;

typedef struct TrainEntry {
    const char *net;     /* the network this entry updates   */
    SrcLoc loc;
    Expr *optimizer;     /* an EX_CALL such as adam(lr: 1e-4) */
    int times;           /* "times N", default 1              */
    double ema;          /* "ema 0.999": average the weights for sampling; 0: none */
    int group;           /* entries of one "together { }" share a nonzero group */
    SrcLoc times_loc, ema_loc; /* where "times" and "ema" were given (line 0: not given) */
} TrainEntry;

typedef struct LogItem {
    int is_loss;         /* "loss D" rather than an expression */
    const char *label;   /* "loss D" or the expression's name  */
    Expr *expr;          /* NULL for a loss                    */
    SrcLoc loc;
} LogItem;

typedef enum {
    IT_USE,       /* use std                                  name                 */
    IT_BATCH,     /* batch 256                                num                  */
    IT_SEED,      /* seed 1                                   num                  */
    IT_DATA,      /* data x = gaussians8(...)                 name, value          */
    IT_NOISE,     /* noise z = normal(2)                      name, value          */
    IT_NET,       /* net D(x) { ... }                         name, formals, body  */
    IT_DEF,       /* def f(a, b: 1) { ... }                   name, formals, body  */
    IT_LOSS,      /* loss D = expr                            name, value          */
    IT_CONSTRAIN, /* constrain D: penalty(args)               name, value (a call) */
    IT_LET,       /* fake = G(z)                              name, value          */
    IT_TRAIN,     /* train 20000 { D: adam(...) times 5 ... } num, entries         */
    IT_LOG,       /* log every 500: loss D, loss G            num, logs            */
    IT_SAMPLE,    /* sample every 5000: fake                  num, logs            */
    IT_PROJECTION,/* projection clip(w, c: 0.01) { ... }      name, formals, body  */
    IT_HYPER,     /* hyper lambda = 0.1                       name, value          */
    IT_WEIGHTS,   /* weights F = "classifier.safetensors"     name, value          */
    IT_FID,       /* fid every 250: F(fake), F(xt)            num, logs            */
} ItemKind;

typedef struct Item {
    ItemKind kind;
    SrcLoc loc;
    SrcLoc name_loc;
    const char *name;
    double num;
    Expr *value;
    Formal *formals;
    int nformals;
    Block body;
    TrainEntry *entries;
    int nentries;
    LogItem *logs;
    int nlogs;
} Item;

typedef struct Program {
    const SourceFile *file;
    Item **items;
    int nitems;
} Program;

/* Parse a whole file; a syntax error is reported through diag_error (exit 1). */
Program *parse_program(Arena *arena, const SourceFile *file);
/* --emit=tokens: one token per line, "line:col KIND text". */
void lex_dump(FILE *out, const SourceFile *file);
/* --emit=ast: an indented tree. */
void ast_print(FILE *out, const Program *prog);

#endif
