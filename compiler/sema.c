/* sema.c: semantic analysis and lowering from AST to graph IR (see sema.h).
 *
 * Lowering is evaluation: expressions are evaluated to Values, which are compile-time numbers,
 * lists (shapes, axes), strings, networks, functions, or tensors (a node of the graph being
 * built). Arithmetic on numbers folds at compile time; arithmetic involving a tensor adds
 * nodes. User functions and networks are inlined by evaluating their bodies in a new Scope.
 *
 * Names inside a step follow the scopes:
 *  - a parameter is named <net>.<def><k>...<name>, e.g. D.dense1.w: the k-th call of `dense`
 *    in D's body. Applying D again restarts the counters, so it finds the same names and
 *    shares the parameters: sharing falls out of naming.
 *  - a random draw is an input named <graph scope>.<def><k>...<uniform><k>, e.g.
 *    D_loss.gradient_penalty0.uniform0, so `ganc eval` can set it.
 * Every error is reported at the source with diag_error (exit 1).
 *
 * sema_check checks the whole program and fills the model's plain facts; the rest of this file
 * answers model.c, which decides which graphs there are and asks for a loss, a logged or
 * sampled expression or a projection to be lowered into one (the end of this file). */
#include "sema.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "autodiff.h"
#include "files.h"

enum { MAX_ARGS = 16, MAX_CALL_DEPTH = 200, MAX_EVAL_DEPTH = 5000 };

/* The calls being inlined, innermost last (apply pushes and pops them), and the user's file. The
 * user can only change their own file, so an error raised inside the stdlib is reported at the
 * innermost call made from the user's file that led there: diag_error below is sema_error. This
 * is the one piece of state outside Sema: the diag_error calls of the small helpers
 * (expect_number, ...) have no Sema to look in. */
typedef struct Frame {
    SrcLoc loc;               /* the call */
    const Item *fn;           /* the def or net called */
    const char *caller_net;   /* the network the caller declares parameters for, or NULL */
} Frame;
static Frame frames[MAX_CALL_DEPTH];
static int nframes;
static const SourceFile *user_file;

/* loc, or if it is not in the user's file, the user's call that reached it from frames[from];
 * *callee is then the function that call names. */
static SrcLoc user_site_from(int from, SrcLoc loc, const char **callee) {
    for (int i = from; i >= 0 && loc.file != user_file; i--) {
        loc = frames[i].loc;
        *callee = frames[i].fn->name;
    }
    return loc;
}

/* Where a node comes from, as the IR text shows it: a line of the user's file, the call that
 * led into the stdlib when the node is built there. */
static SrcLoc source_site(SrcLoc loc) {
    const char *callee = NULL;
    return user_site_from(nframes - 1, loc, &callee);
}

static void sema_error(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void sema_error(SrcLoc loc, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *callee = NULL;
    SrcLoc at = user_site_from(nframes - 1, loc, &callee);
    if (callee) diag_error(at, "%s (inside '%s')", msg, callee);
    diag_error(at, "%s", msg);
}

#define diag_error sema_error

typedef enum { V_NONE, V_NUM, V_TENSOR, V_LIST, V_STR, V_NET, V_FUNC } ValueKind;

typedef struct Value {
    ValueKind kind;
    double num;
    int node;
    const char *str;
    const Item *item;        /* V_NET, V_FUNC */
    struct Value *items;     /* V_LIST */
    int nitems;
} Value;

typedef struct Binding {
    const char *name;
    Value value;
    struct Binding *next;
} Binding;

typedef struct Counter {
    const char *name;
    int count;
    struct Counter *next;
} Counter;

/* One activation of a function, network or top-level expression. */
typedef struct Scope {
    const char *net;          /* the network whose parameters are declared here, or NULL */
    const char *param_prefix; /* "D.dense0" */
    const char *draw_prefix;  /* "D_loss.gradient_penalty0" */
    Counter *counters;
    Binding *env;
    Value result;
    int returned;
} Scope;

typedef struct ParamInfo {
    const char *name;
    const char *net;
    Shape shape;
    SrcLoc applied;           /* the first application of the net, in the user's file */
} ParamInfo;

typedef struct Sema {
    Arena *arena;
    DType dtype;
    int batch;
    const Program *user;
    const Program *modules[8];
    int nmodules;
    ParamInfo *params;
    int nparams, params_cap;
    SrcLoc warned[16];        /* warnings given: a loss is lowered into several graphs, warned once */
    int nwarned;
} Sema;

/* The state of building one graph. */
typedef struct Lower {
    Sema *s;
    IrGraph *g;
    const Item **let_items;
    Value *let_values;
    char *let_state;          /* 0 not evaluated, 1 in progress, 2 done */
    int nlets;
    GradRecord *grads;
    int ngrads, grads_cap;
    StateUpdate *updates;     /* `next` statements met, the first per state */
    int nupdates, updates_cap;
    const char **ema_nets;    /* networks whose parameters this graph reads as their averages */
    int nema;
    Counter *log_counters;    /* the draws of `log` and `sample` items: one prefix, numbered on */
    int training;             /* training() in this graph: 1 in steps, 0 when sampling or evaluating */
    int eval_depth;           /* nesting of eval(), bounded so a deep expression cannot overflow the stack */
    const char *loss_net;     /* the network whose loss is being lowered, or NULL */
} Lower;

typedef struct CallArgs {
    Value pos[MAX_ARGS];
    SrcLoc pos_loc[MAX_ARGS];
    int npos;
    const char *names[MAX_ARGS];
    Value named[MAX_ARGS];
    SrcLoc named_loc[MAX_ARGS];
    int nnamed;
} CallArgs;

static Value eval(Lower *L, Scope *sc, const Expr *e);

/* ---- values ------------------------------------------------------------------------------ */

static Value num_value(double x) { return (Value){.kind = V_NUM, .num = x}; }
static Value tensor_value(int node) { return (Value){.kind = V_TENSOR, .node = node}; }

static const char *kind_name(ValueKind k) {
    static const char *names[] = {"none", "a number", "a tensor", "a list", "a string", "a network",
                                  "a function"};
    return names[k];
}

static const char *shape_text(Lower *L, Shape s) {
    char buf[96];
    return arena_strdup(L->s->arena, ir_shape_str(buf, sizeof buf, L->g->dtype, s));
}

static const char *node_shape_text(Lower *L, int node) { return shape_text(L, ir_shape_of(L->g, node)); }

static double expect_number(Value v, SrcLoc loc, const char *what) {
    if (v.kind != V_NUM) diag_error(loc, "%s must be a number, not %s", what, kind_name(v.kind));
    return v.num;
}

static int expect_int(Value v, SrcLoc loc, const char *what) {
    double x = expect_number(v, loc, what);
    if (x != floor(x)) diag_error(loc, "%s must be an integer, not %g", what, x);
    if (fabs(x) > 1e9) diag_error(loc, "%s is too large: %g (at most 1e9)", what, x);
    return (int)x;
}

static int expect_tensor(Value v, SrcLoc loc, const char *what) {
    if (v.kind != V_TENSOR) diag_error(loc, "%s must be a tensor, not %s", what, kind_name(v.kind));
    return v.node;
}

/* A shape given as a number (one axis) or a list of positive integers. */
static Shape expect_shape(Value v, SrcLoc loc, const char *what) {
    Shape s = {0, {0}};
    Value one[1] = {v};
    Value *items = v.kind == V_LIST ? v.items : one;
    int n = v.kind == V_LIST ? v.nitems : 1;
    if (n > IR_MAXDIM) diag_error(loc, "%s has %d axes; at most %d are supported", what, n, IR_MAXDIM);
    for (int i = 0; i < n; i++) {
        int d = expect_int(items[i], loc, what);
        if (d <= 0) diag_error(loc, "%s has a non-positive size %d", what, d);
        s.dim[s.ndim++] = d;
    }
    return s;
}

/* ---- names and scopes ---------------------------------------------------------------------- */

static int next_count(Scope *sc, Arena *a, const char *name) {
    for (Counter *c = sc->counters; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c->count++;
    Counter *c = ARENA_NEW(a, Counter);
    c->name = name;
    c->count = 1;
    c->next = sc->counters;
    sc->counters = c;
    return 0;
}

static void bind(Arena *a, Scope *sc, const char *name, Value v) {
    for (Binding *b = sc->env; b; b = b->next)
        if (strcmp(b->name, name) == 0) {
            b->value = v;
            return;
        }
    Binding *b = ARENA_NEW(a, Binding);
    b->name = name;
    b->value = v;
    b->next = sc->env;
    sc->env = b;
}

static const char *join(Arena *a, const char *prefix, const char *name) {
    return prefix ? arena_printf(a, "%s.%s", prefix, name) : name;
}

/* Globals: the user's items first (they shadow the stdlib), then each used module's. */
static const Item *find_item(const Sema *s, const char *name, int kind_mask) {
    const Program *progs[9] = {s->user};
    int n = 1;
    for (int i = 0; i < s->nmodules; i++) progs[n++] = s->modules[i];
    for (int p = 0; p < n; p++)
        for (int i = 0; i < progs[p]->nitems; i++) {
            const Item *it = progs[p]->items[i];
            if ((kind_mask & (1 << it->kind)) && it->name && strcmp(it->name, name) == 0) return it;
        }
    return NULL;
}

static const Item *find_net(const Sema *s, const char *name) { return find_item(s, name, 1 << IT_NET); }

/* ---- tensors and broadcasting ---------------------------------------------------------- */

/* numpy's rule: align shapes at the right; each pair of sizes is equal or one of them is 1. */
static int broadcast_shapes(Shape a, Shape b, Shape *out) {
    int n = a.ndim > b.ndim ? a.ndim : b.ndim;
    out->ndim = n;
    for (int i = 0; i < n; i++) {
        int da = i < n - a.ndim ? 1 : a.dim[i - (n - a.ndim)];
        int db = i < n - b.ndim ? 1 : b.dim[i - (n - b.ndim)];
        if (da != db && da != 1 && db != 1) return 0;
        out->dim[i] = da > db ? da : db;
    }
    return 1;
}

/* Expand a node to a broadcast-compatible bigger shape: drop the size-1 axes that grow, then one
 * explicit broadcast op. */
static int expand_to(IrGraph *g, int node, Shape out) {
    Shape in = ir_shape_of(g, node), kept_shape = {0, {0}};
    unsigned kept = 0;
    int offset = out.ndim - in.ndim;
    for (int i = 0; i < in.ndim; i++)
        if (in.dim[i] == out.dim[i + offset]) {
            kept |= 1u << (i + offset);
            kept_shape.dim[kept_shape.ndim++] = in.dim[i];
        }
    return ir_broadcast(g, ir_reshape(g, node, kept_shape), out, kept);
}

/* Both operands as nodes of one shape (numbers become constants). */
static void unify(Lower *L, Value *a, Value *b, SrcLoc loc, const char *op, int *na, int *nb) {
    IrGraph *g = L->g;
    if (a->kind == V_NUM) {
        *nb = b->node;
        *na = ir_const_like(g, a->num, b->node);
        return;
    }
    if (b->kind == V_NUM) {
        *na = a->node;
        *nb = ir_const_like(g, b->num, a->node);
        return;
    }
    Shape out;
    if (!broadcast_shapes(ir_shape_of(g, a->node), ir_shape_of(g, b->node), &out))
        diag_error(loc, "shape mismatch in %s: %s and %s", op, node_shape_text(L, a->node),
                   node_shape_text(L, b->node));
    *na = expand_to(g, a->node, out);
    *nb = expand_to(g, b->node, out);
}

/* ---- tensor literals ------------------------------------------------------------------- */

/* A constant tensor of any values: runs of one value are one const fill, and the rest is split
 * in halves along the first axis and concatenated, so a literal of n values costs O(n) nodes and
 * a fill of one value costs one. */
static int const_tensor(IrGraph *g, const double *v, Shape s) {
    long n = ir_shape_size(s);
    int same = 1;
    for (long i = 1; i < n && same; i++) same = v[i] == v[0];
    if (same) return ir_const(g, v[0], s);
    Shape rest = {s.ndim - 1, {0}}, first = s, second = s;
    for (int i = 1; i < s.ndim; i++) rest.dim[i - 1] = s.dim[i];
    if (s.dim[0] == 1) return ir_reshape(g, const_tensor(g, v, rest), s);
    first.dim[0] = s.dim[0] / 2;
    second.dim[0] = s.dim[0] - first.dim[0];
    return ir_concat(g, const_tensor(g, v, first), const_tensor(g, v + ir_shape_size(first), second), 0);
}

/* The shape of a nested list of numbers (eval checked that it is rectangular). */
static Shape literal_shape(Value v, SrcLoc loc) {
    Shape s = {0, {0}};
    for (; v.kind == V_LIST; v = v.items[0]) {
        if (v.nitems == 0) diag_error(loc, "an empty list is not a tensor");
        if (s.ndim == IR_MAXDIM) diag_error(loc, "a tensor literal has at most %d axes", IR_MAXDIM);
        s.dim[s.ndim++] = v.nitems;
    }
    return s;
}

static void literal_values(Value v, double *out, long *n, SrcLoc loc) {
    if (v.kind == V_LIST) {
        for (int i = 0; i < v.nitems; i++) literal_values(v.items[i], out, n, loc);
        return;
    }
    if (v.kind != V_NUM) diag_error(loc, "a tensor literal holds numbers, not %s", kind_name(v.kind));
    out[(*n)++] = v.num;
}

/* [[1, 0], [0, 1]] where a tensor is needed: a constant tensor; any other value is unchanged. */
static Value tensor_of_list(Lower *L, Value v, SrcLoc loc) {
    if (v.kind != V_LIST) return v;
    Shape s = literal_shape(v, loc);
    double *values = ARENA_ARRAY(L->s->arena, double, ir_shape_size(s));
    long n = 0;
    literal_values(v, values, &n, loc);
    L->g->cur_loc = source_site(loc);
    return tensor_value(const_tensor(L->g, values, s));
}

/* A list's rows are all numbers, or all lists of one shape: a tensor literal is rectangular. */
static void check_rectangular(const Expr *e, const Value *items) {
    for (int i = 1; i < e->nitems; i++) {
        Value a = items[0], b = items[i];
        SrcLoc at = e->items[i]->loc;
        if ((a.kind == V_LIST) != (b.kind == V_LIST))
            diag_error(at, "a ragged tensor literal: item %d is %s, but item 1 is %s", i + 1, kind_name(b.kind),
                       kind_name(a.kind));
        for (int depth = 1; a.kind == V_LIST && b.kind == V_LIST; depth++) {
            if (a.nitems != b.nitems)
                diag_error(at, "a ragged tensor literal: row %d has %d item%s at depth %d, but row 1 has %d", i + 1,
                           b.nitems, b.nitems == 1 ? "" : "s", depth, a.nitems);
            if (!a.nitems) break;
            a = a.items[0], b = b.items[0];
        }
    }
}

static void require_numeric(Value v, SrcLoc loc, const char *op) {
    if (v.kind != V_NUM && v.kind != V_TENSOR)
        diag_error(loc, "%s needs numbers or tensors, not %s", op, kind_name(v.kind));
}

/* Numbers fold with the IR's own scalar functions, so a folded number and the node it would
 * otherwise be cannot disagree. */
static double fold(int op, double a, double b) {
    if (op == '^') return ir_unary_value(OP_POW, a, b);
    return ir_binary_value(op == '+' ? OP_ADD : op == '-' ? OP_SUB : op == '*' ? OP_MUL : OP_DIV, a, b);
}

static Value binary(Lower *L, int op, Value a, Value b, SrcLoc loc) {
    const char *opname = arena_printf(L->s->arena, "'%c'", op);
    require_numeric(a, loc, opname);
    require_numeric(b, loc, opname);
    if (a.kind == V_NUM && b.kind == V_NUM) return num_value(fold(op, a.num, b.num));
    L->g->cur_loc = source_site(loc);
    if (op == '^') {
        if (b.kind != V_NUM) diag_error(loc, "the exponent of '^' must be a constant number");
        if (a.kind != V_TENSOR) diag_error(loc, "'^' of a number by a tensor is not supported");
        return tensor_value(ir_pow(L->g, a.node, b.num));
    }
    int na, nb;
    unify(L, &a, &b, loc, opname, &na, &nb);
    IrOp irop = op == '+' ? OP_ADD : op == '-' ? OP_SUB : op == '*' ? OP_MUL : OP_DIV;
    return tensor_value(ir_binary(L->g, irop, na, nb));
}

/* ---- argument binding ------------------------------------------------------------------ */

typedef struct Signature {
    const char *callee;
    int n;
    const char *names[MAX_ARGS];
} Signature;

/* Match positional and named arguments to parameter slots; given[i] says which were passed. */
static void match_args(const Signature *sig, const CallArgs *args, SrcLoc call_loc, Value *slots,
                       char *given) {
    memset(given, 0, (size_t)sig->n);
    if (args->npos > sig->n)
        diag_error(args->pos_loc[sig->n], "'%s' takes at most %d argument%s, but %d were given",
                   sig->callee, sig->n, sig->n == 1 ? "" : "s", args->npos);
    for (int i = 0; i < args->npos; i++) {
        slots[i] = args->pos[i];
        given[i] = 1;
    }
    for (int k = 0; k < args->nnamed; k++) {
        int slot = -1;
        for (int i = 0; i < sig->n; i++)
            if (strcmp(sig->names[i], args->names[k]) == 0) slot = i;
        if (slot < 0) {
            char known[256] = "";
            for (int i = 0; i < sig->n; i++) {
                size_t len = strlen(known);
                snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", sig->names[i]);
            }
            if (sig->n == 0) diag_error(args->named_loc[k], "'%s' has no parameters", sig->callee);
            const char *meant = diag_closest(args->names[k], sig->names, sig->n);
            if (meant)
                diag_error(args->named_loc[k], "'%s' has no parameter '%s' (did you mean '%s'?)", sig->callee,
                           args->names[k], meant);
            diag_error(args->named_loc[k], "'%s' has no parameter '%s' (its parameters are %s)", sig->callee,
                       args->names[k], known);
        }
        if (given[slot])
            diag_error(args->named_loc[k], "argument '%s' of '%s' is given twice, by position and by name",
                       args->names[k], sig->callee);
        slots[slot] = args->named[k];
        given[slot] = 1;
    }
    (void)call_loc;
}

static void missing_argument(const Signature *sig, int i, SrcLoc loc) {
    diag_error(loc, "missing argument '%s' in call to '%s'", sig->names[i], sig->callee);
}

/* ---- random draws ---------------------------------------------------------------------- */

static LeafInit init_of(InitKind kind, double a, double b) {
    LeafInit init = {.kind = kind, .a = a, .b = b};
    return init;
}

static int random_draw(Lower *L, Scope *sc, const char *kind, Shape s, LeafInit init, SrcLoc loc) {
    Arena *a = L->s->arena;
    const char *leaf = arena_printf(a, "%s%d", kind, next_count(sc, a, kind));
    const char *name = join(a, sc->draw_prefix, leaf);
    /* A leaf is known by its name, so one name cannot have two shapes. Names follow the scopes,
     * but a let named like a loss's scope ("D_loss") can still reuse one. */
    for (int id = 0; id < L->g->nnodes; id++) {
        const IrNode *n = &L->g->nodes[id];
        if (n->op == OP_INPUT && strcmp(n->name, name) == 0 && !ir_shape_equal(n->shape, s))
            diag_error(loc, "two random draws of different shapes (%s and %s) are both named '%s': rename '%.*s'",
                       shape_text(L, n->shape), shape_text(L, s), name, (int)strcspn(name, "."), name);
    }
    return ir_input(L->g, name, s, init);
}

/* ---- builtin functions ----------------------------------------------------------------- */

typedef struct BuiltinCall {
    Lower *L;
    Scope *sc;
    const Expr *call;
    Value *arg;       /* matched to the signature, defaults filled */
    SrcLoc *loc;      /* each argument's location (the call's when defaulted) */
} BuiltinCall;

typedef Value (*BuiltinFn)(BuiltinCall *b);

typedef struct Builtin {
    const char *name;
    const char *signature;
    BuiltinFn fn;
} Builtin;

static int arg_tensor(BuiltinCall *b, int i) {
    char what[64];
    snprintf(what, sizeof what, "argument %d of '%s'", i + 1, b->call->str);
    return expect_tensor(tensor_of_list(b->L, b->arg[i], b->loc[i]), b->loc[i], what);
}

/* The axes named by an argument (none = all), as a bitmask over a tensor of ndim axes. */
static unsigned axes_mask(BuiltinCall *b, int i, int ndim) {
    Value v = b->arg[i];
    if (v.kind == V_NONE) return (1u << ndim) - 1;
    Value one[1] = {v};
    Value *items = v.kind == V_LIST ? v.items : one;
    int n = v.kind == V_LIST ? v.nitems : 1;
    unsigned mask = 0;
    for (int k = 0; k < n; k++) {
        int axis = expect_int(items[k], b->loc[i], "an axis");
        if (axis < -ndim || axis >= ndim)
            diag_error(b->loc[i], "axis %d is out of range for shape %s (%d axes)", axis,
                       node_shape_text(b->L, b->arg[0].node), ndim);
        mask |= 1u << (axis < 0 ? axis + ndim : axis);
    }
    return mask;
}

static Value unary_op(BuiltinCall *b, IrOp op) {
    Value x = tensor_of_list(b->L, b->arg[0], b->loc[0]);
    require_numeric(x, b->loc[0], b->call->str);
    if (x.kind == V_NUM) return num_value(ir_unary_value(op, x.num, 0));
    return tensor_value(ir_unary(b->L->g, op, x.node));
}

static Value bi_exp(BuiltinCall *b) { return unary_op(b, OP_EXP); }
static Value bi_log(BuiltinCall *b) { return unary_op(b, OP_LOG); }
static Value bi_sqrt(BuiltinCall *b) { return unary_op(b, OP_SQRT); }
static Value bi_tanh(BuiltinCall *b) { return unary_op(b, OP_TANH); }
static Value bi_sigmoid(BuiltinCall *b) { return unary_op(b, OP_SIGMOID); }
static Value bi_log1p(BuiltinCall *b) { return unary_op(b, OP_LOG1P); }
static Value bi_expm1(BuiltinCall *b) { return unary_op(b, OP_EXPM1); }
static Value bi_stop_grad(BuiltinCall *b) { return unary_op(b, OP_STOP_GRAD); }

static Value reduction(BuiltinCall *b, IrOp op) {
    int x = arg_tensor(b, 0);
    unsigned axes = axes_mask(b, 1, ir_shape_of(b->L->g, x).ndim);
    return tensor_value(op == OP_SUM ? ir_sum(b->L->g, x, axes) : ir_max(b->L->g, x, axes));
}

static Value bi_sum(BuiltinCall *b) { return reduction(b, OP_SUM); }
static Value bi_max(BuiltinCall *b) { return reduction(b, OP_MAX); }

/* count(x, axis): how many elements a reduction over those axes adds up (for mean). */
static Value bi_count(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    unsigned axes = axes_mask(b, 1, s.ndim);
    double n = 1;
    for (int i = 0; i < s.ndim; i++)
        if (axes & (1u << i)) n *= s.dim[i];
    return num_value(n);
}

static Value compare(BuiltinCall *b, IrOp op) {
    Value x = tensor_of_list(b->L, b->arg[0], b->loc[0]), y = tensor_of_list(b->L, b->arg[1], b->loc[1]);
    require_numeric(x, b->loc[0], b->call->str);
    require_numeric(y, b->loc[1], b->call->str);
    if (x.kind == V_NUM && y.kind == V_NUM)
        return num_value(ir_binary_value(op, x.num, y.num));
    int nx, ny;
    unify(b->L, &x, &y, b->call->loc, b->call->str, &nx, &ny);
    return tensor_value(ir_binary(b->L->g, op, nx, ny));
}

static Value bi_gt(BuiltinCall *b) { return compare(b, OP_GT); }
static Value bi_ge(BuiltinCall *b) { return compare(b, OP_GE); }
static Value bi_eq(BuiltinCall *b) { return compare(b, OP_EQ); }

/* select(cond, a, b): all three broadcast together; numbers become constants. */
static Value bi_select(BuiltinCall *b) {
    Lower *L = b->L;
    for (int i = 0; i < 3; i++) {
        b->arg[i] = tensor_of_list(L, b->arg[i], b->loc[i]);
        require_numeric(b->arg[i], b->loc[i], "select");
    }
    Shape out = {0, {0}};
    int any = 0;
    for (int i = 0; i < 3; i++) {
        if (b->arg[i].kind != V_TENSOR) continue;
        Shape s = ir_shape_of(L->g, b->arg[i].node);
        if (any && !broadcast_shapes(out, s, &out))
            diag_error(b->loc[i], "shape mismatch in select: %s and %s", shape_text(L, out), shape_text(L, s));
        if (!any) out = s;
        any = 1;
    }
    if (!any) return b->arg[0].num != 0 ? b->arg[1] : b->arg[2];
    int n[3];
    for (int i = 0; i < 3; i++)
        n[i] = b->arg[i].kind == V_NUM ? ir_const(L->g, b->arg[i].num, out) : expand_to(L->g, b->arg[i].node, out);
    return tensor_value(ir_select(L->g, n[0], n[1], n[2]));
}

static Value bi_matmul(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0), y = arg_tensor(b, 1);
    int ta = expect_int(b->arg[2], b->loc[2], "ta") != 0, tb = expect_int(b->arg[3], b->loc[3], "tb") != 0;
    Shape sx = ir_shape_of(L->g, x), sy = ir_shape_of(L->g, y);
    if (sx.ndim != 2 || sy.ndim != 2)
        diag_error(b->call->loc, "matmul needs two matrices, got %s and %s", shape_text(L, sx), shape_text(L, sy));
    if (sx.dim[ta ? 0 : 1] != sy.dim[tb ? 1 : 0])
        diag_error(b->call->loc, "matmul: inner sizes differ: %s%s times %s%s", shape_text(L, sx),
                   ta ? " (transposed)" : "", shape_text(L, sy), tb ? " (transposed)" : "");
    return tensor_value(ir_matmul(L->g, x, y, ta, tb));
}

static Value bi_conv2d(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0), w = arg_tensor(b, 1);
    int stride = expect_int(b->arg[2], b->loc[2], "stride"), pad = expect_int(b->arg[3], b->loc[3], "pad");
    Shape sx = ir_shape_of(L->g, x), sw = ir_shape_of(L->g, w);
    if (sx.ndim != 4 || sw.ndim != 4)
        diag_error(b->call->loc, "conv2d needs x [N,C,H,W] and w [O,C,KH,KW], got %s and %s",
                   shape_text(L, sx), shape_text(L, sw));
    if (sx.dim[1] != sw.dim[1])
        diag_error(b->call->loc, "conv2d: x has %d channels but w expects %d (%s and %s)", sx.dim[1],
                   sw.dim[1], shape_text(L, sx), shape_text(L, sw));
    if (stride <= 0 || pad < 0) diag_error(b->call->loc, "conv2d needs stride >= 1 and pad >= 0");
    if (ir_conv_out_size(sx.dim[2], sw.dim[2], stride, pad) <= 0 ||
        ir_conv_out_size(sx.dim[3], sw.dim[3], stride, pad) <= 0)
        diag_error(b->call->loc, "conv2d: kernel %s does not fit input %s with pad %d", shape_text(L, sw),
                   shape_text(L, sx), pad);
    return tensor_value(ir_conv(L->g, x, w, stride, pad));
}

static Value list_value(Arena *a, int n) {
    Value v = {.kind = V_LIST, .nitems = n};
    v.items = ARENA_ARRAY(a, Value, n ? n : 1);
    return v;
}

/* conv_transpose2d(x [N,Cin,H,W], w [Cin,Cout,KH,KW]): PyTorch's ConvTranspose2d, the adjoint of
 * conv2d in its input, so it is the IR's conv_bd; output (H-1)*stride - 2*pad + KH + output_padding. */
static Value bi_conv_transpose2d(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0), w = arg_tensor(b, 1);
    int stride = expect_int(b->arg[2], b->loc[2], "stride"), pad = expect_int(b->arg[3], b->loc[3], "pad");
    int extra = expect_int(b->arg[4], b->loc[4], "output_padding");
    Shape sx = ir_shape_of(L->g, x), sw = ir_shape_of(L->g, w);
    if (sx.ndim != 4 || sw.ndim != 4 || sx.dim[1] != sw.dim[0])
        diag_error(b->call->loc, "conv_transpose2d needs x [N,C,H,W] and w [C,OUT,KH,KW], got %s and %s",
                   shape_text(L, sx), shape_text(L, sw));
    if (stride <= 0 || pad < 0 || extra < 0 || extra >= stride)
        diag_error(b->call->loc, "conv_transpose2d needs stride >= 1, pad >= 0 and 0 <= output_padding < stride");
    Shape out = {4, {sx.dim[0], sw.dim[1], (sx.dim[2] - 1) * stride - 2 * pad + sw.dim[2] + extra,
                     (sx.dim[3] - 1) * stride - 2 * pad + sw.dim[3] + extra}};
    if (out.dim[2] <= 0 || out.dim[3] <= 0)
        diag_error(b->call->loc, "conv_transpose2d: the padding %d leaves no output for input %s", pad, shape_text(L, sx));
    return tensor_value(ir_conv_bd(L->g, w, x, stride, pad, out));
}

/* training(): 1 in the graphs that train (batch statistics), 0 when sampling or evaluating */
static Value bi_training(BuiltinCall *b) { return num_value(b->L->training); }

/* axes_except(x, a): every axis of x but a, e.g. the axes a batch norm averages over */
static Value bi_axes_except(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    int keep = expect_int(b->arg[1], b->loc[1], "axis");
    if (keep < 0) keep += s.ndim;
    if (keep < 0 || keep >= s.ndim) diag_error(b->loc[1], "axis out of range for shape %s", shape_text(b->L, s));
    Value v = list_value(b->L->s->arena, s.ndim - 1);
    for (int i = 0, k = 0; i < s.ndim; i++)
        if (i != keep) v.items[k++] = num_value(i);
    return v;
}

/* channel_shape(x) = [1, C, 1, ...]: a per-channel vector, broadcastable against x [N, C, ...] */
static Value bi_channel_shape(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    if (s.ndim < 2) diag_error(b->loc[0], "channel_shape needs a tensor [N, C, ...], not %s", shape_text(b->L, s));
    Value v = list_value(b->L->s->arena, s.ndim);
    for (int i = 0; i < s.ndim; i++) v.items[i] = num_value(i == 1 ? s.dim[1] : 1);
    return v;
}

static Value bi_reshape(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0);
    Shape s = expect_shape(b->arg[1], b->loc[1], "the new shape"), in = ir_shape_of(L->g, x);
    double n_in = 1, n_out = 1;   /* in double: four sizes of up to 1e9 overflow a long */
    for (int i = 0; i < in.ndim; i++) n_in *= in.dim[i];
    for (int i = 0; i < s.ndim; i++) n_out *= s.dim[i];
    if (n_in != n_out)
        diag_error(b->loc[1], "cannot reshape %s (%.17g elements) to %s (%.17g elements)", shape_text(L, in), n_in,
                   shape_text(L, s), n_out);
    return tensor_value(ir_reshape(L->g, x, s));
}

static Value bi_permute(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0), ndim = ir_shape_of(L->g, x).ndim, perm[IR_MAXDIM], seen = 0;
    Value v = b->arg[1];
    if (v.kind != V_LIST || v.nitems != ndim)
        diag_error(b->loc[1], "permute needs a list of %d axes for a tensor of shape %s", ndim, node_shape_text(L, x));
    for (int i = 0; i < ndim; i++) {
        perm[i] = expect_int(v.items[i], b->loc[1], "an axis");
        if (perm[i] < 0 || perm[i] >= ndim || (seen & (1 << perm[i])))
            diag_error(b->loc[1], "permute: the axes must be a permutation of 0..%d", ndim - 1);
        seen |= 1 << perm[i];
    }
    return tensor_value(ir_permute(L->g, x, perm));
}

static Value bi_concat(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0), y = arg_tensor(b, 1);
    Shape sx = ir_shape_of(L->g, x), sy = ir_shape_of(L->g, y);
    int axis = expect_int(b->arg[2], b->loc[2], "axis");
    if (axis < 0) axis += sx.ndim;
    int ok = sx.ndim == sy.ndim && axis >= 0 && axis < sx.ndim;
    for (int i = 0; ok && i < sx.ndim; i++) ok = i == axis || sx.dim[i] == sy.dim[i];
    if (!ok) diag_error(b->call->loc, "cannot concatenate %s and %s along axis %d", shape_text(L, sx), shape_text(L, sy), axis);
    return tensor_value(ir_concat(L->g, x, y, axis));
}

static Value bi_slice(BuiltinCall *b) {
    Lower *L = b->L;
    int x = arg_tensor(b, 0);
    Shape s = ir_shape_of(L->g, x);
    int axis = expect_int(b->arg[1], b->loc[1], "axis"), start = expect_int(b->arg[2], b->loc[2], "start");
    int size = expect_int(b->arg[3], b->loc[3], "size");
    if (axis < 0) axis += s.ndim;
    if (axis < 0 || axis >= s.ndim || start < 0 || size <= 0 || start + size > s.dim[axis])
        diag_error(b->call->loc, "slice [%d, %d) along axis %d is outside %s", start, start + size, axis, shape_text(L, s));
    int offsets[IR_MAXDIM] = {0};
    offsets[axis] = start;
    s.dim[axis] = size;
    return tensor_value(ir_slice(L->g, x, offsets, s));
}

/* The network that grad(y, x) differentiates, when it is not `net`: the owner of the parameters y
 * depends on other than through x (NULL if `net` owns any of them, or none are found). */
static const char *other_network(const IrGraph *g, int y, int x, const char *net) {
    char *needed = calloc((size_t)y + 1, 1);
    const char *found = NULL;
    int own = 0;
    needed[y] = 1;
    for (int id = y; id >= 0; id--) {
        const IrNode *n = &g->nodes[id];
        if (!needed[id] || id == x) continue;
        for (int k = 0; k < n->nin; k++) needed[n->in[k]] = 1;
        if (n->op != OP_PARAM) continue;
        size_t len = strcspn(n->name, ".");
        if (strncmp(n->name, net, len) == 0 && net[len] == 0) own = 1;
        else if (!found) found = arena_printf(g->arena, "%.*s", (int)len, n->name);
    }
    free(needed);
    return own ? NULL : found;
}

/* A gradient penalty belongs in the loss of the network whose gradient it penalises: in G's loss,
 * grad(D(x), x) trains G (through x) and leaves D unconstrained, which is almost always a slip. */
static void warn_misplaced_penalty(Lower *L, int y, int x, SrcLoc call_loc) {
    const char *other = L->loss_net ? other_network(L->g, y, x, L->loss_net) : NULL;
    if (!other) return;
    SrcLoc at = source_site(call_loc);
    for (int i = 0; i < L->s->nwarned; i++)
        if (L->s->warned[i].line == at.line && L->s->warned[i].col == at.col) return;
    if (L->s->nwarned < 16) L->s->warned[L->s->nwarned++] = at;
    diag_warning(at, "a gradient of '%s' in the loss of '%s': this penalty trains '%s', not '%s' (to constrain "
                 "'%s', put it in the loss of '%s' or write 'constrain %s: ...')", other, L->loss_net, L->loss_net,
                 other, other, other, other);
}

/* grad(y, x): expanded here into ordinary nodes by autodiff, and remembered for `ganc check`. */
static Value bi_grad(BuiltinCall *b) {
    Lower *L = b->L;
    int y = arg_tensor(b, 0), x = arg_tensor(b, 1), g;
    if (ir_shape_of(L->g, y).ndim != 0)
        diag_error(b->loc[0], "grad(y, x) needs a scalar y, but y has shape %s (sum it first)", node_shape_text(L, y));
    warn_misplaced_penalty(L, y, x, b->call->loc);
    ad_grad(L->g, y, 1, &x, &g);
    GradRecord r = {y, x, g, b->call->loc};
    ARENA_PUSH(L->s->arena, L->grads, L->ngrads, L->grads_cap, r);
    return tensor_value(g);
}

static Value bi_dim(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    int axis = expect_int(b->arg[1], b->loc[1], "axis");
    if (axis < -s.ndim || axis >= s.ndim)
        diag_error(b->loc[1], "axis %d is out of range for shape %s", axis, shape_text(b->L, s));
    return num_value(s.dim[axis < 0 ? axis + s.ndim : axis]);
}


static Value bi_ndim(BuiltinCall *b) { return num_value(ir_shape_of(b->L->g, arg_tensor(b, 0)).ndim); }

/* sample_axes(x) = [1, ..., ndim-1]: every axis of one sample of a batch. */
static Value bi_sample_axes(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    if (s.ndim == 0) diag_error(b->loc[0], "sample_axes needs a batch of samples, not a scalar");
    Value v = list_value(b->L->s->arena, s.ndim - 1);
    for (int i = 1; i < s.ndim; i++) v.items[i - 1] = num_value(i);
    return v;
}

/* shape(x) = [d0, d1, ...] */
static Value bi_shape(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    Value v = list_value(b->L->s->arena, s.ndim);
    for (int i = 0; i < s.ndim; i++) v.items[i] = num_value(s.dim[i]);
    return v;
}

/* per_sample_shape(x) = [N, 1, ..., 1]: one value per sample, broadcastable against x. */
static Value bi_per_sample_shape(BuiltinCall *b) {
    Shape s = ir_shape_of(b->L->g, arg_tensor(b, 0));
    Value v = list_value(b->L->s->arena, s.ndim);
    for (int i = 0; i < s.ndim; i++) v.items[i] = num_value(i == 0 ? s.dim[0] : 1);
    return v;
}

static Value bi_uniform(BuiltinCall *b) {
    Shape s = expect_shape(b->arg[0], b->loc[0], "the shape of uniform()");
    LeafInit init = init_of(INIT_UNIFORM, expect_number(b->arg[1], b->loc[1], "low"),
                            expect_number(b->arg[2], b->loc[2], "high"));
    return tensor_value(random_draw(b->L, b->sc, "uniform", s, init, b->call->loc));
}

static Value bi_normal(BuiltinCall *b) {
    Shape s = expect_shape(b->arg[0], b->loc[0], "the shape of normal()");
    LeafInit init = init_of(INIT_NORMAL, expect_number(b->arg[1], b->loc[1], "mean"),
                            expect_number(b->arg[2], b->loc[2], "std"));
    return tensor_value(random_draw(b->L, b->sc, "normal", s, init, b->call->loc));
}

static Value bi_zeros(BuiltinCall *b) {
    return tensor_value(ir_const(b->L->g, 0, expect_shape(b->arg[0], b->loc[0], "the shape of zeros()")));
}

static Value bi_ones(BuiltinCall *b) {
    return tensor_value(ir_const(b->L->g, 1, expect_shape(b->arg[0], b->loc[0], "the shape of ones()")));
}

/* 0, 1, ..., n-1 as a [n] constant: halves are shared (arange(2k) = concat(a, a + k), a =
 * arange(k)), so it costs O(log n) nodes. */
static int arange_node(IrGraph *g, int n) {
    if (n == 1) return ir_const(g, 0, ir_shape(1, &n));
    if (n % 2) {
        int one = 1;
        return ir_concat(g, arange_node(g, n - 1), ir_const(g, n - 1, ir_shape(1, &one)), 0);
    }
    int half = arange_node(g, n / 2);
    return ir_concat(g, half, ir_add(g, half, ir_const_like(g, n / 2, half)), 0);
}

static int expect_count(Value v, SrcLoc loc, const char *what) {
    int n = expect_int(v, loc, what);
    if (n < 1) diag_error(loc, "%s must be at least 1, not %d", what, n);
    return n;
}

static Value bi_arange(BuiltinCall *b) { return tensor_value(arange_node(b->L->g, expect_count(b->arg[0], b->loc[0], "arange's n"))); }

/* one_hot(labels, n): labels of any shape (a tensor, a list or a number) -> [shape..., n], 1
 * where the last index equals the label. Labels known at compile time must be 0..n-1. */
static Value bi_one_hot(BuiltinCall *b) {
    Lower *L = b->L;
    int n = expect_count(b->arg[1], b->loc[1], "the number of classes");
    Value v = b->arg[0];
    if (v.kind == V_LIST || v.kind == V_NUM) {
        Value one[1] = {v};
        Value flat = v.kind == V_LIST ? v : (Value){.kind = V_LIST, .items = one, .nitems = 1};
        Shape s = literal_shape(flat, b->loc[0]);
        double *labels = ARENA_ARRAY(L->s->arena, double, ir_shape_size(s));
        long count = 0;
        literal_values(flat, labels, &count, b->loc[0]);
        for (long i = 0; i < count; i++)
            if (labels[i] != floor(labels[i]) || labels[i] < 0 || labels[i] >= n)
                diag_error(b->loc[0], "one_hot: label %g is not a class 0..%d", labels[i], n - 1);
        v = v.kind == V_LIST ? tensor_of_list(L, v, b->loc[0]) : tensor_value(ir_const(L->g, v.num, ir_shape_scalar()));
    }
    int x = expect_tensor(v, b->loc[0], "the labels of one_hot");
    Shape in = ir_shape_of(L->g, x), out = in;
    if (in.ndim == IR_MAXDIM) diag_error(b->loc[0], "one_hot: labels of shape %s leave no room for the class axis", shape_text(L, in));
    out.dim[out.ndim++] = n;
    unsigned all_but_last = (1u << in.ndim) - 1, last = 1u << in.ndim;
    int classes = ir_broadcast(L->g, arange_node(L->g, n), out, last);
    return tensor_value(ir_binary(L->g, OP_EQ, ir_broadcast(L->g, x, out, all_but_last), classes));
}

static const Builtin builtins[] = {
    {"exp", "x", bi_exp},
    {"log", "x", bi_log},
    {"sqrt", "x", bi_sqrt},
    {"tanh", "x", bi_tanh},
    {"sigmoid", "x", bi_sigmoid},
    {"log1p", "x", bi_log1p},
    {"expm1", "x", bi_expm1},
    {"stop_grad", "x", bi_stop_grad},
    {"sum", "x axis=none", bi_sum},
    {"max", "x axis=none", bi_max},
    {"count", "x axis=none", bi_count},
    {"gt", "a b", bi_gt},
    {"ge", "a b", bi_ge},
    {"eq", "a b", bi_eq},
    {"select", "cond a b", bi_select},
    {"matmul", "a b ta=0 tb=0", bi_matmul},
    {"conv2d", "x w stride=1 pad=0", bi_conv2d},
    {"reshape", "x shape", bi_reshape},
    {"permute", "x axes", bi_permute},
    {"concat", "a b axis=1", bi_concat},
    {"slice", "x axis start size", bi_slice},
    {"grad", "y x", bi_grad},
    {"dim", "x axis", bi_dim},
    {"ndim", "x", bi_ndim},
    {"sample_axes", "x", bi_sample_axes},
    {"per_sample_shape", "x", bi_per_sample_shape},
    {"shape", "x", bi_shape},
    {"conv_transpose2d", "x w stride=1 pad=0 output_padding=0", bi_conv_transpose2d},
    {"training", "", bi_training},
    {"axes_except", "x axis", bi_axes_except},
    {"channel_shape", "x", bi_channel_shape},
    {"uniform", "shape low=0 high=1", bi_uniform},
    {"normal", "shape mean=0 std=1", bi_normal},
    {"zeros", "shape", bi_zeros},
    {"ones", "shape", bi_ones},
    {"arange", "n", bi_arange},
    {"one_hot", "labels n", bi_one_hot},
};

static const Builtin *find_builtin(const char *name) {
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
    return NULL;
}

/* A builtin's or sampler's signature: slots matched, defaults filled, missing ones reported. */
static void bind_fixed(const char *callee, const char *signature, const CallArgs *args, SrcLoc loc,
                       Value *slots, SrcLoc *locs, int *nslots) {
    Signature sig;
    Value defaults[MAX_ARGS];
    char has_default[MAX_ARGS], given[MAX_ARGS];
    char names[MAX_ARGS][32];
    /* parse into local storage: signatures are short static strings */
    sig.callee = callee;
    sig.n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", signature);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(tok, '=');
        int i = sig.n++;
        has_default[i] = eq != NULL;
        if (eq) {
            *eq = 0;
            defaults[i] = strcmp(eq + 1, "none") == 0 ? (Value){.kind = V_NONE} : num_value(strtod(eq + 1, NULL));
        }
        snprintf(names[i], sizeof names[i], "%s", tok);
        sig.names[i] = names[i];
    }
    match_args(&sig, args, loc, slots, given);
    for (int i = 0; i < sig.n; i++) {
        locs[i] = loc;
        if (!given[i] && !has_default[i]) missing_argument(&sig, i, loc);
        if (!given[i]) slots[i] = defaults[i];
    }
    for (int i = 0; i < args->npos; i++) locs[i] = args->pos_loc[i];
    for (int k = 0; k < args->nnamed; k++)
        for (int i = 0; i < sig.n; i++)
            if (strcmp(sig.names[i], args->names[k]) == 0) locs[i] = args->named_loc[k];
    *nslots = sig.n;
}

/* ---- hints for unknown names ------------------------------------------------------------ */

typedef struct Names {
    const char **v;
    int n, cap;
} Names;

static void add_name(Arena *a, Names *ns, const char *name) { ARENA_PUSH(a, ns->v, ns->n, ns->cap, name); }

/* What a misspelt name could have meant: the scope's names (only functions and networks when
 * calling), the globals of the kinds in kind_mask, and the builtins (functions or constants). */
static Names known_names(Lower *L, Scope *sc, int kind_mask, int calling) {
    Arena *a = L->s->arena;
    Names ns = {0};
    for (Binding *b = sc->env; b; b = b->next)
        if (!calling || b->value.kind == V_NET || b->value.kind == V_FUNC) add_name(a, &ns, b->name);
    const Program *progs[9] = {L->s->user};
    int n = 1;
    for (int i = 0; i < L->s->nmodules; i++) progs[n++] = L->s->modules[i];
    for (int p = 0; p < n; p++)
        for (int i = 0; i < progs[p]->nitems; i++)
            if (kind_mask & (1 << progs[p]->items[i]->kind)) add_name(a, &ns, progs[p]->items[i]->name);
    static const char *constants[] = {"batch", "true", "false", "pi", "none"};
    for (size_t i = 0; !calling && i < sizeof constants / sizeof constants[0]; i++) add_name(a, &ns, constants[i]);
    for (size_t i = 0; calling && i < sizeof builtins / sizeof builtins[0]; i++) add_name(a, &ns, builtins[i].name);
    return ns;
}

static int uses_module(const Sema *s, const char *module) {
    for (int i = 0; i < s->user->nitems; i++)
        if (s->user->items[i]->kind == IT_USE && strcmp(s->user->items[i]->name, module) == 0) return 1;
    return 0;
}

/* What to add to "unknown name 'x'": the stdlib defines x but the file has no `use std`; or the
 * closest known name; or nothing. */
static const char *name_hint(Lower *L, Scope *sc, const char *name, int kind_mask, int calling) {
    Arena *a = L->s->arena;
    if (!uses_module(L->s, "std")) {
        const Program *std = parse_program(a, stdlib_source(a, "std"));
        for (int i = 0; i < std->nitems; i++)
            if ((kind_mask & (1 << std->items[i]->kind)) && strcmp(std->items[i]->name, name) == 0)
                return arena_printf(a, " ('%s' is in the stdlib: add 'use std' at the top of the file)", name);
    }
    Names ns = known_names(L, sc, kind_mask, calling);
    const char *meant = diag_closest(name, ns.v, ns.n);
    return meant ? arena_printf(a, " (did you mean '%s'?)", meant) : "";
}

enum {
    VALUE_KINDS = (1 << IT_LET) | (1 << IT_DATA) | (1 << IT_NOISE) | (1 << IT_NET) | (1 << IT_DEF) | (1 << IT_HYPER),
    CALLABLE_KINDS = (1 << IT_DEF) | (1 << IT_NET) | (1 << IT_PROJECTION),
};

/* ---- functions and networks ------------------------------------------------------------ */

static void exec_block(Lower *L, Scope *sc, const Block *block);

static void bind_formals(Lower *L, Scope *callee_scope, const Item *fn, const CallArgs *args, SrcLoc loc) {
    Signature sig = {fn->name, fn->nformals, {0}};
    if (fn->nformals > MAX_ARGS) diag_error(fn->loc, "'%s' has more than %d parameters", fn->name, MAX_ARGS);
    for (int i = 0; i < fn->nformals; i++) sig.names[i] = fn->formals[i].name;
    Value slots[MAX_ARGS];
    char given[MAX_ARGS];
    match_args(&sig, args, loc, slots, given);
    for (int i = 0; i < fn->nformals; i++) {
        if (!given[i]) {
            if (!fn->formals[i].default_value) missing_argument(&sig, i, loc);
            /* the body's draws are counted on from the defaults', so no two share a name */
            Scope global = {.draw_prefix = callee_scope->draw_prefix, .counters = callee_scope->counters};
            slots[i] = eval(L, &global, fn->formals[i].default_value);
            callee_scope->counters = global.counters;
        }
        bind(L->s->arena, callee_scope, fn->formals[i].name, slots[i]);
    }
}

/* The call stack is full: name the function that recurses, at its innermost recursive call. */
static _Noreturn void too_deep(const Item *fn, SrcLoc loc) {
    for (int i = nframes - 1; i > 0; i--)
        for (int k = 0; k < i; k++)
            if (frames[k].fn == frames[i].fn)
                diag_error(frames[i].loc, "'%s' calls itself more than %d levels deep: a recursion must end (e.g. "
                           "through an 'if')", frames[i].fn->name, MAX_CALL_DEPTH);
    diag_error(loc, "calls nested more than %d deep in '%s'", MAX_CALL_DEPTH, fn->name);
}

/* Inline a def (new parameter and draw scopes under the caller's) or a network (parameters
 * scoped under the network's own name, whoever applies it). */
static Value apply(Lower *L, Scope *caller, const Item *fn, const CallArgs *args, SrcLoc loc) {
    Arena *a = L->s->arena;
    if (nframes == MAX_CALL_DEPTH) too_deep(fn, loc);
    frames[nframes++] = (Frame){loc, fn, caller->net};
    const char *scope_name = arena_printf(a, "%s%d", fn->name, next_count(caller, a, fn->name));
    Scope sc = {.draw_prefix = join(a, caller->draw_prefix, scope_name)};
    if (fn->kind == IT_NET) {
        sc.net = fn->name;
        sc.param_prefix = fn->name;
    } else {
        sc.net = caller->net;
        sc.param_prefix = caller->net ? join(a, caller->param_prefix, scope_name) : NULL;
    }
    const char *outer_scope = L->g->cur_scope;
    L->g->cur_scope = sc.param_prefix;   /* the nodes' network and layer, for --emit=dot */
    bind_formals(L, &sc, fn, args, loc);
    exec_block(L, &sc, &fn->body);
    L->g->cur_scope = outer_scope;
    if (!sc.returned)
        diag_error(fn->name_loc, "'%s' returns no value: its body must end with an expression, its result", fn->name);
    nframes--;
    return sc.result;
}

static void eval_args(Lower *L, Scope *sc, const Expr *call, const Value *first, CallArgs *args) {
    args->npos = args->nnamed = 0;
    if (first) {
        args->pos[0] = *first;
        args->pos_loc[0] = call->loc;
        args->npos = 1;
    }
    if (call->kind != EX_CALL) return;
    if (call->nargs + args->npos > MAX_ARGS) diag_error(call->loc, "too many arguments (at most %d)", MAX_ARGS);
    for (int i = 0; i < call->nargs; i++) {
        const Arg *arg = &call->args[i];
        Value v = eval(L, sc, arg->value);
        if (arg->name) {
            args->names[args->nnamed] = arg->name;
            args->named_loc[args->nnamed] = arg->loc;
            args->named[args->nnamed++] = v;
        } else {
            args->pos_loc[args->npos] = arg->value->loc;
            args->pos[args->npos++] = v;
        }
    }
}

static Value lookup(Lower *L, Scope *sc, const char *name, SrcLoc loc);

/* f(args), or `first -> f(args)` which passes first as the first argument. */
static Value call(Lower *L, Scope *sc, const Expr *e, const Value *first) {
    CallArgs args;
    eval_args(L, sc, e, first, &args);
    const char *name = e->str;
    for (Binding *b = sc->env; b; b = b->next)
        if (strcmp(b->name, name) == 0) {
            if (b->value.kind != V_NET && b->value.kind != V_FUNC)
                diag_error(e->loc, "'%s' is %s, not a function or network", name, kind_name(b->value.kind));
            return apply(L, sc, b->value.item, &args, e->loc);
        }
    const Item *fn = find_item(L->s, name, CALLABLE_KINDS);
    if (fn) return apply(L, sc, fn, &args, e->loc);
    const Builtin *bi = find_builtin(name);
    if (!bi) {
        if (find_item(L->s, name, ~0)) diag_error(e->loc, "'%s' is not a function or network", name);
        diag_error(e->loc, "unknown function '%s'%s", name, name_hint(L, sc, name, CALLABLE_KINDS, 1));
    }
    Value slots[MAX_ARGS];
    SrcLoc locs[MAX_ARGS];
    int n;
    bind_fixed(name, bi->signature, &args, e->loc, slots, locs, &n);
    BuiltinCall b = {L, sc, e, slots, locs};
    L->g->cur_loc = source_site(e->loc);
    return bi->fn(&b);
}

/* ---- statements ------------------------------------------------------------------------ */

static LeafInit param_init(Lower *L, Scope *sc, const Expr *e) {
    if (e->kind != EX_CALL)
        diag_error(e->loc, "a parameter's initialiser is a call: uniform(lo, hi), normal(mean, std), zeros(), ones() or constant(v)");
    CallArgs args;
    eval_args(L, sc, e, NULL, &args);
    static const struct { const char *name, *signature; InitKind kind; } inits[] = {
        {"uniform", "low high", INIT_UNIFORM}, {"normal", "mean=0 std=1", INIT_NORMAL},
        {"zeros", "", INIT_ZEROS}, {"ones", "", INIT_CONSTANT}, {"constant", "value", INIT_CONSTANT},
    };
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
        if (strcmp(e->str, inits[i].name) != 0) continue;
        Value slots[MAX_ARGS];
        SrcLoc locs[MAX_ARGS];
        int n;
        bind_fixed(e->str, inits[i].signature, &args, e->loc, slots, locs, &n);
        double a = n > 0 ? expect_number(slots[0], locs[0], "an initialiser's argument") : 0;
        double b = n > 1 ? expect_number(slots[1], locs[1], "an initialiser's argument") : 0;
        if (strcmp(e->str, "ones") == 0) a = 1;
        return init_of(inits[i].kind, a, b);
    }
    diag_error(e->loc, "unknown initialiser '%s' (use uniform, normal, zeros, ones or constant)", e->str);
}

/* Where the user's code applies the network being inlined (for a parameter's errors). */
static SrcLoc application_site(const char *net) {
    int i = nframes - 1;
    while (i > 0 && !(frames[i].fn->kind == IT_NET && strcmp(frames[i].fn->name, net) == 0)) i--;
    const char *callee;
    return user_site_from(i, frames[i].loc, &callee);
}

static int uses_average(const Lower *L, const char *net) {
    for (int i = 0; i < L->nema; i++)
        if (strcmp(L->ema_nets[i], net) == 0) return 1;
    return 0;
}

/* The leaf a `param` or `state` statement declares. A graph that samples from a network trained
 * with `ema` reads each parameter's running average, a state initialised as a copy of it. */
static int declared_leaf(Lower *L, const Stmt *st, const char *net, const char *name, Shape shape, LeafInit init) {
    if (st->kind == ST_STATE) return ir_state(L->g, name, shape, init);
    if (!uses_average(L, net)) return ir_param(L->g, name, shape, init);
    LeafInit copy = init_of(INIT_COPY, 0, 0);
    copy.source = name;
    return ir_state(L->g, arena_printf(L->s->arena, "%s.ema", name), shape, copy);
}

/* param w[shape] = init, and state u[shape] = init: named after the network's scopes, shared by
 * every application of the network. */
/* A data or weights file's absolute path, so the executable finds it from any directory. */
static const char *file_path(Arena *a, const char *path, SrcLoc loc) {
    char *full = realpath(path, NULL);
    if (!full) diag_error(loc, "%s: %s", path, strerror(errno));
    const char *kept = arena_strdup(a, full);
    free(full);
    return kept;
}

/* weights F = "file.safetensors": F's parameters start from the tensors of their names in the
 * file (a classifier trained by ganc, for FID). files_check reads the file once the model is
 * built, so a missing or misshapen tensor is still a compile error. */
static void pretrained_init(Sema *s, const char *net, LeafInit *init) {
    const Item *w = find_item(s, net, 1 << IT_WEIGHTS);
    if (!w) return;
    if (w->value->kind != EX_STR) diag_error(w->value->loc, "weights takes a safetensors file's path as a string");
    *init = init_of(INIT_TENSOR, 0, 0);
    init->file = file_path(s->arena, w->value->str, w->value->loc);
}

static void declare_param(Lower *L, Scope *sc, const Stmt *st) {
    Sema *s = L->s;
    if (!sc->net) {
        /* the mistake is the outermost call made outside any network, not the param */
        int i = nframes - 1;
        while (i > 0 && frames[i - 1].fn->kind == IT_DEF && !frames[i - 1].caller_net) i--;
        const char *callee;
        diag_error(user_site_from(i, frames[i].loc, &callee),
                   "'%s' declares parameters, so it can only be called inside a network", frames[i].fn->name);
    }
    Shape shape = {0, {0}};
    if (st->nshape > IR_MAXDIM) diag_error(st->loc, "a parameter has at most %d axes", IR_MAXDIM);
    for (int i = 0; i < st->nshape; i++) {
        int d = expect_int(eval(L, sc, st->shape[i]), st->shape[i]->loc, "a parameter's size");
        if (d <= 0) diag_error(st->shape[i]->loc, "a parameter's size must be positive, not %d", d);
        shape.dim[shape.ndim++] = d;
    }
    LeafInit init = param_init(L, sc, st->value);
    const char *name = join(s->arena, sc->param_prefix, st->name);
    if (st->kind == ST_PARAM) pretrained_init(s, sc->net, &init);
    for (int i = 0; i < s->nparams; i++) {
        ParamInfo *p = &s->params[i];
        if (strcmp(p->name, name) != 0) continue;
        if (!ir_shape_equal(p->shape, shape)) {
            SrcLoc here = application_site(sc->net);
            if (here.line == p->applied.line && here.col == p->applied.col)
                diag_error(here, "'%s' is applied to inputs of different shapes here: its parameter %s would be "
                           "%s for one and %s for the other", sc->net, name, shape_text(L, p->shape),
                           shape_text(L, shape));
            diag_error(here, "'%s' is applied to inputs of other shapes than at line %d: its parameter %s would "
                       "be %s here but is %s there", sc->net, p->applied.line, name, shape_text(L, shape),
                       shape_text(L, p->shape));
        }
        goto known;
    }
    ParamInfo info = {name, sc->net, shape, application_site(sc->net)};
    ARENA_PUSH(s->arena, s->params, s->nparams, s->params_cap, info);
known:
    L->g->cur_loc = source_site(st->loc);
    bind(s->arena, sc, st->name, tensor_value(declared_leaf(L, st, sc->net, name, shape, init)));
}

/* next u = value: u's value after the step. A network applied several times in one step sets
 * its state from its first application. */
static void set_next_state(Lower *L, Scope *sc, const Stmt *st) {
    int leaf = -1;
    for (Binding *b = sc->env; b && leaf < 0; b = b->next)
        if (strcmp(b->name, st->name) == 0 && b->value.kind == V_TENSOR && L->g->nodes[b->value.node].op == OP_STATE)
            leaf = b->value.node;
    if (leaf < 0) diag_error(st->loc, "'next %s' needs a state declared in this block with 'state %s[...] = ...'", st->name, st->name);
    int value = expect_tensor(eval(L, sc, st->value), st->value->loc, "the next value of a state");
    if (!ir_shape_equal(ir_shape_of(L->g, value), ir_shape_of(L->g, leaf)))
        diag_error(st->value->loc, "the next value of '%s' has shape %s, but the state has shape %s", st->name,
                   node_shape_text(L, value), node_shape_text(L, leaf));
    for (int i = 0; i < L->nupdates; i++)
        if (L->updates[i].leaf == leaf) return;
    StateUpdate u = {leaf, value};
    ARENA_PUSH(L->s->arena, L->updates, L->nupdates, L->updates_cap, u);
}

static void exec_stmt(Lower *L, Scope *sc, const Stmt *st) {
    switch (st->kind) {
    case ST_LET: bind(L->s->arena, sc, st->name, eval(L, sc, st->value)); break;
    case ST_PARAM: case ST_STATE: declare_param(L, sc, st); break;
    case ST_NEXT: set_next_state(L, sc, st); break;
    case ST_RETURN:
        sc->result = eval(L, sc, st->value);
        sc->returned = 1;
        break;
    case ST_IF: {
        Value c = eval(L, sc, st->cond);
        if (c.kind == V_TENSOR)
            diag_error(st->cond->loc, "an 'if' condition must be a compile-time number, not a tensor (to choose "
                       "elementwise, use select(cond, a, b))");
        if (c.kind != V_NUM) diag_error(st->cond->loc, "an 'if' condition must be a compile-time number, not %s", kind_name(c.kind));
        exec_block(L, sc, c.num != 0 ? &st->then : &st->els);
        break;
    }
    }
}

static void exec_block(Lower *L, Scope *sc, const Block *block) {
    for (int i = 0; i < block->nstmts && !sc->returned; i++) exec_stmt(L, sc, block->stmts[i]);
}

/* ---- expressions ----------------------------------------------------------------------- */

static int data_input(Lower *L, const Item *it);
static int hyper_input(Lower *L, const Item *it);

static Value eval_let(Lower *L, const Item *it, SrcLoc loc) {
    int i = 0;
    while (L->let_items[i] != it) i++;
    if (L->let_state[i] == 1) diag_error(loc, "'%s' is defined in terms of itself", it->name);
    if (L->let_state[i] == 0) {
        L->let_state[i] = 1;
        Scope sc = {.draw_prefix = it->name};
        const char *outer_scope = L->g->cur_scope;
        L->g->cur_scope = NULL;   /* a top-level definition belongs to no network, wherever it is first read */
        L->let_values[i] = eval(L, &sc, it->value);
        L->g->cur_scope = outer_scope;
        L->let_state[i] = 2;
    }
    return L->let_values[i];
}

static Value lookup(Lower *L, Scope *sc, const char *name, SrcLoc loc) {
    for (Binding *b = sc->env; b; b = b->next)
        if (strcmp(b->name, name) == 0) return b->value;
    const Item *it = find_item(L->s, name, VALUE_KINDS);
    if (it) {
        switch (it->kind) {
        case IT_LET: return eval_let(L, it, loc);
        case IT_HYPER: return tensor_value(hyper_input(L, it));
        case IT_DATA: case IT_NOISE: return tensor_value(data_input(L, it));
        case IT_NET: return (Value){.kind = V_NET, .item = it};
        default: return (Value){.kind = V_FUNC, .item = it};
        }
    }
    if (strcmp(name, "batch") == 0) return num_value(L->s->batch);
    if (strcmp(name, "true") == 0) return num_value(1);
    if (strcmp(name, "false") == 0) return num_value(0);
    if (strcmp(name, "pi") == 0) return num_value(M_PI);
    if (strcmp(name, "none") == 0) return (Value){.kind = V_NONE};
    if (find_builtin(name)) diag_error(loc, "'%s' is a builtin function; call it with arguments", name);
    diag_error(loc, "unknown name '%s'%s", name, name_hint(L, sc, name, VALUE_KINDS, 0));
}

static Value eval_expr(Lower *L, Scope *sc, const Expr *e);

static Value eval(Lower *L, Scope *sc, const Expr *e) {
    if (++L->eval_depth > MAX_EVAL_DEPTH)
        diag_error(e->loc, "this expression is nested too deeply (more than %d levels)", MAX_EVAL_DEPTH);
    Value v = eval_expr(L, sc, e);
    L->eval_depth--;
    return v;
}

static Value eval_expr(Lower *L, Scope *sc, const Expr *e) {
    switch (e->kind) {
    case EX_NUM: return num_value(e->num);
    case EX_STR: return (Value){.kind = V_STR, .str = e->str};
    case EX_NAME: return lookup(L, sc, e->str, e->loc);
    case EX_LIST: {
        Value v = list_value(L->s->arena, e->nitems);
        for (int i = 0; i < e->nitems; i++) v.items[i] = eval(L, sc, e->items[i]);
        check_rectangular(e, v.items);
        return v;
    }
    case EX_BINARY: {
        Value a = tensor_of_list(L, eval(L, sc, e->lhs), e->lhs->loc);
        Value b = tensor_of_list(L, eval(L, sc, e->rhs), e->rhs->loc);
        return binary(L, e->op, a, b, e->loc);
    }
    case EX_NEG: {
        Value a = tensor_of_list(L, eval(L, sc, e->lhs), e->loc);
        require_numeric(a, e->loc, "unary '-'");
        if (a.kind == V_NUM) return num_value(-a.num);
        L->g->cur_loc = source_site(e->loc);
        return tensor_value(ir_neg(L->g, a.node));
    }
    case EX_CALL: return call(L, sc, e, NULL);
    case EX_PIPE: {
        Value input = eval(L, sc, e->lhs);
        return call(L, sc, e->rhs, &input);
    }
    }
    diag_error(e->loc, "internal error: unknown expression");
}

/* ---- data and noise -------------------------------------------------------------------- */

/* data x = sampler(args): [batch, dim]; noise z = normal(shape, mean, std) or uniform(...). */
/* Removes the named argument `name` from args; returns whether it was there. */
static int take_named(CallArgs *args, const char *name, Value *value, SrcLoc *loc) {
    for (int k = 0; k < args->nnamed; k++) {
        if (strcmp(args->names[k], name) != 0) continue;
        *value = args->named[k];
        *loc = args->named_loc[k];
        for (int j = k + 1; j < args->nnamed; j++) {
            args->names[j - 1] = args->names[j];
            args->named[j - 1] = args->named[j];
            args->named_loc[j - 1] = args->named_loc[j];
        }
        args->nnamed--;
        return 1;
    }
    return 0;
}

/* data x = sampler(..., points: N): a fixed set of N points, minibatched; noise z = normal(...,
 * fixed: true): one noise batch drawn once and reused at every step. */
static void data_options(CallArgs *args, const Item *it, LeafInit *init) {
    Value v;
    SrcLoc loc;
    if (it->kind == IT_DATA && take_named(args, "points", &v, &loc)) {
        init->points = expect_int(v, loc, "points");
        if (init->points <= 0) diag_error(loc, "points must be positive, not %ld", init->points);
    }
    if (it->kind == IT_NOISE && take_named(args, "fixed", &v, &loc)) init->fixed = expect_int(v, loc, "fixed") != 0;
}

/* data x = load("file"): the items of an IDX or NPY file (dataset.h), [batch, item shape...], a
 * 2-D item (an image) getting a channel axis: [batch, 1, H, W]. Items come minibatched in a new
 * random order each epoch; `points: N` keeps the first N. */
static LeafInit file_source(Lower *L, const Item *it, const Expr *e, Value *slots, SrcLoc *locs, Shape *shape) {
    if (slots[0].kind != V_STR) diag_error(locs[0], "load() takes the data file's path as a string");
    LeafInit init = init_of(INIT_FILE, 0, 0);
    init.file = file_path(L->s->arena, slots[0].str, locs[0]);
    char err[512];
    int ndim;
    long dims[IR_MAXDIM];
    if (files_data_item(init.file, &ndim, dims, IR_MAXDIM, err, sizeof err) != 0) diag_error(locs[0], "%s", err);
    if (ndim == 2) shape->dim[shape->ndim++] = 1;
    if (shape->ndim + ndim > IR_MAXDIM || ndim == 0)
        diag_error(e->loc, "%s: items of %d axes are not supported (a vector, an image or [C, H, W])", init.file, ndim);
    for (int i = 0; i < ndim; i++) shape->dim[shape->ndim++] = (int)dims[i];
    (void)L, (void)it;
    return init;
}

/* data y = labels("file", classes: 10, pair: x): one-hot class labels, drawn in the same order
 * as the items of data x, so that each row is the label of x's row. */
static LeafInit label_source(Lower *L, Value *slots, SrcLoc *locs, Shape *shape) {
    if (slots[0].kind != V_STR) diag_error(locs[0], "labels() takes the label file's path as a string");
    LeafInit init = init_of(INIT_LABELS, 0, 0);
    init.file = file_path(L->s->arena, slots[0].str, locs[0]);
    init.classes = expect_int(slots[1], locs[1], "classes");
    if (init.classes < 2) diag_error(locs[1], "classes must be at least 2");
    if (slots[2].kind != V_TENSOR || L->g->nodes[slots[2].node].init.kind != INIT_FILE)
        diag_error(locs[2], "pair: names the data loaded with load() whose items these labels belong to");
    init.order = L->g->nodes[slots[2].node].init.file;
    shape->dim[shape->ndim++] = init.classes;
    return init;
}

/* The data and noise items whose arguments are being evaluated: an argument naming one of them
 * (data x = load(..., pair: x)) would evaluate it again, forever (found by tests/fuzz/). */
enum { MAX_DATA_NESTING = 64 };
static const Item *data_in_progress[MAX_DATA_NESTING];
static int ndata_in_progress;

static int data_input(Lower *L, const Item *it) {
    Scope top = {.draw_prefix = it->name};
    const Expr *e = it->value;
    if (e->kind != EX_CALL)
        diag_error(e->loc, "'%s %s' needs a call such as %s", it->kind == IT_DATA ? "data" : "noise",
                   it->name, it->kind == IT_DATA ? "gaussians8()" : "normal(2)");
    for (int i = 0; i < ndata_in_progress; i++)
        if (data_in_progress[i] == it) diag_error(e->loc, "'%s' is used in its own definition", it->name);
    if (ndata_in_progress == MAX_DATA_NESTING) diag_error(e->loc, "data items nested too deeply");
    data_in_progress[ndata_in_progress++] = it;
    CallArgs args;
    eval_args(L, &top, e, NULL, &args);
    ndata_in_progress--;
    Value slots[MAX_ARGS];
    SrcLoc locs[MAX_ARGS];
    int n;
    LeafInit options = {0}, init = {0};
    data_options(&args, it, &options);
    Shape shape = {1, {L->s->batch}};
    if (it->kind == IT_NOISE) {
        int normal = strcmp(e->str, "normal") == 0;
        if (!normal && strcmp(e->str, "uniform") != 0)
            diag_error(e->loc, "unknown noise '%s' (use normal or uniform)", e->str);
        bind_fixed(e->str, normal ? "shape mean=0 std=1" : "shape low=0 high=1", &args, e->loc, slots, locs, &n);
        Shape per = expect_shape(slots[0], locs[0], "the noise shape");
        if (per.ndim >= IR_MAXDIM) diag_error(locs[0], "noise has at most %d axes per sample", IR_MAXDIM - 1);
        for (int i = 0; i < per.ndim; i++) shape.dim[shape.ndim++] = per.dim[i];
        init = init_of(normal ? INIT_NORMAL : INIT_UNIFORM, expect_number(slots[1], locs[1], "a noise parameter"),
                       expect_number(slots[2], locs[2], "a noise parameter"));
    } else if (!strcmp(e->str, "load") || !strcmp(e->str, "labels")) {
        int load = !strcmp(e->str, "load");
        bind_fixed(e->str, load ? "file" : "file classes=10 pair", &args, e->loc, slots, locs, &n);
        init = load ? file_source(L, it, e, slots, locs, &shape) : label_source(L, slots, locs, &shape);
        init.points = options.points;   /* files_check checks the file against it once the model is built */
    } else {
        char signature[256];
        int dim;
        if (!files_sampler(e->str, &init.sampler, &dim, signature, sizeof signature)) {
            char known[256];
            files_sampler_names(known, sizeof known);
            diag_error(e->loc, "unknown data source '%s' (the samplers are %s)", e->str, known);
        }
        bind_fixed(e->str, signature, &args, e->loc, slots, locs, &n);
        init.kind = INIT_DATA;
        init.nargs = n;
        for (int i = 0; i < n; i++) init.args[i] = expect_number(slots[i], locs[i], "a sampler parameter");
        shape.dim[shape.ndim++] = dim;
    }
    init.points = options.points;
    init.fixed = options.fixed;
    L->g->cur_loc = source_site(it->name_loc);
    return ir_input(L->g, it->name, shape, init);
}

/* hyper lambda = 0.1: a scalar input with that default, set at run time by `--set lambda=10`. */
static int hyper_input(Lower *L, const Item *it) {
    Scope top = {0};
    Value v = eval(L, &top, it->value);
    if (v.kind != V_NUM) diag_error(it->value->loc, "a hyperparameter's default must be a number, not %s", kind_name(v.kind));
    L->g->cur_loc = source_site(it->name_loc);
    return ir_input(L->g, arena_printf(L->s->arena, "hyper.%s", it->name), ir_shape_scalar(), init_of(INIT_CONSTANT, v.num, 0));
}

/* ---- lowering what the model asks for ---------------------------------------------------- */

static const Item *find_kind(const Program *p, ItemKind kind);

static Lower new_lower(Sema *s, IrGraph *g) {
    Lower L = {.s = s, .g = g};
    int n = 0;
    for (int i = 0; i < s->user->nitems; i++) n += s->user->items[i]->kind == IT_LET;
    L.let_items = ARENA_ARRAY(s->arena, const Item *, n + 1);
    L.let_values = ARENA_ARRAY(s->arena, Value, n + 1);
    L.let_state = arena_alloc(s->arena, (size_t)n + 1);
    for (int i = 0; i < s->user->nitems; i++)
        if (s->user->items[i]->kind == IT_LET) L.let_items[L.nlets++] = s->user->items[i];
    return L;
}

Lower *sema_lower_into(Sema *s, IrGraph *g, int training) {
    Lower *L = ARENA_NEW(s->arena, Lower);
    *L = new_lower(s, g);
    L->training = training;
    return L;
}

static int require_scalar(Lower *L, Value v, SrcLoc loc, const char *what) {
    if (v.kind != V_TENSOR)
        diag_error(loc, "%s must be a tensor expression, not %s", what, kind_name(v.kind));
    if (ir_shape_of(L->g, v.node).ndim != 0)
        diag_error(loc, "%s must be a scalar, but it has shape %s (take a mean or a sum)", what,
                   node_shape_text(L, v.node));
    return v.node;
}

/* The loss of one network plus every penalty constraining it. */
static int is_projection(const Sema *s, const Item *constraint);

static int lower_loss(Lower *L, const Item *loss) {
    Arena *a = L->s->arena;
    Scope sc = {.draw_prefix = arena_printf(a, "%s_loss", loss->name)};
    const char *what = arena_printf(a, "the loss of '%s'", loss->name);
    L->loss_net = loss->name;
    int value = require_scalar(L, eval(L, &sc, loss->value), loss->value->loc, what);
    for (int i = 0; i < L->s->user->nitems; i++) {
        const Item *it = L->s->user->items[i];
        if (it->kind != IT_CONSTRAIN || strcmp(it->name, loss->name) != 0 || is_projection(L->s, it)) continue;
        if (it->value->kind != EX_CALL)
            diag_error(it->value->loc, "a constraint is a call such as gradient_penalty(x, fake)");
        Value net = {.kind = V_NET, .item = find_net(L->s, loss->name)};
        Value term = call(L, &sc, it->value, &net);
        int p = require_scalar(L, term, it->value->loc, "a penalty");
        L->g->cur_loc = source_site(it->loc);
        value = ir_add(L->g, value, p);
    }
    L->loss_net = NULL;
    return value;
}

static const Item *find_loss(const Sema *s, const char *net) {
    for (int i = 0; i < s->user->nitems; i++) {
        const Item *it = s->user->items[i];
        if (it->kind == IT_LOSS && strcmp(it->name, net) == 0) return it;
    }
    return NULL;
}

int sema_lower_loss(Lower *L, const char *net) { return lower_loss(L, find_loss(L->s, net)); }

/* The i-th logged expression (a loss is logged from its step graph, not lowered here). */
int sema_lower_log(Lower *L, int i) {
    const Item *log = find_kind(L->s->user, IT_LOG);
    const LogItem *item = &log->logs[i];
    Scope sc = {.draw_prefix = "log"};   /* one prefix for all: each draw gets its own name */
    sc.counters = L->log_counters;
    int node = require_scalar(L, eval(L, &sc, item->expr), item->loc, "a logged value");
    L->log_counters = sc.counters;
    return node;
}

int sema_lower_sample(Lower *L, int i) {
    const LogItem *item = &find_kind(L->s->user, IT_SAMPLE)->logs[i];
    Scope sc = {.draw_prefix = "sample"};   /* one prefix for all: each draw gets its own name */
    sc.counters = L->log_counters;
    int node = expect_tensor(eval(L, &sc, item->expr), item->loc, "a sampled value");
    L->log_counters = sc.counters;
    return node;
}

/* fid every N: features(fake), features(real): two batches of feature vectors of one width. */
void sema_lower_fid(Lower *L, int nodes[2]) {
    const Item *it = find_kind(L->s->user, IT_FID);
    IrGraph *g = L->g;
    for (int i = 0; i < 2; i++) {
        Scope sc = {.draw_prefix = arena_printf(L->s->arena, "fid/%d", i)};
        nodes[i] = expect_tensor(eval(L, &sc, it->logs[i].expr), it->logs[i].loc, "a feature batch");
        Shape sh = ir_shape_of(g, nodes[i]);
        if (sh.ndim != 2) diag_error(it->logs[i].loc, "features are a batch of vectors [N, d], not %s", shape_text(L, sh));
    }
    if (ir_shape_of(g, nodes[0]).dim[1] != ir_shape_of(g, nodes[1]).dim[1])
        diag_error(it->logs[1].loc, "the two feature batches have different widths: %s and %s",
                   node_shape_text(L, nodes[0]), node_shape_text(L, nodes[1]));
}

static OptimizerSpec optimizer_spec(Sema *s, const TrainEntry *entry) {
    const Expr *e = entry->optimizer;
    if (e->kind != EX_CALL) diag_error(e->loc, "an optimizer is a call such as adam(lr: 1e-4)");
    static const struct { const char *name, *signature; OptimizerKind kind; } table[] = {
        {"sgd", "lr momentum=0 decay=none", OPT_SGD},
        {"adam", "lr=0.001 beta1=0.9 beta2=0.999 eps=1e-8 decay=none", OPT_ADAM},
        {"rmsprop", "lr=0.01 alpha=0.99 eps=1e-8 decay=none", OPT_RMSPROP},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(e->str, table[i].name) != 0) continue;
        IrGraph *scratch = ir_new_graph(s->arena, "optimizer", s->dtype);
        Lower L = new_lower(s, scratch);
        Scope top = {0};
        CallArgs args;
        eval_args(&L, &top, e, NULL, &args);
        Value v[MAX_ARGS];
        SrcLoc locs[MAX_ARGS];
        int n;
        bind_fixed(e->str, table[i].signature, &args, e->loc, v, locs, &n);
        OptimizerSpec o = {.kind = table[i].kind};
        Value decay = v[n - 1];
        if (decay.kind != V_NONE && (decay.kind != V_STR || strcmp(decay.str, "linear") != 0))
            diag_error(locs[n - 1], "decay: \"linear\" is the one learning-rate schedule there is");
        o.linear_decay = decay.kind == V_STR;
        if (v[0].kind == V_TENSOR && scratch->nodes[v[0].node].op == OP_INPUT &&
            !strncmp(scratch->nodes[v[0].node].name, "hyper.", 6)) {
            /* a hyperparameter: the default checks as a number, the value comes at run time */
            o.lr_input = scratch->nodes[v[0].node].name;
            o.lr_init = scratch->nodes[v[0].node].init;
            v[0] = num_value(o.lr_init.a);
        }
        for (int k = 0; k < n - 1; k++) expect_number(v[k], locs[k], "an optimizer setting");
        o.lr = v[0].num;
        if (!(o.lr > 0)) diag_error(locs[0], "the learning rate must be positive, not %g", o.lr);
        if (o.kind == OPT_SGD) o.momentum = v[1].num;
        if (o.kind == OPT_ADAM) o.beta1 = v[1].num, o.beta2 = v[2].num, o.eps = v[3].num;
        if (o.kind == OPT_RMSPROP) o.alpha = v[1].num, o.eps = v[2].num;
        for (int k = 1; o.kind == OPT_ADAM && k <= 2; k++)
            if (!(v[k].num >= 0 && v[k].num < 1))
                diag_error(locs[k], "adam's beta%d must be in [0, 1), not %g", k, v[k].num);
        return o;
    }
    diag_error(e->loc, "unknown optimizer '%s' (use sgd, adam or rmsprop)", e->str);
}

static int is_projection(const Sema *s, const Item *constraint) {
    return constraint->value->kind == EX_CALL && find_item(s, constraint->value->str, 1 << IT_PROJECTION);
}

static int update_output(const IrGraph *g, const char *leaf) {
    for (int k = 0; k < g->noutputs; k++)
        if (g->outputs[k].kind == OUT_UPDATE && strcmp(g->outputs[k].name, leaf) == 0) return k;
    return -1;
}

/* constrain D: clip(0.01) with `projection clip(w, c)`: each updated parameter of D (or only the
 * one named by only: "dense3.w") is replaced by the projection of its new value. */
void sema_project(Lower *L, const char *net, const char *const *params, int nparams) {
    Arena *a = L->s->arena;
    for (int i = 0; i < L->s->user->nitems; i++) {
        const Item *it = L->s->user->items[i];
        if (it->kind != IT_CONSTRAIN || strcmp(it->name, net) != 0 || !is_projection(L->s, it)) continue;
        Expr call_expr = *it->value;
        const char *only = NULL;
        call_expr.args = ARENA_ARRAY(a, Arg, it->value->nargs + 1);
        call_expr.nargs = 0;
        for (int k = 0; k < it->value->nargs; k++) {
            const Arg *arg = &it->value->args[k];
            if (arg->name && strcmp(arg->name, "only") == 0) {
                if (arg->value->kind != EX_STR) diag_error(arg->loc, "only: names a parameter as a string, such as \"dense3.w\"");
                only = arena_printf(a, "%s.%s", net, arg->value->str);
            } else {
                call_expr.args[call_expr.nargs++] = *arg;
            }
        }
        int matched = 0;
        for (int k = 0; k < nparams; k++) {
            if (only && strcmp(only, params[k]) != 0) continue;
            int out = update_output(L->g, params[k]);
            Scope sc = {.draw_prefix = arena_printf(a, "%s_project", net)};
            Value updated = tensor_value(L->g->outputs[out].node);
            Value v = call(L, &sc, &call_expr, &updated);
            int node = expect_tensor(v, it->value->loc, "a projection's result");
            if (!ir_shape_equal(ir_shape_of(L->g, node), ir_shape_of(L->g, updated.node)))
                diag_error(it->value->loc, "the projection changes the shape of %s from %s to %s", params[k],
                           node_shape_text(L, updated.node), node_shape_text(L, node));
            L->g->outputs[out].node = node;
            matched++;
        }
        if (!matched) diag_error(it->value->loc, "no parameter of '%s' is named '%s'", net, only);
    }
}

int sema_inner_grads(const Lower *L, const GradRecord **grads) {
    *grads = L->grads;
    return L->ngrads;
}

int sema_next_states(const Lower *L, const StateUpdate **updates) {
    *updates = L->updates;
    return L->nupdates;
}

/* ---- checks over the whole program ----------------------------------------------------- */

static void load_modules(Sema *s) {
    for (int i = 0; i < s->user->nitems; i++) {
        const Item *it = s->user->items[i];
        if (it->kind != IT_USE) continue;
        const SourceFile *src = stdlib_source(s->arena, it->name);
        if (!src) diag_error(it->name_loc, "unknown module '%s' (the stdlib has: std)", it->name);
        if (s->nmodules == 8) diag_error(it->loc, "too many 'use' lines");
        s->modules[s->nmodules++] = parse_program(s->arena, src);
    }
}

static int is_global(ItemKind k) {
    return k == IT_DATA || k == IT_NOISE || k == IT_NET || k == IT_DEF || k == IT_LET || k == IT_HYPER || k == IT_PROJECTION;
}

/* The scopes of random draws are named "D_loss", "D_project", "log" and "sample", and a top-level
 * definition's draws by its name: a definition named like one would share its draws. */
static void check_reserved(const Program *p, const Item *a) {
    size_t len = strlen(a->name);
    int reserved = !strcmp(a->name, "log") || !strcmp(a->name, "sample");
    for (int i = 0; i < p->nitems && !reserved; i++) {
        const Item *net = p->items[i];
        if (net->kind != IT_NET || strncmp(a->name, net->name, strlen(net->name)) != 0) continue;
        const char *rest = a->name + strlen(net->name);
        reserved = !strcmp(rest, "_loss") || !strcmp(rest, "_project");
    }
    if (reserved && len)
        diag_error(a->name_loc, "'%s' is a reserved name: it names the random draws of a loss or of the log and "
                   "sample graphs", a->name);
}

/* A block's result ends it: a statement after `return` (or after the result expression) would
 * never run. */
static void check_block(const Block *b) {
    for (int i = 0; i < b->nstmts; i++) {
        const Stmt *st = b->stmts[i];
        if (st->kind == ST_RETURN && i + 1 < b->nstmts)
            diag_error(b->stmts[i + 1]->loc, "this statement follows the block's result, so it would never run");
        if (st->kind == ST_IF) check_block(&st->then), check_block(&st->els);
    }
}

static void check_duplicates(const Program *p) {
    for (int i = 0; i < p->nitems; i++) {
        const Item *a = p->items[i];
        int global = is_global(a->kind);
        int single = a->kind == IT_LOSS || a->kind == IT_BATCH || a->kind == IT_SEED || a->kind == IT_TRAIN ||
                     a->kind == IT_LOG || a->kind == IT_SAMPLE || a->kind == IT_FID;
        if (global) check_reserved(p, a);
        if (a->kind == IT_DEF || a->kind == IT_NET || a->kind == IT_PROJECTION) check_block(&a->body);
        for (int j = 0; j < i && (global || single); j++) {
            const Item *b = p->items[j];
            if (global && is_global(b->kind) && strcmp(a->name, b->name) == 0)
                diag_error(a->name_loc, "'%s' is already defined at line %d", a->name, b->loc.line);
            if (a->kind == IT_LOSS && b->kind == IT_LOSS && strcmp(a->name, b->name) == 0)
                diag_error(a->name_loc, "'%s' already has a loss, at line %d", a->name, b->loc.line);
            if (single && a->kind == b->kind && a->kind != IT_LOSS)
                diag_error(a->loc, "this repeats the declaration at line %d", b->loc.line);
        }
        for (int f = 0; (a->kind == IT_DEF || a->kind == IT_NET || a->kind == IT_PROJECTION) && f < a->nformals; f++)
            for (int g = 0; g < f; g++)
                if (strcmp(a->formals[f].name, a->formals[g].name) == 0)
                    diag_error(a->formals[f].loc, "parameter '%s' appears twice", a->formals[f].name);
    }
}

static const Item *find_kind(const Program *p, ItemKind kind) {
    for (int i = 0; i < p->nitems; i++)
        if (p->items[i]->kind == kind) return p->items[i];
    return NULL;
}

static void build_schedule(Sema *s, Model *m) {
    const Item *train = find_kind(s->user, IT_TRAIN);
    if (!train)
        diag_error((SrcLoc){s->user->file, 1, 1},
                   "the experiment has no 'train' block (add one, e.g. train 1000 { G: adam(lr: 1e-4) })");
    m->train_iters = (long)train->num;
    m->nsteps = train->nentries;
    m->steps = ARENA_ARRAY(s->arena, NetStep, train->nentries + 1);
    for (int i = 0; i < train->nentries; i++) {
        const TrainEntry *e = &train->entries[i];
        if (!find_net(s, e->net)) diag_error(e->loc, "'train' names '%s', which is not a network", e->net);
        const Item *loss = find_loss(s, e->net);
        if (!loss) diag_error(e->loc, "network '%s' is trained but has no loss (add: loss %s = ...)", e->net, e->net);
        for (int k = 0; k < i; k++)
            if (strcmp(m->steps[k].net, e->net) == 0) diag_error(e->loc, "network '%s' appears twice in 'train'", e->net);
        m->steps[i] = (NetStep){.net = e->net, .loc = e->loc, .loss_loc = loss->loc, .times = e->times,
                                .group = e->group, .ema = e->ema, .opt = optimizer_spec(s, e)};
    }
    for (int i = 0; i < s->user->nitems; i++) {
        const Item *it = s->user->items[i];
        if (it->kind != IT_LOSS && it->kind != IT_CONSTRAIN) continue;
        if (!find_net(s, it->name))
            diag_error(it->name_loc, "'%s' is not a network, so it cannot have a %s", it->name,
                       it->kind == IT_LOSS ? "loss" : "constraint");
        int trained = 0;
        for (int k = 0; k < m->nsteps; k++) trained |= strcmp(m->steps[k].net, it->name) == 0;
        if (!trained && it->kind == IT_LOSS)
            diag_error(it->name_loc, "network '%s' has a loss but no entry in 'train'", it->name);
        if (it->kind == IT_CONSTRAIN && !find_loss(s, it->name))
            diag_error(it->name_loc, "'%s' is constrained but has no loss", it->name);
    }
}

static void collect_logs(Sema *s, Model *m) {
    for (int i = 0; i < s->user->nitems; i++) {
        const Item *it = s->user->items[i];
        if (it->kind == IT_SAMPLE) m->sample_every = (long)it->num;
        if (it->kind != IT_LOG) continue;
        m->log_every = (long)it->num;
        m->logs = ARENA_ARRAY(s->arena, LogSpec, it->nlogs);
        m->nlogs = it->nlogs;
        for (int k = 0; k < it->nlogs; k++) {
            const LogItem *li = &it->logs[k];
            LogSpec *ls = &m->logs[k];
            ls->label = li->label;
            ls->is_loss = li->is_loss;
            if (li->is_loss) {
                const char *net = li->label + strlen("loss ");
                if (!find_loss(s, net)) diag_error(li->loc, "there is no loss of '%s' to log", net);
                ls->output = arena_printf(s->arena, "loss/%s", net);
            } else {
                ls->output = arena_printf(s->arena, "log/%s", li->label);
            }
        }
    }
}

static const char *model_name(Arena *a, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return arena_printf(a, "%.*s", dot ? (int)(dot - base) : (int)strlen(base), base);
}

/* Definitions no graph uses are checked all the same: each data, noise, hyper and top-level
 * definition is evaluated once into a scratch graph. */
void sema_check_unused(Sema *s) {
    IrGraph *g = ir_new_graph(s->arena, "unused", s->dtype);
    Lower L = new_lower(s, g);
    for (int i = 0; i < s->user->nitems; i++) {
        const Item *it = s->user->items[i];
        if (it->kind == IT_DATA || it->kind == IT_NOISE) data_input(&L, it);
        if (it->kind == IT_HYPER) hyper_input(&L, it);
        if (it->kind == IT_LET) eval_let(&L, it, it->loc);
    }
}

Sema *sema_check(Arena *arena, const Program *prog, DType dtype, Model *m) {
    Sema *s = ARENA_NEW(arena, Sema);
    *s = (Sema){.arena = arena, .dtype = dtype, .batch = 64, .user = prog};
    user_file = prog->file;
    nframes = 0;
    ndata_in_progress = 0;
    m->name = model_name(arena, prog->file->name);
    m->dtype = dtype;
    check_duplicates(prog);
    load_modules(s);
    const Item *batch = find_kind(prog, IT_BATCH), *seed = find_kind(prog, IT_SEED);
    if (batch) s->batch = (int)batch->num;
    m->batch = s->batch;
    m->seed = seed ? (unsigned long long)seed->num : 0;
    build_schedule(s, m);
    collect_logs(s, m);
    const Item *sample = find_kind(prog, IT_SAMPLE), *fid = find_kind(prog, IT_FID);
    if (sample) {
        m->nsample_labels = sample->nlogs;
        m->sample_labels = ARENA_ARRAY(arena, const char *, sample->nlogs);
        for (int i = 0; i < sample->nlogs; i++) {
            if (sample->logs[i].is_loss)
                diag_error(sample->logs[i].loc, "'sample' takes tensors, not losses (log a loss with: log every N: %s)",
                           sample->logs[i].label);
            m->sample_labels[i] = sample->logs[i].label;
        }
    }
    if (fid) {
        if (fid->nlogs != 2) diag_error(fid->loc, "fid compares two feature batches: fid every N: F(fake), F(real)");
        m->fid_every = (long)fid->num;
    }
    return s;
}
