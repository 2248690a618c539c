/* simplify.c: no arithmetic on structural zeros (see simplify.h for the rules and why).
 *
 * One walk over the source graph in order: each node is made again in a new graph from its
 * inputs' new ids, first offered to the rules below, then, when none applies, rebuilt as it was
 * (ir_rebuild). The constructors keep folding and sharing what the rules produce, and a final
 * ir_compact drops the nodes that no output reads any more. */
#include "simplify.h"
#include <stdlib.h>

typedef struct Simplifier {
    const IrGraph *src;
    IrGraph *dst;
    int *node;        /* source id -> id in dst */
    int *uses;        /* source id -> readers in src (an output counts as one) */
} Simplifier;

static int is_zero(const IrGraph *g, int id) {
    double v;
    return ir_is_const(g, id, &v) && v == 0;
}

/* select(mask, value, 0) (when_true) or select(mask, 0, value): a value with a zeroed part. */
typedef struct Masked {
    int mask, value, when_true;
} Masked;

static int as_masked(const IrGraph *g, int id, Masked *m) {
    const IrNode *n = &g->nodes[id];
    if (n->op != OP_SELECT) return 0;
    if (is_zero(g, n->in[2])) *m = (Masked){n->in[0], n->in[1], 1};
    else if (is_zero(g, n->in[1])) *m = (Masked){n->in[0], n->in[2], 0};
    else return 0;
    return 1;
}

static int make_masked(IrGraph *g, int mask, int value, int when_true) {
    int zero = ir_const_like(g, 0, value);
    return when_true ? ir_select(g, mask, value, zero) : ir_select(g, mask, zero, value);
}

/* Two masked values under one mask: their sum is one select, their product one select or 0. */
static int masked_pair(IrGraph *g, IrOp op, Masked a, Masked b) {
    if (a.when_true == b.when_true) return make_masked(g, a.mask, ir_binary(g, op, a.value, b.value), a.when_true);
    if (op == OP_MUL) return ir_const_like(g, 0, a.value); /* every element has a zero factor */
    return ir_select(g, a.mask, a.when_true ? a.value : b.value, a.when_true ? b.value : a.value);
}

/* add and mul of masked values; mul(select(m,a,0), y) moves y inside when the select has no
 * other reader, so a sum of such products meets the rule above (leaky relu: 0.2 * select). */
static int elementwise_rule(Simplifier *s, const IrNode *n, const int *in) {
    IrGraph *g = s->dst;
    Masked a, b;
    int is_a = as_masked(g, in[0], &a), is_b = as_masked(g, in[1], &b);
    if (is_a && is_b && a.mask == b.mask) return masked_pair(g, n->op, a, b);
    if (n->op != OP_MUL) return -1;
    for (int k = 0; k < 2; k++) {
        Masked m = k ? b : a;
        if ((k ? is_b : is_a) && s->uses[n->in[k]] == 1)
            return make_masked(g, m.mask, ir_mul(g, m.value, in[1 - k]), m.when_true);
    }
    return -1;
}

/* x summed over axis (a reshape when the axis has length 1), as a vector. */
static int sum_axis(IrGraph *g, int x, int axis) {
    Shape s = ir_shape_of(g, x);
    if (s.dim[axis] != 1) return ir_sum(g, x, 1u << axis);
    int len = s.dim[1 - axis];
    return ir_reshape(g, x, ir_shape(1, &len));
}

/* A product with a constant operand c: every row (or column) of the result is c times the sums
 * of the other operand along the inner axis, so it is a reduction and a broadcast, not a GEMM. */
static int matmul_rule(Simplifier *s, const IrNode *n, const int *in) {
    IrGraph *g = s->dst;
    double c;
    int side; /* the constant operand: 0 = a, 1 = b */
    if (ir_is_const(g, in[0], &c)) side = 0;
    else if (ir_is_const(g, in[1], &c)) side = 1;
    else return -1;
    int other = in[1 - side];
    /* the inner axis of the other operand: b's is 0 (1 if transposed), a's is 1 (0 if transposed) */
    int inner = side == 0 ? (n->tb ? 1 : 0) : (n->ta ? 0 : 1);
    int sums = sum_axis(g, other, inner);
    if (c != 1) sums = ir_mul(g, ir_const_like(g, c, sums), sums);
    return ir_broadcast(g, sums, n->shape, side == 0 ? 2u : 1u);
}

static int simplify_node(Simplifier *s, int id) {
    const IrNode *n = &s->src->nodes[id];
    int in[3] = {0, 0, 0}, r = -1;
    s->dst->cur_loc = n->loc;
    s->dst->cur_scope = n->scope;
    s->dst->cur_backward = n->backward;
    for (int k = 0; k < n->nin; k++) in[k] = s->node[n->in[k]];
    if (n->op == OP_ADD || n->op == OP_MUL) r = elementwise_rule(s, n, in);
    else if (n->op == OP_MATMUL) r = matmul_rule(s, n, in);
    return r >= 0 ? r : ir_rebuild(s->dst, n, in, n->shape);
}

IrGraph *simplify_graph(const IrGraph *g) {
    Simplifier s = {g, ir_new_graph(g->arena, g->name, g->dtype), ARENA_ARRAY(g->arena, int, g->nnodes + 1),
                    ARENA_ARRAY(g->arena, int, g->nnodes + 1)};
    for (int id = 0; id < g->nnodes; id++)
        for (int k = 0; k < g->nodes[id].nin; k++) s.uses[g->nodes[id].in[k]]++;
    for (int i = 0; i < g->noutputs; i++) s.uses[g->outputs[i].node]++;
    for (int id = 0; id < g->nnodes; id++) s.node[id] = simplify_node(&s, id);
    for (int i = 0; i < g->noutputs; i++) ir_add_output(s.dst, g->outputs[i].kind, g->outputs[i].name, s.node[g->outputs[i].node]);
    s.dst->cur_backward = 0;
    return ir_compact(s.dst, NULL);
}

void simplify_model(Model *m) {
    for (int k = 0; k < m->nschedule; k++) {
        IrGraph *step = simplify_graph(m->schedule[k].graph);
        for (int i = 0; i < m->nsteps; i++)
            if (m->steps[i].step == m->schedule[k].graph) m->steps[i].step = step;
        m->schedule[k].graph = step;
    }
    m->eval = simplify_graph(m->eval);
    if (m->sample) m->sample = simplify_graph(m->sample);
    if (m->fid) m->fid = simplify_graph(m->fid);
}
