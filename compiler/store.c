/* store.c: initial values, per-step draws and updates of the interpreter's tensors (store.h). */
#include "store.h"
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "policy.h"

StTensor *store_find(StFile *st, const char *name) { return (StTensor *)st_find(st, name); }

/* The store's tensor for a leaf, created (zeroed) when missing. */
static StTensor *slot_for(StFile *st, const IrNode *n) {
    StTensor *t = store_find(st, n->name);
    if (t) return t;
    long shape[IR_MAXDIM];
    for (int i = 0; i < n->shape.ndim; i++) shape[i] = n->shape.dim[i];
    if (st_add(st, n->name, n->shape.ndim, shape, NULL) != 0) {
        char text[96];
        diag_fatal("out of memory for tensor '%s' (%s, %ld values)", n->name,
                   ir_shape_str(text, sizeof text, n->dtype, n->shape), ir_shape_size(n->shape));
    }
    return store_find(st, n->name);
}

static LeafRole role_of(IrOp op) { return op == OP_PARAM ? ROLE_PARAM : op == OP_STATE ? ROLE_STATE : ROLE_INPUT; }

static long rows_of(const IrNode *n) { return n->shape.ndim ? n->shape.dim[0] : 1; }

void store_init_leaves(StFile *st, const IrGraph *g, uint64_t seed) {
    for (int pass = 0; pass < POLICY_INIT_PASSES; pass++)
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (!n->name || policy_init_pass(role_of(n->op)) != pass || store_find(st, n->name)) continue;
        double *values = slot_for(st, n)->data; /* first: adding a tensor may move the others' records */
        const StTensor *source = n->init.kind == INIT_COPY ? store_find(st, n->init.source) : NULL;
        if (n->init.kind == INIT_COPY && !source)
            diag_fatal("internal error: '%s' copies '%s', which has no value yet", n->name, n->init.source);
        policy_initial_value(&n->init, n->name, seed, source ? source->data : NULL, values, ir_shape_size(n->shape),
                             rows_of(n));
    }
}

void store_draw_inputs(StFile *st, const IrGraph *g, uint64_t seed, uint64_t draw, double progress) {
    store_draw_shard(st, g, seed, draw, progress, 0);
}

void store_draw_shard(StFile *st, const IrGraph *g, uint64_t seed, uint64_t draw, double progress, int rank) {
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op == OP_INPUT) { /* an input split into shards (shard.h) holds shard rank's rows */
            long parts = n->shards > 1 ? n->shards : 1;
            policy_draw_shard(&n->init, n->name, seed, draw, progress, slot_for(st, n)->data,
                              ir_shape_size(n->shape) * parts, rows_of(n) * parts, (int)parts, rank);
        }
    }
}

void store_load(const StFile *st, Interp *it, const IrGraph *g) {
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != OP_PARAM && n->op != OP_STATE && n->op != OP_INPUT) continue;
        const StTensor *t = st_find(st, n->name);
        if (!t) diag_fatal("no value for '%s'", n->name);
        long size = 1;
        int same = t->ndim == n->shape.ndim;
        for (int i = 0; i < t->ndim; i++) {
            size *= t->shape[i];
            same &= i < n->shape.ndim && t->shape[i] == n->shape.dim[i];
        }
        if (!same) {
            char buf[64];
            diag_fatal("'%s' has %d axes and %ld elements, but the experiment expects %s", n->name,
                       t->ndim, size, ir_shape_str(buf, sizeof buf, g->dtype, n->shape));
        }
        memcpy(interp_buffer(it, id), t->data, sizeof(double) * (size_t)size);
    }
}

void store_apply_updates(StFile *st, Interp *it, const IrGraph *g) {
    for (int i = 0; i < g->noutputs; i++) {
        const IrOutput *o = &g->outputs[i];
        if (o->kind != OUT_UPDATE) continue;
        StTensor *t = store_find(st, o->name);
        if (!t) diag_fatal("internal error: the update of '%s' has no leaf", o->name);
        memcpy(t->data, interp_buffer(it, o->node), sizeof(double) * (size_t)ir_shape_size(g->nodes[o->node].shape));
    }
}
