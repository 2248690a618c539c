/* run.c: `ganc eval` and `ganc run`, which execute a model in the reference interpreter.
 *
 * eval replays one evaluation of every loss and its gradients on values a user supplies (a
 * safetensors file: parameters, data, noise, random draws by name), which is how a result is
 * compared with another framework. run trains with the schedule of the .gan file; it is slow
 * and exists for debugging and as the reference the native code is tested against. What a run
 * starts from, draws, logs and overlays is the policy libganrt follows too (runtime/policy.h). */
#include "run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "interp.h"
#include "policy.h"
#include "store.h"

/* `ganc eval IN`'s view of the model for the overlay (runtime/policy.h): the eval graph's
 * leaves, with their values in the store. */
typedef struct Overlay {
    const IrGraph *g;
    StFile *store;
} Overlay;

static int overlay_find(void *ctx, const char *name, GanDims *dims) {
    const Overlay *o = ctx;
    for (int id = 0; id < o->g->nnodes; id++) {
        const IrNode *n = &o->g->nodes[id];
        if (!n->name || strcmp(n->name, name) != 0) continue;
        *dims = (GanDims){n->shape.ndim, {0}};
        for (int k = 0; k < n->shape.ndim; k++) dims->dim[k] = n->shape.dim[k];
        return 1;
    }
    return -1;
}

static void overlay_set(void *ctx, const char *name, const double *values) {
    const Overlay *o = ctx;
    StTensor *slot = store_find(o->store, name);
    long n = 1;
    for (int k = 0; k < slot->ndim; k++) n *= slot->shape[k];
    memcpy(slot->data, values, sizeof(double) * (size_t)n);
}

static void output_shape(const IrGraph *g, int node, int *ndim, long *shape) {
    *ndim = g->nodes[node].shape.ndim;
    for (int i = 0; i < *ndim; i++) shape[i] = g->nodes[node].shape.dim[i];
}

int run_eval(const Model *m, const char *in_path, const char *out_path) {
    const IrGraph *g = m->eval;
    StFile store = {0}, out = {0};
    char err[512];
    store_init_leaves(&store, g, m->seed);
    store_draw_inputs(&store, g, m->seed, 0, 0);
    Overlay overlay = {g, &store};
    const PolicyLeaves leaves = {&overlay, overlay_find, overlay_set};
    if (in_path && policy_overlay(in_path, &leaves, err, sizeof err) != 0) {
        fprintf(stderr, "ganc: error: %s\n", err);
        st_free(&store);
        return 1;
    }
    Interp *it = interp_new(g, g->dtype == DT_F32);
    store_load(&store, it, g);
    interp_run(it);
    for (int i = 0; i < g->noutputs; i++) {
        int ndim;
        long shape[IR_MAXDIM];
        output_shape(g, g->outputs[i].node, &ndim, shape);
        st_add(&out, g->outputs[i].name, ndim, shape, interp_buffer(it, g->outputs[i].node));
    }
    int rc = st_write(out_path, &out, g->dtype == DT_F64, err, sizeof err);
    if (rc != 0) fprintf(stderr, "ganc: error: %s\n", err);
    interp_free(it);
    st_free(&store);
    st_free(&out);
    return rc != 0;
}

static void print_log(const Model *m, long iter, const double *last_loss) {
    printf("{\"step\": %ld", iter);
    for (int i = 0; i < m->nsteps; i++) printf(", \"loss %s\": %.9g", m->steps[i].net, last_loss[i]);
    printf("}\n");
    fflush(stdout);
}

/* Reads the losses a step graph computed; 1 if one is not finite. */
static int read_losses(const Model *m, Interp *it, const IrGraph *g, long iter, double *last_loss) {
    for (int i = 0; i < m->nsteps; i++) {
        char name[256];
        snprintf(name, sizeof name, "loss/%s", m->steps[i].net);
        int node = ir_find_output(g, name);
        if (node < 0) continue;
        last_loss[i] = interp_buffer(it, node)[0];
        if (!isfinite(last_loss[i])) {
            fprintf(stderr, "ganc: error: step %ld: the loss of %s is %g\n", iter, m->steps[i].net, last_loss[i]);
            return 1;
        }
    }
    return 0;
}

int run_train(const Model *m, long iters, const char *save_path) {
    StFile store = {0};
    Interp **its = calloc((size_t)m->nschedule, sizeof *its);
    double *last_loss = calloc((size_t)m->nsteps, sizeof(double));
    for (int i = 0; i < m->nschedule; i++) {
        store_init_leaves(&store, m->schedule[i].graph, m->seed);
        its[i] = interp_new(m->schedule[i].graph, m->dtype == DT_F32);
    }
    uint64_t draw = 0;
    int rc = 0;
    for (long iter = 1; iter <= iters && rc == 0; iter++) {
        double progress = policy_progress(iter, iters);
        for (int i = 0; i < m->nschedule && rc == 0; i++) {
            const IrGraph *g = m->schedule[i].graph;
            for (int k = 0; k < m->schedule[i].times && rc == 0; k++) {
                store_draw_inputs(&store, g, m->seed, draw++, progress);
                store_load(&store, its[i], g);
                interp_run(its[i]);
                rc = read_losses(m, its[i], g, iter, last_loss);
                if (rc == 0) store_apply_updates(&store, its[i], g);
            }
        }
        if (rc == 0 && policy_is_log_point(iter, m->log_every, iters)) print_log(m, iter, last_loss);
    }
    if (rc == 0 && save_path) {
        char err[512];
        rc = st_write(save_path, &store, m->dtype == DT_F64, err, sizeof err) != 0;
        if (rc) fprintf(stderr, "ganc: error: %s\n", err);
    }
    for (int i = 0; i < m->nschedule; i++) interp_free(its[i]);
    free(its);
    free(last_loss);
    st_free(&store);
    return rc;
}
