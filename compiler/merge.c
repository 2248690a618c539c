/* merge.c: the row-merge pass (merge.h): a network's applications to several batches of rows
 * computed together, as a graph-to-graph transform on finished step graphs.
 *
 * The pass finds packs: tuples of nodes, its lanes, that are the same op with the same
 * attributes applied to different rows, SLP-vectoriser style:
 *   seeds     products that share their weight (the very same node) and read different rows of
 *             equal shape: D's first layer applied to x, to the fake rows and to interpolates;
 *   forward   the users of a pack's lanes that are again one op per lane, whose other inputs
 *             are the same node in every lane (a weight, a broadcast bias, a constant) or the
 *             lanes of one pack (masks, activations), become a pack in turn (the next layer,
 *             and the backward chains through the same masks);
 *   operands  the unpacked inputs of such a candidate are packed with it when they are the same
 *             computation again (the backward's first product, matmul(dL/dD, W^T), per lane).
 * A pack of ops that keep the rows (elementwise, a product's rows, a conv's batch, shape ops
 * that leave axis 0 alone) merges into one op on the lanes' rows concatenated along axis 0.
 * A pack of ops that sum over the rows (a weight gradient matmul(a^T, g), a bias gradient
 * sum(g, axis 0), conv_bf) merges into one op over all the lanes' rows, which computes the sum
 * of the lanes: it replaces them where an add tree (autodiff's sum of a parameter's gradient
 * contributions) adds every lane. A bias gradient whose lanes' cotangents autodiff added
 * before its sum over the rows stays as written: the lanes' rows are views of the merged
 * cotangent (plan.h), one loop adds them and the sum runs over one lane's rows, which measured
 * faster than one sum over all the lanes' rows (docs/performance.md, the row-merge pass), and
 * gives the unmerged bits. Which ops keep, sum or mix the rows of axis 0 is the question
 * shard.c's batch-axis pass answers for a batch cut in blocks (shard_axis_through): the rows of
 * K lanes concatenated are a batch of K blocks.
 *
 * Refused: a network whose lanes reach an op that couples the rows of a batch: a sum over the
 * rows inside the network (batch norm, minibatch statistics), a max over the rows (MaxGP), a
 * product pairing rows with rows (MMD and Cramer kernels), any op moving axis 0. The whole
 * network's merge is refused, not the part before the coupling op: a refused D then runs as
 * written, which is what its author wrote and measured, and the part that could merge before
 * its first batch norm is one layer, which a split after it would mostly pay back in copies.
 *
 * The merged graph is built in dependency order of its packs (a pack is made once every lane's
 * inputs are), so a pack whose lanes depend on each other is dropped, never made. Each lane's
 * value where an unmerged node reads it is a slice of its pack's rows. Every merged op computes
 * what its lanes computed, row by row; only the summed gradients add their terms in another
 * order. */
#include "merge.h"
#include <string.h>
#include "diag.h"
#include "shard.h"

/* What an op does with the rows (axis 0) of the input it reads at some position. */
typedef enum { ROWS_KEPT, ROWS_SUMMED, ROWS_COUPLED } RowRule;

typedef enum { PACK_ROWS, PACK_SUM } PackKind;

typedef struct Pack {
    PackKind kind;
    int n, *lane;  /* the node of each lane */
    int net;       /* whose applications: an index into Merger.nets */
    int merged;    /* its node in dst: the lanes' rows concatenated (ROWS) or summed (SUM); -1: not yet */
    int dead;      /* refused, or its lanes depend on each other: they stay separate */
} Pack;

enum { MAX_NETS = 32, OPERAND_DEPTH = 3 };

typedef struct Merger {
    const IrGraph *src;
    IrGraph *dst;
    Arena *arena;
    int **users, *nusers;
    char *is_output;
    int *pack, *lane;    /* per src node: its pack (-1: none) and its lane there */
    Pack *packs;
    int npacks, cap;
    int *value;          /* per src node: its own value in dst, -1 until made */
    const char *nets[MAX_NETS];
    const char *refused[MAX_NETS]; /* why the network's merge is refused; NULL: it is not */
    int nnets;
    int summed[MAX_NETS]; /* per network: SUM packs that replaced their lanes in an add tree */
    int *seen, *stack, stamp; /* reads_any's walk */
} Merger;

static const IrNode *node(const Merger *M, int id) { return &M->src->nodes[id]; }

/* ----- the rows of each op ---------------------------------------------------------------- */

static RowRule row_rule(const IrGraph *g, const IrNode *n, int j) {
    switch (ir_op_class(n->op)) {
    case OPC_UNARY: case OPC_BINARY: case OPC_SELECT: return ROWS_KEPT;
    case OPC_SHAPE: case OPC_REDUCE: {
        if (n->op == OP_CONCAT) return n->axis != 0 ? ROWS_KEPT : ROWS_COUPLED;
        int k = shard_axis_through(n, g->nodes[n->in[0]].shape, 0, 1);
        if (k == SHARD_AXIS_REDUCED) return n->op == OP_SUM ? ROWS_SUMMED : ROWS_COUPLED;
        return k == 0 && n->shape.ndim > 0 ? ROWS_KEPT : ROWS_COUPLED;
    }
    case OPC_BLAS:
        if (n->op == OP_MATMUL) /* a's rows are the product's; a^T b contracts both rows */
            return !n->ta && j == 0 ? ROWS_KEPT : n->ta && !n->tb ? ROWS_SUMMED : ROWS_COUPLED;
        if (n->op == OP_CONV_BF) return ROWS_SUMMED;
        return j == (n->op == OP_CONV ? 0 : 1) ? ROWS_KEPT : ROWS_COUPLED; /* the batch, not the weight */
    default: return ROWS_COUPLED;
    }
}

/* Whether input i of n holds rows (of the output, or of a contraction over rows); the others
 * are weights, the same node in every lane. */
static int rows_at(const IrNode *n, int i) {
    switch (n->op) {
    case OP_MATMUL: return n->ta || i == 0;
    case OP_CONV: return i == 0;
    case OP_CONV_BD: return i == 1;
    default: return 1;
    }
}

static int same_op(const IrGraph *g, const IrNode *a, const IrNode *b) {
    if (a->op != b->op || !ir_shape_equal(a->shape, b->shape) || a->value != b->value || a->axes != b->axes ||
        memcmp(a->perm, b->perm, sizeof a->perm) || memcmp(a->start, b->start, sizeof a->start) ||
        a->axis != b->axis || a->ta != b->ta || a->tb != b->tb || a->stride != b->stride || a->pad != b->pad)
        return 0;
    for (int i = 0; i < a->nin; i++)
        if (!ir_shape_equal(g->nodes[a->in[i]].shape, g->nodes[b->in[i]].shape)) return 0;
    return 1;
}

/* ----- finding the packs ------------------------------------------------------------------ */

static int new_pack(Merger *M, PackKind kind, const int *lanes, int n, int net) {
    Pack p = {kind, n, ARENA_ARRAY(M->arena, int, n), net, -1, 0};
    for (int k = 0; k < n; k++) {
        p.lane[k] = lanes[k];
        M->pack[lanes[k]] = M->npacks;
        M->lane[lanes[k]] = k;
    }
    ARENA_PUSH(M->arena, M->packs, M->npacks, M->cap, p);
    return M->npacks - 1;
}

static int live_rows_pack(const Merger *M, int id) {
    int p = M->pack[id];
    return p >= 0 && M->packs[p].kind == PACK_ROWS && !M->packs[p].dead ? p : -1;
}

static int try_operands(Merger *M, const int *nodes, int m, int net, int depth);

/* Whether the lanes nodes[0..m) (one op) can take their inputs at position i merged: the same
 * node in every lane (a weight; or, where rows are, a constant or a broadcast without rows,
 * made again at the merged size), the lanes of one pack, constants, any rows in front of a
 * product (one copy for a GEMM), or inputs that pack in turn. */
static int inputs_fit(Merger *M, const int *nodes, int m, int i, int net, int depth) {
    const IrNode *n0 = node(M, nodes[0]);
    int first = n0->in[i], same = 1, consts = 1, packed = live_rows_pack(M, first) >= 0;
    int ins[64];
    for (int k = 0; k < m; k++) {
        int in = node(M, nodes[k])->in[i];
        ins[k] = in;
        same &= in == first;
        consts &= node(M, in)->op == OP_CONST;
        packed &= live_rows_pack(M, in) >= 0 && M->pack[in] == M->pack[first];
    }
    if (same) {
        const IrNode *s = node(M, first);
        return !rows_at(n0, i) || s->op == OP_CONST || (s->op == OP_BROADCAST && !(s->axes & 1));
    }
    if (!rows_at(n0, i)) return 0;
    if (packed || consts || ir_op_class(n0->op) == OPC_BLAS) return 1;
    return depth > 0 && try_operands(M, ins, m, net, depth - 1);
}

/* The distinct unpacked nodes[0..m), one op keeping the rows, as a new pack if their inputs fit. */
static int try_operands(Merger *M, const int *nodes, int m, int net, int depth) {
    const IrNode *n0 = node(M, nodes[0]);
    for (int k = 0; k < m; k++) {
        if (M->pack[nodes[k]] >= 0 || !same_op(M->src, n0, node(M, nodes[k]))) return 0;
        for (int l = 0; l < k; l++)
            if (nodes[l] == nodes[k]) return 0;
    }
    if (n0->nin == 0 || n0->shape.ndim == 0) return 0;
    int j = 0;
    while (!rows_at(n0, j)) j++;
    if (row_rule(M->src, n0, j) != ROWS_KEPT) return 0;
    for (int i = 0; i < n0->nin; i++)
        if (!inputs_fit(M, nodes, m, i, net, depth)) return 0;
    new_pack(M, PACK_ROWS, nodes, m, net);
    return 1;
}

/* The users of pack p's lanes that are one op per lane, as new packs; returns how many. */
static int extend(Merger *M, int p) {
    int n = M->packs[p].n, net = M->packs[p].net, made = 0;
    int cand[256], cpos[256], clane[256], nc = 0;
    for (int k = 0; k < n; k++) {
        int lane = M->packs[p].lane[k];
        for (int u = 0; u < M->nusers[lane] && nc < 256; u++) {
            int user = M->users[lane][u], j = 0;
            if (M->pack[user] >= 0) continue;
            while (node(M, user)->in[j] != lane) j++;
            cand[nc] = user, cpos[nc] = j, clane[nc] = k, nc++;
        }
    }
    char *taken = arena_alloc(M->arena, (size_t)nc + 1);
    for (int c = 0; c < nc; c++) {
        if (taken[c] || M->pack[cand[c]] >= 0) continue;
        int members[64], m = 0, last_lane = -1;
        for (int d = c; d < nc && m < 64; d++) {  /* candidates come in lane order: one per lane */
            if (taken[d] || clane[d] == last_lane || cpos[d] != cpos[c]) continue;
            if (!same_op(M->src, node(M, cand[c]), node(M, cand[d]))) continue;
            int dup = 0;
            for (int e = 0; e < m; e++) dup |= members[e] == cand[d];
            if (dup) continue;
            members[m++] = cand[d], last_lane = clane[d], taken[d] = 1;
        }
        if (m < 2) continue;
        RowRule rule = row_rule(M->src, node(M, members[0]), cpos[c]);
        if (rule == ROWS_COUPLED || (node(M, members[0])->shape.ndim == 0 && rule == ROWS_KEPT)) continue;
        int fits = 1;
        for (int i = 0; fits && i < node(M, members[0])->nin; i++) fits = inputs_fit(M, members, m, i, net, OPERAND_DEPTH);
        if (!fits) continue;
        for (int e = 0; e < m; e++)  /* operand packing may have taken one */
            if (M->pack[members[e]] >= 0) fits = 0;
        if (!fits) continue;
        new_pack(M, rule == ROWS_KEPT ? PACK_ROWS : PACK_SUM, members, m, net);
        made++;
    }
    return made;
}

/* The network a node belongs to: its scope up to the first '.', registered on first sight. */
static int net_of(Merger *M, const IrNode *n) {
    if (!n->scope) return -1;
    size_t len = strcspn(n->scope, ".");
    for (int i = 0; i < M->nnets; i++)
        if (strlen(M->nets[i]) == len && !strncmp(M->nets[i], n->scope, len)) return i;
    if (M->nnets == MAX_NETS) return -1;
    M->nets[M->nnets] = arena_printf(M->arena, "%.*s", (int)len, n->scope);
    return M->nnets++;
}

/* The shared operand and the rows of a product that may seed a pack, or 0. */
static int seed_operands(const IrNode *n, int *shared, int *rows) {
    if (n->op == OP_MATMUL && !n->ta) *shared = n->in[1], *rows = n->in[0];
    else if (n->op == OP_CONV) *shared = n->in[1], *rows = n->in[0];
    else if (n->op == OP_CONV_BD) *shared = n->in[0], *rows = n->in[1];
    else return 0;
    return 1;
}

/* Whether id depends on any of lanes[0..m) (earlier nodes): a lane computed from another
 * lane's result cannot be computed with it. */
static int reads_any(Merger *M, int id, const int *lanes, int m) {
    if (m == 0) return 0;
    M->stamp++;
    int top = 0, found = 0;
    M->stack[top++] = id;
    while (top > 0 && !found) {
        int v = M->stack[--top];
        for (int k = 0; k < m; k++) found |= v == lanes[k];
        if (v < lanes[0]) continue; /* earlier than every lane: none is above it */
        for (int i = 0; i < node(M, v)->nin; i++) {
            int in = node(M, v)->in[i];
            if (M->seen[in] != M->stamp) M->seen[in] = M->stamp, M->stack[top++] = in;
        }
    }
    return found;
}

/* Seeds in node order, each extended to a fixed point before the next, so that the backward
 * chains are found from the forward's masks, in the forward's lane order. */
static void find_packs(Merger *M) {
    const IrGraph *g = M->src;
    for (int id = 0; id < g->nnodes; id++) {
        int shared, rows, lanes[64], m = 0;
        if (M->pack[id] >= 0 || !seed_operands(node(M, id), &shared, &rows)) continue;
        for (int other = id; other < g->nnodes && m < 64; other++) {
            int s2, r2;
            if (M->pack[other] >= 0 || !seed_operands(node(M, other), &s2, &r2)) continue;
            if (s2 == shared && same_op(g, node(M, id), node(M, other)) && !reads_any(M, other, lanes, m)) lanes[m++] = other;
        }
        int net = net_of(M, node(M, id));
        if (m < 2 || net < 0) continue;
        new_pack(M, PACK_ROWS, lanes, m, net);
        for (int made = 1; made;) {
            made = 0;
            for (int p = 0; p < M->npacks; p++)
                if (M->packs[p].kind == PACK_ROWS) made += extend(M, p);
        }
    }
}

/* ----- refusing a network that couples the rows ------------------------------------------- */

static int in_net(const Merger *M, const IrNode *n, int net) {
    size_t len = strlen(M->nets[net]);
    return n->scope && !strncmp(n->scope, M->nets[net], len) && (n->scope[len] == '.' || !n->scope[len]);
}

/* Follows each network's rows (its packs' lanes and what is computed from them row by row) to
 * the ops that couple them: there the network's merge is refused. */
static void refuse_coupled(Merger *M) {
    const IrGraph *g = M->src;
    int *rows_of_net = ARENA_ARRAY(M->arena, int, g->nnodes + 1);
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = node(M, id);
        int p = live_rows_pack(M, id);
        rows_of_net[id] = p >= 0 ? M->packs[p].net : -1;
        for (int j = 0; j < n->nin; j++) {
            int net = rows_of_net[n->in[j]];
            if (net < 0) continue;
            RowRule rule = row_rule(g, n, j);
            if (rule == ROWS_KEPT && rows_of_net[id] < 0) rows_of_net[id] = net;
            const char *why = NULL;
            if (rule == ROWS_SUMMED && !n->backward && in_net(M, n, net)) why = "sums over the rows inside the network (batch statistics)";
            else if (rule == ROWS_COUPLED && n->op == OP_MAX) why = "takes the max over the rows";
            else if (rule == ROWS_COUPLED && ir_op_class(n->op) == OPC_BLAS) why = "pairs rows with rows";
            else if (rule == ROWS_COUPLED) why = "moves the rows off axis 0";
            if (why && !M->refused[net])
                M->refused[net] = arena_printf(M->arena, "%s at %%%d (%s) %s: it couples the rows", ir_op_name(n->op), id,
                                               n->scope ? n->scope : "the loss", why);
        }
    }
    for (int p = 0; p < M->npacks; p++)
        if (M->refused[M->packs[p].net]) M->packs[p].dead = 1;
}

/* ----- building the merged graph ---------------------------------------------------------- */

static void stamp(Merger *M, int id) {
    const IrNode *n = node(M, id);
    M->dst->cur_loc = n->loc;
    M->dst->cur_scope = n->scope;
    M->dst->cur_backward = n->backward;
}

static Shape times_rows(Shape s, int lanes) {
    s.dim[0] *= lanes;
    return s;
}

static int concat_rows(Merger *M, int acc, int next) { return acc < 0 ? next : ir_concat(M->dst, acc, next, 0); }

/* Lanes idx[0..m) of ROWS pack p (made), in that order: slices of its rows, joined. */
static int rows_of(Merger *M, int p, const int *idx, int m) {
    const Pack *P = &M->packs[p];
    Shape lane = M->src->nodes[P->lane[0]].shape;
    int acc = -1;
    for (int a = 0, b; a < m; a = b) {
        for (b = a + 1; b < m && idx[b] == idx[b - 1] + 1; b++) {}
        if (b - a == P->n) {
            acc = concat_rows(M, acc, P->merged);
            continue;
        }
        int start[IR_MAXDIM] = {idx[a] * lane.dim[0]};
        acc = concat_rows(M, acc, ir_slice(M->dst, P->merged, start, times_rows(lane, b - a)));
    }
    return acc;
}

/* The value in dst of a node whose inputs are made: its own, or its lane's rows of its pack. */
static int value(Merger *M, int id) {
    if (M->value[id] < 0) {
        int p = live_rows_pack(M, id), k = M->lane[id];
        stamp(M, id);
        M->value[id] = rows_of(M, p, &k, 1);
    }
    return M->value[id];
}

/* The merged input at position i of pack p's op (see inputs_fit). */
static int pack_input(Merger *M, int p, int i) {
    const Pack *P = &M->packs[p];
    const IrNode *n0 = node(M, P->lane[0]);
    int first = n0->in[i], same = 1, q = live_rows_pack(M, first), idx[64];
    for (int k = 0; k < P->n; k++) {
        int in = node(M, P->lane[k])->in[i];
        same &= in == first;
        if (live_rows_pack(M, in) != q) q = -1;
        else if (q >= 0) idx[k] = M->lane[in];
    }
    const IrNode *s = node(M, first);
    if (same && !rows_at(n0, i)) return value(M, first);
    if (same && s->op == OP_CONST) return ir_const(M->dst, s->value, times_rows(s->shape, P->n));
    if (same && s->op == OP_BROADCAST && !(s->axes & 1))
        return ir_broadcast(M->dst, value(M, s->in[0]), times_rows(s->shape, P->n), s->axes);
    if (q >= 0) return rows_of(M, q, idx, P->n);
    int acc = -1;
    for (int k = 0; k < P->n; k++) acc = concat_rows(M, acc, value(M, node(M, P->lane[k])->in[i]));
    return acc;
}

static void make_pack(Merger *M, int p) {
    Pack *P = &M->packs[p];
    const IrNode *n0 = node(M, P->lane[0]);
    int in[3] = {0, 0, 0};
    for (int i = 0; i < n0->nin; i++) in[i] = pack_input(M, p, i);
    stamp(M, P->lane[0]);
    P->merged = ir_rebuild(M->dst, n0, in, P->kind == PACK_ROWS ? times_rows(n0->shape, P->n) : n0->shape);
}

/* The terms of the add tree rooted at id: through adds that only it reads; max + 1 if there
 * are more than max. */
static int add_terms(const Merger *M, int id, int *terms, int n, int max) {
    const IrNode *a = node(M, id);
    for (int i = 0; i < 2 && n <= max; i++) {
        int c = a->in[i];
        const IrNode *cn = node(M, c);
        if (cn->op == OP_ADD && M->nusers[c] == 1 && !M->is_output[c] && M->pack[c] < 0) n = add_terms(M, c, terms, n, max);
        else if (n < max) terms[n++] = c;
        else n = max + 1;
    }
    return n;
}

/* An add tree holding every lane of a SUM pack: the pack's one op replaces those terms. */
static int make_sum_tree(Merger *M, int id) {
    int terms[128], n = add_terms(M, id, terms, 0, 128), found = 0;
    if (n > 128) return -1;
    for (int t = 0; t < n; t++) {
        int p = M->pack[terms[t]];
        if (p < 0 || M->packs[p].kind != PACK_SUM || M->packs[p].dead) continue;
        int seen[64] = {0}, once = 1;
        for (int u = 0; u < n; u++)
            if (M->pack[terms[u]] == p) seen[M->lane[terms[u]]]++;
        for (int k = 0; k < M->packs[p].n; k++) once &= seen[k] == 1;
        if (!once) continue;
        if (M->packs[p].merged < 0) make_pack(M, p), M->summed[M->packs[p].net]++;
        found = 1;
    }
    if (!found) return -1;
    int acc = -1;
    for (int t = 0; t < n; t++) {
        int p = M->pack[terms[t]];
        int summed = p >= 0 && M->packs[p].kind == PACK_SUM && M->packs[p].merged >= 0;
        if (summed && M->lane[terms[t]] != 0) continue; /* the pack's op stands for every lane */
        int v = summed ? M->packs[p].merged : value(M, terms[t]);
        stamp(M, id);
        acc = acc < 0 ? v : ir_add(M->dst, acc, v);
    }
    return acc;
}

static void make_node(Merger *M, int id) {
    const IrNode *n = node(M, id);
    if (n->op == OP_ADD && (M->value[id] = make_sum_tree(M, id)) >= 0) return;
    int in[3] = {0, 0, 0};
    for (int i = 0; i < n->nin; i++) in[i] = value(M, n->in[i]);
    stamp(M, id);
    M->value[id] = ir_rebuild(M->dst, n, in, n->shape);
}

/* Whether a node can be read: made, or a lane of a made pack. */
static int ready(const Merger *M, int id) {
    int p = live_rows_pack(M, id);
    return p >= 0 ? M->packs[p].merged >= 0 : M->value[id] >= 0;
}

static int pack_ready(const Merger *M, int p) {
    const Pack *P = &M->packs[p];
    for (int k = 0; k < P->n; k++)
        for (int i = 0; i < node(M, P->lane[k])->nin; i++)
            if (!ready(M, node(M, P->lane[k])->in[i])) return 0;
    return 1;
}

/* Makes every node and pack once its inputs are; when no more can be made, the first pack
 * still waiting depends on itself through another pack: it is dropped, its lanes made alone. */
static void build(Merger *M) {
    const IrGraph *g = M->src;
    for (int left = g->nnodes; left > 0;) {
        int progress = 0;
        for (int id = 0; id < g->nnodes; id++) {
            int p = live_rows_pack(M, id);
            if (p >= 0) {
                if (M->packs[p].merged < 0 && M->lane[id] == M->packs[p].n - 1 && pack_ready(M, p)) {
                    make_pack(M, p);
                    left -= M->packs[p].n, progress = 1;
                }
                continue;
            }
            if (M->value[id] >= 0) continue;
            int can = 1;
            for (int i = 0; i < node(M, id)->nin; i++) can &= ready(M, node(M, id)->in[i]);
            if (can) make_node(M, id), left--, progress = 1;
        }
        for (int p = 0; !progress && p < M->npacks; p++)
            if (M->packs[p].kind == PACK_ROWS && !M->packs[p].dead && M->packs[p].merged < 0)
                M->packs[p].dead = progress = 1;
        if (!progress) diag_fatal("internal error: the row-merge of graph '%s' is stuck", g->name);
    }
}

/* ----- the pass --------------------------------------------------------------------------- */

static int count_products(const IrGraph *g) {
    int n = 0;
    for (int id = 0; id < g->nnodes; id++) n += ir_op_class(g->nodes[id].op) == OPC_BLAS;
    return n;
}

static void report_net(const Merger *M, FILE *out, int net, int before, int after) {
    if (M->refused[net]) {
        fprintf(out, "merge refused %s: %s: %s\n", M->src->name, M->nets[net], M->refused[net]);
        return;
    }
    int widest = -1, lanes = 0, layers = 0, weights[64], nweights = 0;
    for (int p = 0; p < M->npacks; p++) {
        const Pack *P = &M->packs[p];
        const IrNode *n0 = node(M, P->lane[0]);
        int shared, rows, forward = 0;
        if (P->net != net || P->dead || P->merged < 0 || P->kind != PACK_ROWS || n0->backward) continue;
        for (int k = 0; k < P->n; k++) forward += !node(M, P->lane[k])->backward;
        if (forward > lanes) widest = p, lanes = forward;
        if (!seed_operands(n0, &shared, &rows)) continue;
        int seen = 0;
        for (int w = 0; w < nweights; w++) seen |= weights[w] == shared;
        if (!seen && nweights < 64) weights[nweights++] = shared, layers++;
    }
    if (widest < 0) return;
    const Pack *W = &M->packs[widest];
    fprintf(out, "merge %s: %s x%d rows ", M->src->name, M->nets[net], lanes);
    for (int k = 0, first = 1; k < W->n; k++)
        if (!node(M, W->lane[k])->backward) fprintf(out, "%s%d", first ? "" : "+", node(M, W->lane[k])->shape.dim[0]), first = 0;
    fprintf(out, ", %d layer%s, %d gradient sum%s in one product each; %d products -> %d\n", layers,
            layers == 1 ? "" : "s", M->summed[net], M->summed[net] == 1 ? "" : "s", before, after);
}

IrGraph *merge_graph(const IrGraph *g, FILE *report) {
    Arena *a = g->arena;
    Merger M = {.src = g, .arena = a};
    M.nusers = ARENA_ARRAY(a, int, g->nnodes + 1);
    M.users = ARENA_ARRAY(a, int *, g->nnodes + 1);
    M.is_output = arena_alloc(a, (size_t)g->nnodes + 1);
    M.pack = ARENA_ARRAY(a, int, g->nnodes + 1);
    M.lane = ARENA_ARRAY(a, int, g->nnodes + 1);
    M.value = ARENA_ARRAY(a, int, g->nnodes + 1);
    M.seen = ARENA_ARRAY(a, int, g->nnodes + 1);
    M.stack = ARENA_ARRAY(a, int, g->nnodes + 1);
    for (int id = 0; id < g->nnodes; id++) {
        M.pack[id] = M.value[id] = -1;
        for (int i = 0; i < g->nodes[id].nin; i++) M.nusers[g->nodes[id].in[i]]++;
    }
    for (int id = 0; id < g->nnodes; id++) M.users[id] = ARENA_ARRAY(a, int, M.nusers[id] + 1), M.nusers[id] = 0;
    for (int id = 0; id < g->nnodes; id++)
        for (int i = 0; i < g->nodes[id].nin; i++) {
            int in = g->nodes[id].in[i], *u = M.users[in];
            if (M.nusers[in] == 0 || u[M.nusers[in] - 1] != id) u[M.nusers[in]++] = id;
        }
    for (int i = 0; i < g->noutputs; i++) M.is_output[g->outputs[i].node] = 1;
    find_packs(&M);
    refuse_coupled(&M);
    int live = 0;
    for (int p = 0; p < M.npacks; p++) live += !M.packs[p].dead && M.packs[p].kind == PACK_ROWS;
    IrGraph *out = (IrGraph *)g;
    int before = count_products(g), after = before;
    if (live) {
        M.dst = ir_new_graph(a, g->name, g->dtype);
        build(&M);
        for (int i = 0; i < g->noutputs; i++) ir_add_output(M.dst, g->outputs[i].kind, g->outputs[i].name, value(&M, g->outputs[i].node));
        out = ir_compact(M.dst, NULL);
        after = count_products(out);
    }
    for (int net = 0; report && net < M.nnets; net++) report_net(&M, report, net, before, after);
    return out;
}

void merge_model(Model *m, FILE *report) {
    for (int i = 0; i < m->nschedule; i++) m->schedule[i].graph = merge_graph(m->schedule[i].graph, report);
    for (int i = 0; i < m->nranked; i++) m->ranked[i].graph = merge_graph(m->ranked[i].graph, report);
    m->eval = merge_graph(m->eval, report);
}
