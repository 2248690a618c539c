/* kernels.c: the tensor kernels that generated code calls for the ops it does not emit inline
 * (ganrt.h lists them): matmul (on gemm.c's products) and the three convolutions, and the shape ops and
 * reductions (broadcast, reduce, permute, slice, pad, concat). Float convolutions go to oneDNN
 * (conv_dnnl.c) and fall back to the im2col kernels here when it refuses a shape.
 *
 * Part of libganrt. Their semantics are those of the reference interpreter (compiler/interp.c),
 * which tests/test_kernels.c checks them against op by op. Each kernel is written once, in
 * kernels_impl.h, and instantiated here for float (_f32) and double (_f64). This file holds what
 * does not depend on the element type: index walks, the conv geometry and a scratch buffer.
 *
 * Every kernel overwrites its output. The shape ops (gather, scatter, pad's zeros) and reductions
 * split large jobs across the --threads pool (pool.c) in static row ranges, so a result does not
 * depend on the split. Graph functions call kernels one at a time (BLAS parallelises
 * inside a call), so the kernels share one scratch buffer; it grows to the largest patch matrix
 * during the first training iteration and is not reallocated after that. */
#include "ganrt.h"
#include "conv_dnnl.h"
#include "gemm.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KMAXDIM = 8 }; /* the IR has at most 4 axes; checkpoints allow 8 */

/* ----- scratch --------------------------------------------------------------------------- */

static void *scratch;
static size_t scratch_bytes;

static void free_scratch(void)
{
    free(scratch);
    scratch = NULL;
    scratch_bytes = 0;
}

/* A buffer of at least `bytes`, reused across calls; its contents are not preserved. */
static void *kernel_scratch(size_t bytes)
{
    if (bytes <= scratch_bytes)
        return scratch;
    if (!scratch_bytes)
        atexit(free_scratch); /* freed at exit so a leak check of the program stays clean */
    free(scratch);
    scratch = malloc(bytes);
    if (!scratch) {
        fprintf(stderr, "ganrt: out of memory (kernel scratch of %zu bytes)\n", bytes);
        abort();
    }
    scratch_bytes = bytes;
    return scratch;
}

/* ----- shapes and walks ------------------------------------------------------------------ */

static long element_count(const int *dims, int ndim)
{
    long n = 1;
    for (int k = 0; k < ndim; k++)
        n *= dims[k];
    return n;
}

/* Row-major strides: the distance in elements between neighbours along each axis. */
static void row_major_strides(const int *dims, int ndim, long *strides)
{
    long stride = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        strides[k] = stride;
        stride *= dims[k];
    }
}

static long dot_offset(const int *index, const long *strides, int ndim)
{
    long offset = 0;
    for (int k = 0; k < ndim; k++)
        offset += index[k] * strides[k];
    return offset;
}

/* An odometer over the multi-indices of a shape in row-major order, tracking base + sum_k
 * index[k] * stride[k], a position in another buffer. A zero stride repeats elements
 * (broadcast). The kernels walk all axes but the last this way and run the last one as a tight
 * loop, so the walk's cost is paid once per row, not once per element. */
typedef struct Walk {
    int ndim;
    int dims[KMAXDIM], index[KMAXDIM];
    long stride[KMAXDIM];
    long offset;
} Walk;

static void walk_init(Walk *w, int ndim, const int *dims, const long *stride, long base)
{
    memset(w, 0, sizeof *w);
    w->ndim = ndim;
    memcpy(w->dims, dims, sizeof(int) * (size_t)ndim);
    memcpy(w->stride, stride, sizeof(long) * (size_t)ndim);
    w->offset = base;
}

static void walk_next(Walk *w)
{
    for (int k = w->ndim - 1; k >= 0; k--) {
        w->offset += w->stride[k];
        if (++w->index[k] < w->dims[k])
            return;
        w->offset -= w->stride[k] * w->dims[k];
        w->index[k] = 0;
    }
}

/* Moves a fresh walk to the flat index `flat` of its shape. */
static void walk_seek(Walk *w, long flat)
{
    for (int k = w->ndim - 1; k >= 0; k--) {
        w->index[k] = (int)(flat % w->dims[k]);
        w->offset += w->index[k] * w->stride[k];
        flat /= w->dims[k];
    }
}

/* Merges neighbouring axes that a walk steps through as one: axis k into k+1 when
 * stride[k] == stride[k+1] * dims[k+1] (contiguous, or both repeated with stride 0), and drops
 * axes of size 1. The row-major order of the elements is unchanged, so is every result; the
 * walks get fewer, longer rows: a batch-norm statistic's broadcast of [C] to [N,C,H,W] runs as
 * rows of H*W instead of W (7 in a DCGAN), its sum over N,H,W likewise. Returns the new ndim. */
static int coalesce(int *dims, long *stride, int ndim)
{
    int n = 0;
    for (int k = 0; k < ndim; k++) {
        if (dims[k] == 1)
            continue;
        if (n > 0 && stride[n - 1] == stride[k] * dims[k]) {
            dims[n - 1] *= dims[k];
            stride[n - 1] = stride[k];
            continue;
        }
        dims[n] = dims[k];
        stride[n++] = stride[k];
    }
    return n;
}

/* How many pool parts a kernel splits `items` independent items (`work` element operations in
 * all) into: one when the work is too small to pay for waking the workers. */
static int parts_for(long work, long items)
{
    int threads = pool_threads();
    if (work < POOL_MIN_WORK || items < 2)
        return 1;
    return items < threads ? (int)items : threads;
}

/* Zeroes `bytes` bytes at p, split across the pool in static ranges when large (pad's border). */
typedef struct ZeroJob {
    char *p;
    size_t bytes;
} ZeroJob;

static void zero_part(void *ctx, int part, int nparts)
{
    const ZeroJob *job = ctx;
    size_t lo = job->bytes * (size_t)part / (size_t)nparts, hi = job->bytes * (size_t)(part + 1) / (size_t)nparts;
    memset(job->p + lo, 0, hi - lo);
}

static void zero_fill(void *p, size_t bytes, long elements)
{
    ZeroJob job = {p, bytes};
    pool_run(zero_part, &job, parts_for(elements, elements));
}

/* A shape seen as rows: `count` rows of `len` elements, a row's elements `step` apart in the
 * strided buffer; `lead` axes are walked to find each row. A scalar is one row of one. */
typedef struct Rows {
    int lead, len;
    long step, count;
} Rows;

static Rows rows_of(const int *dims, int ndim, const long *stride)
{
    Rows r = {0, 1, 0, 1};
    if (ndim > 0) {
        r.lead = ndim - 1;
        r.len = dims[ndim - 1];
        r.step = stride[ndim - 1];
        r.count = element_count(dims, ndim - 1);
    }
    return r;
}

/* A reduction's input axes split into the kept ones (in order, they are the output's axes) and
 * the reduced ones, each with its input strides. */
typedef struct ReducePlan {
    int nkept, nreduced;
    int kept_dims[KMAXDIM], reduced_dims[KMAXDIM];
    long kept_stride[KMAXDIM], reduced_stride[KMAXDIM];
    long out_count;
} ReducePlan;

static ReducePlan reduce_plan(const int *in_dims, int ndim, unsigned axes)
{
    ReducePlan p;
    memset(&p, 0, sizeof p);
    long in_stride[KMAXDIM];
    row_major_strides(in_dims, ndim, in_stride);
    for (int k = 0; k < ndim; k++) {
        if (axes & (1u << k)) {
            p.reduced_dims[p.nreduced] = in_dims[k];
            p.reduced_stride[p.nreduced++] = in_stride[k];
        } else {
            p.kept_dims[p.nkept] = in_dims[k];
            p.kept_stride[p.nkept++] = in_stride[k];
        }
    }
    p.out_count = element_count(p.kept_dims, p.nkept);
    p.nkept = coalesce(p.kept_dims, p.kept_stride, p.nkept);
    p.nreduced = coalesce(p.reduced_dims, p.reduced_stride, p.nreduced);
    return p;
}

/* ----- conv geometry --------------------------------------------------------------------- */

/* A conv as matrices, as in the interpreter, but for the whole batch at once: the patch matrix
 * P[(c,p,q), (n,i,j)] = x[n, c, i*stride-pad+p, j*stride-pad+q] (0 in the padding) and the
 * output as Y[o, (n,i,j)] = y[n, o, i, j], so conv is Y = W P, its adjoint in x scatters W^T Y
 * back through the same map, and its adjoint in w is Y P^T. One GEMM per call whose inner or
 * outer size is N*OH*OW keeps BLAS efficient where one product per image (OH*OW columns, 49
 * in a DCGAN's last layer) would not be. */
typedef struct ConvGeom {
    int batch, channels, height, width; /* x [N, C, H, W]   */
    int out_channels, kernel_h, kernel_w; /* w [O, C, KH, KW] */
    int out_h, out_w;                   /* y [N, O, OH, OW] */
    int stride, pad;
    long patch_rows, patch_cols;        /* C*KH*KW, OH*OW   */
} ConvGeom;

static ConvGeom conv_geom(const int *xd, const int *wd, int stride, int pad)
{
    ConvGeom g = {
        .batch = xd[0], .channels = xd[1], .height = xd[2], .width = xd[3],
        .out_channels = wd[0], .kernel_h = wd[2], .kernel_w = wd[3],
        .out_h = (xd[2] + 2 * pad - wd[2]) / stride + 1,
        .out_w = (xd[3] + 2 * pad - wd[3]) / stride + 1,
        .stride = stride, .pad = pad,
    };
    g.patch_rows = (long)g.channels * g.kernel_h * g.kernel_w;
    g.patch_cols = (long)g.out_h * g.out_w;
    return g;
}

static long conv_image_size(const ConvGeom *g) { return (long)g->channels * g->height * g->width; }

/* The output positions i in [0, out_len) whose input position i*stride + offset falls inside
 * [0, in_len): a range [lo, hi), empty when hi <= lo. offset = kernel tap - pad. */
typedef struct Span {
    int lo, hi;
} Span;

static Span conv_span(int out_len, int in_len, int stride, int offset)
{
    Span s;
    s.lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    long room = (long)in_len - offset; /* i*stride < room */
    long hi = room <= 0 ? 0 : (room + stride - 1) / stride;
    s.hi = hi < out_len ? (int)hi : out_len;
    return s;
}

/* ----- the typed kernels ----------------------------------------------------------------- */

#define T float
#define S f32
#define CONV_LIBRARY conv_dnnl_f32
#define SUM_LANES 8
#include "kernels_impl.h"
#undef SUM_LANES
#undef T
#undef S
#undef CONV_LIBRARY

#define T double
#define S f64
#define SUM_LANES 1
#include "kernels_impl.h"
#undef SUM_LANES
#undef T
#undef S
