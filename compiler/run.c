/* run.c: `ganc eval` and `ganc run`, which execute a model in the reference interpreter.
 *
 * eval replays one evaluation of every loss and its gradients on values a user supplies (a
 * safetensors file: parameters, data, noise, random draws by name), which is how a result is
 * compared with another framework. run trains with the schedule of the .gan file; it is slow
 * and exists for debugging and as the reference the native code is tested against. What a run
 * starts from, draws, logs and overlays is the policy libganrt follows too (runtime/policy.h).
 * Both run a model split into shards (shard.h) as that many simulated shards (shardsim.h), each
 * with its own store: its copy of the parameters and state, and its rows of the inputs.
 * run stops on SIGINT/SIGTERM as the executables do (runtime/guard.h): the iteration finishes,
 * the state is written where -o says, and the exit status is 130/143. */
#include "run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guard.h"
#include "interp.h"
#include "policy.h"
#include "shardsim.h"
#include "store.h"

/* `ganc eval IN`'s view of the model for the overlay (runtime/policy.h): the eval graph's
 * leaves, with their values in the store. */
typedef struct Overlay {
    const IrGraph *g;
    StFile *stores; /* one per shard */
    int shards;
} Overlay;

/* How many shards hold a part of leaf n: > 1 for an input split by rows. */
static int parts_of(const IrNode *n) { return n->shards > 1 ? n->shards : 1; }

static int overlay_find(void *ctx, const char *name, GanDims *dims) {
    const Overlay *o = ctx;
    for (int id = 0; id < o->g->nnodes; id++) {
        const IrNode *n = &o->g->nodes[id];
        if (!n->name || strcmp(n->name, name) != 0) continue;
        *dims = (GanDims){n->shape.ndim, {0}};
        for (int k = 0; k < n->shape.ndim; k++) dims->dim[k] = n->shape.dim[k] * (k ? 1 : parts_of(n));
        return 1;
    }
    return -1;
}

/* A leaf split by rows gives each shard its rows of the values. */
static void overlay_set(void *ctx, const char *name, const double *values) {
    const Overlay *o = ctx;
    int parts = 1;
    for (int id = 0; id < o->g->nnodes; id++)
        if (o->g->nodes[id].name && strcmp(o->g->nodes[id].name, name) == 0) parts = parts_of(&o->g->nodes[id]);
    for (int r = 0; r < o->shards; r++) {
        StTensor *slot = store_find(&o->stores[r], name);
        long n = 1;
        for (int k = 0; k < slot->ndim; k++) n *= slot->shape[k];
        memcpy(slot->data, values + (parts > 1 ? r * n : 0), sizeof(double) * (size_t)n);
    }
}

static void output_shape(const IrGraph *g, int node, int *ndim, long *shape) {
    *ndim = g->nodes[node].shape.ndim;
    for (int i = 0; i < *ndim; i++) shape[i] = g->nodes[node].shape.dim[i];
}

/* The leaf of that name in g, or NULL. */
static const IrNode *leaf_of(const IrGraph *g, const char *name) {
    for (int id = 0; id < g->nnodes; id++)
        if (g->nodes[id].name && strcmp(g->nodes[id].name, name) == 0) return &g->nodes[id];
    return NULL;
}

static long tensor_size(int ndim, const long *shape) {
    long n = 1;
    for (int k = 0; k < ndim; k++) n *= shape[k];
    return n;
}

/* How many shards hold a part of the leaf of that name: > 1 for an input split by rows. */
static int leaf_shards(const Model *m, const char *name) {
    for (int i = 0; i < m->nschedule; i++) {
        const IrNode *n = leaf_of(m->schedule[i].graph, name);
        if (n) return n->shards > 1 ? n->shards : 1;
    }
    return 1;
}

/* Shard 0's store, with the inputs split into shards joined back into the whole batch (their
 * rows are contiguous): the file a single process would have written. */
static int write_store(const char *path, const Model *m, StFile *stores) {
    StFile out = {0};
    char err[512];
    for (int i = 0; i < stores[0].count; i++) {
        const StTensor *t = &stores[0].tensors[i];
        long n = tensor_size(t->ndim, t->shape), shape[IR_MAXDIM];
        int parts = leaf_shards(m, t->name);
        memcpy(shape, t->shape, sizeof(long) * (size_t)t->ndim);
        double *data = malloc(sizeof(double) * (size_t)(n * parts));
        for (int r = 0; r < parts; r++)
            memcpy(data + r * n, st_find(&stores[r], t->name)->data, sizeof(double) * (size_t)n);
        if (parts > 1) shape[0] *= parts;
        st_add(&out, t->name, t->ndim, shape, data);
        free(data);
    }
    int rc = st_write(path, &out, m->dtype == DT_F64, err, sizeof err) != 0;
    if (rc) fprintf(stderr, "ganc: error: %s\n", err);
    st_free(&out);
    return rc;
}

/* The simulated shards must agree on every replicated output: a pass bug otherwise. */
static int check_replicas(ShardSim *sim, const IrGraph *g) {
    const char *name = sim_divergent_output(sim);
    if (name) fprintf(stderr, "ganc: internal error: graph %s: the shards' values of '%s' differ\n", g->name, name);
    return name != NULL;
}

int run_eval(const Model *m, const char *in_path, const char *out_path, int shards) {
    const IrGraph *g = m->eval;
    StFile *stores = calloc((size_t)shards, sizeof *stores), out = {0};
    char err[512];
    for (int r = 0; r < shards; r++) {
        store_init_leaves(&stores[r], g, m->seed);
        store_draw_shard(&stores[r], g, m->seed, 0, 0, r);
    }
    Overlay overlay = {g, stores, shards};
    const PolicyLeaves leaves = {&overlay, overlay_find, overlay_set};
    int rc = 0;
    if (in_path && policy_overlay(in_path, &leaves, err, sizeof err) != 0) {
        fprintf(stderr, "ganc: error: %s\n", err);
        rc = 1;
    }
    ShardSim *sim = sim_new(g, shards, g->dtype == DT_F32);
    if (rc == 0) {
        for (int r = 0; r < shards; r++) store_load(&stores[r], sim_shard(sim, r), g);
        sim_run(sim);
        rc = check_replicas(sim, g);
    }
    for (int i = 0; rc == 0 && i < g->noutputs; i++) {
        int ndim;
        long shape[IR_MAXDIM];
        output_shape(g, g->outputs[i].node, &ndim, shape);
        st_add(&out, g->outputs[i].name, ndim, shape, interp_buffer(sim_shard(sim, 0), g->outputs[i].node));
    }
    if (rc == 0 && st_write(out_path, &out, g->dtype == DT_F64, err, sizeof err) != 0) {
        fprintf(stderr, "ganc: error: %s\n", err);
        rc = 1;
    }
    sim_free(sim);
    for (int r = 0; r < shards; r++) st_free(&stores[r]);
    free(stores);
    st_free(&out);
    return rc;
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

/* The first SIGINT/SIGTERM ends the run after iteration iter: the state is saved (if -o asked
 * for it) and named, and the status is 128 + the signal. */
static int stop_on_signal(const Model *m, StFile *stores, long iter, const char *save_path) {
    int sig = guard_signal();
    if (save_path && write_store(save_path, m, stores) != 0) return 1;
    fprintf(stderr, "ganc run: interrupted by %s after iteration %ld: %s%s\n", guard_signal_name(sig), iter,
            save_path ? "state written to " : "no state written (no -o given)", save_path ? save_path : "");
    return 128 + sig;
}

int run_train(const Model *m, long iters, const char *save_path, int shards) {
    StFile *stores = calloc((size_t)shards, sizeof *stores);
    ShardSim **sims = calloc((size_t)m->nschedule, sizeof *sims);
    double *last_loss = calloc((size_t)m->nsteps, sizeof(double));
    for (int i = 0; i < m->nschedule; i++) {
        for (int r = 0; r < shards; r++) store_init_leaves(&stores[r], m->schedule[i].graph, m->seed);
        sims[i] = sim_new(m->schedule[i].graph, shards, m->dtype == DT_F32);
    }
    uint64_t draw = 0;
    int rc = 0;
    guard_catch_signals();
    for (long iter = 1; iter <= iters && rc == 0; iter++) {
        double progress = policy_progress(iter, iters);
        for (int i = 0; i < m->nschedule && rc == 0; i++) {
            const IrGraph *g = m->schedule[i].graph;
            for (int k = 0; k < m->schedule[i].times && rc == 0; k++, draw++) {
                for (int r = 0; r < shards; r++) {
                    store_draw_shard(&stores[r], g, m->seed, draw, progress, r);
                    store_load(&stores[r], sim_shard(sims[i], r), g);
                }
                sim_run(sims[i]);
                rc = check_replicas(sims[i], g) || read_losses(m, sim_shard(sims[i], 0), g, iter, last_loss);
                for (int r = 0; rc == 0 && r < shards; r++) store_apply_updates(&stores[r], sim_shard(sims[i], r), g);
            }
        }
        if (rc == 0 && policy_is_log_point(iter, m->log_every, iters)) print_log(m, iter, last_loss);
        if (rc == 0 && guard_signal()) rc = stop_on_signal(m, stores, iter, save_path); /* never 0 */
    }
    if (rc == 0 && save_path) rc = write_store(save_path, m, stores);
    for (int i = 0; i < m->nschedule; i++) sim_free(sims[i]);
    for (int r = 0; r < shards; r++) st_free(&stores[r]);
    free(sims);
    free(stores);
    free(last_loss);
    return rc;
}
