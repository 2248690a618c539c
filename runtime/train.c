/* train.c: the training loop and the one-off evaluation: initial values, each step graph's
 * draws and executions, the finiteness check after every step, the schedule with its log,
 * sample, checkpoint and FID points, and --eval / --eval-values.
 *
 * Training reproduces the interpreter's `ganc run` (compiler/run.c) draw for draw: parameters
 * start from fill_values(seed, name, draw 0) and each execution of a step graph draws its inputs
 * at the next number of one counter, so native results can be compared with the interpreter's. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "dist.h"
#include "rt.h"
#include "policy.h"
#include "rng.h"


/* Whether any of n elements is a NaN or an infinity (all exponent bits set). This runs over
 * every updated tensor after every step, so it tests the bits in fixed-size blocks, a loop
 * compilers vectorise (about twice as fast as isfinite element by element), in AVX-512 or AVX2
 * where the CPU has them (target_clones picks at load time; libganrt is otherwise built for
 * baseline x86-64): 2.2% of toy_ns's step in SSE2. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ANY_NONFINITE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ANY_NONFINITE_CLONES
#endif
#define DEFINE_ANY_NONFINITE(name, T, UINT, EXPONENT)                                          \
    ANY_NONFINITE_CLONES static int name(const T *x, long n)                                   \
    {                                                                                          \
        UINT bad = 0, bits[16];                                                                \
        long i = 0;                                                                            \
        for (; i + 16 <= n; i += 16) {                                                         \
            memcpy(bits, x + i, sizeof bits);                                                  \
            for (int j = 0; j < 16; j++)                                                       \
                bad |= (bits[j] & EXPONENT) == EXPONENT;                                       \
        }                                                                                      \
        for (; i < n; i++) {                                                                   \
            memcpy(bits, x + i, sizeof(UINT));                                                 \
            bad |= (bits[0] & EXPONENT) == EXPONENT;                                           \
        }                                                                                      \
        return bad != 0;                                                                       \
    }
DEFINE_ANY_NONFINITE(any_nonfinite_f32, float, uint32_t, 0x7f800000u)
DEFINE_ANY_NONFINITE(any_nonfinite_f64, double, uint64_t, 0x7ff0000000000000u)

/* The index of the first NaN or infinity, or -1. */
static long first_nonfinite(int is_f64, const void *p, long n)
{
    if (!(is_f64 ? any_nonfinite_f64(p, n) : any_nonfinite_f32(p, n)))
        return -1;
    for (long i = 0; i < n; i++)
        if (!isfinite(value_at(is_f64, p, i)))
            return i;
    return -1;
}

/* ----- draws and graph execution ----------------------------------------------------------- */

static long leaf_rows(const Leaf *l) { return l->dims.ndim ? l->dims.dim[0] : 1; }

/* Where a leaf's values are computed in double: its own storage in a float64 model, else
 * `spare` (then stored with store_values). */
static double *values_of(Runtime *rt, Leaf *l, double *spare) { return rt->m.is_f64 ? l->data : spare; }

static void store_values(Runtime *rt, Leaf *l, const double *values)
{
    if (!rt->m.is_f64)
        from_double(0, l->data, values, dims_count(&l->dims));
}

/* Parameters and state at their initial values, in the passes of the policy (policy.h). */
void init_leaves(Runtime *rt)
{
    for (int pass = 0; pass < POLICY_INIT_PASSES; pass++)
        for (int i = 0; i < rt->m.nleaves; i++) {
            Leaf *l = &rt->m.leaves[i];
            if (policy_init_pass(l->role) != pass)
                continue;
            long n = dims_count(&l->dims);
            double *source = NULL;
            if (l->fill.kind == INIT_COPY) { /* load.c checked the source exists with this shape */
                source = xcalloc((size_t)n, sizeof(double));
                to_double(rt->m.is_f64, rt->m.leaves[find_leaf(&rt->m, l->fill.source)].data, source, n);
            }
            double *values = values_of(rt, l, rt->scratch);
            policy_initial_value(&l->fill, l->name, rt->seed, source, values, n, leaf_rows(l));
            store_values(rt, l, values);
            free(source);
        }
}

/* Every input leaf of g at one draw: one execution's inputs share a draw number. */
void draw_inputs(Runtime *rt, const Graph *g, uint64_t key, uint64_t draw)
{
    double progress = policy_progress(rt->iter, rt->steps);
    for (int k = 0; k < g->nuse; k++) {
        Leaf *l = &rt->m.leaves[g->use[k]];
        if (l->role != ROLE_INPUT)
            continue;
        double *values = values_of(rt, l, rt->scratch);
        if (g->use_split[k]) /* this rank's rows of the whole draw, in the leaf's first rows */
            policy_draw_shard(&l->fill, l->name, key, draw, progress, values, dims_count(&l->dims), leaf_rows(l),
                              g->ranks, dist_rank());
        else
            policy_draw_input(&l->fill, l->name, key, draw, progress, values, dims_count(&l->dims), leaf_rows(l));
        store_values(rt, l, values);
    }
}

void call_graph(Runtime *rt, const Graph *g) { g->fn(g->leaf_args, g->out_args, rt->arena); }

/* After a step: every value output, then every updated leaf, must be finite. */
static int check_finite(Runtime *rt, const Graph *g, long iter)
{
    for (int pass = 0; pass <= 1; pass++)
        for (int k = 0; k < g->nout; k++) {
            const Output *o = &g->out[k];
            if (o->is_update != pass)
                continue;
            long bad = first_nonfinite(rt->m.is_f64, o->data, dims_count(&o->dims));
            if (bad < 0)
                continue;
            double v = value_at(rt->m.is_f64, o->data, bad);
            return rt_error(rt, "step %ld: %s is not finite (%s)", iter, o->name,
                            isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        }
    return 0;
}

/* One step graph's TIMES executions in iteration iter, each at the next training draw. */
static int run_step(Runtime *rt, const Graph *g, long iter)
{
    for (int k = 0; k < g->times; k++) {
        draw_inputs(rt, g, rt->seed, rt->draw++);
        call_graph(rt, g);
        if (check_finite(rt, g, iter) != 0)
            return 1;
    }
    return 0;
}

uint64_t derived_key(const Runtime *rt, const char *salt) { return rt->seed ^ rng_stream_id(salt); }

/* ----- evaluation (--eval, --eval-values) -------------------------------------------------- */

/* The tensors of `path` replace the values of the eval graph's leaves they name. */
/* The overlay's view of the model (policy.h): a leaf is used if g reads it. */
typedef struct Overlay {
    Runtime *rt;
    const Graph *g;
} Overlay;

static int overlay_find(void *ctx, const char *name, GanDims *dims)
{
    const Overlay *o = ctx;
    int leaf = find_leaf(&o->rt->m, name), used = 0;
    if (leaf < 0)
        return -1;
    for (int k = 0; k < o->g->nuse; k++)
        used |= o->g->use[k] == leaf;
    *dims = o->rt->m.leaves[leaf].dims;
    return used;
}

static void overlay_set(void *ctx, const char *name, const double *values)
{
    const Overlay *o = ctx;
    Leaf *l = &o->rt->m.leaves[find_leaf(&o->rt->m, name)];
    from_double(o->rt->m.is_f64, l->data, values, dims_count(&l->dims));
}

static int overlay_values(Runtime *rt, const Graph *g, const char *path)
{
    Overlay o = {rt, g};
    const PolicyLeaves leaves = {&o, overlay_find, overlay_set};
    char err[512];
    return policy_overlay(path, &leaves, err, sizeof err) != 0 ? rt_error(rt, "%s", err) : 0;
}

/* One run of the eval graph on the seeded values at draw 0 (as `ganc eval`), overridden by the
 * --eval-values file; every output, under its own name, to the -o file in the model's dtype. */
int evaluate(Runtime *rt)
{
    if (rt->m.eval < 0)
        return rt_error(rt, "this model has no eval graph");
    if (dist_rank() != 0) /* the eval graph is whole: rank 0 alone evaluates and writes */
        return 0;
    const Graph *g = &rt->m.graphs[rt->m.eval];
    draw_inputs(rt, g, rt->seed, 0);
    if (rt->opt.eval_in && overlay_values(rt, g, rt->opt.eval_in) != 0)
        return 1;
    call_graph(rt, g);
    StFile out = {0};
    for (int k = 0; k < g->nout; k++) {
        const Output *o = &g->out[k];
        to_double(rt->m.is_f64, o->data, rt->scratch, dims_count(&o->dims));
        st_add(&out, o->name, o->dims.ndim, o->dims.dim, rt->scratch);
    }
    char err[512];
    int rc = st_write(rt->opt.eval_out, &out, rt->m.is_f64, err, sizeof err) != 0 ? rt_error(rt, "%s", err) : 0;
    st_free(&out);
    return rc;
}

/* ----- training ---------------------------------------------------------------------------- */

static int is_snapshot_point(const Runtime *rt, long iter)
{
    return iter == rt->steps || (rt->m.sample_every > 0 && iter % rt->m.sample_every == 0);
}


/* SIGINT or SIGTERM arrived during iteration iter, now finished: checkpoint it (unless that was
 * just done) and say where; the exit status is 130 or 143. */
static int stop_on_signal(Runtime *rt, long iter, int checkpointed)
{
    if (dist_rank() != 0) /* rank 0 writes and reports; the others only stop */
        return 128 + guard_signal();
    if (!checkpointed && write_checkpoint(rt, iter) != 0)
        return 1;
    if (rt->log)
        fflush(rt->log);
    progress_end(rt);
    char *step = strdup(out_path(rt, "ckpt/step_%ld.safetensors", iter));
    int rc = guard_report_stop(rt->exe, guard_signal(), iter, step ? step : "", out_path(rt, "ckpt/last.safetensors"));
    free(step);
    return rc;
}

/* Iterations first_iter .. steps of the schedule: each step graph in order, TIMES times; 1 on
 * an error, 130 or 143 when stopped by a signal (guard.h). */
int train(Runtime *rt)
{
    rt->progress.enabled = !rt->opt.quiet && isatty(STDERR_FILENO) && dist_rank() == 0;
    rt->progress.start = now_seconds();
    guard_catch_signals();
    for (long iter = rt->first_iter; iter <= rt->steps; iter++) {
        rt->iter = iter;
        for (int i = 0; i < rt->m.ngraphs; i++) { /* the step graphs for this many ranks */
            const Graph *g = &rt->m.graphs[i];
            if (g->kind == GRAPH_STEP && g->ranks == dist_size() && run_step(rt, g, iter) != 0)
                return 1;
        }
        if (dist_rank() != 0) { /* the others hold the same parameters: rank 0 alone writes */
            if (guard_signal())
                return stop_on_signal(rt, iter, 1);
            continue;
        }
        if (is_log_point(rt, iter))
            write_log_line(rt, iter);
        progress_update(rt, iter);
        if (is_snapshot_point(rt, iter) && (write_samples(rt, iter) != 0 || write_checkpoint(rt, iter) != 0))
            return 1;
        if (rt->m.fid >= 0 && rt->m.fid_every > 0 && (iter % rt->m.fid_every == 0 || iter == rt->steps) &&
            log_fid(rt, iter) != 0)
            return 1;
        if (guard_signal())
            return stop_on_signal(rt, iter, is_snapshot_point(rt, iter));
    }
    progress_end(rt);
    return 0;
}


