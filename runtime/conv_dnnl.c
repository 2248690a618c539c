/* conv_dnnl.c: the float convolutions of libganrt through oneDNN (Debian libdnnl-dev), the
 * library PyTorch uses for its CPU convolutions.
 *
 * Measured on the DCGAN shapes (docs/performance.md), oneDNN's convolutions take about two
 * thirds of the time of our batch-wide im2col + OpenBLAS GEMM, on one thread as on two, so
 * float convs go here; double convs (oneDNN has none) and shapes oneDNN refuses keep the im2col
 * kernels of kernels_impl.h.
 *
 * Threads: the batch is split into one chunk per --threads worker (runtime/pool.c) and each
 * worker runs oneDNN on its chunk with OpenMP limited to its own thread, so oneDNN's OpenMP pool
 * never starts and cannot spin against OpenBLAS's. The weight gradient is a sum over the batch:
 * each chunk's part goes to its own buffer and the parts are added in chunk order, so a given
 * thread count gives the same bits every run.
 *
 * Primitives are made once per (kind, shape, chunk) and kept: shapes are static, so after the
 * first iteration a conv costs its execution only. Each chunk has its own primitive and stream,
 * so no oneDNN object is used by two threads at once. */
#include "conv_dnnl.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

enum { MAX_PRIMITIVES = 256, MAX_PARTS = 64 };

typedef struct Primitive {
    ConvKind kind;
    int xd[4], wd[4], stride, pad; /* xd[0] is the chunk's batch */
    dnnl_primitive_t p;
    size_t scratch_bytes;          /* its scratchpad, which we pass it (user mode) */
} Primitive;

static Primitive primitives[MAX_PRIMITIVES];
static int nprimitives;
static dnnl_engine_t engine;
static dnnl_stream_t streams[MAX_PARTS];
static float *partial;              /* the weight gradient of chunks 1.. */
static size_t partial_bytes;
static void *scratch[MAX_PARTS];    /* each chunk's oneDNN scratchpad */
static size_t scratch_bytes[MAX_PARTS];

static void release(void)
{
    for (int i = 0; i < nprimitives; i++)
        dnnl_primitive_destroy(primitives[i].p);
    for (int k = 0; k < MAX_PARTS; k++)
        if (streams[k])
            dnnl_stream_destroy(streams[k]);
    if (engine)
        dnnl_engine_destroy(engine);
    free(partial);
    for (int k = 0; k < MAX_PARTS; k++)
        free(scratch[k]);
}

static int setup(int nparts)
{
    omp_set_num_threads(1); /* primitive creation too: oneDNN's OpenMP pool never starts */
    if (!engine) {
        if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
            return -1;
        atexit(release);
    }
    for (int k = 0; k < nparts; k++)
        if (!streams[k] && dnnl_stream_create(&streams[k], engine, dnnl_stream_default_flags) != dnnl_success)
            return -1;
    return 0;
}

/* *buf holds at least `need` bytes afterwards (its contents are not kept). */
static void grow(void **buf, size_t *bytes, size_t need)
{
    if (need <= *bytes)
        return;
    free(*buf);
    if (!(*buf = malloc(need))) {
        fprintf(stderr, "ganrt: out of memory (%zu bytes for a oneDNN convolution)\n", need);
        abort();
    }
    *bytes = need;
}

static void dims_of(dnnl_dims_t d, const int *v)
{
    for (int k = 0; k < 4; k++)
        d[k] = v[k];
}

/* The primitive of one conv (a chunk's batch in xd[0]), made and cached on first use. Its
 * scratchpad is ours to pass (oneDNN's own is one buffer for all threads), so chunks of the same
 * size can run the same primitive at once. */
static const Primitive *primitive(ConvKind kind, const int *xd, const int *wd, int stride, int pad)
{
    for (int i = 0; i < nprimitives; i++) {
        const Primitive *c = &primitives[i];
        if (c->kind == kind && !memcmp(c->xd, xd, sizeof c->xd) && !memcmp(c->wd, wd, sizeof c->wd) &&
            c->stride == stride && c->pad == pad)
            return c;
    }
    if (nprimitives == MAX_PRIMITIVES)
        return NULL;
    int oh = (xd[2] + 2 * pad - wd[2]) / stride + 1, ow = (xd[3] + 2 * pad - wd[3]) / stride + 1;
    dnnl_dims_t x, w, y = {xd[0], wd[0], oh, ow}, strides = {stride, stride}, pads = {pad, pad};
    dims_of(x, xd);
    dims_of(w, wd);
    dnnl_memory_desc_t xm, wm, ym;
    dnnl_convolution_desc_t fwd, desc;
    dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_primitive_attr_t attr = NULL;
    int ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
             dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&xm, 4, x, dnnl_f32, dnnl_nchw) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&wm, 4, w, dnnl_f32, dnnl_oihw) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&ym, 4, y, dnnl_f32, dnnl_nchw) == dnnl_success &&
             dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &xm,
                                                &wm, NULL, &ym, strides, pads, pads) == dnnl_success &&
             dnnl_primitive_desc_create(&fwd_pd, &fwd, attr, engine, NULL) == dnnl_success;
    if (ok && kind == CONV_BACKWARD_DATA)
        ok = dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &xm, &wm, &ym, strides,
                                                      pads, pads) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &desc, attr, engine, fwd_pd) == dnnl_success;
    if (ok && kind == CONV_BACKWARD_WEIGHTS)
        ok = dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &xm, &wm, NULL, &ym,
                                                         strides, pads, pads) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &desc, attr, engine, fwd_pd) == dnnl_success;
    size_t scratch_size = 0;
    if (ok) {
        const_dnnl_primitive_desc_t used = kind == CONV_FORWARD ? fwd_pd : pd;
        scratch_size = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(used, dnnl_query_scratchpad_md, 0));
        ok = dnnl_primitive_create(&p, used) == dnnl_success;
    }
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (!ok)
        return NULL;
    Primitive *c = &primitives[nprimitives++];
    *c = (Primitive){.kind = kind, .stride = stride, .pad = pad, .p = p, .scratch_bytes = scratch_size};
    memcpy(c->xd, xd, sizeof c->xd);
    memcpy(c->wd, wd, sizeof c->wd);
    return c;
}

/* One conv job: the whole batch's operands and where each chunk's primitive is. */
typedef struct ConvJob {
    ConvKind kind;
    const float *x, *w, *y;  /* in the conv's own terms: image, kernel, output */
    float *out_x, *out_w, *out_y;
    int xd[4], wd[4], oh, ow;
    const Primitive *p[MAX_PARTS];
    int failed[MAX_PARTS];
} ConvJob;

static long chunk_start(int batch, int part, int nparts) { return (long)batch * part / nparts; }

static dnnl_memory_t memory(const int *dims4, dnnl_format_tag_t tag, const void *data)
{
    dnnl_dims_t d;
    dims_of(d, dims4);
    dnnl_memory_desc_t md;
    dnnl_memory_t m = NULL;
    if (dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, tag) == dnnl_success)
        dnnl_memory_create(&m, &md, engine, (void *)data);
    return m;
}

static void run_chunk(void *ctx, int part, int nparts)
{
    ConvJob *job = ctx;
    omp_set_num_threads(1); /* this thread's OpenMP regions: oneDNN runs on it alone */
    long lo = chunk_start(job->xd[0], part, nparts), hi = chunk_start(job->xd[0], part + 1, nparts);
    int xd[4] = {(int)(hi - lo), job->xd[1], job->xd[2], job->xd[3]}, yd[4] = {xd[0], job->wd[0], job->oh, job->ow};
    long x_off = lo * xd[1] * xd[2] * xd[3], y_off = lo * yd[1] * yd[2] * yd[3];
    const float *x = job->kind == CONV_BACKWARD_DATA ? job->out_x : job->x;
    const float *y = job->kind == CONV_FORWARD ? job->out_y : job->y;
    const float *w = job->kind == CONV_BACKWARD_WEIGHTS
                         ? (part == 0 ? job->out_w : partial + (size_t)(part - 1) * (size_t)(job->wd[0] * job->wd[1] * job->wd[2] * job->wd[3]))
                         : job->w;
    dnnl_memory_t xm = memory(xd, dnnl_nchw, x + x_off), wm = memory(job->wd, dnnl_oihw, w),
                  ym = memory(yd, dnnl_nchw, y + y_off), sm = NULL;
    dnnl_memory_desc_t smd;
    dnnl_dims_t sdims = {(dnnl_dim_t)job->p[part]->scratch_bytes};
    if (dnnl_memory_desc_init_by_tag(&smd, 1, sdims, dnnl_u8, dnnl_a) == dnnl_success)
        dnnl_memory_create(&sm, &smd, engine, scratch[part]);
    int src = job->kind == CONV_BACKWARD_DATA ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC;
    int wgt = job->kind == CONV_BACKWARD_WEIGHTS ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_WEIGHTS;
    int dst = job->kind == CONV_FORWARD ? DNNL_ARG_DST : DNNL_ARG_DIFF_DST;
    dnnl_exec_arg_t args[] = {{src, xm}, {wgt, wm}, {dst, ym}, {DNNL_ARG_SCRATCHPAD, sm}};
    if (!xm || !wm || !ym || !sm || dnnl_primitive_execute(job->p[part]->p, streams[part], 4, args) != dnnl_success ||
        dnnl_stream_wait(streams[part]) != dnnl_success)
        job->failed[part] = 1; /* the caller redoes the whole conv with im2col */
    dnnl_memory_destroy(xm);
    dnnl_memory_destroy(wm);
    dnnl_memory_destroy(ym);
    dnnl_memory_destroy(sm);
}

int conv_dnnl_f32(ConvKind kind, const float *a, const float *b, float *out, const int *xd,
                  const int *wd, int stride, int pad)
{
    int nparts = pool_threads() < xd[0] ? pool_threads() : xd[0];
    if (nparts > MAX_PARTS)
        nparts = MAX_PARTS;
    if (setup(nparts) != 0)
        return -1;
    ConvJob job = {.kind = kind};
    memcpy(job.xd, xd, sizeof job.xd);
    memcpy(job.wd, wd, sizeof job.wd);
    job.oh = (xd[2] + 2 * pad - wd[2]) / stride + 1;
    job.ow = (xd[3] + 2 * pad - wd[3]) / stride + 1;
    if (kind == CONV_FORWARD)
        job.x = a, job.w = b, job.out_y = out;
    else if (kind == CONV_BACKWARD_DATA)
        job.w = a, job.y = b, job.out_x = out;
    else
        job.x = a, job.y = b, job.out_w = out;
    for (int k = 0; k < nparts; k++) {
        int chunk[4] = {(int)(chunk_start(xd[0], k + 1, nparts) - chunk_start(xd[0], k, nparts)), xd[1], xd[2], xd[3]};
        if (!(job.p[k] = primitive(kind, chunk, wd, stride, pad)))
            return -1;
        grow(&scratch[k], &scratch_bytes[k], job.p[k]->scratch_bytes + 1);
    }
    size_t wsize = (size_t)wd[0] * (size_t)(wd[1] * wd[2] * wd[3]);
    if (kind == CONV_BACKWARD_WEIGHTS)
        grow((void **)&partial, &partial_bytes, sizeof(float) * wsize * (size_t)(nparts - 1) + 1);
    pool_run(run_chunk, &job, nparts);
    for (int k = 0; k < nparts; k++)
        if (job.failed[k])
            return -1;
    for (int k = 1; kind == CONV_BACKWARD_WEIGHTS && k < nparts; k++) /* chunk order: fixed bits */
        for (size_t i = 0; i < wsize; i++)
            out[i] += partial[(size_t)(k - 1) * wsize + i];
    return 0;
}
