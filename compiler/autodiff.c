/* autodiff.c: reverse-mode AD as a graph-to-graph transform (see autodiff.h).
 *
 * Sits between sema, which calls it for every grad(y, x) in the source and for every trained
 * loss, and the interpreter/codegen, which see only ordinary nodes. A backward pass walks the
 * nodes from y down (ids are a topological order), holding one cotangent node per forward node,
 * and applies the op's VJP rule, an expression in the same primitive ops. Because those rules
 * build through ir.h's constructors, zero cotangents fold away, and repeated subexpressions of
 * the double-backward graph are shared by hash-consing. */
#include "autodiff.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct Backward {
    IrGraph *g;
    int nforward;   /* nodes that existed before this pass: the only ones with cotangents */
    char *active;   /* node lies on a path from some x to y */
    int *cotangent; /* per forward node, -1 while zero */
} Backward;

/* active = (depends on some x) and (y depends on it) */
static void mark_active(Backward *bw, int y, int nx, const int *xs) {
    IrGraph *g = bw->g;
    char *from_x = calloc((size_t)bw->nforward, 1);
    for (int i = 0; i < nx; i++) from_x[xs[i]] = 1;
    for (int id = 0; id <= y; id++) {
        const IrNode *n = &g->nodes[id];
        if (ir_op_blocks_gradient(n->op)) continue;
        for (int k = 0; k < n->nin; k++) from_x[id] |= from_x[n->in[k]];
    }
    bw->active[y] = from_x[y];
    for (int id = y; id >= 0; id--) {
        if (!bw->active[id] || ir_op_blocks_gradient(g->nodes[id].op)) continue;
        for (int k = 0; k < g->nodes[id].nin; k++) {
            int in = g->nodes[id].in[k];
            bw->active[in] = from_x[in];
        }
    }
    free(from_x);
}

static void accumulate(Backward *bw, int node, int contribution) {
    if (!bw->active[node]) return;
    int *c = &bw->cotangent[node];
    *c = *c < 0 ? contribution : ir_add(bw->g, *c, contribution);
}

static unsigned all_axes(int ndim) { return (1u << ndim) - 1; }

static void vjp_reduction(Backward *bw, const IrNode *n, int y, int gy) {
    IrGraph *g = bw->g;
    int a = n->in[0];
    Shape sa = ir_shape_of(g, a);
    unsigned kept = all_axes(sa.ndim) & ~n->axes;
    if (n->op == OP_SUM) {
        accumulate(bw, a, ir_broadcast(g, gy, sa, kept));
        return;
    }
    /* max: the cotangent goes to the maximal elements, split evenly between ties */
    int mask = ir_binary(g, OP_EQ, a, ir_broadcast(g, y, sa, kept));
    int share = ir_div(g, gy, ir_sum(g, mask, n->axes));
    accumulate(bw, a, ir_mul(g, mask, ir_broadcast(g, share, sa, kept)));
}

static void vjp_matmul(Backward *bw, const IrNode *n, int gy) {
    IrGraph *g = bw->g;
    int a = n->in[0], b = n->in[1], ta = n->ta, tb = n->tb;
    if (bw->active[a]) accumulate(bw, a, ta ? ir_matmul(g, b, gy, tb, 1) : ir_matmul(g, gy, b, 0, !tb));
    if (bw->active[b]) accumulate(bw, b, tb ? ir_matmul(g, gy, a, 1, ta) : ir_matmul(g, a, gy, !ta, 0));
}

/* conv, conv_bd and conv_bf are the three bilinear maps of one convolution; each one's VJP is
 * made of the other two (docs/ir.md derives the table). */
static void vjp_conv(Backward *bw, const IrNode *n, int gy) {
    IrGraph *g = bw->g;
    int a = n->in[0], b = n->in[1], s = n->stride, p = n->pad;
    Shape sa = ir_shape_of(g, a), sb = ir_shape_of(g, b);
    switch (n->op) {
    case OP_CONV: /* a = x, b = w */
        if (bw->active[a]) accumulate(bw, a, ir_conv_bd(g, b, gy, s, p, sa));
        if (bw->active[b]) accumulate(bw, b, ir_conv_bf(g, a, gy, s, p, sb));
        break;
    case OP_CONV_BD: /* a = w, b = y; output shaped like x */
        if (bw->active[a]) accumulate(bw, a, ir_conv_bf(g, gy, b, s, p, sa));
        if (bw->active[b]) accumulate(bw, b, ir_conv(g, gy, a, s, p));
        break;
    default: /* CONV_BF: a = x, b = y; output shaped like w */
        if (bw->active[a]) accumulate(bw, a, ir_conv_bd(g, gy, b, s, p, sa));
        if (bw->active[b]) accumulate(bw, b, ir_conv(g, a, gy, s, p));
        break;
    }
}

/* Elementwise ops: the derivative of y with respect to its input(s), times gy. */
static void vjp_elementwise(Backward *bw, const IrNode *n, int y, int gy) {
    IrGraph *g = bw->g;
    int a = n->in[0], b = n->in[1];
    switch (n->op) {
    case OP_ADD: accumulate(bw, a, gy); accumulate(bw, b, gy); break;
    case OP_SUB: accumulate(bw, a, gy); accumulate(bw, b, ir_neg(g, gy)); break;
    case OP_MUL: accumulate(bw, a, ir_mul(g, gy, b)); accumulate(bw, b, ir_mul(g, gy, a)); break;
    case OP_DIV:
        accumulate(bw, a, ir_div(g, gy, b));
        if (bw->active[b]) accumulate(bw, b, ir_neg(g, ir_div(g, ir_mul(g, gy, y), b)));
        break;
    case OP_NEG: accumulate(bw, a, ir_neg(g, gy)); break;
    case OP_EXP: accumulate(bw, a, ir_mul(g, gy, y)); break;
    case OP_LOG: accumulate(bw, a, ir_div(g, gy, a)); break;
    case OP_LOG1P: accumulate(bw, a, ir_div(g, gy, ir_add(g, ir_const_like(g, 1, a), a))); break;
    case OP_EXPM1: accumulate(bw, a, ir_mul(g, gy, ir_add(g, y, ir_const_like(g, 1, y)))); break;
    case OP_SQRT: accumulate(bw, a, ir_div(g, gy, ir_mul(g, ir_const_like(g, 2, y), y))); break;
    case OP_TANH:
        accumulate(bw, a, ir_mul(g, gy, ir_sub(g, ir_const_like(g, 1, y), ir_mul(g, y, y))));
        break;
    case OP_SIGMOID:
        accumulate(bw, a, ir_mul(g, gy, ir_mul(g, y, ir_sub(g, ir_const_like(g, 1, y), y))));
        break;
    case OP_POW:
        accumulate(bw, a, ir_mul(g, gy, ir_mul(g, ir_const_like(g, n->value, a), ir_pow(g, a, n->value - 1))));
        break;
    case OP_SELECT: {
        int zero = ir_const_like(g, 0, gy);
        accumulate(bw, n->in[1], ir_select(g, n->in[0], gy, zero));
        accumulate(bw, n->in[2], ir_select(g, n->in[0], zero, gy));
        break;
    }
    default: assert(0 && "not an elementwise op");
    }
}

static void vjp_shape(Backward *bw, const IrNode *n, int gy) {
    IrGraph *g = bw->g;
    int a = n->in[0];
    Shape sa = ir_shape_of(g, a);
    switch (n->op) {
    case OP_RESHAPE: accumulate(bw, a, ir_reshape(g, gy, sa)); break;
    case OP_PERMUTE: {
        int inverse[IR_MAXDIM];
        for (int i = 0; i < sa.ndim; i++) inverse[n->perm[i]] = i;
        accumulate(bw, a, ir_permute(g, gy, inverse));
        break;
    }
    case OP_BROADCAST: accumulate(bw, a, ir_sum(g, gy, all_axes(n->shape.ndim) & ~n->axes)); break;
    case OP_SLICE: accumulate(bw, a, ir_pad(g, gy, n->start, sa)); break;
    case OP_PAD: accumulate(bw, a, ir_slice(g, gy, n->start, sa)); break;
    case OP_CONCAT: {
        int start[IR_MAXDIM] = {0};
        accumulate(bw, a, ir_slice(g, gy, start, sa));
        start[n->axis] = sa.dim[n->axis];
        accumulate(bw, n->in[1], ir_slice(g, gy, start, ir_shape_of(g, n->in[1])));
        break;
    }
    default: assert(0 && "not a shape op");
    }
}

static void vjp(Backward *bw, int id) {
    const IrNode n = bw->g->nodes[id]; /* a copy: the node array grows as we add nodes */
    int gy = bw->cotangent[id];
    bw->g->cur_loc = n.loc;            /* backward nodes point at the source of their forward node */
    bw->g->cur_scope = n.scope;        /* and are drawn in its network and layer */
    if (ir_op_arity(n.op) == 0 || ir_op_blocks_gradient(n.op)) return; /* nothing flows further */
    switch (ir_op_class(n.op)) {
    case OPC_REDUCE: vjp_reduction(bw, &n, id, gy); break;
    case OPC_BLAS: if (n.op == OP_MATMUL) vjp_matmul(bw, &n, gy); else vjp_conv(bw, &n, gy); break;
    case OPC_SHAPE: vjp_shape(bw, &n, gy); break;
    default: vjp_elementwise(bw, &n, id, gy); break; /* UNARY, BINARY, SELECT */
    }
}

void ad_grad(IrGraph *g, int y, int nx, const int *xs, int *grads) {
    assert(ir_shape_of(g, y).ndim == 0 && "grad of a non-scalar");
    SrcLoc saved = g->cur_loc;
    const char *saved_scope = g->cur_scope;
    int saved_backward = g->cur_backward;
    g->cur_backward = 1;
    Backward bw = {g, g->nnodes, calloc((size_t)g->nnodes, 1), malloc(sizeof(int) * (size_t)g->nnodes)};
    for (int id = 0; id < bw.nforward; id++) bw.cotangent[id] = -1;
    mark_active(&bw, y, nx, xs);
    if (bw.active[y]) bw.cotangent[y] = ir_const(g, 1, ir_shape_scalar());
    for (int id = y; id >= 0; id--)
        if (bw.active[id] && bw.cotangent[id] >= 0) vjp(&bw, id);
    g->cur_loc = saved;
    g->cur_scope = saved_scope;
    g->cur_backward = saved_backward;
    for (int i = 0; i < nx; i++)
        grads[i] = bw.cotangent[xs[i]] >= 0 ? bw.cotangent[xs[i]] : ir_const_like(g, 0, xs[i]);
    free(bw.active);
    free(bw.cotangent);
}
