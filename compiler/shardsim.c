/* shardsim.c: the shard simulator (shardsim.h). One interpreter per shard over the same
 * graph; the walk goes node by node, every shard computing the node before the next, so a
 * collective finds every shard's input ready, as the processes of an MPI job meet at one. */
#include "shardsim.h"
#include <stdlib.h>
#include <string.h>

struct ShardSim {
    const IrGraph *g;
    int shards, round_to_f32;
    Interp **its;
};

ShardSim *sim_new(const IrGraph *g, int shards, int round_to_f32) {
    ShardSim *s = calloc(1, sizeof *s);
    s->g = g;
    s->shards = shards;
    s->round_to_f32 = round_to_f32;
    s->its = calloc((size_t)shards, sizeof *s->its);
    for (int r = 0; r < shards; r++) s->its[r] = interp_new(g, round_to_f32);
    return s;
}

void sim_free(ShardSim *s) {
    if (!s) return;
    for (int r = 0; r < s->shards; r++) interp_free(s->its[r]);
    free(s->its);
    free(s);
}

Interp *sim_shard(ShardSim *s, int r) { return s->its[r]; }

/* Every shard's output is the sum (max) of all shards' inputs, added in shard order. */
static void allreduce(ShardSim *s, const IrNode *n, int id) {
    long size = ir_shape_size(n->shape);
    double *acc = interp_buffer(s->its[0], id);
    memcpy(acc, interp_buffer(s->its[0], n->in[0]), sizeof(double) * (size_t)size);
    for (int r = 1; r < s->shards; r++) {
        const double *v = interp_buffer(s->its[r], n->in[0]);
        for (long i = 0; i < size; i++) {
            double x = n->op == OP_ALLREDUCE_MAX ? (v[i] > acc[i] ? v[i] : acc[i]) : acc[i] + v[i];
            acc[i] = s->round_to_f32 ? (double)(float)x : x;
        }
    }
    for (int r = 1; r < s->shards; r++) memcpy(interp_buffer(s->its[r], id), acc, sizeof(double) * (size_t)size);
}

/* A tensor seen as [outer, dim[axis], inner]: `outer` blocks of dim[axis] * inner values. */
static void split_at(Shape s, int axis, long *outer, long *inner) {
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= s.dim[k];
    for (int k = axis + 1; k < s.ndim; k++) *inner *= s.dim[k];
}

static void copy_blocks(double *dst, long dst_stride, const double *src, long src_stride, long outer, long block) {
    for (long o = 0; o < outer; o++) memcpy(dst + o * dst_stride, src + o * src_stride, sizeof(double) * (size_t)block);
}

/* allgather: shard r's block goes to block r of every shard's output along the axis;
 * shard_slice: shard r keeps block r of its (replicated) input. */
static void reshard(ShardSim *s, const IrNode *n, int id) {
    int gather = n->op == OP_ALLGATHER;
    Shape whole = gather ? n->shape : ir_shape_of(s->g, n->in[0]);
    long outer, inner, part = whole.dim[n->axis] / s->shards;
    split_at(whole, n->axis, &outer, &inner);
    long whole_stride = whole.dim[n->axis] * inner, part_stride = part * inner;
    for (int r = 0; r < s->shards; r++) {
        const double *in = interp_buffer(s->its[r], n->in[0]);
        if (!gather) {
            copy_blocks(interp_buffer(s->its[r], id), part_stride, in + r * part_stride, whole_stride, outer, part_stride);
            continue;
        }
        for (int to = 0; to < s->shards; to++)
            copy_blocks(interp_buffer(s->its[to], id) + r * part_stride, whole_stride, in, part_stride, outer, part_stride);
    }
}

void sim_run(ShardSim *s) {
    for (int id = 0; id < s->g->nnodes; id++) {
        const IrNode *n = &s->g->nodes[id];
        if (n->op == OP_ALLREDUCE_SUM || n->op == OP_ALLREDUCE_MAX) allreduce(s, n, id);
        else if (n->op == OP_ALLGATHER || n->op == OP_SHARD_SLICE) reshard(s, n, id);
        else for (int r = 0; r < s->shards; r++) interp_run_node(s->its[r], id);
    }
}

const char *sim_divergent_output(ShardSim *s) {
    for (int i = 0; i < s->g->noutputs; i++) {
        int node = s->g->outputs[i].node;
        size_t bytes = sizeof(double) * (size_t)ir_shape_size(ir_shape_of(s->g, node));
        for (int r = 1; r < s->shards; r++)
            if (memcmp(interp_buffer(s->its[0], node), interp_buffer(s->its[r], node), bytes) != 0)
                return s->g->outputs[i].name;
    }
    return NULL;
}
