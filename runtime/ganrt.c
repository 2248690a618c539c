/* ganrt.c: libganrt's entry point, ganrt_main: everything a compiled experiment does besides
 * computing its graphs.
 *
 * An executable built by ganc holds the model as constant data, with one native function per
 * graph (contract.h); its main() calls ganrt_main, which checks the model and reads the command line,
 * checks the data sets, allocates every tensor once, initialises parameters, and then either
 * trains (train.c, with logs.c and checkpoint.c) or evaluates once (--eval, --eval-values, the
 * twin of `ganc eval`). The files of the driver share rt.h:
 *
 *   ganrt.c       the entry point, tensors and their storage
 *   load.c        the model from the compiler (contract.h), checked
 *   options.c     the command line
 *   train.c       initial values, draws, steps, the training loop, evaluation
 *   logs.c        the output directory, log.jsonl, the progress line, samples, FID
 *   checkpoint.c  checkpoints and --resume
 *
 * Data set leaves (kinds file and labels) are loaded and checked once at startup (fill_check),
 * before any storage is allocated, so a missing or malformed file ends the run at once. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "pool.h"
#include "dist.h"
#include "rt.h"

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "ganrt: out of memory\n");
        exit(1);
    }
    return p;
}

long dims_count(const Dims *d)
{
    long n = 1;
    for (int k = 0; k < d->ndim; k++)
        n *= d->dim[k];
    return n;
}

int dims_equal(const Dims *a, const Dims *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int k = 0; k < a->ndim; k++)
        if (a->dim[k] != b->dim[k])
            return 0;
    return 1;
}

/* "[8,2]" */
const char *dims_text(char *buf, size_t len, const Dims *d)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < d->ndim && k < MAXDIM && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, k ? ",%ld" : "%ld", d->dim[k]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

int find_leaf(const Model *m, const char *name)
{
    for (int i = 0; i < m->nleaves; i++)
        if (strcmp(m->leaves[i].name, name) == 0)
            return i;
    return -1;
}

int find_graph(const Model *m, const char *name)
{
    for (int i = 0; i < m->ngraphs; i++)
        if (strcmp(m->graphs[i].name, name) == 0)
            return i;
    return -1;
}

int find_output(const Graph *g, const char *name)
{
    for (int i = 0; i < g->nout; i++)
        if (strcmp(g->out[i].name, name) == 0)
            return i;
    return -1;
}

/* ----- tensors ------------------------------------------------------------------------------ */

static size_t element_size(const Model *m) { return m->is_f64 ? sizeof(double) : sizeof(float); }

/* Zeroed, TENSOR_ALIGN-aligned storage (aligned_alloc wants a multiple of the alignment). */
static void *alloc_aligned(size_t bytes)
{
    bytes = (bytes + TENSOR_ALIGN - 1) / TENSOR_ALIGN * TENSOR_ALIGN;
    void *p = aligned_alloc(TENSOR_ALIGN, bytes ? bytes : TENSOR_ALIGN);
    if (!p) {
        fprintf(stderr, "ganrt: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return memset(p, 0, bytes);
}

static void *alloc_tensor(const Model *m, long n) { return alloc_aligned((size_t)n * element_size(m)); }

void from_double(int is_f64, void *dst, const double *src, long n)
{
    if (is_f64)
        memcpy(dst, src, sizeof(double) * (size_t)n);
    else
        for (long i = 0; i < n; i++)
            ((float *)dst)[i] = (float)src[i];
}

double value_at(int is_f64, const void *p, long i)
{
    return is_f64 ? ((const double *)p)[i] : ((const float *)p)[i];
}

void to_double(int is_f64, const void *src, double *dst, long n)
{
    for (long i = 0; i < n; i++)
        dst[i] = value_at(is_f64, src, i);
}
__attribute__((format(printf, 2, 3)))
int rt_error(Runtime *rt, const char *fmt, ...)
{
    if (rt->progress.shown)
        fputc('\n', stderr);
    rt->progress.shown = 0;
    fprintf(stderr, "%s: error: ", rt->exe);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Storage for every leaf and value output, the shared arena, and the argument arrays of each
 * graph function, which never change afterwards. */
static void allocate(Runtime *rt)
{
    Model *m = &rt->m;
    long largest = 1, arena = 0;
    for (int i = 0; i < m->nleaves; i++) {
        long n = dims_count(&m->leaves[i].dims);
        m->leaves[i].data = alloc_tensor(m, n);
        largest = n > largest ? n : largest;
    }
    for (int i = 0; i < m->ngraphs; i++) {
        Graph *g = &m->graphs[i];
        g->leaf_args = xcalloc((size_t)g->nuse, sizeof(void *));
        g->out_args = xcalloc((size_t)g->nout, sizeof(void *));
        for (int k = 0; k < g->nuse; k++)
            g->leaf_args[k] = m->leaves[g->use[k]].data;
        for (int k = 0; k < g->nout; k++) {
            Output *o = &g->out[k];
            long n = dims_count(&o->dims);
            o->data = o->is_update ? m->leaves[o->leaf].data : alloc_tensor(m, n);
            g->out_args[k] = o->data;
            largest = n > largest ? n : largest;
        }
        arena = g->arena_bytes > arena ? g->arena_bytes : arena;
    }
    rt->arena = alloc_aligned((size_t)arena);
    rt->scratch = xcalloc((size_t)largest, sizeof(double));
}

static void runtime_free(Runtime *rt)
{
    Model *m = &rt->m;
    for (int i = 0; i < m->nleaves; i++)
        free(m->leaves[i].data);
    for (int i = 0; i < m->ngraphs; i++)
        for (int k = 0; k < m->graphs[i].nout; k++)
            if (!m->graphs[i].out[k].is_update)
                free(m->graphs[i].out[k].data);
    free(rt->arena);
    free(rt->scratch);
    for (int i = 0; rt->sample_stems && i < m->nsamples; i++)
        free(rt->sample_stems[i]);
    free(rt->sample_stems);
    free(rt->out_dir);
    free(rt->path);
    if (rt->log)
        fclose(rt->log);
    st_free(&rt->ckpt);
    record_free(&rt->record);
    free(rt->metadata);
    model_free(m);
}

static void print_summary(const Runtime *rt)
{
    printf("log:         %s/log.jsonl\n", rt->out_dir);
    if (rt->m.sample >= 0)
        printf("samples:     %s/samples/\n", rt->out_dir);
    printf("checkpoints: %s/ckpt/ (latest: %s/ckpt/last.safetensors)\n", rt->out_dir, rt->out_dir);
}

/* ----- the driver -------------------------------------------------------------------------- */

static const char *program_name(const char *argv0)
{
    if (!argv0 || !*argv0)
        return "ganrt";
    const char *slash = strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

/* Every data set a leaf draws from, loaded and checked against the leaf's shape once, so the
 * draws never fail (fill_values assumes fill_check passed). */
static int check_data_sets(Runtime *rt)
{
    char err[512];
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        long rows = l->dims.ndim ? l->dims.dim[0] : 1;
        if (fill_check(&l->fill, l->name, rows, dims_count(&l->dims) / rows, err, sizeof err) != 0)
            return rt_error(rt, "%s", err);
        const Dataset *d = l->fill.kind == INIT_FILE ? dataset_load(l->fill.file, err, sizeof err) : NULL;
        if (d && dataset_check_items(d, l->dims.ndim - 1, l->dims.dim + 1, err, sizeof err) != 0)
            return rt_error(rt, "%s", err); /* the same size, another shape: the file changed */
    }
    return 0;
}

/* On N ranks, the k-th step graph built for N ranks takes the place of the k-th whole-batch
 * step graph (it has the same outputs in the same order, so the logs that read that graph read
 * it); an executable built without N among its --ranks cannot run on N. */
static int select_rank_graphs(Runtime *rt)
{
    int size = dist_size(), next = 0, whole = 0;
    if (size == 1)
        return 0;
    while (whole < rt->m.ngraphs && rt->m.graphs[whole].ranks == 1) /* the split graphs follow these */
        whole++;
    for (int i = 0; i < whole; i++) {
        if (rt->m.graphs[i].kind != GRAPH_STEP || rt->m.graphs[i].ranks != 1)
            continue;
        while (next < rt->m.ngraphs && (rt->m.graphs[next].kind != GRAPH_STEP || rt->m.graphs[next].ranks != size))
            next++;
        if (next == rt->m.ngraphs)
            return rt_error(rt, "launched on %d ranks, but built without --ranks %d: rebuild with ganc FILE.gan "
                            "--ranks %d -o %s", size, size, size, rt->exe);
        Graph whole = rt->m.graphs[i];
        if (whole.nout != rt->m.graphs[next].nout || strcmp(whole.net, rt->m.graphs[next].net) != 0)
            return rt_error(rt, "internal error: graph %s does not match %s", rt->m.graphs[next].name, whole.name);
        rt->m.graphs[i] = rt->m.graphs[next];
        rt->m.graphs[next++] = whole;
    }
    return 0;
}

/* After the options: the ranks, data sets, storage, initial values or a checkpoint, then
 * evaluate or train (rank 0 alone writes files and prints). */
static int run(Runtime *rt)
{
    char err[300];
    if (dist_start(err, sizeof err) != 0)
        return rt_error(rt, "%s", err);
    if (check_data_sets(rt) != 0)
        return 1;
    if (rt->opt.has_threads)
        openblas_set_num_threads(rt->opt.threads);
    pool_start(rt->opt.has_threads ? rt->opt.threads : openblas_get_num_threads());
    allocate(rt); /* graph k's storage before the graphs change places */
    if (select_rank_graphs(rt) != 0)
        return 1;
    rt->seed = rt->opt.has_seed ? rt->opt.seed : rt->m.seed;
    rt->steps = rt->opt.has_steps ? rt->opt.steps : rt->m.iters;
    rt->first_iter = 1;
    init_leaves(rt);
    if (rt->opt.resume && load_checkpoint(rt, rt->opt.resume) != 0)
        return 1;
    if (rt->opt.eval || rt->opt.eval_in)
        return evaluate(rt);
    if (rt->first_iter > rt->steps) {
        if (!rt->opt.quiet)
            fprintf(stderr, "%s: nothing to train: the run is at iteration %ld and --steps is %ld\n",
                    rt->exe, rt->first_iter - 1, rt->steps);
        return 0;
    }
    if (dist_rank() == 0 && prepare_outputs(rt) != 0) /* the run lock included: rank 0's alone */
        return 1;
    int rc = train(rt); /* 1, or 130/143 when stopped by a signal */
    if (rc != 0)
        return rc;
    if (!rt->opt.quiet && dist_rank() == 0)
        print_summary(rt);
    return 0;
}

/* The format version first: the rest of the struct may mean something else in another one. */
static int check_version(const Runtime *rt, const GanModel *model)
{
    if (model->version == GANC_MODEL_FORMAT_VERSION)
        return 0;
    fprintf(stderr, "%s: error: the model was compiled with model format version %lld, but this libganrt "
            "reads version %d: rebuild the executable with the ganc of this libganrt\n", rt->exe,
            (long long)model->version, GANC_MODEL_FORMAT_VERSION);
    return 1;
}

int ganrt_main(const GanModel *model, int argc, char **argv)
{
    Runtime rt;
    memset(&rt, 0, sizeof rt);
    rt.exe = program_name(argc > 0 ? argv[0] : NULL);
    rt.argc = argc;
    rt.argv = argv;
    char err[512];
    int rc;
    if ((rc = check_version(&rt, model)) != 0)
        ;
    else if (model_load(&rt.m, model, err, sizeof err) != 0) {
        fprintf(stderr, "%s: internal error: the model is malformed: %s\n", rt.exe, err);
        rc = 1;
    } else if ((rc = parse_options(&rt, argc, argv)) == 0) {
        if (rt.opt.help)
            print_usage(&rt, stdout);
        else
            rc = run(&rt);
    }
    runtime_free(&rt);
    return rc;
}
