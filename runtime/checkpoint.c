/* checkpoint.c: ckpt/step_N.safetensors and ckpt/last.safetensors, and --resume.
 *
 * A checkpoint stores every param and state leaf with the draw counter, the iteration and the
 * seed, in the model's dtype (float64 if a counter would not fit a float exactly), so a run
 * resumed from it is bit-identical to one that never stopped. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* ----- checkpoints ------------------------------------------------------------------------- */

static const char *const counter_names[] = {"__iteration", "__draw", "__seed"};
enum { COUNTERS = 3 };

/* The checkpoint's tensors, in leaf order, then the counters; their data is refreshed before
 * each write, so writing allocates nothing of ours. */
void prepare_checkpoint(Runtime *rt)
{
    const double zero = 0;
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role == ROLE_INPUT)
            continue;
        memset(rt->scratch, 0, sizeof(double) * (size_t)dims_count(&l->dims));
        st_add(&rt->ckpt, l->name, l->dims.ndim, l->dims.dim, rt->scratch);
    }
    for (int c = 0; c < COUNTERS; c++)
        st_add(&rt->ckpt, counter_names[c], 0, NULL, &zero);
}

static int exact_in_float(uint64_t v) { return (uint64_t)(float)v == v; }

/* ckpt/step_<iter>.safetensors and ckpt/last.safetensors, each written atomically. */
int write_checkpoint(Runtime *rt, long iter)
{
    StTensor *t = rt->ckpt.tensors;
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role != ROLE_INPUT)
            to_double(rt->m.is_f64, l->data, (t++)->data, dims_count(&l->dims));
    }
    const uint64_t counters[COUNTERS] = {(uint64_t)iter, rt->draw, rt->seed};
    int as_f64 = rt->m.is_f64;
    for (int c = 0; c < COUNTERS; c++) {
        t[c].data[0] = (double)counters[c];
        as_f64 |= !exact_in_float(counters[c]); /* an F32 file could not hold it exactly */
    }
    char err[512];
    if (st_write(out_path(rt, "ckpt/step_%ld.safetensors", iter), &rt->ckpt, as_f64, err, sizeof err) != 0 ||
        st_write(out_path(rt, "ckpt/last.safetensors"), &rt->ckpt, as_f64, err, sizeof err) != 0)
        return rt_error(rt, "%s", err);
    return 0;
}

/* A counter: a scalar holding a whole number in [0, 2^53]. */
static int read_counter(Runtime *rt, const StFile *f, const char *path, const char *name, uint64_t *out)
{
    const StTensor *t = st_find(f, name);
    double v = t && t->ndim == 0 ? t->data[0] : -1;
    if (!(v >= 0 && v <= (double)MAX_EXACT_SEED && v == floor(v)))
        return rt_error(rt, "%s: '%s' is missing or is not a count (not a checkpoint of this runtime?)",
                        path, name);
    *out = (uint64_t)v;
    return 0;
}

Dims tensor_dims(const StTensor *t)
{
    Dims d = {t->ndim, {0}}; /* more axes than a leaf has: never equal to its dims */
    for (int k = 0; k < t->ndim && k < MAXDIM; k++)
        d.dim[k] = t->shape[k];
    return d;
}

/* Every param and state leaf must be in the file with its shape. */
static int check_checkpoint_leaves(Runtime *rt, const StFile *f, const char *path)
{
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role == ROLE_INPUT)
            continue;
        const StTensor *t = st_find(f, l->name);
        if (!t)
            return rt_error(rt, "%s: no tensor '%s' (a %s of this model)", path, l->name,
                            l->role == ROLE_PARAM ? "parameter" : "state tensor");
        Dims d = tensor_dims(t);
        char have[96], want[96];
        if (!dims_equal(&d, &l->dims))
            return rt_error(rt, "%s: '%s' has shape %s, but the model's is %s", path, l->name,
                            dims_text(have, sizeof have, &d), dims_text(want, sizeof want, &l->dims));
    }
    return 0;
}

/* --resume: parameters, state and counters from the file; the run continues at the iteration
 * after the checkpoint's with its draw counter and seed. */
int load_checkpoint(Runtime *rt, const char *path)
{
    StFile f = {0};
    char err[512];
    uint64_t iteration, draw, seed;
    int rc = 1;
    if (st_read_finite(path, &f, err, sizeof err) != 0)
        rc = rt_error(rt, "%s", err);
    else if (check_checkpoint_leaves(rt, &f, path) == 0 &&
             read_counter(rt, &f, path, "__iteration", &iteration) == 0 &&
             read_counter(rt, &f, path, "__draw", &draw) == 0 &&
             read_counter(rt, &f, path, "__seed", &seed) == 0) {
        if (rt->opt.has_seed && rt->opt.seed != seed) {
            rc = rt_error(rt, "%s: the run used seed %llu, but --seed %llu was given", path,
                          (unsigned long long)seed, (unsigned long long)rt->opt.seed);
        } else {
            for (int i = 0; i < rt->m.nleaves; i++) {
                Leaf *l = &rt->m.leaves[i];
                if (l->role != ROLE_INPUT)
                    from_double(rt->m.is_f64, l->data, st_find(&f, l->name)->data, dims_count(&l->dims));
            }
            rt->first_iter = (long)iteration + 1;
            rt->draw = draw;
            rt->seed = seed;
            rc = 0;
        }
    }
    st_free(&f);
    return rc;
}

