/* store.c: initial values, per-step draws and updates of the interpreter's tensors (store.h). */
#include "store.h"
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "rng.h"
#include "samplers.h"

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

static void fill(const LeafInit *init, uint64_t seed, uint64_t stream, uint64_t index0, double *out,
                 long size, int batch) {
    switch (init->kind) {
    case INIT_ZEROS: memset(out, 0, sizeof(double) * (size_t)size); break;
    case INIT_CONSTANT:
        for (long i = 0; i < size; i++) out[i] = init->a;
        break;
    case INIT_UNIFORM:
        rng_uniform(seed, stream, index0, out, size);
        for (long i = 0; i < size; i++) out[i] = init->a + (init->b - init->a) * out[i];
        break;
    case INIT_NORMAL:
        rng_normal(seed, stream, index0, out, size);
        for (long i = 0; i < size; i++) out[i] = init->a + init->b * out[i];
        break;
    case INIT_DATA: {
        const SamplerInfo *s = sampler_find(init->sampler);
        s->draw(init->args, seed, stream, index0 / (uint64_t)(size / batch), out, batch);
        break;
    }
    }
}

void store_init_leaves(StFile *st, const IrGraph *g, uint64_t seed) {
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if ((n->op != OP_PARAM && n->op != OP_STATE) || store_find(st, n->name)) continue;
        StTensor *t = slot_for(st, n);
        fill(&n->init, seed, rng_stream_id(n->name), 0, t->data, ir_shape_size(n->shape), 1);
    }
}

void store_draw_inputs(StFile *st, const IrGraph *g, uint64_t seed, uint64_t draw) {
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != OP_INPUT) continue;
        long size = ir_shape_size(n->shape);
        StTensor *t = slot_for(st, n);
        fill(&n->init, seed, rng_stream_id(n->name), draw * (uint64_t)size, t->data, size,
             n->shape.ndim ? n->shape.dim[0] : 1);
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
        memcpy(t->data, interp_buffer(it, o->node), sizeof(double) * (size_t)ir_shape_size(g->nodes[o->node].shape));
    }
}
