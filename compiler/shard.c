/* shard.c: the batch-axis pass (shard.h): data parallelism as a graph-to-graph transform.
 *
 * Every node of the whole-batch graph gets a layout in the shard's graph:
 *   R     replicated: every shard holds the whole value (parameters, state, constants, and what
 *         is computed from them alone or after a collective);
 *   S(k)  split: axis k is cut in N equal blocks and shard r holds block r (batch inputs, and
 *         what is computed from them row by row);
 *   P     partial: every shard holds a partial sum and the value is the sum over the shards (a
 *         sum, or a contraction such as a weight gradient, over a split axis).
 * The walk rebuilds each node through ir.h's constructors from its inputs' layouts, converting
 * an input where the op needs another layout: S(k) -> R is an allgather along k; P -> R an
 * allreduce_sum; R -> S(k) a shard_slice (local: no communication), or for constants and
 * broadcasts the same node built at the shard's shape. P stays P only through the linear ops
 * that keep it cheap (add and sub of partials, neg, sum, reshape), so a parameter's gradient,
 * autodiff's sum of many contributions, is allreduced once, where the optimizer first reads
 * it. A max over a split axis is a local max and an allreduce_max. docs/distributed.md lists
 * what each op becomes. Every conversion is exact: a shard's outputs equal the whole graph's,
 * up to the order in which floating-point sums add their terms. */
#include "shard.h"
#include "diag.h"

typedef enum { LAY_R, LAY_S, LAY_P } LayoutKind;

typedef struct Layout {
    LayoutKind kind;
    int axis; /* LAY_S: the split axis */
} Layout;

typedef struct Sharder {
    const IrGraph *src;
    IrGraph *dst;
    int batch, shards;
    int *node;   /* per source node: its node in dst, holding it in layout lay */
    Layout *lay;
} Sharder;

static const Layout replicated = {LAY_R, 0}, partial = {LAY_P, 0};

static Layout split(int axis) { return (Layout){LAY_S, axis}; }

static int is_split(const Sharder *sh, int id, int axis) {
    return sh->lay[id].kind == LAY_S && sh->lay[id].axis == axis;
}

/* The number of set bits of mask below bit k: where axis k lands when the others are dropped. */
static int bits_below(unsigned mask, int k) { return __builtin_popcount(mask & ((1u << k) - 1)); }

static Shape shape_in(const Sharder *sh, Shape s, Layout lay) {
    if (lay.kind == LAY_S) s.dim[lay.axis] /= sh->shards;
    return s;
}

/* ----- conversions between layouts ------------------------------------------------------ */

static int as_replicated(Sharder *sh, int id) {
    int d = sh->node[id];
    switch (sh->lay[id].kind) {
    case LAY_R: return d;
    case LAY_S: return ir_allgather(sh->dst, d, sh->lay[id].axis, sh->shards);
    default: return ir_allreduce(sh->dst, OP_ALLREDUCE_SUM, d);
    }
}

/* The node's value split along axis k (whose size the shard count divides). A replicated node
 * that is computed row by row along k (a constant, a broadcast, an elementwise op, the rows or
 * columns of a product) is computed again from its inputs' parts at the shard's shape, rather
 * than computed whole and sliced: the shard does 1/N of the work. */
static int as_split(Sharder *sh, int id, int k) {
    const IrNode *n = &sh->src->nodes[id];
    if (is_split(sh, id, k)) return sh->node[id];
    Shape local = shape_in(sh, n->shape, split(k));
    int in[3], row_wise = sh->lay[id].kind == LAY_R;
    switch (row_wise ? n->op : OP_PARAM) {
    case OP_CONST: return ir_const(sh->dst, n->value, local);
    case OP_BROADCAST:
        in[0] = n->axes & (1u << k) ? as_split(sh, n->in[0], bits_below(n->axes, k)) : as_replicated(sh, n->in[0]);
        break;
    case OP_MATMUL: { /* the rows of a, or the columns of b */
        int rows = k == 0;
        in[0] = rows ? as_split(sh, n->in[0], n->ta) : sh->node[n->in[0]];
        in[1] = rows ? sh->node[n->in[1]] : as_split(sh, n->in[1], !n->tb);
        break;
    }
    case OP_PARAM: case OP_STATE: case OP_INPUT: case OP_RESHAPE: case OP_PERMUTE: case OP_SUM: case OP_MAX:
    case OP_SLICE: case OP_PAD: case OP_CONCAT: case OP_CONV: case OP_CONV_BD: case OP_CONV_BF:
        return ir_shard_slice(sh->dst, as_replicated(sh, id), k, sh->shards);
    default: /* elementwise */
        for (int i = 0; i < n->nin; i++) in[i] = as_split(sh, n->in[i], k);
        break;
    }
    return ir_rebuild(sh->dst, n, in, local);
}

/* ----- the layout of each kind of op ---------------------------------------------------- */

/* Each rule fills in[] with the inputs in the layouts it needs and returns the output's. */

static Layout leaf_rule(Sharder *sh, const IrNode *n) {
    int batch_rows = n->shape.ndim >= 1 && n->shape.dim[0] == sh->batch;
    int drawn = n->init.kind != INIT_COPY && n->init.kind != INIT_TENSOR && n->init.kind != INIT_PROGRESS;
    return n->op == OP_INPUT && batch_rows && drawn ? split(0) : replicated;
}

/* Elementwise: all inputs in the first split input's layout, or all replicated. */
static Layout elementwise_rule(Sharder *sh, const IrNode *n, int *in) {
    int axis = -1, partials = 0;
    for (int k = 0; k < n->nin; k++) {
        if (axis < 0 && sh->lay[n->in[k]].kind == LAY_S) axis = sh->lay[n->in[k]].axis;
        partials += sh->lay[n->in[k]].kind == LAY_P;
    }
    int linear = n->op == OP_NEG || n->op == OP_ADD || n->op == OP_SUB;
    if (linear && partials == n->nin) {
        for (int k = 0; k < n->nin; k++) in[k] = sh->node[n->in[k]];
        return partial;
    }
    for (int k = 0; k < n->nin; k++) in[k] = axis < 0 ? as_replicated(sh, n->in[k]) : as_split(sh, n->in[k], axis);
    return axis < 0 ? replicated : split(axis);
}

/* A reshape keeps a split axis k when some output axis j starts after the same number of
 * elements (outer products equal) and the shard count divides it: then shard r's block of
 * axis k (with everything inside it) is exactly block r of axis j. */
static int reshape_axis(Shape in, Shape out, int k, int shards) {
    long outer_in = 1, outer_out = 1;
    for (int i = 0; i < k; i++) outer_in *= in.dim[i];
    for (int j = 0; j < out.ndim; outer_out *= out.dim[j], j++)
        if (outer_out == outer_in && out.dim[j] % shards == 0) return j;
    return -1;
}

/* Where a shape op or reduction n puts axis k of its input (shape in) when that axis is cut in
 * `shards` equal blocks: the output axis holding block r of it, SHARD_AXIS_REDUCED when n sums
 * or maxes over it, or -1 when no output axis does (the op mixes the blocks). compiler/merge.c
 * asks the same question about rows concatenated from several batches. */
int shard_axis_through(const IrNode *n, Shape in, int k, int shards) {
    int j = -1;
    switch (n->op) {
    case OP_RESHAPE: j = reshape_axis(in, n->shape, k, shards); break;
    case OP_PERMUTE:
        for (int i = 0; i < n->shape.ndim; i++)
            if (n->perm[i] == k) j = i;
        break;
    case OP_BROADCAST:
        for (int i = 0, kept = 0; i < n->shape.ndim; i++)
            if (n->axes & (1u << i) && kept++ == k) j = i;
        break;
    case OP_SUM: case OP_MAX:
        if (n->axes & (1u << k)) return SHARD_AXIS_REDUCED;
        j = k - bits_below(n->axes, k);
        break;
    case OP_SLICE: case OP_PAD: /* only if they leave the split axis whole */
        if (n->start[k] == 0 && n->shape.dim[k] == in.dim[k]) j = k;
        break;
    default: break;
    }
    return j;
}

/* Shape ops and reductions: one input, whose split axis maps to an output axis or is gone. */
static Layout one_input_rule(Sharder *sh, const IrNode *n, int *in) {
    int a = n->in[0];
    Layout la = sh->lay[a];
    Shape sa = sh->src->nodes[a].shape;
    in[0] = sh->node[a];
    if (la.kind == LAY_P && (n->op == OP_SUM || n->op == OP_RESHAPE)) return partial;
    if (la.kind != LAY_S) {
        in[0] = as_replicated(sh, a);
        return replicated;
    }
    int j = shard_axis_through(n, sa, la.axis, sh->shards);
    if (j == SHARD_AXIS_REDUCED) return partial; /* a max: the caller adds the allreduce_max */
    if (j >= 0) return split(j);
    in[0] = as_replicated(sh, a);
    return replicated;
}

static Layout concat_rule(Sharder *sh, const IrNode *n, int *in) {
    int axis = -1;
    for (int k = 0; k < 2; k++) {
        Layout l = sh->lay[n->in[k]];
        if (axis < 0 && l.kind == LAY_S && l.axis != n->axis) axis = l.axis;
    }
    for (int k = 0; k < 2; k++) in[k] = axis < 0 ? as_replicated(sh, n->in[k]) : as_split(sh, n->in[k], axis);
    return axis < 0 ? replicated : split(axis);
}

/* a [M,K] times b [K,N] (after the transposes): rows of a split give rows of the product,
 * columns of b split give its columns, a split contraction gives partial sums. Two batches
 * paired (rows of a and columns of b both split, as in a pairwise-distance matrix) gather b. */
static Layout matmul_rule(Sharder *sh, const IrNode *n, int *in) {
    int a = n->in[0], b = n->in[1];
    int a_rows = n->ta, a_inner = !n->ta, b_inner = n->tb, b_cols = !n->tb;
    if (is_split(sh, a, a_inner) && is_split(sh, b, b_inner)) {
        in[0] = sh->node[a], in[1] = sh->node[b];
        return partial;
    }
    if (is_split(sh, a, a_rows) || is_split(sh, b, b_cols)) {
        int rows = is_split(sh, a, a_rows);
        in[0] = rows ? sh->node[a] : as_replicated(sh, a);
        in[1] = rows ? as_replicated(sh, b) : sh->node[b];
        return split(rows ? 0 : 1);
    }
    if (is_split(sh, a, a_inner) || is_split(sh, b, b_inner)) {
        in[0] = as_split(sh, a, a_inner), in[1] = as_split(sh, b, b_inner);
        return partial;
    }
    in[0] = as_replicated(sh, a), in[1] = as_replicated(sh, b);
    return replicated;
}

/* The convolutions split only along the batch (axis 0 of x and y): conv and conv_bd map
 * x-rows to y-rows and back with a replicated weight; conv_bf, the weight gradient, contracts
 * over the batch. */
static Layout conv_rule(Sharder *sh, const IrNode *n, int *in) {
    int batch_input = n->op == OP_CONV ? 0 : 1, weight = 1 - batch_input;
    if (n->op == OP_CONV_BF) {
        if (is_split(sh, n->in[0], 0) || is_split(sh, n->in[1], 0)) {
            in[0] = as_split(sh, n->in[0], 0), in[1] = as_split(sh, n->in[1], 0);
            return partial;
        }
    } else if (is_split(sh, n->in[batch_input], 0)) {
        in[batch_input] = sh->node[n->in[batch_input]];
        in[weight] = as_replicated(sh, n->in[weight]);
        return split(0);
    }
    in[0] = as_replicated(sh, n->in[0]), in[1] = as_replicated(sh, n->in[1]);
    return replicated;
}

static void shard_node(Sharder *sh, int id) {
    const IrNode *n = &sh->src->nodes[id];
    IrGraph *dst = sh->dst;
    int in[3] = {0, 0, 0};
    Layout lay;
    dst->cur_loc = n->loc;
    dst->cur_scope = n->scope;       /* its layer (for --emit=dot, and the row-merge pass's networks) */
    dst->cur_backward = n->backward;
    switch (n->op) {
    case OP_PARAM: case OP_STATE: case OP_INPUT: case OP_CONST:
        lay = leaf_rule(sh, n);
        if (n->op == OP_CONST) sh->node[id] = ir_const(dst, n->value, n->shape);
        else if (n->op == OP_PARAM) sh->node[id] = ir_param(dst, n->name, n->shape, n->init);
        else if (n->op == OP_STATE) sh->node[id] = ir_state(dst, n->name, n->shape, n->init);
        else sh->node[id] = ir_input(dst, n->name, shape_in(sh, n->shape, lay), n->init);
        if (lay.kind == LAY_S) dst->nodes[sh->node[id]].shards = sh->shards;
        sh->lay[id] = lay;
        return;
    case OP_RESHAPE: case OP_PERMUTE: case OP_BROADCAST: case OP_SUM: case OP_MAX: case OP_SLICE: case OP_PAD:
        lay = one_input_rule(sh, n, in);
        break;
    case OP_CONCAT: lay = concat_rule(sh, n, in); break;
    case OP_MATMUL: lay = matmul_rule(sh, n, in); break;
    case OP_CONV: case OP_CONV_BD: case OP_CONV_BF: lay = conv_rule(sh, n, in); break;
    default: lay = elementwise_rule(sh, n, in); break;
    }
    sh->node[id] = ir_rebuild(dst, n, in, shape_in(sh, n->shape, lay));
    if (n->op == OP_MAX && lay.kind == LAY_P) { /* a max over the split axis */
        sh->node[id] = ir_allreduce(dst, OP_ALLREDUCE_MAX, sh->node[id]);
        lay = replicated;
    }
    sh->lay[id] = lay;
}

/* ----- one collective for many sums --------------------------------------------------- */

/* The allreduce_sums of a graph are grouped, and each group is done by one collective (the
 * runtime packs the group's tensors into one buffer): a step's parameter gradients travel in
 * one message, not one per parameter. after[id] counts the allreduce_sums on the longest path
 * from id's readers to an output; two allreduce_sums with the same count are independent (were
 * one an ancestor of the other, its count would be larger), so each count is a group. Every
 * parameter gradient's sum feeds only the optimizer, with no sum after it: they all have count
 * 0, the last group, with the losses' sums. A batch norm's statistics, which the rest of the
 * step waits for, are sums with larger counts and form groups of their own. */
static int *allreduces_after(const IrGraph *g) {
    int *after = ARENA_ARRAY(g->arena, int, g->nnodes + 1);
    for (int id = g->nnodes - 1; id >= 0; id--) {
        const IrNode *n = &g->nodes[id];
        int below = after[id] + (n->op == OP_ALLREDUCE_SUM);
        for (int k = 0; k < n->nin; k++)
            if (after[n->in[k]] < below) after[n->in[k]] = below;
    }
    return after;
}

/* A node order in which each group's allreduce_sums are consecutive (codegen makes the first
 * one the collective of all): a node is placed after its inputs, and a group's members are
 * placed together once all their inputs are, as early as that can be. */
typedef struct Order {
    const IrGraph *g;
    char *placed;
    int *ids, n;
} Order;

static int group_of(const IrGraph *g, int id) { return g->nodes[id].op == OP_ALLREDUCE_SUM ? g->nodes[id].axis : 0; }

static void place(Order *o, int id);

static void place_inputs(Order *o, int id) {
    for (int k = 0; k < o->g->nodes[id].nin; k++) place(o, o->g->nodes[id].in[k]);
}

static void place(Order *o, int id) {
    if (o->placed[id]) return;
    int group = group_of(o->g, id), first = group ? 0 : id, last = group ? o->g->nnodes - 1 : id;
    for (int m = first; m <= last; m++)
        if (m == id || (group && group_of(o->g, m) == group)) place_inputs(o, m);
    for (int m = first; m <= last; m++)
        if (m == id || (group && group_of(o->g, m) == group)) o->placed[m] = 1, o->ids[o->n++] = m;
}

static IrGraph *group_allreduces(IrGraph *g) {
    int *after = allreduces_after(g), *members = ARENA_ARRAY(g->arena, int, g->nnodes + 1);
    for (int id = 0; id < g->nnodes; id++) members[after[id]] += g->nodes[id].op == OP_ALLREDUCE_SUM;
    for (int id = 0; id < g->nnodes; id++)
        if (g->nodes[id].op == OP_ALLREDUCE_SUM && members[after[id]] > 1) g->nodes[id].axis = after[id] + 1;
    Order o = {g, ARENA_ARRAY(g->arena, char, g->nnodes + 1), ARENA_ARRAY(g->arena, int, g->nnodes + 1), 0};
    for (int id = 0; id < g->nnodes; id++) place(&o, id);
    return ir_reorder(g, o.ids);
}

IrGraph *shard_graph(const IrGraph *g, int batch, int shards) {
    Sharder sh = {g, ir_new_graph(g->arena, g->name, g->dtype), batch, shards,
                  ARENA_ARRAY(g->arena, int, g->nnodes + 1), ARENA_ARRAY(g->arena, Layout, g->nnodes + 1)};
    for (int id = 0; id < g->nnodes; id++) shard_node(&sh, id);
    for (int i = 0; i < g->noutputs; i++) {
        sh.dst->cur_loc = g->nodes[g->outputs[i].node].loc;
        ir_add_output(sh.dst, g->outputs[i].kind, g->outputs[i].name, as_replicated(&sh, g->outputs[i].node));
    }
    return group_allreduces(ir_compact(sh.dst, NULL)); /* compact: drops what only the whole graph needed */
}

/* ----- the blocked graph: the shards side by side in one process --------------------------- */

/* A shard's graph copied once per shard into one graph (shard.h): block r of a node is its
 * value on shard r, at node[r * nnodes + id] of dst. Copies are made as they are (ir_copy: no
 * folding) and stamped with their block, so that equal copies of a replicated computation
 * stay apart: each block has the readers, fusions and kernels of the shard's graph. */
typedef struct Blocker {
    const IrGraph *src;
    IrGraph *dst;
    int shards;
    int *node;
} Blocker;

static int *block_node_of(const Blocker *b, int r, int id) { return &b->node[(size_t)r * (size_t)b->src->nnodes + (size_t)id]; }

static void set_all_blocks(Blocker *b, int id, int node) {
    for (int r = 0; r < b->shards; r++) *block_node_of(b, r, id) = node;
}

/* Block r of `whole` along axis: what shard_slice keeps on rank r, and a rank's rows of a draw. */
static int block_slice(IrGraph *g, int whole, int axis, int r, int shards) {
    Shape s = g->nodes[whole].shape;
    int start[IR_MAXDIM] = {0};
    s.dim[axis] /= shards;
    start[axis] = r * s.dim[axis];
    return ir_slice(g, whole, start, s);
}

/* Leaves are shared; a split input is drawn whole and its blocks are the ranks' rows (the draw
 * of a row depends on its index alone: runtime/fill.h). */
static void block_leaf(Blocker *b, int id) {
    IrNode whole = b->src->nodes[id];
    int split = whole.op == OP_INPUT && whole.shards > 1;
    if (split) whole.shape.dim[0] *= whole.shards, whole.shards = 0;
    int leaf = ir_copy(b->dst, &whole, whole.in);
    for (int r = 0; r < b->shards; r++) *block_node_of(b, r, id) = split ? block_slice(b->dst, leaf, 0, r, b->shards) : leaf;
}

/* A collective over the blocks, as runtime/dist.c computes it on the ranks: a sum or max in rank
 * order ((b_0 + b_1) + b_2) + ..., or the blocks joined; its result is shared by every block. */
static int block_collective(Blocker *b, const IrNode *n) {
    int acc = *block_node_of(b, 0, n->in[0]);
    for (int r = 1; r < b->shards; r++) {
        int next = *block_node_of(b, r, n->in[0]);
        if (n->op == OP_ALLGATHER) acc = ir_concat(b->dst, acc, next, n->axis);
        else acc = ir_block_combine(b->dst, n->op == OP_ALLREDUCE_MAX ? OP_BLOCK_MAX : OP_BLOCK_SUM, acc, next);
    }
    return acc;
}

static void block_node(Blocker *b, int id) {
    const IrNode *n = &b->src->nodes[id];
    IrGraph *dst = b->dst;
    dst->cur_loc = n->loc;
    dst->cur_scope = n->scope;
    dst->cur_backward = n->backward;
    dst->cur_block = 0;
    if (ir_op_is_leaf(n->op)) {
        block_leaf(b, id);
        return;
    }
    if (n->op == OP_ALLREDUCE_SUM || n->op == OP_ALLREDUCE_MAX || n->op == OP_ALLGATHER) {
        set_all_blocks(b, id, block_collective(b, n));
        return;
    }
    for (int r = 0; r < b->shards; r++) {
        int in[3];
        for (int k = 0; k < n->nin; k++) in[k] = *block_node_of(b, r, n->in[k]);
        dst->cur_block = r + 1;
        *block_node_of(b, r, id) = n->op == OP_SHARD_SLICE ? block_slice(dst, in[0], n->axis, r, b->shards)
                                                           : ir_copy(dst, n, in);
    }
}

IrGraph *shard_blocked(const IrGraph *shard, int shards, const char *name) {
    Blocker b = {shard, ir_new_graph(shard->arena, name, shard->dtype), shards,
                 ARENA_ARRAY(shard->arena, int, (size_t)shards * (size_t)shard->nnodes + 1)};
    for (int id = 0; id < shard->nnodes; id++) block_node(&b, id);
    b.dst->cur_block = 0;
    for (int i = 0; i < shard->noutputs; i++) /* replicated: block 0's */
        ir_add_output(b.dst, shard->outputs[i].kind, shard->outputs[i].name, *block_node_of(&b, 0, shard->outputs[i].node));
    return ir_compact(b.dst, NULL); /* drops blocks 1.. of what only the outputs read */
}

void shard_check_batch(int batch, int shards) {
    if (batch % shards != 0)
        diag_fatal("the batch of %d does not split into %d equal shards: %d is not a multiple of %d", batch, shards,
                   batch, shards);
}

void shard_model(Model *m, int shards) {
    if (shards <= 1) return;
    shard_check_batch(m->batch, shards);
    for (int i = 0; i < m->nschedule; i++) m->schedule[i].graph = shard_graph(m->schedule[i].graph, m->batch, shards);
    m->eval = shard_graph(m->eval, m->batch, shards);
}

void shard_model_block(Model *m, int shards) {
    for (int i = 0; i < m->nschedule; i++)
        m->schedule[i].graph = shard_blocked(m->schedule[i].graph, shards, m->schedule[i].graph->name);
    m->eval = shard_blocked(m->eval, shards, m->eval->name);
}

void shard_model_exact(Model *m) {
    if (m->nranked != m->nschedule) diag_fatal("--exact takes one --ranks count: the process alone adds as that many ranks do");
    for (int i = 0; i < m->nschedule; i++)
        m->schedule[i].graph = shard_blocked(m->ranked[i].graph, m->ranked[i].ranks, m->schedule[i].graph->name);
}

void shard_model_ranks(Model *m, const int *ranks, int n) {
    if (n == 0) return;
    m->ranked = ARENA_ARRAY(m->eval->arena, ScheduleStep, n * m->nschedule);
    for (int r = 0; r < n; r++) {
        shard_check_batch(m->batch, ranks[r]);
        for (int i = 0; i < m->nschedule; i++) {
            IrGraph *g = shard_graph(m->schedule[i].graph, m->batch, ranks[r]);
            g->name = arena_printf(g->arena, "%s_ranks%d", m->schedule[i].graph->name, ranks[r]);
            m->ranked[m->nranked++] = (ScheduleStep){g, m->schedule[i].times, ranks[r]};
        }
    }
}
