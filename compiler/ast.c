/* ast.c: the AST printer behind --emit=ast.
 *
 *   .gan source -> lexer -> parser -> [AST] -> sema -> IR -> ...
 *
 * The tree itself is built by parser.y; this file only shows it, for debugging the front end and
 * for golden tests, so the layout is deterministic and compact:
 *   - one node per line, children indented two spaces deeper than their parent;
 *   - a child that plays a named role is prefixed with it ("arg k: ", "default k: ", "cond: ",
 *     "init: ", "D times 5: ", "\"label\": ") and its own children still sit one level deeper;
 *   - numbers use the shortest "%.Ng" (N from 6 to 17) that reads back as the same double, so
 *     256 -> 256, 1e-4 -> 0.0001, 1e-12 -> 1e-12, 0.1 -> 0.1;
 *   - strings and log labels are double-quoted with " and \ escaped.
 *
 * Items       use NAME | batch N | seed N
 *             data|noise|loss|constrain|let NAME      + value
 *             net|def NAME(a, b, ...)                 + "default b: EXPR" per default, then stmts
 *             train N                                 + "NET times K: OPTIMIZER" per entry
 *             log|sample every N                      + "loss D" or "\"label\": EXPR" per item
 * Statements  let NAME + value | return + value
 *             param NAME + "shape" (dims as its children) + "init: EXPR"
 *             if + "cond: EXPR" + "then" (stmts) + "else" (stmts; only when not empty)
 * Expressions num N | str "s" | name x | list (+ items) | neg + operand
 *             binary OP + lhs + rhs | call F + args | pipe LAYER + input + the layer's args
 *             (positional arguments print as bare children, named ones as "arg k: EXPR")
 */
#include <stdlib.h>
#include <string.h>
#include "ast.h"

static void print_node(FILE *out, const Expr *e, int depth);
static void print_block(FILE *out, Block b, int depth);

static void indent(FILE *out, int depth) {
    fprintf(out, "%*s", 2 * depth, "");
}

static void print_num(FILE *out, double v) {
    char buf[32];
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;   /* %.17g always round-trips */
    }
    fputs(buf, out);
}

static void print_quoted(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* The parser caps expressions at AST_MAX_DEPTH and the bison stack caps blocks, so this bound
 * is never reached from source; it keeps printing's recursion bounded whatever built the tree. */
enum { PRINT_MAX_DEPTH = 2 * AST_MAX_DEPTH };

static void print_expr(FILE *out, const Expr *e, int depth) {
    indent(out, depth);
    if (depth > PRINT_MAX_DEPTH) {
        fprintf(out, "... (nested more than %d levels deep)\n", PRINT_MAX_DEPTH);
        return;
    }
    print_node(out, e, depth);
}

static void print_args(FILE *out, const Arg *args, int nargs, int depth) {
    for (int i = 0; i < nargs; i++) {
        if (!args[i].name) {
            print_expr(out, args[i].value, depth);
            continue;
        }
        indent(out, depth);
        fprintf(out, "arg %s: ", args[i].name);
        print_node(out, args[i].value, depth);
    }
}

/* The rest of e's line from the current column, then its children one level deeper. */
static void print_node(FILE *out, const Expr *e, int depth) {
    switch (e->kind) {
    case EX_NUM:
        fputs("num ", out);
        print_num(out, e->num);
        fputc('\n', out);
        break;
    case EX_STR:
        fputs("str ", out);
        print_quoted(out, e->str);
        fputc('\n', out);
        break;
    case EX_NAME:
        fprintf(out, "name %s\n", e->str);
        break;
    case EX_LIST:
        fputs("list\n", out);
        for (int i = 0; i < e->nitems; i++) print_expr(out, e->items[i], depth + 1);
        break;
    case EX_BINARY:
        fprintf(out, "binary %c\n", e->op);
        print_expr(out, e->lhs, depth + 1);
        print_expr(out, e->rhs, depth + 1);
        break;
    case EX_NEG:
        fputs("neg\n", out);
        print_expr(out, e->lhs, depth + 1);
        break;
    case EX_CALL:
        fprintf(out, "call %s\n", e->str);
        print_args(out, e->args, e->nargs, depth + 1);
        break;
    case EX_PIPE:
        fprintf(out, "pipe %s\n", e->rhs->str);
        print_expr(out, e->lhs, depth + 1);
        print_args(out, e->rhs->args, e->rhs->nargs, depth + 1);
        break;
    }
}

/* A child line "role: EXPR", its subtree indented under the role's line. */
static void print_role(FILE *out, const char *role, const Expr *e, int depth) {
    indent(out, depth);
    fprintf(out, "%s: ", role);
    print_node(out, e, depth);
}

static void print_stmt(FILE *out, const Stmt *s, int depth) {
    indent(out, depth);
    switch (s->kind) {
    case ST_LET:
        fprintf(out, "let %s\n", s->name);
        print_expr(out, s->value, depth + 1);
        break;
    case ST_PARAM:
    case ST_STATE:
        fprintf(out, "%s %s\n", s->kind == ST_PARAM ? "param" : "state", s->name);
        indent(out, depth + 1);
        fputs("shape\n", out);
        for (int i = 0; i < s->nshape; i++) print_expr(out, s->shape[i], depth + 2);
        print_role(out, "init", s->value, depth + 1);
        break;
    case ST_NEXT:
        fprintf(out, "next %s\n", s->name);
        print_expr(out, s->value, depth + 1);
        break;
    case ST_RETURN:
        fputs("return\n", out);
        print_expr(out, s->value, depth + 1);
        break;
    case ST_IF:
        fputs("if\n", out);
        print_role(out, "cond", s->cond, depth + 1);
        indent(out, depth + 1);
        fputs("then\n", out);
        print_block(out, s->then, depth + 2);
        if (s->els.nstmts == 0) break;
        indent(out, depth + 1);
        fputs("else\n", out);
        print_block(out, s->els, depth + 2);
        break;
    }
}

static void print_block(FILE *out, Block b, int depth) {
    for (int i = 0; i < b.nstmts; i++) print_stmt(out, b.stmts[i], depth);
}

/* "net G(z, k)" and a "default k: EXPR" line per default, then the body. */
static void print_function(FILE *out, const char *keyword, const Item *it) {
    fprintf(out, "%s %s(", keyword, it->name);
    for (int i = 0; i < it->nformals; i++) fprintf(out, "%s%s", i ? ", " : "", it->formals[i].name);
    fputs(")\n", out);
    for (int i = 0; i < it->nformals; i++) {
        if (!it->formals[i].default_value) continue;
        indent(out, 1);
        fprintf(out, "default %s: ", it->formals[i].name);
        print_node(out, it->formals[i].default_value, 1);
    }
    print_block(out, it->body, 1);
}

static void print_train(FILE *out, const Item *it) {
    fputs("train ", out);
    print_num(out, it->num);
    fputc('\n', out);
    for (int i = 0; i < it->nentries; i++) {
        const TrainEntry *t = &it->entries[i];
        indent(out, 1);
        fprintf(out, "%s times %d", t->net, t->times);
        if (t->ema) fprintf(out, " ema %g", t->ema);
        if (t->group) fprintf(out, " together %d", t->group);
        fputs(": ", out);
        print_node(out, t->optimizer, 1);
    }
}

static void print_logs(FILE *out, const char *keyword, const Item *it) {
    fprintf(out, "%s every ", keyword);
    print_num(out, it->num);
    fputc('\n', out);
    for (int i = 0; i < it->nlogs; i++) {
        const LogItem *l = &it->logs[i];
        indent(out, 1);
        if (l->is_loss) {
            fprintf(out, "%s\n", l->label);
            continue;
        }
        print_quoted(out, l->label);
        fputs(": ", out);
        print_node(out, l->expr, 1);
    }
}

/* Items that are a keyword, a name and one value: data, noise, loss, constrain, let. */
static void print_named_value(FILE *out, const char *keyword, const Item *it) {
    fprintf(out, "%s %s\n", keyword, it->name);
    print_expr(out, it->value, 1);
}

static void print_item(FILE *out, const Item *it) {
    switch (it->kind) {
    case IT_USE: fprintf(out, "use %s\n", it->name); break;
    case IT_BATCH: fputs("batch ", out); print_num(out, it->num); fputc('\n', out); break;
    case IT_SEED: fputs("seed ", out); print_num(out, it->num); fputc('\n', out); break;
    case IT_DATA: print_named_value(out, "data", it); break;
    case IT_NOISE: print_named_value(out, "noise", it); break;
    case IT_LOSS: print_named_value(out, "loss", it); break;
    case IT_CONSTRAIN: print_named_value(out, "constrain", it); break;
    case IT_LET: print_named_value(out, "let", it); break;
    case IT_NET: print_function(out, "net", it); break;
    case IT_DEF: print_function(out, "def", it); break;
    case IT_PROJECTION: print_function(out, "projection", it); break;
    case IT_HYPER: print_named_value(out, "hyper", it); break;
    case IT_WEIGHTS: print_named_value(out, "weights", it); break;
    case IT_FID: print_logs(out, "fid", it); break;
    case IT_TRAIN: print_train(out, it); break;
    case IT_LOG: print_logs(out, "log", it); break;
    case IT_SAMPLE: print_logs(out, "sample", it); break;
    }
}

void ast_print(FILE *out, const Program *prog) {
    for (int i = 0; i < prog->nitems; i++) print_item(out, prog->items[i]);
}
