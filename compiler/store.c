/* store.c: initial values, per-step draws and updates of the interpreter's tensors (store.h). */
#include "store.h"
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "fill.h"

StTensor *store_find(StFile *st, const char *name) { return (StTensor *)st_find(st, name); }

/* The store's tensor for a leaf, created (zeroed) when missing. */
static StTensor *slot_for(StFile *st, const IrNode *n) {
    StTensor *t = store_find(st, n->name);
    if (t) return t;
    long shape[IR_MAXDIM];
    for (int i = 0; i < n->shape.ndim; i++) shape[i] = n->shape.dim[i];
    long size = ir_shape_size(n->shape);
    double *zeros = calloc((size_t)size, sizeof(double));
    st_add(st, n->name, n->shape.ndim, shape, zeros);
    free(zeros);
    return store_find(st, n->name);
}

/* The runtime's description of how a leaf gets its values. */
FillSpec store_fill_spec(const LeafInit *init) {
    static const FillKind kinds[] = {[INIT_ZEROS] = FILL_ZEROS, [INIT_CONSTANT] = FILL_CONSTANT,
                                     [INIT_UNIFORM] = FILL_UNIFORM, [INIT_NORMAL] = FILL_NORMAL,
                                     [INIT_DATA] = FILL_DATA, [INIT_COPY] = FILL_COPY,
                                     [INIT_PROGRESS] = FILL_PROGRESS, [INIT_FILE] = FILL_FILE,
                                     [INIT_LABELS] = FILL_LABELS, [INIT_TENSOR] = FILL_TENSOR};
    FillSpec f = {kinds[init->kind], init->a, init->b, init->sampler, {0}, init->nargs, init->points, init->fixed,
                  init->source, init->file, init->order, init->classes};
    memcpy(f.args, init->args, sizeof f.args);
    return f;
}

static void fill_leaf(const IrNode *n, uint64_t seed, uint64_t draw, double *out) {
    FillSpec spec = store_fill_spec(&n->init);
    fill_values(&spec, seed, n->name, draw, out, ir_shape_size(n->shape), n->shape.ndim ? n->shape.dim[0] : 1);
}

void store_init_leaves(StFile *st, const IrGraph *g, uint64_t seed) {
    for (int pass = 0; pass < 2; pass++) /* params first: a state may start as a copy of one */
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != (pass == 0 ? OP_PARAM : OP_STATE) || store_find(st, n->name)) continue;
        if (n->init.kind == INIT_COPY) {
            const StTensor *source = store_find(st, n->init.source);
            if (!source) diag_fatal("internal error: '%s' copies '%s', which has no value yet", n->name, n->init.source);
            long size = ir_shape_size(n->shape);
            memcpy(slot_for(st, n)->data, source->data, sizeof(double) * (size_t)size);
            continue;
        }
        fill_leaf(n, seed, 0, slot_for(st, n)->data);
    }
}

void store_draw_inputs(StFile *st, const IrGraph *g, uint64_t seed, uint64_t draw, double progress) {
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != OP_INPUT) continue;
        if (n->init.kind == INIT_PROGRESS) {
            slot_for(st, n)->data[0] = progress;
            continue;
        }
        fill_leaf(n, seed, draw, slot_for(st, n)->data);
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
