/* plan.c: fusion decisions and the arena layout (see plan.h). */
#include "plan.h"
#include "flops.h"
#include <stdlib.h>
#include <string.h>

enum { ALIGNMENT = 64 };

/* A broadcast of one value (Adam's bias corrections, a learning rate) to a whole shape: its
 * readers' loops load the value once per lane group and splat it, instead of reading a
 * buffer of copies that a kernel call wrote (2 MB per 512x512 weight and step, written and read). */
int plan_is_scalar_broadcast(const IrGraph *g, int id) {
    return g->nodes[id].op == OP_BROADCAST && ir_shape_size(g->nodes[g->nodes[id].in[0]].shape) == 1;
}

/* A node is fused into its consumer when recomputing it there costs nothing extra: it has one
 * reader (or is a constant or a scalar broadcast, which any number of loops recompute), every
 * reader is an elementwise loop over the same shape, and it is not an output of the graph. */
static void decide_kinds(GraphPlan *p, const int *uses, const char *is_output) {
    const IrGraph *g = p->g;
    char *readers_elementwise = malloc((size_t)g->nnodes + 1);
    memset(readers_elementwise, 1, (size_t)g->nnodes + 1);
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        for (int k = 0; k < n->nin; k++)
            if (!ir_op_is_elementwise(n->op) || !ir_shape_equal(n->shape, g->nodes[n->in[k]].shape))
                readers_elementwise[n->in[k]] = 0;
    }
    for (int id = g->nnodes - 1; id >= 0; id--) {
        const IrNode *n = &g->nodes[id];
        NodePlan *np = &p->nodes[id];
        np->root = id;
        int scalar_broadcast = plan_is_scalar_broadcast(g, id);
        if (ir_op_is_leaf(n->op)) np->kind = PLAN_LEAF;
        else if (scalar_broadcast && !is_output[id] && uses[id] > 0 && readers_elementwise[id]) np->kind = PLAN_FUSED;
        else if (!ir_op_is_elementwise(n->op)) np->kind = PLAN_CALL;
        else if (!is_output[id] && uses[id] > 0 && readers_elementwise[id] && (uses[id] == 1 || n->op == OP_CONST))
            np->kind = PLAN_FUSED;
        else np->kind = PLAN_LOOP;
    }
    free(readers_elementwise);
}

/* A matmul that can be computed into its reader's buffer: a kernel call read by nothing but
 * that reader, and not an output. */
static int foldable_matmul(const GraphPlan *p, const int *uses, const char *is_output, int id) {
    return p->g->nodes[id].op == OP_MATMUL && p->nodes[id].kind == PLAN_CALL && uses[id] == 1 && !is_output[id];
}

/* A broadcast an add can redo into its own buffer: one read only by the add, or one of a leaf
 * (a bias: shared by every application of its layer, and always there to be read again). */
static int foldable_broadcast(const GraphPlan *p, const int *uses, const char *is_output, int id) {
    const IrNode *n = &p->g->nodes[id];
    return n->op == OP_BROADCAST && p->nodes[id].kind == PLAN_CALL && !is_output[id] &&
           (uses[id] == 1 || ir_op_is_leaf(p->g->nodes[n->in[0]].op));
}

/* add(matmul, broadcast) and add(matmul, matmul), either way round: the add becomes the call that
 * writes both into its buffer (codegen's emit_accumulated). The matmuls are then computed there
 * only (PLAN_INTO); so is a broadcast every reader of which redoes it. */
static void fold_into_gemms(GraphPlan *p, const int *uses, const char *is_output) {
    const IrGraph *g = p->g;
    int *redone = calloc((size_t)g->nnodes + 1, sizeof(int)); /* per broadcast: adds that redo it */
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != OP_ADD || n->in[0] == n->in[1]) continue;
        int mm[2], bc[2];
        for (int k = 0; k < 2; k++) {
            mm[k] = foldable_matmul(p, uses, is_output, n->in[k]);
            bc[k] = foldable_broadcast(p, uses, is_output, n->in[k]);
        }
        if (!(mm[0] && (mm[1] || bc[1])) && !(mm[1] && bc[0])) continue;
        p->nodes[id].kind = PLAN_CALL;
        for (int k = 0; k < 2; k++) {
            if (mm[k]) p->nodes[n->in[k]].kind = PLAN_INTO, p->nodes[n->in[k]].root = id;
            else if (++redone[n->in[k]] == 1 && uses[n->in[k]] == 1) p->nodes[n->in[k]].root = id;
        }
    }
    for (int id = 0; id < g->nnodes; id++)
        if (redone[id] && redone[id] == uses[id]) p->nodes[id].kind = PLAN_INTO; /* shared: root itself */
    free(redone);
}

/* A fused node emitted in every loop that reads it, which has no root of its own. */
static int fused_everywhere(const GraphPlan *p, int id) {
    return p->nodes[id].kind == PLAN_FUSED && (p->g->nodes[id].op == OP_CONST || plan_is_scalar_broadcast(p->g, id));
}

/* The root of a fused node is the root of its reader; readers have larger ids, so one pass from
 * the top down settles it. A constant or a scalar broadcast fused into several loops is emitted
 * in each of them and keeps itself as root. */
static void assign_roots(GraphPlan *p) {
    const IrGraph *g = p->g;
    for (int id = g->nnodes - 1; id >= 0; id--) {
        const IrNode *n = &g->nodes[id];
        int root = p->nodes[id].root;
        for (int k = 0; k < n->nin; k++)
            if (p->nodes[n->in[k]].kind == PLAN_FUSED && !fused_everywhere(p, n->in[k])) p->nodes[n->in[k]].root = root;
    }
}

static void read_at(GraphPlan *p, int id, int time) {
    if (p->nodes[id].last_use < time) p->nodes[id].last_use = time;
}

/* Each node's last reader, in the order the graph runs (a fused node runs in its root's loop);
 * a scalar broadcast's value is read in each of its readers' loops. */
static void compute_last_uses(GraphPlan *p, const char *is_output) {
    const IrGraph *g = p->g;
    for (int id = 0; id < g->nnodes; id++) p->nodes[id].last_use = is_output[id] ? g->nnodes : id;
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        int reader = p->nodes[id].kind == PLAN_FUSED || p->nodes[id].kind == PLAN_INTO ? p->nodes[id].root : id;
        for (int k = 0; k < n->nin; k++) {
            read_at(p, n->in[k], reader);
            if (fused_everywhere(p, n->in[k]) && g->nodes[n->in[k]].nin) read_at(p, g->nodes[n->in[k]].in[0], reader);
        }
    }
}

/* ---- views and concats without copies ---------------------------------------------------- */

static long elem_size(const IrGraph *g) { return g->dtype == DT_F64 ? 8 : 4; }

/* The node whose storage holds id's values: where its chain of homes ends. */
static int storage_of(const GraphPlan *p, int id) {
    while (p->nodes[id].home >= 0) id = p->nodes[id].home;
    return id;
}

/* A LOOP or CALL computed into its rows of a concat (not a view). */
static int is_placed(const NodePlan *np) { return np->home >= 0 && np->kind != PLAN_VIEW; }

/* Whether node id reads its input's memory as it is (a reshape; a slice that cuts only axis 0,
 * so its rows are consecutive there), and from which byte on. */
static int view_offset(const IrGraph *g, int id, long *offset) {
    const IrNode *n = &g->nodes[id];
    Shape in = g->nodes[n->in[0]].shape;
    *offset = 0;
    if (n->op == OP_RESHAPE) return 1;
    if (n->op != OP_SLICE || in.ndim == 0 || in.dim[0] == 0) return 0;
    for (int k = 1; k < in.ndim; k++)
        if (n->start[k] != 0 || n->shape.dim[k] != in.dim[k]) return 0;
    *offset = (long)n->start[0] * (ir_shape_size(in) / in.dim[0]) * elem_size(g);
    return 1;
}

/* Slices of whole rows and reshapes of stored values become views, except an output in a
 * leaf's storage (copied out at the end, when an update may have overwritten the leaf); the
 * storage then lives until the views' last readers. */
static void place_views(GraphPlan *p, const char *is_output) {
    const IrGraph *g = p->g;
    for (int id = 0; id < g->nnodes; id++) {
        NodePlan *np = &p->nodes[id];
        long offset;
        if (np->kind != PLAN_CALL || !view_offset(g, id, &offset)) continue;
        int src = g->nodes[id].in[0];
        PlanKind kind = p->nodes[src].kind;
        if (kind != PLAN_LEAF && kind != PLAN_LOOP && kind != PLAN_CALL && kind != PLAN_VIEW) continue;
        if (is_output[id] && p->nodes[storage_of(p, src)].kind == PLAN_LEAF) continue;
        np->kind = PLAN_VIEW, np->home = src, np->offset = offset;
        p->nviews++;
    }
    for (int id = 0; id < g->nnodes; id++) {
        if (p->nodes[id].kind != PLAN_VIEW) continue;
        NodePlan *s = &p->nodes[storage_of(p, id)];
        if (s->last_use < p->nodes[id].last_use) s->last_use = p->nodes[id].last_use;
    }
}

/* An input of an axis-0 concat that nothing else reads and that is stored by itself is
 * computed into its rows of the concat's buffer. */
static void place_concats(GraphPlan *p, const int *uses, const char *is_output) {
    const IrGraph *g = p->g;
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != OP_CONCAT || n->axis != 0 || p->nodes[id].kind != PLAN_CALL || n->in[0] == n->in[1]) continue;
        long at = 0;
        for (int k = 0; k < 2; k++) {
            int in = n->in[k];
            NodePlan *ip = &p->nodes[in];
            if ((ip->kind == PLAN_LOOP || ip->kind == PLAN_CALL) && ip->home < 0 && uses[in] == 1 && !is_output[in]) {
                ip->home = id, ip->offset = at;
                p->nplaced++;
            }
            at += ir_shape_size(g->nodes[in].shape) * elem_size(g);
        }
    }
}

/* ---- outputs computed in place ------------------------------------------------------------ */

/* When a node reading `leaf` runs: a fused node in its loop, a matmul in its add; a broadcast
 * every reader add redoes (INTO, its own root) as late as its last reader. */
static int read_time(const GraphPlan *p, int r) {
    const NodePlan *np = &p->nodes[r];
    if (np->kind == PLAN_INTO && np->root == r) return np->last_use;
    if (fused_everywhere(p, r)) return np->last_use; /* a scalar broadcast: in its last reader's loop */
    return np->kind == PLAN_FUSED || np->kind == PLAN_INTO ? np->root : r;
}

/* Whether node u may write the storage of leaf `name` while the graph runs: every reader of
 * the leaf's old value runs before u, or is u's own loop (elementwise over the same shape: each
 * element is read before it is written, by the same lane). */
static int leaf_free_after(const GraphPlan *p, const char *name, int u) {
    const IrGraph *g = p->g;
    for (int leaf = 0; leaf < g->nnodes; leaf++) {
        if (p->nodes[leaf].kind != PLAN_LEAF || !g->nodes[leaf].name || strcmp(g->nodes[leaf].name, name)) continue;
        if (p->nodes[leaf].last_use >= g->nnodes) return 0; /* an output itself, copied at the end */
        for (int r = leaf + 1; r < g->nnodes; r++) {
            const IrNode *n = &g->nodes[r];
            int reads = 0;
            for (int k = 0; k < n->nin; k++) reads |= n->in[k] == leaf;
            if (!reads) continue;
            int t = read_time(p, r);
            if (t > u || (t == u && !(p->nodes[u].kind == PLAN_LOOP && (r == u || p->nodes[r].kind == PLAN_FUSED))))
                return 0;
        }
        for (int v = leaf + 1; v < g->nnodes; v++) /* views of the leaf: read until their last reader */
            if (p->nodes[v].kind == PLAN_VIEW && storage_of(p, v) == leaf && p->nodes[v].last_use >= u) return 0;
    }
    return 1;
}

static int has_placed_inputs(const GraphPlan *p, int id) {
    const IrNode *n = &p->g->nodes[id];
    for (int k = 0; k < n->nin; k++)
        if (is_placed(&p->nodes[n->in[k]]) && p->nodes[n->in[k]].home == id) return 1;
    return 0;
}

/* Outputs computed into their own memory: a stored node (not a leaf) named by one output, the
 * first that names it (the others copy from there); an update only when its leaf is free. */
static void place_outputs(GraphPlan *p) {
    const IrGraph *g = p->g;
    for (int id = 0; id <= g->nnodes; id++) p->nodes[id].output = -1;
    for (int k = 0; k < g->noutputs; k++) {
        const IrOutput *o = &g->outputs[k];
        NodePlan *np = &p->nodes[o->node];
        if ((np->kind != PLAN_LOOP && np->kind != PLAN_CALL) || np->output >= 0 || np->home >= 0) continue;
        if (has_placed_inputs(p, o->node)) continue; /* they would write the output before it is free */
        if (o->kind == OUT_UPDATE && !leaf_free_after(p, o->name, o->node)) continue;
        np->output = k;
    }
    for (int k = 0; k < g->noutputs; k++) {
        int direct = p->nodes[g->outputs[k].node].output == k;
        p->ndirect += direct;
        p->ncopies += !direct;
    }
}

typedef struct Block {
    long offset, bytes;
    int owner;
} Block;

static long align(long n) { return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT; }

/* Per time (node id), the node whose buffer is allocated then, or -1: a stored node at its own
 * time, a concat with inputs computed into it at the first of them (transitively). */
static int *allocation_times(const GraphPlan *p) {
    const IrGraph *g = p->g;
    int *at = malloc(sizeof(int) * ((size_t)g->nnodes + 1)), *first = malloc(sizeof(int) * ((size_t)g->nnodes + 1));
    for (int id = 0; id < g->nnodes; id++) at[id] = -1, first[id] = id;
    for (int id = g->nnodes - 1; id >= 0; id--)
        if (is_placed(&p->nodes[id])) first[storage_of(p, id)] = id;
    for (int id = 0; id < g->nnodes; id++) {
        const NodePlan *np = &p->nodes[id];
        if ((np->kind == PLAN_LOOP || np->kind == PLAN_CALL) && np->output < 0 && np->home < 0) at[first[id]] = id;
    }
    free(first);
    return at;
}

/* First fit over the live blocks, kept sorted by offset. A node's buffer is allocated before its
 * inputs are released, so an output never overlaps what it reads; a concat's, before the first
 * input computed into it, so its buffer overlaps nothing live while its inputs are made. */
static void assign_offsets(GraphPlan *p) {
    const IrGraph *g = p->g;
    Block *live = malloc(sizeof(Block) * ((size_t)g->nnodes + 1));
    int nlive = 0, *alloc_at = allocation_times(p);
    for (int t = 0; t < g->nnodes; t++) {
        int id = alloc_at[t];
        if (id >= 0) {
            NodePlan *np = &p->nodes[id];
            np->bytes = align(ir_shape_size(g->nodes[id].shape) * elem_size(g));
            long at = 0;
            int pos = 0;
            while (pos < nlive && live[pos].offset < at + np->bytes) {
                if (live[pos].offset + live[pos].bytes > at) at = live[pos].offset + live[pos].bytes;
                pos++;
            }
            memmove(&live[pos + 1], &live[pos], sizeof(Block) * (size_t)(nlive - pos));
            live[pos] = (Block){at, np->bytes, id};
            nlive++;
            np->offset = at;
            if (at + np->bytes > p->arena_bytes) p->arena_bytes = at + np->bytes;
        }
        int kept = 0;
        for (int i = 0; i < nlive; i++)
            if (p->nodes[live[i].owner].last_use > t || live[i].owner >= t) live[kept++] = live[i];
        nlive = kept;
    }
    free(live);
    free(alloc_at);
}

GraphPlan *plan_graph(const IrGraph *g) {
    Arena *a = g->arena;
    GraphPlan *p = ARENA_NEW(a, GraphPlan);
    p->g = g;
    p->nodes = ARENA_ARRAY(a, NodePlan, g->nnodes + 1);
    int *uses = calloc((size_t)g->nnodes + 1, sizeof(int));
    char *is_output = calloc((size_t)g->nnodes + 1, 1);
    for (int id = 0; id < g->nnodes; id++)
        for (int k = 0; k < g->nodes[id].nin; k++) uses[g->nodes[id].in[k]]++;
    for (int i = 0; i < g->noutputs; i++) is_output[g->outputs[i].node] = 1;
    decide_kinds(p, uses, is_output);
    fold_into_gemms(p, uses, is_output);
    assign_roots(p);
    compute_last_uses(p, is_output);
    for (int id = 0; id <= g->nnodes; id++) p->nodes[id].home = -1;
    place_views(p, is_output);
    place_concats(p, uses, is_output);
    place_outputs(p);
    assign_offsets(p);
    for (int id = 0; id < g->nnodes; id++) {
        p->nloops += p->nodes[id].kind == PLAN_LOOP;
        p->ncalls += p->nodes[id].kind == PLAN_CALL;
        p->nfused += p->nodes[id].kind == PLAN_FUSED;
        p->ninto += p->nodes[id].kind == PLAN_INTO;
    }
    free(uses);
    free(is_output);
    return p;
}

static void print_graph_plan(FILE *out, const GraphPlan *p) {
    const IrGraph *g = p->g;
    fprintf(out, "plan %s: %d loops, %d kernel calls, %d nodes fused, %d computed into an add, arena %ld bytes\n",
            g->name, p->nloops, p->ncalls, p->nfused, p->ninto, p->arena_bytes);
    fprintf(out, "memory %s: %d views, %d computed into a concat, %d outputs computed in place, %d copied out\n",
            g->name, p->nviews, p->nplaced, p->ndirect, p->ncopies);
    Flops f = flops_of_graph(g);
    fprintf(out, "flops %s: %.0f in products (matmul, conv), %.0f elementwise\n", g->name, f.gemm, f.elementwise);
    for (int id = 0; id < g->nnodes; id++) {
        const NodePlan *np = &p->nodes[id];
        const IrNode *n = &g->nodes[id];
        char buf[64];
        char ins[48] = "", *at = ins;
        for (int k = 0; k < n->nin; k++)
            at += snprintf(at, sizeof ins - (size_t)(at - ins), "%s%%%d", k ? "," : "", n->in[k]);
        fprintf(out, "  %%%-4d %-10s %-16s %-15s ", id, ir_op_name(n->op), ir_shape_str(buf, sizeof buf, g->dtype, n->shape),
                ins);
        switch (np->kind) {
        case PLAN_LEAF: fprintf(out, "leaf %s\n", n->name); break;
        case PLAN_FUSED:
            if (np->root == id) fprintf(out, "fused into each reader's loop\n");
            else fprintf(out, "fused into loop %%%d\n", np->root);
            break;
        case PLAN_INTO:
            if (np->root == id) fprintf(out, "into each reader's buffer\n");
            else fprintf(out, "into %%%d's buffer\n", np->root);
            break;
        case PLAN_VIEW: fprintf(out, "view of %%%d +%ld\n", np->home, np->offset); break;
        case PLAN_LOOP: case PLAN_CALL:
            if (np->home >= 0) {
                fprintf(out, "%s into %%%d's rows +%ld\n", np->kind == PLAN_LOOP ? "loop" : "call", np->home, np->offset);
                break;
            }
            if (np->output >= 0) {
                fprintf(out, "%s into output #%d (%s)\n", np->kind == PLAN_LOOP ? "loop" : "call", np->output,
                        g->outputs[np->output].name);
                break;
            }
            fprintf(out, "%s @%ld+%ld live to %%%d\n", np->kind == PLAN_LOOP ? "loop" : "call", np->offset,
                    np->bytes, np->last_use);
            break;
        }
    }
}

ModelPlan *plan_model(const Model *m) {
    ModelPlan *mp = ARENA_NEW(m->eval->arena, ModelPlan);
    mp->ngraphs = model_graphs(m, mp->graphs, PLAN_MAX_GRAPHS);
    for (int k = 0; k < mp->ngraphs; k++) mp->plans[k] = plan_graph(mp->graphs[k]);
    return mp;
}

void plan_print(FILE *out, const ModelPlan *p) {
    for (int k = 0; k < p->ngraphs; k++) print_graph_plan(out, p->plans[k]);
}
