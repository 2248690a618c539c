/* policy.c: the policy of a training run shared by libganrt and the interpreter (policy.h). */
#include "policy.h"

#include <stdio.h>
#include <string.h>

#include "fill.h"
#include "safetensors.h"

int policy_init_pass(LeafRole role) { return role == ROLE_PARAM ? 0 : role == ROLE_STATE ? 1 : -1; }

void policy_initial_value(const LeafInit *init, const char *name, uint64_t seed, const double *source,
                          double *out, long size, long rows)
{
    if (init->kind == INIT_COPY)
        memcpy(out, source, sizeof(double) * (size_t)size);
    else
        fill_values(init, seed, name, 0, out, size, rows);
}

double policy_progress(long iter, long steps)
{
    return steps > 0 && iter > 0 ? (double)(iter - 1) / (double)steps : 0;
}

void policy_draw_input(const LeafInit *init, const char *name, uint64_t key, uint64_t draw, double progress,
                       double *out, long size, long rows)
{
    policy_draw_shard(init, name, key, draw, progress, out, size, rows, 1, 0);
}

void policy_draw_shard(const LeafInit *init, const char *name, uint64_t key, uint64_t draw, double progress,
                       double *out, long size, long rows, int shards, int rank)
{
    long part = rows / shards;
    if (init->kind == INIT_PROGRESS)
        out[0] = progress;
    else
        fill_rows(init, key, name, draw, out, size, rows, rank * part, part);
}

int policy_is_log_point(long iter, long every, long steps)
{
    if (every <= 0)
        every = 100;
    return iter == 1 || iter % every == 0 || iter == steps;
}

/* "[8,2]" */
static const char *shape_text(char *buf, size_t len, int ndim, const int64_t *dim)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < ndim && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, k ? ",%lld" : "%lld", (long long)dim[k]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

/* One tensor of the file against the leaf of its name. */
static int overlay_one(const char *path, const StTensor *t, const PolicyLeaves *leaves, char *err, size_t errlen)
{
    GanDims want = {0, {0}};
    int found = leaves->find(leaves->ctx, t->name, &want);
    if (found < 0) {
        snprintf(err, errlen, "%s: '%s' is not a parameter, state or input of this experiment", path, t->name);
        return 1;
    }
    if (found == 0) {
        snprintf(err, errlen, "%s: the evaluation does not use '%s' (to evaluate a checkpoint, use --resume CKPT "
                 "--eval)", path, t->name);
        return 1;
    }
    int same = t->ndim == want.ndim;
    int64_t have[ST_MAXDIM];
    for (int k = 0; k < t->ndim; k++) {
        have[k] = t->shape[k];
        same &= k < want.ndim && have[k] == want.dim[k];
    }
    if (!same) {
        char a[160], b[160];
        snprintf(err, errlen, "%s: '%s' has the wrong shape %s (the experiment's is %s)", path, t->name,
                 shape_text(a, sizeof a, t->ndim, have), shape_text(b, sizeof b, (int)want.ndim, want.dim));
        return 1;
    }
    leaves->set(leaves->ctx, t->name, t->data);
    return 0;
}

int policy_overlay(const char *path, const PolicyLeaves *leaves, char *err, size_t errlen)
{
    StFile f = {0};
    int rc = st_read_finite(path, &f, err, (int)errlen) != 0;
    for (int i = 0; rc == 0 && i < f.count; i++)
        rc = overlay_one(path, &f.tensors[i], leaves, err, errlen);
    st_free(&f);
    return rc;
}
