/* conv_dnnl.c: the float convolutions of libganrt through oneDNN (Debian libdnnl-dev), the
 * library PyTorch uses for its CPU convolutions.
 *
 * Measured on the DCGAN shapes (docs/performance.md), oneDNN's convolutions take about two
 * thirds of the time of our batch-wide im2col + OpenBLAS GEMM, on one thread as on two, so
 * float convs go here; double convs (oneDNN has none) and shapes oneDNN refuses keep the im2col
 * kernels of kernels_impl.h. Our tensors are plain NCHW; where oneDNN has a direct JIT kernel on
 * its blocked layouts, the conv runs there between reorders (layouts() below), since on plain
 * tensors it has only its gemm convolution with a separate im2col.
 *
 * Threads: the batch is split into one chunk per --threads worker (runtime/pool.c) and each
 * worker runs oneDNN on its chunk with OpenMP limited to its own thread, so oneDNN's OpenMP pool
 * never starts and cannot spin against OpenBLAS's. The weight gradient is a sum over the batch:
 * it is cut into sub-batches of BF_UNIT images whatever the thread count, each sub-batch's part
 * goes to its own buffer and the parts are added in order, so its bits do not depend on the
 * thread count, and its float chains stay short (units()).
 *
 * Primitives are made once per (kind, shape, chunk) and kept: shapes are static, so after the
 * first iteration a conv costs its execution only. Each chunk has its own stream and workspace
 * (the scratchpad and the reordered operands); chunks of one size share a primitive and its
 * reorders, which oneDNN runs on several threads at once when each passes its own scratchpad. */
#include "conv_dnnl.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

enum { MAX_PRIMITIVES = 256, MAX_PARTS = 64, MAX_UNITS = 1024 };

/* The operands' roles, in the conv's own terms: image, kernel, output. */
enum { ROLE_X, ROLE_W, ROLE_Y, NROLES };

typedef struct Primitive {
    ConvKind kind;
    int xd[4], wd[4], stride, pad; /* xd[0] is the chunk's batch */
    dnnl_primitive_t p;
    dnnl_memory_desc_t md[NROLES]; /* the layouts the primitive works on (see layouts()) */
    dnnl_primitive_t reorder[NROLES]; /* from/to plain NCHW/OIHW; NULL where it works on plain */
    size_t bytes[NROLES];          /* an operand's buffer in its working layout, 0 where plain */
    size_t scratch_bytes;          /* its scratchpad and the reorders', which we pass (user mode) */
} Primitive;

static Primitive primitives[MAX_PRIMITIVES];
static int nprimitives;
static dnnl_engine_t engine;
static dnnl_stream_t streams[MAX_PARTS];
static float *partial;              /* the weight gradient of conv_bf's units 1.. */
static size_t partial_bytes;
static void *scratch[MAX_PARTS];    /* each chunk's oneDNN scratchpad */
static size_t scratch_bytes[MAX_PARTS];

static void release(void)
{
    for (int i = 0; i < nprimitives; i++) {
        dnnl_primitive_destroy(primitives[i].p);
        for (int r = 0; r < NROLES; r++)
            if (primitives[i].reorder[r])
                dnnl_primitive_destroy(primitives[i].reorder[r]);
    }
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

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* *buf holds at least `need` bytes afterwards (its contents are not kept). */
static void grow(void **buf, size_t *bytes, size_t need)
{
    if (need <= *bytes)
        return;
    free(*buf);
    if (!(*buf = aligned_alloc(64, align64(need)))) { /* oneDNN's vector stores: whole cache lines */
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

static void dims_of_output(dnnl_dims_t y, const int *xd, const int *wd, int stride, int pad)
{
    y[0] = xd[0], y[1] = wd[0];
    y[2] = (xd[2] + 2 * pad - wd[2]) / stride + 1, y[3] = (xd[3] + 2 * pad - wd[3]) / stride + 1;
}

/* The role whose operand a conv of this kind writes. */
static int output_role(ConvKind kind)
{
    return kind == CONV_FORWARD ? ROLE_Y : kind == CONV_BACKWARD_DATA ? ROLE_X : ROLE_W;
}

/* A conv's primitive descriptor on the layouts `tag` (plain, or dnnl_format_tag_any: oneDNN's
 * choice) for the three roles; NULL if oneDNN refuses. */
static dnnl_primitive_desc_t conv_pd(ConvKind kind, const int *xd, const int *wd, int stride, int pad,
                                     dnnl_format_tag_t xtag, dnnl_format_tag_t wtag, const_dnnl_primitive_attr_t attr)
{
    dnnl_dims_t x, w, y, strides = {stride, stride}, pads = {pad, pad};
    dims_of(x, xd);
    dims_of(w, wd);
    dims_of_output(y, xd, wd, stride, pad);
    dnnl_memory_desc_t xm, wm, ym;
    dnnl_convolution_desc_t fwd, desc;
    dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
    int ok = dnnl_memory_desc_init_by_tag(&xm, 4, x, dnnl_f32, xtag) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&wm, 4, w, dnnl_f32, wtag) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&ym, 4, y, dnnl_f32, xtag) == dnnl_success &&
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
    if (kind == CONV_FORWARD)
        return ok ? fwd_pd : NULL;
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    return ok ? pd : NULL;
}

static size_t scratch_of(const_dnnl_primitive_desc_t pd)
{
    return dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
}

static const dnnl_query_t role_query[3][NROLES] = {
    [CONV_FORWARD] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
    [CONV_BACKWARD_DATA] = {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
    [CONV_BACKWARD_WEIGHTS] = {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md},
};

/* Whether a layout pads a role's channels to its block (conv_bd's one-channel image as
 * nChw16c: sixteen times the work, measured 10x slower than the gemm convolution). */
static int padded(const_dnnl_primitive_desc_t pd, ConvKind kind)
{
    for (int r = 0; r < NROLES; r++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, role_query[kind][r], 0);
        for (int k = 0; k < md->ndims; k++)
            if (md->padded_dims[k] != md->dims[k])
                return 1;
    }
    return 0;
}

/* The layouts of a conv. On plain NCHW tensors oneDNN 2.6 has only its gemm convolution (an
 * im2col copy, a col2im for conv_bd, then a GEMM): that copy took a third of the DCGAN convs'
 * time (docs/performance.md). Its direct JIT convolutions want blocked layouts (nChw16c, and
 * blocked kernels), so where oneDNN's own choice (format `any`) is a direct JIT kernel, the conv
 * runs on those with reorders from and to plain around it; where it would still be gemm or a
 * reference kernel, on plain tensors as before. Either way one fixed kernel per shape: the same
 * bits every run. All three kinds: conv_bd's direct kernel is as accurate as the gemm one (2e-7
 * of the largest element on the DCGAN shapes), and conv_bf's is once its sums are cut into
 * sub-batches (units() below). An earlier version kept the adjoints on gemm after the float eval
 * graphs of gp0_fmnist and wgan_gp_fmnist at batch 64 moved past 1e-4 from the interpreter's:
 * that was one leaky_relu of D's second layer whose input is within rounding of 0, a kink
 * that any two float implementations may take on different sides (docs/performance.md). */
static dnnl_primitive_desc_t layouts(ConvKind kind, const int *xd, const int *wd, int stride, int pad,
                                     const_dnnl_primitive_attr_t attr)
{
    if (!getenv("GANRT_DNNL_PLAIN")) {
        dnnl_primitive_desc_t pd = conv_pd(kind, xd, wd, stride, pad, dnnl_format_tag_any, dnnl_format_tag_any, attr);
        const char *impl = NULL;
        if (pd && dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
            !strncmp(impl, "jit:", 4) && !padded(pd, kind))
            return pd;
        if (pd)
            dnnl_primitive_desc_destroy(pd);
    }
    return conv_pd(kind, xd, wd, stride, pad, dnnl_nchw, dnnl_oihw, attr);
}

/* The reorder of one role between plain and the primitive's layout (NULL where they agree):
 * from plain for an operand the conv reads, to plain for the one it writes. */
static int role_reorder(Primitive *c, int role, const dnnl_memory_desc_t *plain, const_dnnl_primitive_attr_t attr)
{
    if (dnnl_memory_desc_equal(&c->md[role], plain))
        return 0;
    int out = role == output_role(c->kind);
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_reorder_primitive_desc_create(&pd, out ? &c->md[role] : plain, engine, out ? plain : &c->md[role],
                                           engine, attr) != dnnl_success)
        return -1;
    size_t s = scratch_of(pd);
    c->scratch_bytes = s > c->scratch_bytes ? s : c->scratch_bytes;
    c->bytes[role] = dnnl_memory_desc_get_size(&c->md[role]);
    int ok = dnnl_primitive_create(&c->reorder[role], pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    return ok ? 0 : -1;
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
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success)
        return NULL;
    dnnl_primitive_desc_t pd = NULL;
    Primitive *c = &primitives[nprimitives];
    *c = (Primitive){.kind = kind, .stride = stride, .pad = pad};
    memcpy(c->xd, xd, sizeof c->xd);
    memcpy(c->wd, wd, sizeof c->wd);
    int ok = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success &&
             (pd = layouts(kind, xd, wd, stride, pad, attr)) && dnnl_primitive_create(&c->p, pd) == dnnl_success;
    if (ok) {
        c->scratch_bytes = scratch_of(pd);
        dnnl_dims_t dims[NROLES];
        dims_of(dims[ROLE_X], xd);
        dims_of(dims[ROLE_W], wd);
        dims_of_output(dims[ROLE_Y], xd, wd, stride, pad);
        for (int r = 0; ok && r < NROLES; r++) {
            c->md[r] = *dnnl_primitive_desc_query_md(pd, role_query[kind][r], 0);
            dnnl_memory_desc_t plain;
            ok = dnnl_memory_desc_init_by_tag(&plain, 4, dims[r], dnnl_f32, r == ROLE_W ? dnnl_oihw : dnnl_nchw) ==
                     dnnl_success &&
                 role_reorder(c, r, &plain, attr) == 0;
        }
    }
    dnnl_primitive_attr_destroy(attr);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (!ok)
        return NULL; /* what it made leaks: a shape oneDNN refuses falls back to im2col once */
    nprimitives++;
    return c;
}

/* The bytes a chunk's workspace takes: the scratchpad, then each operand in its working layout. */
static size_t workspace_bytes(const Primitive *c)
{
    size_t n = align64(c->scratch_bytes);
    for (int r = 0; r < NROLES; r++)
        n += align64(c->bytes[r]);
    return n + 64;
}

/* One conv job: the whole batch's operands and where each unit's primitive is. */
typedef struct ConvJob {
    ConvKind kind;
    const float *x, *w, *y;  /* in the conv's own terms: image, kernel, output */
    float *out_x, *out_w, *out_y;
    int xd[4], wd[4], oh, ow;
    int nunits, nparts;      /* units of the batch (see units()), spread over nparts workers */
    size_t blocked_floats;   /* conv_bf: each unit's weight gradient in the blocked layout (or 0) */
    const Primitive *p[MAX_UNITS];
    int failed[MAX_PARTS];
} ConvJob;

static long chunk_start(int batch, int part, int nparts) { return (long)batch * part / nparts; }

static dnnl_memory_t memory_of(const dnnl_memory_desc_t *md, const void *data)
{
    dnnl_memory_t m = NULL;
    dnnl_memory_create(&m, md, engine, (void *)data);
    return m;
}

static dnnl_memory_t memory(const int *dims4, dnnl_format_tag_t tag, const void *data)
{
    dnnl_dims_t d;
    dims_of(d, dims4);
    dnnl_memory_desc_t md;
    return dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, tag) == dnnl_success ? memory_of(&md, data) : NULL;
}

static int execute(dnnl_primitive_t p, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t *args)
{
    return dnnl_primitive_execute(p, stream, nargs, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success
               ? 0
               : -1;
}

/* The scratchpad memory at the start of a workspace. */
static dnnl_memory_t scratchpad(const Primitive *c, char *work)
{
    dnnl_memory_desc_t smd;
    dnnl_dims_t sdims = {(dnnl_dim_t)c->scratch_bytes + 1};
    return dnnl_memory_desc_init_by_tag(&smd, 1, sdims, dnnl_u8, dnnl_a) == dnnl_success ? memory_of(&smd, work) : NULL;
}

/* Runs one chunk's conv: the plain operands `user` (x, w, y), reordered into the workspace
 * first where the primitive works on blocked layouts, and its output reordered back, or left in
 * its blocked layout at `blocked_out` when that is not NULL (conv_bf's units, added there). */
static int run_primitive(const Primitive *c, dnnl_stream_t stream, dnnl_memory_t user[NROLES], char *work,
                         void *blocked_out)
{
    dnnl_memory_t m[NROLES] = {0}, sm = scratchpad(c, work);
    int ok = sm != NULL, out = output_role(c->kind);
    char *next = work + align64(c->scratch_bytes);
    for (int r = 0; r < NROLES; r++) {
        m[r] = c->reorder[r] ? memory_of(&c->md[r], r == out && blocked_out ? blocked_out : next) : user[r];
        next += align64(c->bytes[r]);
        ok = ok && m[r];
    }
    for (int r = 0; ok && r < NROLES; r++)
        if (c->reorder[r] && r != out) {
            dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, user[r]}, {DNNL_ARG_TO, m[r]}, {DNNL_ARG_SCRATCHPAD, sm}};
            ok = execute(c->reorder[r], stream, 3, args) == 0;
        }
    int src = c->kind == CONV_BACKWARD_DATA ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC;
    int wgt = c->kind == CONV_BACKWARD_WEIGHTS ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_WEIGHTS;
    int dst = c->kind == CONV_FORWARD ? DNNL_ARG_DST : DNNL_ARG_DIFF_DST;
    dnnl_exec_arg_t args[] = {{src, m[ROLE_X]}, {wgt, m[ROLE_W]}, {dst, m[ROLE_Y]}, {DNNL_ARG_SCRATCHPAD, sm}};
    ok = ok && execute(c->p, stream, 4, args) == 0;
    if (ok && c->reorder[out] && !blocked_out) {
        dnnl_exec_arg_t back[] = {{DNNL_ARG_FROM, m[out]}, {DNNL_ARG_TO, user[out]}, {DNNL_ARG_SCRATCHPAD, sm}};
        ok = execute(c->reorder[out], stream, 3, back) == 0;
    }
    for (int r = 0; r < NROLES; r++)
        if (c->reorder[r])
            dnnl_memory_destroy(m[r]);
    dnnl_memory_destroy(sm);
    return ok ? 0 : -1;
}

/* The batch's units: one per worker for conv and conv_bd (each image's output is its own), and
 * for conv_bf (a sum over the batch) sub-batches of about BF_UNIT images, each summed into its own
 * buffer and the buffers added in unit order. oneDNN's direct weight-gradient kernel adds each
 * weight's N*OH*OW terms in one float chain: sums over BF_UNIT images at a time keep that chain as
 * short as the gemm convolution's (tests/test_kernels.c's DCGAN case), and since the units do not
 * depend on the thread count, neither do the weight gradient's bits. The units' sums stay in
 * oneDNN's blocked layout until the last (blocked_floats()): one reorder to plain, not one each.
 * Sub-batches of 4 images: 5.3 ms on D's second layer, error 3.1e-7; 8: 4.9 ms, 4.2e-7; 16:
 * 4.7 ms, 7.4e-7; the whole batch 4.9 ms, 2e-6 (bench/conv_shapes, one thread). */
enum { BF_UNIT = 8 };
#define BF_BYTES (64.0 * 1024 * 1024)

static int units(ConvKind kind, int batch, const int *wd, int nparts)
{
    if (kind != CONV_BACKWARD_WEIGHTS)
        return nparts;
    /* each unit holds a copy of the weights: at most BF_BYTES of them (a 512x512x4x4 kernel has
     * 16 MB), or one per worker; fewer, larger units where the weights are that large */
    double wbytes = sizeof(float) * (double)wd[0] * wd[1] * wd[2] * wd[3];
    int n = (batch + BF_UNIT - 1) / BF_UNIT, most = (int)(BF_BYTES / wbytes);
    most = most < nparts ? nparts : most;
    n = n > most ? most : n;
    return n > MAX_UNITS ? MAX_UNITS : n;
}

/* Unit u's conv on its images: its operands' rows and, for conv_bf, its own weight buffer. */
static int run_unit(ConvJob *job, int u, int part)
{
    long lo = chunk_start(job->xd[0], u, job->nunits), hi = chunk_start(job->xd[0], u + 1, job->nunits);
    int xd[4] = {(int)(hi - lo), job->xd[1], job->xd[2], job->xd[3]}, yd[4] = {xd[0], job->wd[0], job->oh, job->ow};
    long x_off = lo * xd[1] * xd[2] * xd[3], y_off = lo * yd[1] * yd[2] * yd[3];
    size_t wsize = (size_t)job->wd[0] * (size_t)(job->wd[1] * job->wd[2] * job->wd[3]);
    const float *x = job->kind == CONV_BACKWARD_DATA ? job->out_x : job->x;
    const float *y = job->kind == CONV_FORWARD ? job->out_y : job->y;
    const float *w = job->kind != CONV_BACKWARD_WEIGHTS ? job->w : u == 0 ? job->out_w : partial + (size_t)(u - 1) * wsize;
    float *blocked = job->blocked_floats ? partial + (size_t)u * job->blocked_floats : NULL;
    dnnl_memory_t user[NROLES] = {memory(xd, dnnl_nchw, x + x_off), memory(job->wd, dnnl_oihw, w),
                                  memory(yd, dnnl_nchw, y + y_off)};
    char *work = (char *)align64((size_t)scratch[part]);
    int ok = user[ROLE_X] && user[ROLE_W] && user[ROLE_Y] && run_primitive(job->p[u], streams[part], user, work, blocked) == 0;
    for (int r = 0; r < NROLES; r++)
        dnnl_memory_destroy(user[r]);
    return ok ? 0 : -1;
}

static void run_chunk(void *ctx, int part, int nparts)
{
    ConvJob *job = ctx;
    omp_set_num_threads(1); /* this thread's OpenMP regions: oneDNN runs on it alone */
    for (long u = chunk_start(job->nunits, part, nparts); u < chunk_start(job->nunits, part + 1, nparts); u++)
        if (run_unit(job, (int)u, part) != 0)
            job->failed[part] = 1; /* the caller redoes the whole conv with im2col */
}

/* out += the other units' weight gradients (at parts, n floats each), in unit order, each element
 * on its own: split across the workers by elements, the same bits whatever the split. */
typedef struct AddJob {
    float *out;
    const float *parts;
    size_t n;
    int nunits;
} AddJob;

static void add_part(void *ctx, int part, int nparts)
{
    AddJob *a = ctx;
    size_t lo = a->n * (size_t)part / (size_t)nparts, hi = a->n * (size_t)(part + 1) / (size_t)nparts;
    for (int u = 1; u < a->nunits; u++) {
        const float *p = a->parts + (size_t)(u - 1) * a->n;
        for (size_t i = lo; i < hi; i++)
            a->out[i] += p[i];
    }
}

static void add_units(float *out, const float *parts, size_t n, int nunits)
{
    AddJob add = {out, parts, n, nunits};
    long work = (long)n * (nunits - 1);
    pool_run(add_part, &add, work < POOL_MIN_WORK ? 1 : pool_threads());
}

/* Whether conv_bf's units can be added in their blocked layout and reordered to plain once (one
 * reorder instead of one per unit): every unit's primitive writes the same blocked layout. The
 * sums are the same, element for element, as in plain. */
static size_t blocked_floats(const ConvJob *job)
{
    const Primitive *first = job->p[0];
    if (job->kind != CONV_BACKWARD_WEIGHTS || job->nunits < 2 || !first->reorder[ROLE_W])
        return 0;
    for (int u = 1; u < job->nunits; u++)
        if (!job->p[u]->reorder[ROLE_W] || !dnnl_memory_desc_equal(&job->p[u]->md[ROLE_W], &first->md[ROLE_W]))
            return 0;
    return align64(first->bytes[ROLE_W]) / sizeof(float);
}

/* The blocked sum of conv_bf's units (at partial) reordered into the plain weight gradient. */
static int reorder_units(const ConvJob *job, float *out)
{
    const Primitive *c = job->p[0];
    dnnl_memory_t from = memory_of(&c->md[ROLE_W], partial), to = memory(job->wd, dnnl_oihw, out);
    dnnl_memory_t sm = scratchpad(c, (char *)align64((size_t)scratch[0]));
    dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, sm}};
    int ok = from && to && sm && execute(c->reorder[ROLE_W], streams[0], 3, args) == 0;
    dnnl_memory_destroy(from);
    dnnl_memory_destroy(to);
    dnnl_memory_destroy(sm);
    return ok ? 0 : -1;
}

int conv_dnnl_f32(ConvKind kind, const float *a, const float *b, float *out, const int *xd,
                  const int *wd, int stride, int pad)
{
    int nparts = pool_threads() < xd[0] ? pool_threads() : xd[0];
    if (nparts > MAX_PARTS)
        nparts = MAX_PARTS;
    if (setup(nparts) != 0)
        return -1;
    ConvJob job = {.kind = kind, .nparts = nparts, .nunits = units(kind, xd[0], wd, nparts)};
    if (job.nunits < nparts)
        nparts = job.nparts = job.nunits;
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
    size_t need = 0;
    for (int u = 0; u < job.nunits; u++) {
        int chunk[4] = {(int)(chunk_start(xd[0], u + 1, job.nunits) - chunk_start(xd[0], u, job.nunits)), xd[1],
                        xd[2], xd[3]};
        if (!(job.p[u] = primitive(kind, chunk, wd, stride, pad)))
            return -1;
        size_t bytes = workspace_bytes(job.p[u]);
        need = bytes > need ? bytes : need;
    }
    for (int k = 0; k < nparts; k++)
        grow(&scratch[k], &scratch_bytes[k], need);
    size_t wsize = (size_t)wd[0] * (size_t)(wd[1] * wd[2] * wd[3]);
    job.blocked_floats = blocked_floats(&job);
    if (kind == CONV_BACKWARD_WEIGHTS)
        grow((void **)&partial, &partial_bytes,
             sizeof(float) * (job.blocked_floats ? job.blocked_floats * (size_t)job.nunits
                                                 : wsize * (size_t)(job.nunits - 1)) + 64);
    pool_run(run_chunk, &job, nparts);
    for (int k = 0; k < nparts; k++)
        if (job.failed[k])
            return -1;
    if (job.blocked_floats) {
        add_units(partial, partial + job.blocked_floats, job.blocked_floats, job.nunits);
        return reorder_units(&job, out);
    }
    if (kind == CONV_BACKWARD_WEIGHTS && job.nunits > 1)
        add_units(out, partial, wsize, job.nunits);
    return 0;
}
