/* load.c: the model the compiler emitted (contract.h), checked and copied into the driver's
 * Model (rt.h), which adds storage to it.
 *
 * Nothing is parsed: the model is C structs. What is checked is what the driver relies on and a
 * C compiler cannot see: counts and indices in range, names present and unique, shapes within
 * GAN_MAXDIM, updates that write a param or state of their own shape, logs of scalar values,
 * samplers that exist and fit their leaf. A failure is a bug in ganc (or in a hand-written model
 * such as the tests'), reported as an internal error naming the record. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "samplers.h"

enum { COUNT_MAX = INT32_MAX }; /* dimensions fit an int: the kernels take int dims */
#define BYTES_MAX (1L << 40)

typedef struct Loader {
    Model *m;
    const GanModel *src;
    char *err;
    size_t errlen;
} Loader;

__attribute__((format(printf, 2, 3)))
static int fail(Loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err, ld->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_name(Loader *ld, const char *what, int index, const char *name)
{
    return name && *name ? 0 : fail(ld, "%s %d has no name", what, index);
}

static int check_dims(Loader *ld, const char *name, const Dims *d)
{
    if (d->ndim < 0 || d->ndim > MAXDIM)
        return fail(ld, "'%s' has %lld axes (at most %d)", name, (long long)d->ndim, MAXDIM);
    for (int k = 0; k < d->ndim; k++)
        if (d->dim[k] < 1 || d->dim[k] > COUNT_MAX)
            return fail(ld, "'%s' has dimension %lld on axis %d", name, (long long)d->dim[k], k);
    return 0;
}

/* A data leaf's sampler exists, takes that many arguments (the rest take its defaults) and
 * writes rows * dim values. */
static int load_sampler(Loader *ld, Leaf *l)
{
    LeafInit *f = &l->fill;
    const SamplerInfo *s = f->sampler ? sampler_find(f->sampler) : NULL;
    if (!s)
        return fail(ld, "'%s': unknown sampler '%s'", l->name, f->sampler ? f->sampler : "(none)");
    if (f->nargs < 0 || f->nargs > s->nparams)
        return fail(ld, "'%s': %s takes %d arguments, not %d", l->name, f->sampler, s->nparams, f->nargs);
    for (int i = f->nargs; i < s->nparams; i++)
        f->args[i] = s->defaults[i];
    long rows = l->dims.ndim ? l->dims.dim[0] : 1;
    if (rows * s->dim != dims_count(&l->dims))
        return fail(ld, "%s draws %d values per row, which does not fit %s's shape", f->sampler, s->dim, l->name);
    return 0;
}

static int load_leaf(Loader *ld, int i)
{
    const GanLeaf *src = &ld->src->leaves[i];
    Leaf *l = &ld->m->leaves[i];
    *l = (Leaf){src->name, (LeafRole)src->role, src->dims, src->init, NULL};
    if (check_name(ld, "leaf", i, l->name) != 0 || check_dims(ld, l->name, &l->dims) != 0)
        return -1;
    if (src->role < ROLE_PARAM || src->role > ROLE_INPUT)
        return fail(ld, "'%s' has role %lld", l->name, (long long)src->role);
    if (find_leaf(ld->m, l->name) >= 0) /* the leaves before this one */
        return fail(ld, "leaf '%s' declared twice", l->name);
    LeafInit *f = &l->fill;
    if ((unsigned)f->kind >= INIT_KIND_COUNT)
        return fail(ld, "'%s' has initialiser kind %d", l->name, (int)f->kind);
    if ((f->kind == INIT_FILE || f->kind == INIT_LABELS || f->kind == INIT_TENSOR) && !f->file)
        return fail(ld, "'%s' is a %s leaf but names no file", l->name, init_kind_name(f->kind));
    if (f->kind == INIT_LABELS && f->classes < 1)
        return fail(ld, "'%s' holds one-hot labels but gives no number of classes", l->name);
    if (f->kind == INIT_COPY && !f->source)
        return fail(ld, "'%s' is a copy of no leaf", l->name);
    if (f->points < 0 || f->points > COUNT_MAX)
        return fail(ld, "'%s' asks for %lld points", l->name, (long long)f->points);
    return f->kind == INIT_DATA ? load_sampler(ld, l) : 0;
}

/* Copies run after every leaf is loaded: a source may come later in the list. */
static int check_copies(Loader *ld)
{
    for (int i = 0; i < ld->m->nleaves; i++) {
        const Leaf *l = &ld->m->leaves[i];
        if (l->fill.kind != INIT_COPY)
            continue;
        int source = find_leaf(ld->m, l->fill.source);
        if (source < 0 || !dims_equal(&ld->m->leaves[source].dims, &l->dims))
            return fail(ld, "'%s' copies '%s', which is not a leaf of its shape", l->name, l->fill.source);
    }
    return 0;
}

static int load_output(Loader *ld, const Graph *g, const GanOutput *src, Output *o)
{
    *o = (Output){src->is_update, src->name, src->dims, src->leaf, NULL};
    if (!o->name || !*o->name)
        return fail(ld, "an output of graph %s has no name", g->name);
    if (check_dims(ld, o->name, &o->dims) != 0)
        return -1;
    if (!o->is_update)
        return 0;
    if (g->kind != GRAPH_STEP)
        return fail(ld, "graph %s is not a step but updates '%s'", g->name, o->name);
    if (o->leaf < 0 || o->leaf >= ld->m->nleaves || ld->m->leaves[o->leaf].role == ROLE_INPUT ||
        strcmp(ld->m->leaves[o->leaf].name, o->name) != 0)
        return fail(ld, "'%s' is updated but is not a param or state of that name", o->name);
    if (!dims_equal(&o->dims, &ld->m->leaves[o->leaf].dims))
        return fail(ld, "the update of '%s' does not have its shape", o->name);
    return 0;
}

/* The eval, sample and fid graphs: at most one each, found by role. */
static int *role_slot(Model *m, GraphRole role)
{
    return role == GRAPH_EVAL ? &m->eval : role == GRAPH_SAMPLE ? &m->sample : role == GRAPH_FID ? &m->fid : NULL;
}

static int load_graph(Loader *ld, int i)
{
    const GanGraph *src = &ld->src->graphs[i];
    Graph *g = &ld->m->graphs[i];
    *g = (Graph){.name = src->name, .net = src->net, .kind = (GraphRole)src->role, .times = src->times,
                 .arena_bytes = (long)src->arena_bytes, .nuse = src->nuse, .use = src->use,
                 .use_split = src->use_split, .ranks = (int)src->ranks, .fn = src->fn};
    if (check_name(ld, "graph", i, g->name) != 0)
        return -1;
    if (src->role < GRAPH_STEP || src->role > GRAPH_FID)
        return fail(ld, "graph %s has role %d", g->name, src->role);
    if (find_graph(ld->m, g->name) < i)
        return fail(ld, "graph '%s' declared twice", g->name);
    if (src->ranks < 1 || src->ranks > COUNT_MAX || (src->ranks > 1 && g->kind != GRAPH_STEP))
        return fail(ld, "graph %s is for %lld ranks", g->name, (long long)src->ranks);
    int *slot = role_slot(ld->m, g->kind);
    if (slot && *slot >= 0)
        return fail(ld, "graph %s is a second graph of its role", g->name);
    if (slot)
        *slot = i;
    if (g->times < 1 || !g->fn || g->nuse < 0 || src->nout < 0 || g->arena_bytes < 0 || g->arena_bytes > BYTES_MAX ||
        (g->nuse && !g->use) || (src->nout && !src->out))
        return fail(ld, "graph %s: times %d, %d leaves, %d outputs, %ld arena bytes%s", g->name, g->times, g->nuse,
                    src->nout, g->arena_bytes, g->fn ? "" : ", no function");
    if (g->nuse && !g->use_split)
        return fail(ld, "graph %s says of no use whether it is split", g->name);
    for (int k = 0; k < g->nuse; k++) {
        if (g->use[k] < 0 || g->use[k] >= ld->m->nleaves)
            return fail(ld, "graph %s uses leaf %d of %d", g->name, g->use[k], ld->m->nleaves);
        const Leaf *l = &ld->m->leaves[g->use[k]];
        /* a split use: an input whose leading dimension, the batch, splits into equal rows */
        if (g->use_split[k] != 0 && (g->use_split[k] != 1 || g->ranks < 2 || l->role != ROLE_INPUT ||
                                     l->dims.ndim < 1 || l->dims.dim[0] % g->ranks != 0))
            return fail(ld, "graph %s (%d ranks) splits '%s' (split flag %d)", g->name, g->ranks, l->name,
                        g->use_split[k]);
    }
    g->out = xcalloc((size_t)src->nout, sizeof(Output));
    g->nout = src->nout; /* from here runtime_free may walk the outputs */
    for (int k = 0; k < g->nout; k++)
        if (load_output(ld, g, &src->out[k], &g->out[k]) != 0)
            return -1;
    return 0;
}

/* A logged value is a scalar value output of a step or eval graph; a sample, a value output of
 * the sample graph. */
static int check_value(Loader *ld, const char *label, int graph, long output, int scalar)
{
    const Model *m = ld->m;
    if (graph < 0 || graph >= m->ngraphs || output < 0 || output >= m->graphs[graph].nout)
        return fail(ld, "'%s' names output %ld of graph %d", label, output, graph);
    const Output *o = &m->graphs[graph].out[output];
    if (o->is_update || (scalar && dims_count(&o->dims) != 1))
        return fail(ld, "'%s' names %s of graph %s, which is not a %s", label, o->name, m->graphs[graph].name,
                    scalar ? "scalar value" : "value");
    return 0;
}

static int load_records(Loader *ld)
{
    Model *m = ld->m;
    for (int i = 0; i < m->nlogs; i++) {
        const GanLog *r = &m->logs[i];
        if (check_name(ld, "log", i, r->label) != 0 || check_value(ld, r->label, r->graph, r->output, 1) != 0)
            return -1;
        if (m->graphs[r->graph].kind != GRAPH_STEP && m->graphs[r->graph].kind != GRAPH_EVAL)
            return fail(ld, "a log of '%s', which is not a step or eval graph", m->graphs[r->graph].name);
    }
    for (int i = 0; i < m->nsamples; i++) {
        const GanSample *r = &m->samples[i];
        if (check_name(ld, "sample", i, r->label) != 0)
            return -1;
        if (m->sample < 0)
            return fail(ld, "a sample '%s' but no sample graph", r->label);
        if (check_value(ld, r->label, m->sample, (long)r->output, 0) != 0)
            return -1;
    }
    return 0;
}

static int load_header(Loader *ld)
{
    const GanModel *s = ld->src;
    Model *m = ld->m;
    *m = (Model){.name = s->name, .is_f64 = s->is_f64, .batch = s->batch, .iters = (long)s->iters,
                 .log_every = (long)s->log_every, .sample_every = (long)s->sample_every,
                 .fid_every = (long)s->fid_every, .seed = s->seed, .logs = s->logs, .nlogs = s->nlogs,
                 .samples = s->samples, .nsamples = s->nsamples, .eval = -1, .sample = -1, .fid = -1};
    if (!m->name || !*m->name)
        return fail(ld, "the model has no name");
    if (s->is_f64 != 0 && s->is_f64 != 1)
        return fail(ld, "is_f64 is %d", s->is_f64);
    if (s->seed > MAX_EXACT_SEED)
        return fail(ld, "the seed %llu is above 2^53", (unsigned long long)s->seed);
    const int64_t counts[] = {s->iters, s->log_every, s->sample_every, s->fid_every, s->batch,
                              s->nleaves, s->ngraphs, s->nlogs, s->nsamples};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (counts[i] < 0 || counts[i] > COUNT_MAX)
            return fail(ld, "a count of the header is %lld", (long long)counts[i]);
    if ((s->nleaves && !s->leaves) || (s->ngraphs && !s->graphs) || (s->nlogs && !s->logs) ||
        (s->nsamples && !s->samples))
        return fail(ld, "a record array is missing");
    m->leaves = xcalloc((size_t)s->nleaves, sizeof(Leaf));
    m->graphs = xcalloc((size_t)s->ngraphs, sizeof(Graph));
    return 0;
}

int model_load(Model *m, const GanModel *model, char *err, size_t errlen)
{
    Loader ld = {m, model, err, errlen};
    if (load_header(&ld) != 0)
        return -1;
    for (int i = 0; i < model->nleaves; i++, m->nleaves++)
        if (load_leaf(&ld, i) != 0)
            return -1;
    if (check_copies(&ld) != 0)
        return -1;
    for (int i = 0; i < model->ngraphs; i++)
        if (m->ngraphs++, load_graph(&ld, i) != 0) /* counted first: model_free frees its outputs */
            return -1;
    return load_records(&ld);
}

void model_free(Model *m)
{
    for (int i = 0; i < m->ngraphs; i++) {
        free(m->graphs[i].out);
        free(m->graphs[i].leaf_args);
        free(m->graphs[i].out_args);
    }
    free(m->leaves);
    free(m->graphs);
    memset(m, 0, sizeof *m);
}
