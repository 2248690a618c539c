/* kernels_impl.h: the body of every kernel of ganrt.h, written once for any element type.
 *
 * Private to libganrt: kernels.c includes it twice, with T (the element type), S (the name
 * suffix, f32 or f64), CONV_LIBRARY (a conv library's function for T, returning 0 when it did
 * the conv, or nothing) and SUM_LANES (see group_sum) defined, after the type-free
 * helpers it uses (Walk, Rows, ReducePlan, ConvGeom, kernel_scratch). No include guard, on
 * purpose. Each kernel follows the interpreter's definition of its op (compiler/interp.c). */

#ifndef KERNEL_NAME
#define KERNEL_CAT_(name, suffix) name##_##suffix
#define KERNEL_CAT(name, suffix) KERNEL_CAT_(name, suffix)
#define KERNEL_NAME(name) KERNEL_CAT(name, S) /* KERNEL_NAME(gather) -> gather_f32 */
#endif

/* ----- products (gemm.c) ------------------------------------------------------------ */

void KERNEL_NAME(ganrt_matmul)(int ta, int tb, int m, int n, int k, const T *a, const T *b, T *c)
{
    KERNEL_NAME(gemm)(ta, tb, m, n, k, a, b, (T)0, c);
}

void KERNEL_NAME(ganrt_matmul_acc)(int ta, int tb, int m, int n, int k, const T *a, const T *b, T *c)
{
    KERNEL_NAME(gemm)(ta, tb, m, n, k, a, b, (T)1, c);
}

/* ----- gather and scatter: every shape op is one of them -------------------------------- */

/* Gather and scatter copy rows between a dense buffer and a strided one: row `row` of the dense
 * side is elements row*len .. row*len + len - 1, its strided twin starts where the walk over the
 * lead axes is. Rows are disjoint on both sides, so a job's rows split across the pool in static
 * ranges give the same bytes whatever the split. */
typedef struct KERNEL_NAME(CopyJob) {
    T *dense;             /* gather: the output; scatter: the input (read only) */
    T *strided;           /* gather: the input (read only); scatter: the output */
    const int *dims;
    const long *stride;
    int ndim, to_dense;   /* 1: gather, 0: scatter */
    long base;
} KERNEL_NAME(CopyJob);

static void KERNEL_NAME(copy_rows)(void *ctx, int part, int nparts)
{
    const KERNEL_NAME(CopyJob) *job = ctx;
    Rows r = rows_of(job->dims, job->ndim, job->stride);
    long lo = r.count * part / nparts, hi = r.count * (part + 1) / nparts;
    Walk w;
    walk_init(&w, r.lead, job->dims, job->stride, job->base);
    walk_seek(&w, lo);
    for (long row = lo; row < hi; row++, walk_next(&w)) {
        T *dense = job->dense + row * r.len, *strided = job->strided + w.offset;
        if (r.step == 1)
            memcpy(job->to_dense ? dense : strided, job->to_dense ? strided : dense, sizeof(T) * (size_t)r.len);
        else if (job->to_dense && r.step == 0) { /* a broadcast's repeated element */
            T v = *strided; /* read once: the stores could alias it */
            for (int j = 0; j < r.len; j++)
                dense[j] = v;
        }
        else if (job->to_dense)
            for (int j = 0; j < r.len; j++)
                dense[j] = strided[j * r.step];
        else
            for (int j = 0; j < r.len; j++)
                strided[j * r.step] = dense[j];
    }
}

static void KERNEL_NAME(copy)(KERNEL_NAME(CopyJob) job)
{
    int dims[KMAXDIM];
    long stride[KMAXDIM];
    memcpy(dims, job.dims, sizeof(int) * (size_t)job.ndim);
    memcpy(stride, job.stride, sizeof(long) * (size_t)job.ndim);
    job.ndim = coalesce(dims, stride, job.ndim);
    job.dims = dims, job.stride = stride;
    long rows = job.ndim > 0 ? element_count(job.dims, job.ndim - 1) : 1;
    pool_run(KERNEL_NAME(copy_rows), &job, parts_for(element_count(job.dims, job.ndim), rows));
}

/* out[k] = in[offset of k] for every flat index k of the shape dims (out dense, in strided). */
static void KERNEL_NAME(gather)(T *out, const int *dims, int ndim, const T *in, const long *stride,
                                long base)
{
    KERNEL_NAME(copy)((KERNEL_NAME(CopyJob)){out, (T *)in, dims, stride, ndim, 1, base});
}

/* out[offset of k] = in[k] for every flat index k of the shape dims (in dense, out strided). */
static void KERNEL_NAME(scatter)(T *out, const long *stride, long base, const T *in,
                                 const int *dims, int ndim)
{
    KERNEL_NAME(copy)((KERNEL_NAME(CopyJob)){(T *)in, out, dims, stride, ndim, 0, base});
}

/* out's first block of `block` elements copied into blocks 1 .. reps - 1, whole blocks per part. */
typedef struct KERNEL_NAME(RepeatJob) {
    T *out;
    long block, reps;
} KERNEL_NAME(RepeatJob);

static void KERNEL_NAME(repeat_part)(void *ctx, int part, int nparts)
{
    const KERNEL_NAME(RepeatJob) *job = ctx;
    long lo = 1 + (job->reps - 1) * part / nparts, hi = 1 + (job->reps - 1) * (part + 1) / nparts;
    for (long k = lo; k < hi; k++)
        memcpy(job->out + k * job->block, job->out, sizeof(T) * (size_t)job->block);
}

/* The kept output axes step through the input's axes in order; the new axes repeat (stride 0).
 * Where the leading axes are new (a batch norm's [C] to [N,C,H,W], a bias to [N,F]) and the rest
 * is a block of some size, the first block is gathered and copied N - 1 times: a gather of a
 * repeated element stores rows of H*W copies, short ones (49 floats on a DCGAN layer), at a
 * fraction of memcpy's rate. A copy: the same bytes either way. */
void KERNEL_NAME(ganrt_broadcast)(const T *in, T *out, const int *out_dims, int ndim, unsigned kept)
{
    int in_dims[KMAXDIM] = {0}, in_ndim = 0;
    for (int i = 0; i < ndim; i++)
        if (kept & (1u << i))
            in_dims[in_ndim++] = out_dims[i];
    long in_stride[KMAXDIM], mapped[KMAXDIM];
    row_major_strides(in_dims, in_ndim, in_stride);
    for (int i = 0, a = 0; i < ndim; i++)
        mapped[i] = kept & (1u << i) ? in_stride[a++] : 0;
    int lead = 0;
    while (lead < ndim && !(kept & (1u << lead)))
        lead++;
    long reps = element_count(out_dims, lead), block = element_count(out_dims + lead, ndim - lead);
    if (lead == ndim || reps < 2 || block < 256) {
        KERNEL_NAME(gather)(out, out_dims, ndim, in, mapped, 0);
        return;
    }
    KERNEL_NAME(gather)(out, out_dims + lead, ndim - lead, in, mapped + lead, 0);
    KERNEL_NAME(RepeatJob) job = {out, block, reps};
    pool_run(KERNEL_NAME(repeat_part), &job, parts_for(block * (reps - 1), reps - 1));
}

/* Output axis i is input axis perm[i]: stepping along it moves by that input axis's stride. */
void KERNEL_NAME(ganrt_permute)(const T *in, T *out, const int *in_dims, int ndim, const int *perm)
{
    long in_stride[KMAXDIM], mapped[KMAXDIM];
    int out_dims[KMAXDIM];
    row_major_strides(in_dims, ndim, in_stride);
    for (int i = 0; i < ndim; i++) {
        out_dims[i] = in_dims[perm[i]];
        mapped[i] = in_stride[perm[i]];
    }
    KERNEL_NAME(gather)(out, out_dims, ndim, in, mapped, 0);
}

void KERNEL_NAME(ganrt_slice)(const T *in, T *out, const int *in_dims, const int *out_dims, int ndim,
                              const int *start)
{
    long in_stride[KMAXDIM];
    row_major_strides(in_dims, ndim, in_stride);
    KERNEL_NAME(gather)(out, out_dims, ndim, in, in_stride, dot_offset(start, in_stride, ndim));
}

void KERNEL_NAME(ganrt_pad)(const T *in, T *out, const int *in_dims, const int *out_dims, int ndim,
                            const int *before)
{
    long out_stride[KMAXDIM];
    row_major_strides(out_dims, ndim, out_stride);
    zero_fill(out, sizeof(T) * (size_t)element_count(out_dims, ndim), element_count(out_dims, ndim));
    KERNEL_NAME(scatter)(out, out_stride, dot_offset(before, out_stride, ndim), in, in_dims, ndim);
}

/* a fills the start of the concat axis, b the rest. */
void KERNEL_NAME(ganrt_concat)(const T *a, const T *b, T *out, const int *a_dims, const int *b_dims,
                               int ndim, int axis)
{
    int out_dims[KMAXDIM];
    long out_stride[KMAXDIM];
    memcpy(out_dims, a_dims, sizeof(int) * (size_t)ndim);
    out_dims[axis] += b_dims[axis];
    row_major_strides(out_dims, ndim, out_stride);
    KERNEL_NAME(scatter)(out, out_stride, 0, a, a_dims, ndim);
    KERNEL_NAME(scatter)(out, out_stride, a_dims[axis] * out_stride[axis], b, b_dims, ndim);
}

/* ----- reductions ----------------------------------------------------------------------- */

/* The sum of one output element's group, in double whatever T is. Contiguous rows go into
 * SUM_LANES (1 or 8) partial sums (element j of each run of SUM_LANES into lane j), added in
 * lane order at the end; the rest into lane 0. One lane (f64) visits the group in the input's
 * row-major order as the interpreter does, so f64 results agree with it bit for bit. Float sums
 * take 8: one chain of dependent double adds ran at a quarter of the adder's throughput (the
 * batch-norm statistics and bias gradients of a DCGAN: 3x slower), and in double the order
 * moves the sum by some 1e-16 of it, far below a float's rounding. Either way the order depends
 * on the shape only, never on the thread count. */
#if SUM_LANES == 8
typedef double KERNEL_NAME(Pair) __attribute__((vector_size(16)));

/* Adds src[0 .. n) (n a multiple of 8) into the 8 lanes: in four pairs of locals, so the lanes
 * stay in registers (an array of 8 went through memory on every add). */
static void KERNEL_NAME(add_runs)(double *lane, const T *src, int n)
{
    typedef KERNEL_NAME(Pair) Pair;
    Pair a0 = {lane[0], lane[1]}, a1 = {lane[2], lane[3]}, a2 = {lane[4], lane[5]}, a3 = {lane[6], lane[7]};
    for (int j = 0; j < n; j += 8) {
        a0 += (Pair){src[j], src[j + 1]};
        a1 += (Pair){src[j + 2], src[j + 3]};
        a2 += (Pair){src[j + 4], src[j + 5]};
        a3 += (Pair){src[j + 6], src[j + 7]};
    }
    lane[0] = a0[0], lane[1] = a0[1], lane[2] = a1[0], lane[3] = a1[1];
    lane[4] = a2[0], lane[5] = a2[1], lane[6] = a3[0], lane[7] = a3[1];
}
#endif

static double KERNEL_NAME(group_sum)(const T *in, const ReducePlan *p)
{
    Rows r = rows_of(p->reduced_dims, p->nreduced, p->reduced_stride);
    Walk w;
    walk_init(&w, r.lead, p->reduced_dims, p->reduced_stride, 0);
    double lane[SUM_LANES] = {0};
    for (long row = 0; row < r.count; row++, walk_next(&w)) {
        const T *src = in + w.offset;
        int j = 0;
#if SUM_LANES == 8
        if (r.step == 1)
            KERNEL_NAME(add_runs)(lane, src, j = r.len / 8 * 8);
#endif
        for (; j < r.len; j++)
            lane[0] += src[j * r.step];
    }
    double sum = 0;
    for (int k = 0; k < SUM_LANES; k++)
        sum += lane[k];
    return sum;
}

/* The value of the group's first maximal element: only a strictly greater one replaces it (so a
 * NaN in first place stays, later NaNs are passed over, as in the interpreter). */
static T KERNEL_NAME(group_max)(const T *in, const ReducePlan *p)
{
    Rows r = rows_of(p->reduced_dims, p->nreduced, p->reduced_stride);
    Walk w;
    walk_init(&w, r.lead, p->reduced_dims, p->reduced_stride, 0);
    T best = in[0];
    for (long row = 0; row < r.count; row++, walk_next(&w)) {
        const T *src = in + w.offset;
        for (int j = 0; j < r.len; j++)
            if (src[j * r.step] > best)
                best = src[j * r.step];
    }
    return best;
}

typedef struct KERNEL_NAME(ReduceJob) {
    const T *in;
    T *out;
    const ReducePlan *p;
    int is_max;
} KERNEL_NAME(ReduceJob);

/* Outputs [lo, hi) of part `part`: each output element (a walk over the kept axes) reduces its
 * group (a walk over the reduced axes) alone, so the split does not change any result. */
static void KERNEL_NAME(reduce_part)(void *ctx, int part, int nparts)
{
    const KERNEL_NAME(ReduceJob) *job = ctx;
    const ReducePlan *p = job->p;
    long lo = p->out_count * part / nparts, hi = p->out_count * (part + 1) / nparts;
    Walk w;
    walk_init(&w, p->nkept, p->kept_dims, p->kept_stride, 0);
    walk_seek(&w, lo);
    for (long o = lo; o < hi; o++, walk_next(&w))
        job->out[o] = job->is_max ? KERNEL_NAME(group_max)(job->in + w.offset, p)
                                  : (T)KERNEL_NAME(group_sum)(job->in + w.offset, p);
}

/* The reduced axes vanish from the output; the output elements are split across the pool. */
void KERNEL_NAME(ganrt_reduce)(const T *in, T *out, const int *in_dims, int ndim, unsigned axes,
                               int is_max)
{
    ReducePlan p = reduce_plan(in_dims, ndim, axes);
    KERNEL_NAME(ReduceJob) job = {in, out, &p, is_max};
    pool_run(KERNEL_NAME(reduce_part), &job, parts_for(element_count(in_dims, ndim), p.out_count));
}

/* ----- convolutions ---------------------------------------------------------------------- */

/* The one map between image n of x [N,C,H,W] and its block of the batch's patch matrix
 * P [C*KH*KW, N*OH*OW] (see ConvGeom): columns n*OH*OW .. (n+1)*OH*OW - 1 hold image n's
 * patches. to_image 0 fills the block from the image (im2col, zeros where a patch reaches into
 * the padding); to_image 1 adds every entry of the block into its pixel (col2im), which is the
 * adjoint, so the backward convs are adjoint to the forward one by construction. */
static void KERNEL_NAME(patch_map)(const ConvGeom *g, T *image, T *patches, long n, int to_image)
{
    long ld = g->batch * g->patch_cols;
    for (int c = 0; c < g->channels; c++)
        for (int p = 0; p < g->kernel_h; p++)
            for (int q = 0; q < g->kernel_w; q++) {
                long row_index = ((long)c * g->kernel_h + p) * g->kernel_w + q;
                T *row = patches + row_index * ld + n * g->patch_cols;
                Span is = conv_span(g->out_h, g->height, g->stride, p - g->pad);
                Span js = conv_span(g->out_w, g->width, g->stride, q - g->pad);
                if (!to_image)
                    memset(row, 0, sizeof(T) * (size_t)g->patch_cols);
                for (int i = is.lo; i < is.hi; i++) {
                    T *entries = row + (long)i * g->out_w;
                    long h = (long)i * g->stride + p - g->pad;
                    long pixel0 = ((long)c * g->height + h) * g->width + q - g->pad;
                    for (int j = js.lo; j < js.hi; j++) {
                        long pixel = pixel0 + (long)j * g->stride;
                        if (to_image)
                            image[pixel] += entries[j];
                        else
                            entries[j] = image[pixel];
                    }
                }
            }
}

/* Between an output y [N,O,OH*OW] and the GEMM's layout Y [O, N*OH*OW]: the same blocks of
 * OH*OW elements in another order. to_batch 1 copies y into Y, 0 copies Y into y. */
static void KERNEL_NAME(output_map)(const ConvGeom *g, T *y, T *big, int to_batch)
{
    size_t block = sizeof(T) * (size_t)g->patch_cols;
    for (long n = 0; n < g->batch; n++)
        for (long o = 0; o < g->out_channels; o++) {
            T *in_y = y + (n * g->out_channels + o) * g->patch_cols;
            T *in_big = big + (o * g->batch + n) * g->patch_cols;
            memcpy(to_batch ? in_big : in_y, to_batch ? in_y : in_big, block);
        }
}

/* The scratch of one conv call: the batch's patch matrix P, then Y. */
typedef struct KERNEL_NAME(ConvScratch) {
    T *patches, *out;
} KERNEL_NAME(ConvScratch);

static KERNEL_NAME(ConvScratch) KERNEL_NAME(conv_scratch)(const ConvGeom *g)
{
    long p = g->patch_rows * g->batch * g->patch_cols, y = (long)g->out_channels * g->batch * g->patch_cols;
    T *base = kernel_scratch(sizeof(T) * (size_t)(p + y));
    return (KERNEL_NAME(ConvScratch)){base, base + p};
}

static void KERNEL_NAME(im2col)(const ConvGeom *g, const T *x, T *patches)
{
    for (long n = 0; n < g->batch; n++) /* im2col only reads the image */
        KERNEL_NAME(patch_map)(g, (T *)x + n * conv_image_size(g), patches, n, 0);
}

/* y[N,O,OH,OW] = conv(x, w): Y = W P, one GEMM for the whole batch */
void KERNEL_NAME(ganrt_conv)(const T *x, const T *w, T *y, const int *xd, const int *wd, int stride,
                             int pad)
{
#ifdef CONV_LIBRARY
    if (CONV_LIBRARY(CONV_FORWARD, x, w, y, xd, wd, stride, pad) == 0)
        return;
#endif
    ConvGeom g = conv_geom(xd, wd, stride, pad);
    KERNEL_NAME(ConvScratch) s = KERNEL_NAME(conv_scratch)(&g);
    KERNEL_NAME(im2col)(&g, x, s.patches);
    KERNEL_NAME(gemm)(0, 0, g.out_channels, (int)(g.batch * g.patch_cols), (int)g.patch_rows, w,
                      s.patches, (T)0, s.out);
    KERNEL_NAME(output_map)(&g, y, s.out, 0);
}

/* x[N,C,H,W] (dims xd) = the adjoint of conv in x applied to y: x = col2im(W^T Y) */
void KERNEL_NAME(ganrt_conv_bd)(const T *w, const T *y, T *x, const int *xd, const int *wd,
                                int stride, int pad)
{
#ifdef CONV_LIBRARY
    if (CONV_LIBRARY(CONV_BACKWARD_DATA, w, y, x, xd, wd, stride, pad) == 0)
        return;
#endif
    ConvGeom g = conv_geom(xd, wd, stride, pad);
    KERNEL_NAME(ConvScratch) s = KERNEL_NAME(conv_scratch)(&g);
    KERNEL_NAME(output_map)(&g, (T *)y, s.out, 1); /* reads y only */
    KERNEL_NAME(gemm)(1, 0, (int)g.patch_rows, (int)(g.batch * g.patch_cols), g.out_channels, w,
                      s.out, (T)0, s.patches);
    memset(x, 0, sizeof(T) * (size_t)(g.batch * conv_image_size(&g)));
    for (long n = 0; n < g.batch; n++)
        KERNEL_NAME(patch_map)(&g, x + n * conv_image_size(&g), s.patches, n, 1);
}

/* w[O,C,KH,KW] (dims wd) = the adjoint of conv in w applied to y: Y P^T */
void KERNEL_NAME(ganrt_conv_bf)(const T *x, const T *y, T *w, const int *xd, const int *wd,
                                int stride, int pad)
{
#ifdef CONV_LIBRARY
    if (CONV_LIBRARY(CONV_BACKWARD_WEIGHTS, x, y, w, xd, wd, stride, pad) == 0)
        return;
#endif
    ConvGeom g = conv_geom(xd, wd, stride, pad);
    KERNEL_NAME(ConvScratch) s = KERNEL_NAME(conv_scratch)(&g);
    KERNEL_NAME(im2col)(&g, x, s.patches);
    KERNEL_NAME(output_map)(&g, (T *)y, s.out, 1);
    KERNEL_NAME(gemm)(0, 1, g.out_channels, (int)g.patch_rows, (int)(g.batch * g.patch_cols), s.out,
                      s.patches, (T)0, w);
}
