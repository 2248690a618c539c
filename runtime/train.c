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

#include "rt.h"
#include "rng.h"


/* Whether any of n elements is a NaN or an infinity (all exponent bits set). This runs over
 * every updated tensor after every step, so it tests the bits in fixed-size blocks, a loop
 * compilers vectorise (about twice as fast as isfinite element by element). */
#define DEFINE_ANY_NONFINITE(name, T, UINT, EXPONENT)                                          \
    static int name(const T *x, long n)                                                        \
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

static void fill_leaf(Runtime *rt, Leaf *l, uint64_t key, uint64_t draw)
{
    long n = dims_count(&l->dims), rows = l->dims.ndim ? l->dims.dim[0] : 1;
    double *values = rt->m.is_f64 ? l->data : rt->scratch;
    fill_values(&l->fill, key, l->name, draw, values, n, rows);
    if (!rt->m.is_f64)
        from_double(0, l->data, values, n);
}

/* Parameters and state at their initial values (draw 0 of the seed), as the interpreter does;
 * parameters first, since a state may start as a copy of one (the running average of `ema`). */
void init_leaves(Runtime *rt)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < rt->m.nleaves; i++) {
            Leaf *l = &rt->m.leaves[i];
            if (l->role != (pass == 0 ? ROLE_PARAM : ROLE_STATE))
                continue;
            int source = l->fill.kind == FILL_COPY ? find_leaf(&rt->m, l->fill.source) : -1;
            if (source >= 0)
                memcpy(l->data, rt->m.leaves[source].data, (size_t)dims_count(&l->dims) * (rt->m.is_f64 ? 8 : 4));
            else
                fill_leaf(rt, l, rt->seed, 0);
        }
}

/* Every input leaf of g at one draw: one execution's inputs share a draw number. */
void draw_inputs(Runtime *rt, const Graph *g, uint64_t key, uint64_t draw)
{
    for (int k = 0; k < g->nuse; k++) {
        Leaf *l = &rt->m.leaves[g->use[k]];
        if (l->role != ROLE_INPUT)
            continue;
        if (l->fill.kind == FILL_PROGRESS) { /* (iteration - 1) / iterations, for learning-rate decay */
            double progress = rt->steps > 0 && rt->iter > 0 ? (double)(rt->iter - 1) / (double)rt->steps : 0;
            from_double(rt->m.is_f64, l->data, &progress, 1);
        } else
            fill_leaf(rt, l, key, draw);
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
static int overlay_values(Runtime *rt, const Graph *g, const char *path)
{
    StFile f = {0};
    char err[512], have[96], want[96];
    int rc = 0;
    if (st_read(path, &f, err, sizeof err) != 0)
        rc = rt_error(rt, "%s", err);
    for (int i = 0; rc == 0 && i < f.count; i++) {
        const StTensor *t = &f.tensors[i];
        int leaf = find_leaf(&rt->m, t->name), used = 0;
        for (int k = 0; k < g->nuse && leaf >= 0; k++)
            used |= g->use[k] == leaf;
        if (leaf < 0) {
            rc = rt_error(rt, "%s: '%s' is not a parameter, state or input of this experiment", path,
                          t->name);
            break;
        }
        if (!used) {
            rc = rt_error(rt, "%s: the evaluation does not use '%s' (to evaluate a checkpoint, use "
                          "--resume CKPT --eval)", path, t->name);
            break;
        }
        Leaf *l = &rt->m.leaves[leaf];
        Dims d = tensor_dims(t);
        if (!dims_equal(&d, &l->dims))
            rc = rt_error(rt, "%s: '%s' has shape %s, but the model's is %s", path, t->name,
                          dims_text(have, sizeof have, &d), dims_text(want, sizeof want, &l->dims));
        else
            from_double(rt->m.is_f64, l->data, t->data, dims_count(&l->dims));
    }
    st_free(&f);
    return rc;
}

/* One run of the eval graph on the seeded values at draw 0 (as `ganc eval`), overridden by the
 * --eval-values file; every output, under its own name, to the -o file in the model's dtype. */
int evaluate(Runtime *rt)
{
    if (rt->m.eval < 0)
        return rt_error(rt, "this model has no eval graph");
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


/* Iterations first_iter .. steps of the schedule: each step graph in order, TIMES times. */
int train(Runtime *rt)
{
    rt->progress.enabled = !rt->opt.quiet && isatty(STDERR_FILENO);
    rt->progress.start = now_seconds();
    for (long iter = rt->first_iter; iter <= rt->steps; iter++) {
        rt->iter = iter;
        for (int i = 0; i < rt->m.ngraphs; i++)
            if (rt->m.graphs[i].kind == GRAPH_STEP && run_step(rt, &rt->m.graphs[i], iter) != 0)
                return 1;
        if (is_log_point(rt, iter))
            write_log_line(rt, iter);
        progress_update(rt, iter);
        if (is_snapshot_point(rt, iter) && (write_samples(rt, iter) != 0 || write_checkpoint(rt, iter) != 0))
            return 1;
        if (rt->m.fid >= 0 && rt->m.fid_every > 0 && (iter % rt->m.fid_every == 0 || iter == rt->steps) &&
            log_fid(rt, iter) != 0)
            return 1;
    }
    progress_end(rt);
    return 0;
}


