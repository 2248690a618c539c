/* ir.c: building, printing and compacting graph IR (see ir.h for the model).
 *
 * All nodes enter through add_node(), which hash-conses them: a node equal to an existing one
 * (same op, shape, inputs and attributes) is not added again, which is common-subexpression
 * elimination done once, at construction. The typed constructors above it infer and assert
 * shapes and apply the algebraic simplifications that keep autodiff output small: constant
 * folding of fill-constants, x+0, x*1, x*0, neg(neg x), identity reshapes and broadcasts. */
#include "ir.h"
#include "diag.h"
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; int arity; IrOpClass cls; unsigned flags; } op_info[OP_COUNT] = {
#define X(name, text, arity, cls, flags) {text, arity, OPC_##cls, flags},
    IR_OP_LIST(X)
#undef X
};

const char *ir_op_name(IrOp op) { return op_info[op].name; }
IrOpClass ir_op_class(IrOp op) { return op_info[op].cls; }
int ir_op_arity(IrOp op) { return op_info[op].arity; }
int ir_op_is_leaf(IrOp op) { return op_info[op].cls == OPC_LEAF; }
int ir_op_is_comparison(IrOp op) { return (op_info[op].flags & OPF_CMP) != 0; }
int ir_op_blocks_gradient(IrOp op) { return (op_info[op].flags & OPF_NOGRAD) != 0; }

int ir_op_is_elementwise(IrOp op) {
    IrOpClass c = op_info[op].cls;
    return c == OPC_CONST || c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT;
}

IrGraph *ir_new_graph(Arena *arena, const char *name, DType dtype) {
    IrGraph *g = ARENA_NEW(arena, IrGraph);
    g->arena = arena;
    g->name = arena_strdup(arena, name);
    g->dtype = dtype;
    return g;
}

void ir_add_output(IrGraph *g, IrOutputKind kind, const char *name, int node) {
    IrOutput o = {kind, arena_strdup(g->arena, name), node};
    ARENA_PUSH(g->arena, g->outputs, g->noutputs, g->outcap, o);
}

int ir_find_output(const IrGraph *g, const char *name) {
    for (int i = 0; i < g->noutputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0) return g->outputs[i].node;
    return -1;
}

/* ---- shapes ---------------------------------------------------------------------------- */

Shape ir_shape(int ndim, const int *dims) {
    assert(ndim >= 0 && ndim <= IR_MAXDIM);
    Shape s = {ndim, {0}};
    for (int i = 0; i < ndim; i++) s.dim[i] = dims[i];
    return s;
}

Shape ir_shape_scalar(void) { return (Shape){0, {0}}; }

int ir_shape_equal(Shape a, Shape b) {
    if (a.ndim != b.ndim) return 0;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i]) return 0;
    return 1;
}

long ir_shape_size(Shape s) {
    long n = 1;
    for (int i = 0; i < s.ndim; i++)
        if (s.dim[i] < 0 || __builtin_mul_overflow(n, (long)s.dim[i], &n)) return LONG_MAX;
    return n;
}

const char *ir_shape_str(char *buf, int len, DType dt, Shape s) {
    int n = snprintf(buf, (size_t)len, "%s[", dt == DT_F64 ? "f64" : "f32");
    for (int i = 0; i < s.ndim && n < len; i++)
        n += snprintf(buf + n, (size_t)(len - n), i ? ",%d" : "%d", s.dim[i]);
    if (n < len) snprintf(buf + n, (size_t)(len - n), "]");
    return buf;
}

/* ---- hash-consing ---------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_string(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Leaves are identified by name alone; other nodes by everything that defines their value. */
static uint64_t node_hash(const IrNode *n) {
    uint64_t h = mix(0, (uint64_t)n->op);
    if (n->name) return mix(h, hash_string(n->name));
    uint64_t bits;
    memcpy(&bits, &n->value, sizeof bits);
    h = mix(h, bits);
    h = mix(h, (uint64_t)n->shape.ndim);
    for (int i = 0; i < n->shape.ndim; i++) h = mix(h, (uint64_t)n->shape.dim[i]);
    for (int i = 0; i < n->nin; i++) h = mix(h, (uint64_t)n->in[i]);
    h = mix(h, n->axes);
    for (int i = 0; i < IR_MAXDIM; i++) h = mix(mix(h, (uint64_t)n->perm[i]), (uint64_t)n->start[i]);
    h = mix(mix(h, (uint64_t)n->axis), (uint64_t)(n->ta * 2 + n->tb));
    h = mix(h, (uint64_t)n->block);
    return mix(mix(h, (uint64_t)n->stride), (uint64_t)n->pad);
}

static int node_equal(const IrNode *a, const IrNode *b) {
    if (a->op != b->op) return 0;
    if (a->name || b->name) return a->name && b->name && strcmp(a->name, b->name) == 0;
    if (!ir_shape_equal(a->shape, b->shape) || a->nin != b->nin) return 0;
    for (int i = 0; i < a->nin; i++)
        if (a->in[i] != b->in[i]) return 0;
    return memcmp(&a->value, &b->value, sizeof a->value) == 0 && a->axes == b->axes &&
           memcmp(a->perm, b->perm, sizeof a->perm) == 0 &&
           memcmp(a->start, b->start, sizeof a->start) == 0 && a->axis == b->axis &&
           a->ta == b->ta && a->tb == b->tb && a->stride == b->stride && a->pad == b->pad && a->block == b->block;
}

static void rehash(IrGraph *g) {
    int cap = g->hash_cap ? g->hash_cap * 2 : 256;
    g->hash_slots = ARENA_ARRAY(g->arena, int, cap);
    g->hash_cap = cap;
    for (int id = 0; id < g->nnodes; id++) {
        unsigned long slot = node_hash(&g->nodes[id]) & (unsigned long)(cap - 1);
        while (g->hash_slots[slot]) slot = (slot + 1) & (unsigned long)(cap - 1);
        g->hash_slots[slot] = id + 1;
    }
}

/* A tensor over IR_MAX_ELEMENTS, named by its leaf name or its op, at its source location. */
static void too_large(const IrGraph *g, const IrNode *n) {
    char shape[96];
    ir_shape_str(shape, sizeof shape, g->dtype, n->shape);
    const char *what = n->name ? n->name : op_info[n->op].name;
    if (n->loc.line)
        diag_error(n->loc, "tensor '%s' of shape %s has more than 2^36 elements, the limit", what, shape);
    diag_fatal("tensor '%s' of shape %s has more than 2^36 elements, the limit", what, shape);
}

static int add_node(IrGraph *g, IrNode n) {
    n.dtype = g->dtype;
    if (!n.loc.file) n.loc = g->cur_loc, n.scope = g->cur_scope; /* where and in which layer it was made */
    if (ir_shape_size(n.shape) > IR_MAX_ELEMENTS) too_large(g, &n);
    n.nin = op_info[n.op].arity;
    if (g->cur_block && !n.name) n.block = g->cur_block;
    for (int i = 0; i < n.nin; i++) assert(n.in[i] >= 0 && n.in[i] < g->nnodes);
    if (2 * (g->nnodes + 1) > g->hash_cap) rehash(g);
    unsigned long mask = (unsigned long)(g->hash_cap - 1);
    unsigned long slot = node_hash(&n) & mask;
    for (; g->hash_slots[slot]; slot = (slot + 1) & mask)
        if (node_equal(&g->nodes[g->hash_slots[slot] - 1], &n)) return g->hash_slots[slot] - 1;
    n.backward |= g->cur_backward;
    ARENA_PUSH(g->arena, g->nodes, g->nnodes, g->cap, n);
    g->hash_slots[slot] = g->nnodes;
    return g->nnodes - 1;
}

static IrNode make(IrOp op, Shape s, int a, int b, int c) {
    IrNode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.shape = s;
    n.in[0] = a;
    n.in[1] = b;
    n.in[2] = c;
    return n;
}

/* ---- leaves ---------------------------------------------------------------------------- */

static int leaf(IrGraph *g, IrOp op, const char *name, Shape s, LeafInit init) {
    IrNode n = make(op, s, 0, 0, 0);
    n.name = arena_strdup(g->arena, name);
    n.init = init;
    int id = add_node(g, n);
    assert(ir_shape_equal(g->nodes[id].shape, s) && "a leaf's name was reused with another shape");
    return id;
}

int ir_param(IrGraph *g, const char *name, Shape s, LeafInit init) { return leaf(g, OP_PARAM, name, s, init); }
int ir_state(IrGraph *g, const char *name, Shape s, LeafInit init) { return leaf(g, OP_STATE, name, s, init); }
int ir_input(IrGraph *g, const char *name, Shape s, LeafInit init) { return leaf(g, OP_INPUT, name, s, init); }

int ir_const(IrGraph *g, double value, Shape s) {
    IrNode n = make(OP_CONST, s, 0, 0, 0);
    n.value = value == 0 ? 0.0 : value; /* one zero, not two: -0 and +0 would not be shared */
    return add_node(g, n);
}

int ir_const_like(IrGraph *g, double value, int like) { return ir_const(g, value, g->nodes[like].shape); }

int ir_is_const(const IrGraph *g, int id, double *value) {
    if (g->nodes[id].op != OP_CONST) return 0;
    if (value) *value = g->nodes[id].value;
    return 1;
}

/* ---- elementwise ----------------------------------------------------------------------- */

/* The value of an elementwise op on numbers: what constant folding computes here and what the
 * interpreter computes for every element, so the two cannot disagree. */
double ir_binary_value(IrOp op, double a, double b) {
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_EQ: return a == b;
    default: assert(0 && "not a binary elementwise op"); return 0;
    }
}

double ir_unary_value(IrOp op, double x, double exponent) {
    switch (op) {
    case OP_NEG: return -x;
    case OP_EXP: return exp(x);
    case OP_LOG: return log(x);
    case OP_SQRT: return sqrt(x);
    case OP_TANH: return tanh(x);
    case OP_LOG1P: return log1p(x); /* log(1 + x), exact for tiny x where 1 + x rounds to 1 */
    case OP_EXPM1: return expm1(x); /* e^x - 1, exact for tiny x */
    case OP_SIGMOID: { /* 1/(1+e^-x), or e^x/(1+e^x) for x < 0: exp never overflows */
        double e = exp(-fabs(x));
        return x >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
    case OP_POW: return pow(x, exponent);
    case OP_STOP_GRAD: return x;
    default: assert(0 && "not a unary elementwise op"); return 0;
    }
}

static int is_value(const IrGraph *g, int id, double v) {
    double c;
    return ir_is_const(g, id, &c) && c == v;
}

/* The identities that keep autodiff output small; NULL-free: returns -1 when none applies. */
static int simplify_binary(IrGraph *g, IrOp op, int a, int b) {
    switch (op) {
    case OP_ADD:
        if (is_value(g, b, 0)) return a;
        if (is_value(g, a, 0)) return b;
        break;
    case OP_SUB:
        if (is_value(g, b, 0)) return a;
        if (is_value(g, a, 0)) return ir_neg(g, b);
        if (a == b) return ir_const_like(g, 0, a);
        break;
    case OP_MUL:
        if (is_value(g, b, 1)) return a;
        if (is_value(g, a, 1)) return b;
        if (is_value(g, a, 0) || is_value(g, b, 0)) return ir_const_like(g, 0, a);
        if (is_value(g, b, -1)) return ir_neg(g, a);
        if (is_value(g, a, -1)) return ir_neg(g, b);
        break;
    case OP_DIV:
        if (is_value(g, b, 1)) return a;
        if (is_value(g, a, 0)) return a;
        break;
    default: break;
    }
    return -1;
}

int ir_binary(IrGraph *g, IrOp op, int a, int b) {
    assert(ir_op_class(op) == OPC_BINARY);
    assert(ir_shape_equal(g->nodes[a].shape, g->nodes[b].shape));
    double ca, cb;
    if (ir_is_const(g, a, &ca) && ir_is_const(g, b, &cb))
        return ir_const_like(g, ir_binary_value(op, ca, cb), a);
    int s = simplify_binary(g, op, a, b);
    if (s >= 0) return s;
    return add_node(g, make(op, g->nodes[a].shape, a, b, 0));
}

int ir_add(IrGraph *g, int a, int b) { return ir_binary(g, OP_ADD, a, b); }
int ir_sub(IrGraph *g, int a, int b) { return ir_binary(g, OP_SUB, a, b); }
int ir_mul(IrGraph *g, int a, int b) { return ir_binary(g, OP_MUL, a, b); }
int ir_div(IrGraph *g, int a, int b) { return ir_binary(g, OP_DIV, a, b); }

int ir_unary(IrGraph *g, IrOp op, int a) {
    assert(ir_op_class(op) == OPC_UNARY && op != OP_POW);
    double c;
    if (ir_is_const(g, a, &c)) return ir_const_like(g, ir_unary_value(op, c, 0), a);
    if (op == OP_NEG && g->nodes[a].op == OP_NEG) return g->nodes[a].in[0];
    if (op == OP_STOP_GRAD && g->nodes[a].op == OP_STOP_GRAD) return a;
    return add_node(g, make(op, g->nodes[a].shape, a, 0, 0));
}

int ir_neg(IrGraph *g, int a) { return ir_unary(g, OP_NEG, a); }

int ir_pow(IrGraph *g, int a, double exponent) {
    double c;
    if (exponent == 1) return a;
    if (exponent == 0) return ir_const_like(g, 1, a);
    if (ir_is_const(g, a, &c)) return ir_const_like(g, ir_unary_value(OP_POW, c, exponent), a);
    IrNode n = make(OP_POW, g->nodes[a].shape, a, 0, 0);
    n.value = exponent;
    return add_node(g, n);
}

int ir_select(IrGraph *g, int mask, int a, int b) {
    Shape s = g->nodes[a].shape;
    assert(ir_shape_equal(s, g->nodes[mask].shape) && ir_shape_equal(s, g->nodes[b].shape));
    double m;
    if (a == b) return a;
    if (ir_is_const(g, mask, &m)) return m != 0 ? a : b;
    return add_node(g, make(OP_SELECT, s, mask, a, b));
}

/* ---- shape ops and reductions ---------------------------------------------------------- */

int ir_reshape(IrGraph *g, int a, Shape s) {
    assert(ir_shape_size(s) == ir_shape_size(g->nodes[a].shape));
    double c;
    if (ir_shape_equal(s, g->nodes[a].shape)) return a;
    if (ir_is_const(g, a, &c)) return ir_const(g, c, s);
    if (g->nodes[a].op == OP_RESHAPE) a = g->nodes[a].in[0];
    if (ir_shape_equal(s, g->nodes[a].shape)) return a;
    return add_node(g, make(OP_RESHAPE, s, a, 0, 0));
}

int ir_permute(IrGraph *g, int a, const int *perm) {
    Shape in = g->nodes[a].shape, out = in;
    int identity = 1;
    for (int i = 0; i < in.ndim; i++) {
        assert(perm[i] >= 0 && perm[i] < in.ndim);
        out.dim[i] = in.dim[perm[i]];
        identity &= perm[i] == i;
    }
    double c;
    if (identity) return a;
    if (ir_is_const(g, a, &c)) return ir_const(g, c, out);
    IrNode n = make(OP_PERMUTE, out, a, 0, 0);
    memcpy(n.perm, perm, sizeof(int) * (size_t)in.ndim);
    return add_node(g, n);
}

int ir_broadcast(IrGraph *g, int a, Shape s, unsigned kept) {
    Shape in = g->nodes[a].shape;
    int k = 0;
    for (int i = 0; i < s.ndim; i++)
        if (kept & (1u << i)) assert(k < in.ndim && in.dim[k] == s.dim[i]), k++;
    assert(k == in.ndim && kept < (1u << s.ndim));
    double c;
    if (ir_is_const(g, a, &c)) return ir_const(g, c, s);
    if (ir_shape_equal(in, s)) return a;
    IrNode n = make(OP_BROADCAST, s, a, 0, 0);
    n.axes = kept;
    return add_node(g, n);
}

static Shape reduced_shape(Shape in, unsigned axes) {
    Shape out = {0, {0}};
    for (int i = 0; i < in.ndim; i++)
        if (!(axes & (1u << i))) out.dim[out.ndim++] = in.dim[i];
    return out;
}

static int reduce(IrGraph *g, IrOp op, int a, unsigned axes) {
    Shape in = g->nodes[a].shape;
    assert(axes < (1u << in.ndim));
    if (!axes) return a;
    Shape out = reduced_shape(in, axes);
    double c;
    if (ir_is_const(g, a, &c))
        return ir_const(g, op == OP_SUM ? c * (double)(ir_shape_size(in) / ir_shape_size(out)) : c, out);
    IrNode n = make(op, out, a, 0, 0);
    n.axes = axes;
    return add_node(g, n);
}

int ir_sum(IrGraph *g, int a, unsigned axes) { return reduce(g, OP_SUM, a, axes); }
int ir_max(IrGraph *g, int a, unsigned axes) { return reduce(g, OP_MAX, a, axes); }

int ir_slice(IrGraph *g, int a, const int *start, Shape s) {
    Shape in = g->nodes[a].shape;
    assert(s.ndim == in.ndim);
    for (int i = 0; i < s.ndim; i++) assert(start[i] >= 0 && start[i] + s.dim[i] <= in.dim[i]);
    double c;
    if (ir_shape_equal(s, in)) return a;
    if (ir_is_const(g, a, &c)) return ir_const(g, c, s);
    IrNode n = make(OP_SLICE, s, a, 0, 0);
    memcpy(n.start, start, sizeof(int) * (size_t)s.ndim);
    return add_node(g, n);
}

int ir_pad(IrGraph *g, int a, const int *before, Shape s) {
    Shape in = g->nodes[a].shape;
    assert(s.ndim == in.ndim);
    for (int i = 0; i < s.ndim; i++) assert(before[i] >= 0 && before[i] + in.dim[i] <= s.dim[i]);
    if (ir_shape_equal(s, in)) return a;
    if (is_value(g, a, 0)) return ir_const(g, 0, s);
    IrNode n = make(OP_PAD, s, a, 0, 0);
    memcpy(n.start, before, sizeof(int) * (size_t)s.ndim);
    return add_node(g, n);
}

int ir_concat(IrGraph *g, int a, int b, int axis) {
    Shape sa = g->nodes[a].shape, sb = g->nodes[b].shape, out = sa;
    assert(sa.ndim == sb.ndim && axis >= 0 && axis < sa.ndim);
    for (int i = 0; i < sa.ndim; i++) assert(i == axis || sa.dim[i] == sb.dim[i]);
    out.dim[axis] += sb.dim[axis];
    IrNode n = make(OP_CONCAT, out, a, b, 0);
    n.axis = axis;
    return add_node(g, n);
}

/* ---- BLAS-backed ops ------------------------------------------------------------------- */

int ir_matmul(IrGraph *g, int a, int b, int ta, int tb) {
    Shape sa = g->nodes[a].shape, sb = g->nodes[b].shape;
    assert(sa.ndim == 2 && sb.ndim == 2);
    int m = sa.dim[ta ? 1 : 0], k = sa.dim[ta ? 0 : 1];
    int kb = sb.dim[tb ? 1 : 0], n = sb.dim[tb ? 0 : 1];
    assert(k == kb);
    (void)kb;
    int dims[2] = {m, n};
    if (is_value(g, a, 0) || is_value(g, b, 0)) return ir_const(g, 0, ir_shape(2, dims));
    IrNode node = make(OP_MATMUL, ir_shape(2, dims), a, b, 0);
    node.ta = ta != 0;
    node.tb = tb != 0;
    return add_node(g, node);
}

int ir_conv_out_size(int in, int kernel, int stride, int pad) {
    int span = in + 2 * pad - kernel;
    return span < 0 || stride <= 0 ? -1 : span / stride + 1;
}

static int conv_node(IrGraph *g, IrOp op, int a, int b, int stride, int pad, Shape out) {
    if (is_value(g, a, 0) || is_value(g, b, 0)) return ir_const(g, 0, out);
    IrNode n = make(op, out, a, b, 0);
    n.stride = stride;
    n.pad = pad;
    return add_node(g, n);
}

int ir_conv(IrGraph *g, int x, int w, int stride, int pad) {
    Shape sx = g->nodes[x].shape, sw = g->nodes[w].shape;
    assert(sx.ndim == 4 && sw.ndim == 4 && sx.dim[1] == sw.dim[1]);
    int dims[4] = {sx.dim[0], sw.dim[0], ir_conv_out_size(sx.dim[2], sw.dim[2], stride, pad),
                   ir_conv_out_size(sx.dim[3], sw.dim[3], stride, pad)};
    assert(dims[2] > 0 && dims[3] > 0);
    return conv_node(g, OP_CONV, x, w, stride, pad, ir_shape(4, dims));
}

int ir_conv_bd(IrGraph *g, int w, int y, int stride, int pad, Shape xshape) {
    Shape sw = g->nodes[w].shape, sy = g->nodes[y].shape;
    assert(sw.ndim == 4 && sy.ndim == 4 && xshape.ndim == 4);
    assert(sy.dim[1] == sw.dim[0] && xshape.dim[1] == sw.dim[1] && xshape.dim[0] == sy.dim[0]);
    assert(ir_conv_out_size(xshape.dim[2], sw.dim[2], stride, pad) == sy.dim[2]);
    assert(ir_conv_out_size(xshape.dim[3], sw.dim[3], stride, pad) == sy.dim[3]);
    return conv_node(g, OP_CONV_BD, w, y, stride, pad, xshape);
}

int ir_conv_bf(IrGraph *g, int x, int y, int stride, int pad, Shape wshape) {
    Shape sx = g->nodes[x].shape, sy = g->nodes[y].shape;
    assert(sx.ndim == 4 && sy.ndim == 4 && wshape.ndim == 4);
    assert(sx.dim[0] == sy.dim[0] && wshape.dim[0] == sy.dim[1] && wshape.dim[1] == sx.dim[1]);
    assert(ir_conv_out_size(sx.dim[2], wshape.dim[2], stride, pad) == sy.dim[2]);
    assert(ir_conv_out_size(sx.dim[3], wshape.dim[3], stride, pad) == sy.dim[3]);
    return conv_node(g, OP_CONV_BF, x, y, stride, pad, wshape);
}

/* ---- dead-code elimination ------------------------------------------------------------- */

/* ---- collectives ------------------------------------------------------------------------ */

int ir_allreduce(IrGraph *g, IrOp op, int a) {
    assert(op == OP_ALLREDUCE_SUM || op == OP_ALLREDUCE_MAX);
    return add_node(g, make(op, g->nodes[a].shape, a, 0, 0));
}

/* allgather and shard_slice: dimension `axis` times or divided by the shard count */
static int resharded(IrGraph *g, IrOp op, int a, int axis, int shards) {
    Shape s = g->nodes[a].shape;
    assert(axis >= 0 && axis < s.ndim && shards > 1);
    assert(op == OP_ALLGATHER || s.dim[axis] % shards == 0);
    s.dim[axis] = op == OP_ALLGATHER ? s.dim[axis] * shards : s.dim[axis] / shards;
    IrNode n = make(op, s, a, 0, 0);
    n.axis = axis;
    return add_node(g, n);
}

int ir_allgather(IrGraph *g, int a, int axis, int shards) { return resharded(g, OP_ALLGATHER, a, axis, shards); }
int ir_shard_slice(IrGraph *g, int a, int axis, int shards) { return resharded(g, OP_SHARD_SLICE, a, axis, shards); }

int ir_block_combine(IrGraph *g, IrOp op, int a, int b) {
    assert((op == OP_BLOCK_SUM || op == OP_BLOCK_MAX) && ir_shape_equal(g->nodes[a].shape, g->nodes[b].shape));
    return add_node(g, make(op, g->nodes[a].shape, a, b, 0));
}

int ir_copy(IrGraph *g, const IrNode *n, const int *in) {
    IrNode c = *n;
    for (int k = 0; k < c.nin; k++) c.in[k] = in[k];
    return add_node(g, c);
}

int ir_rebuild(IrGraph *g, const IrNode *n, const int *in, Shape s) {
    int id;
    switch (n->op) {
    case OP_PARAM: return ir_param(g, n->name, s, n->init);
    case OP_STATE: return ir_state(g, n->name, s, n->init);
    case OP_INPUT:
        id = ir_input(g, n->name, s, n->init);
        g->nodes[id].shards = n->shards;
        return id;
    case OP_CONST: return ir_const(g, n->value, s);
    case OP_ALLREDUCE_SUM: case OP_ALLREDUCE_MAX: return ir_allreduce(g, n->op, in[0]);
    case OP_ALLGATHER: return ir_allgather(g, in[0], n->axis, s.dim[n->axis] / g->nodes[in[0]].shape.dim[n->axis]);
    case OP_SHARD_SLICE: return ir_shard_slice(g, in[0], n->axis, g->nodes[in[0]].shape.dim[n->axis] / s.dim[n->axis]);
    case OP_BLOCK_SUM: case OP_BLOCK_MAX: return ir_block_combine(g, n->op, in[0], in[1]);
    case OP_POW: return ir_pow(g, in[0], n->value);
    case OP_SELECT: return ir_select(g, in[0], in[1], in[2]);
    case OP_RESHAPE: return ir_reshape(g, in[0], s);
    case OP_PERMUTE: return ir_permute(g, in[0], n->perm);
    case OP_BROADCAST: return ir_broadcast(g, in[0], s, n->axes);
    case OP_SUM: return ir_sum(g, in[0], n->axes);
    case OP_MAX: return ir_max(g, in[0], n->axes);
    case OP_SLICE: return ir_slice(g, in[0], n->start, s);
    case OP_PAD: return ir_pad(g, in[0], n->start, s);
    case OP_CONCAT: return ir_concat(g, in[0], in[1], n->axis);
    case OP_MATMUL: return ir_matmul(g, in[0], in[1], n->ta, n->tb);
    case OP_CONV: return ir_conv(g, in[0], in[1], n->stride, n->pad);
    case OP_CONV_BD: return ir_conv_bd(g, in[0], in[1], n->stride, n->pad, s);
    case OP_CONV_BF: return ir_conv_bf(g, in[0], in[1], n->stride, n->pad, s);
    default: return n->nin == 1 ? ir_unary(g, n->op, in[0]) : ir_binary(g, n->op, in[0], in[1]);
    }
}

/* The nodes ids[0..count) of g, in that order (each one's inputs before it), into a new graph;
 * map receives each copied node's new id. */
static IrGraph *copy_nodes(const IrGraph *g, const int *ids, int count, int *map) {
    IrGraph *out = ir_new_graph(g->arena, g->name, g->dtype);
    for (int i = 0; i < count; i++) {
        const IrNode *n = &g->nodes[ids[i]];
        int in[3];
        for (int k = 0; k < n->nin; k++) in[k] = map[n->in[k]];
        map[ids[i]] = ir_copy(out, n, in);
    }
    for (int i = 0; i < g->noutputs; i++)
        ir_add_output(out, g->outputs[i].kind, g->outputs[i].name, map[g->outputs[i].node]);
    return out;
}

IrGraph *ir_compact(const IrGraph *g, int *old_to_new) {
    char *live = arena_alloc(g->arena, (size_t)g->nnodes + 1);
    for (int i = 0; i < g->noutputs; i++) live[g->outputs[i].node] = 1;
    for (int id = g->nnodes - 1; id >= 0; id--)
        if (live[id])
            for (int k = 0; k < g->nodes[id].nin; k++) live[g->nodes[id].in[k]] = 1;
    int *map = old_to_new ? old_to_new : ARENA_ARRAY(g->arena, int, g->nnodes + 1);
    int *ids = ARENA_ARRAY(g->arena, int, g->nnodes + 1), count = 0;
    for (int id = 0; id < g->nnodes; id++) {
        map[id] = -1;
        if (live[id]) ids[count++] = id;
    }
    return copy_nodes(g, ids, count, map);
}

IrGraph *ir_reorder(const IrGraph *g, const int *order) {
    return copy_nodes(g, order, g->nnodes, ARENA_ARRAY(g->arena, int, g->nnodes + 1));
}

/* ---- printing -------------------------------------------------------------------------- */

static void print_dims(FILE *out, const char *label, const int *v, int n) {
    fprintf(out, " %s=[", label);
    for (int i = 0; i < n; i++) fprintf(out, i ? ",%d" : "%d", v[i]);
    fputc(']', out);
}

static void print_axes(FILE *out, const char *label, unsigned axes, int ndim) {
    int v[IR_MAXDIM], n = 0;
    for (int i = 0; i < ndim; i++)
        if (axes & (1u << i)) v[n++] = i;
    print_dims(out, label, v, n);
}

/* The op's attributes in the text form, e.g. " ta=0 tb=1" or " axes=[1]". */
static void print_attributes(FILE *out, const IrGraph *g, const IrNode *n) {
    int in_ndim = n->nin ? g->nodes[n->in[0]].shape.ndim : 0;
    if (ir_op_is_leaf(n->op)) fprintf(out, " \"%s\"", n->name);
    if (n->block) fprintf(out, " block=%d", n->block - 1);
    switch (n->op) {
    case OP_INPUT:
        if (n->shards > 1) fprintf(out, " rows=1/%d", n->shards);
        break;
    case OP_ALLGATHER: case OP_SHARD_SLICE: fprintf(out, " axis=%d", n->axis); break;
    case OP_ALLREDUCE_SUM:
        if (n->axis) fprintf(out, " group=%d", n->axis);
        break;
    case OP_CONST: fprintf(out, " %.17g", n->value); break;
    case OP_POW: fprintf(out, " %.17g", n->value); break;
    case OP_SUM: case OP_MAX: print_axes(out, "axes", n->axes, in_ndim); break;
    case OP_BROADCAST: print_axes(out, "keep", n->axes, n->shape.ndim); break;
    case OP_PERMUTE: print_dims(out, "perm", n->perm, n->shape.ndim); break;
    case OP_SLICE: print_dims(out, "start", n->start, n->shape.ndim); break;
    case OP_PAD: print_dims(out, "before", n->start, n->shape.ndim); break;
    case OP_CONCAT: fprintf(out, " axis=%d", n->axis); break;
    case OP_MATMUL: fprintf(out, " ta=%d tb=%d", n->ta, n->tb); break;
    case OP_CONV: case OP_CONV_BD: case OP_CONV_BF: fprintf(out, " stride=%d pad=%d", n->stride, n->pad); break;
    default: break;
    }
}

void ir_print(FILE *out, const IrGraph *g) {
    fprintf(out, "graph %s {\n", g->name);
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        char buf[64];
        fprintf(out, "  %%%d = %s", id, ir_op_name(n->op));
        for (int k = 0; k < n->nin; k++) fprintf(out, k ? ", %%%d" : " %%%d", n->in[k]);
        print_attributes(out, g, n);
        fprintf(out, " : %s", ir_shape_str(buf, sizeof buf, n->dtype, n->shape));
        if (n->loc.file && n->loc.line) fprintf(out, "  # %s:%d:%d", n->loc.file->name, n->loc.line, n->loc.col);
        fputc('\n', out);
    }
    for (int i = 0; i < g->noutputs; i++)
        fprintf(out, "  %s %s = %%%d\n", g->outputs[i].kind == OUT_VALUE ? "out" : "update",
                g->outputs[i].name, g->outputs[i].node);
    fprintf(out, "}\n");
}

void ir_print_leaves(FILE *out, const IrGraph *g) {
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        char buf[64];
        if (n->name) fprintf(out, "%s %s %s\n", ir_op_name(n->op), n->name, ir_shape_str(buf, sizeof buf, n->dtype, n->shape));
    }
}

/* --emit=dot: a node's cluster is its network and layer (IrNode.scope, "D.dense0"); an input
 * leaf belongs to no network, whichever first read it. */
static const char *dot_scope(const IrNode *n) { return n->op == OP_INPUT ? NULL : n->scope; }

static int compare_strings(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void dot_node(FILE *out, const IrGraph *g, int id, int depth) {
    const IrNode *n = &g->nodes[id];
    char buf[64];
    const char *style = n->op == OP_PARAM ? ", style=filled, fillcolor=lightblue"
                      : n->op == OP_INPUT ? ", style=filled, fillcolor=lightyellow"
                      : n->backward ? ", style=dashed, color=gray50, fontcolor=gray30" : "";
    fprintf(out, "%*sn%d [label=\"%%%d %s", 2 * depth + 2, "", id, id, ir_op_name(n->op));
    if (n->name) fprintf(out, " %s", n->name);
    fprintf(out, "\\n%s\"%s];\n", ir_shape_str(buf, sizeof buf, n->dtype, n->shape), style);
}

/* The nodes of one scope, in a cluster nested in its parent's: "D" holds "D.dense0". Scopes come
 * sorted, so a scope's children follow it; *next is the first scope not yet printed. */
static void dot_cluster(FILE *out, const IrGraph *g, const char *const *scopes, int nscopes, int *next, int depth) {
    const char *scope = scopes[*next];
    size_t len = strlen(scope);
    const char *dot = strrchr(scope, '.');
    fprintf(out, "%*ssubgraph \"cluster_%s\" {\n%*slabel=\"%s%s\";\n", 2 * depth + 2, "", scope, 2 * depth + 4, "",
            depth ? "" : "net ", dot ? dot + 1 : scope);
    for (int id = 0; id < g->nnodes; id++)
        if (dot_scope(&g->nodes[id]) && strcmp(dot_scope(&g->nodes[id]), scope) == 0) dot_node(out, g, id, depth + 1);
    for (++*next; *next < nscopes && strncmp(scopes[*next], scope, len) == 0 && scopes[*next][len] == '.';)
        dot_cluster(out, g, scopes, nscopes, next, depth + 1);
    fprintf(out, "%*s}\n", 2 * depth + 2, "");
}

void ir_print_dot(FILE *out, const IrGraph *g) {
    fprintf(out, "digraph \"%s\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n", g->name);
    /* every scope and each of its prefixes ("D.block0.dense1": D, D.block0 and itself), sorted, once */
    const char **scopes = ARENA_ARRAY(g->arena, const char *, 1);
    int nscopes = 0, cap = 0;
    for (int id = 0; id < g->nnodes; id++) {
        const char *scope = dot_scope(&g->nodes[id]);
        for (const char *p = scope; p && *p; p++) {
            if (p[1] != '.' && p[1] != 0) continue;
            const char *prefix = arena_printf(g->arena, "%.*s", (int)(p + 1 - scope), scope);
            int known = 0;
            for (int k = 0; k < nscopes && !known; k++) known = strcmp(scopes[k], prefix) == 0;
            if (!known) ARENA_PUSH(g->arena, scopes, nscopes, cap, prefix);
        }
    }
    qsort(scopes, (size_t)nscopes, sizeof *scopes, compare_strings);
    for (int next = 0; next < nscopes;) dot_cluster(out, g, scopes, nscopes, &next, 0);
    for (int id = 0; id < g->nnodes; id++)
        if (!dot_scope(&g->nodes[id])) dot_node(out, g, id, 0);
    for (int id = 0; id < g->nnodes; id++)
        for (int k = 0; k < g->nodes[id].nin; k++) fprintf(out, "  n%d -> n%d;\n", g->nodes[id].in[k], id);
    for (int i = 0; i < g->noutputs; i++)
        fprintf(out, "  o%d [label=\"%s\", shape=ellipse];\n  n%d -> o%d;\n", i, g->outputs[i].name,
                g->outputs[i].node, i);
    fprintf(out, "}\n");
}
