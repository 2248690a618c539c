/* interp.c: the reference interpreter, which evaluates a graph IR node by node (see interp.h).
 *
 * It is the oracle of the pipeline: autodiff is checked against finite differences computed
 * with it, the native code generator is tested against it, and `ganc eval` / `ganc run` use it
 * directly. So it is written to be obviously right rather than fast: one double buffer per node,
 * each op a short function that follows the op's definition in ir.h. The exceptions are matmul
 * and conv, which call cblas_dgemm (conv through an explicit patch matrix), because the
 * interpreter must run networks of width 512. OpenBLAS is loaded at the first product, not
 * linked into ganc: its constructor starts a thread per core that spins in sched_yield for about
 * 0.1 s of CPU, which every compilation (most never reach the interpreter) would pay.
 *
 * Every shape op (permute, broadcast, slice, pad, concat) and both reductions (sum, max) are one
 * pattern: walk the multi-indices of one shape in row-major order while an offset into another
 * buffer advances by a per-axis stride. They differ only in those strides; see IndexWalk. */
#include "interp.h"

#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Interp {
    const IrGraph *graph;
    int round_to_f32;
    MaskMode mask_mode;
    double **values;          /* per node: ir_shape_size elements                         */
    double **recorded_masks;  /* GT GE EQ nodes: the results of the last recording run     */
    long **recorded_argmax;   /* MAX nodes: per output element, the chosen flat input index */
    char *recorded;           /* per node: whether a recording run has stored its record    */
    long *argmax_scratch;     /* sized for the largest MAX output                          */
};

static void *checked_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "ganc: interpreter out of memory\n");
        exit(1);
    }
    return p;
}

/* A node's buffer; when memory runs out, an error naming the tensor (a model too large for
 * memory must not abort). */
static void *tensor_calloc(const IrNode *node, long n, size_t size)
{
    void *p = calloc(n ? (size_t)n : 1, size);
    if (!p) {
        char text[96];
        fprintf(stderr, "ganc: error: out of memory for tensor '%s' (%s, %ld values)\n",
                node->name ? node->name : ir_op_name(node->op), ir_shape_str(text, sizeof text, node->dtype, node->shape), n);
        exit(1);
    }
    return p;
}

static long node_size(const Interp *it, int id) { return ir_shape_size(it->graph->nodes[id].shape); }

/* Leaves and constants (the ops without inputs) hold values set before a run; the rest are computed. */
static int is_computed(IrOp op) { return ir_op_arity(op) > 0; }

/* ----- multi-index walks ------------------------------------------------------------------- */

/* Row-major strides: the distance in elements between neighbours along each axis. */
static void shape_strides(Shape s, long strides[IR_MAXDIM])
{
    long stride = 1;
    for (int k = s.ndim - 1; k >= 0; k--) {
        strides[k] = stride;
        stride *= s.dim[k];
    }
}

/* Visits every multi-index of `shape` in row-major order (so the k-th visit is flat index k of
 * that shape) while `offset` tracks base + sum_k index[k] * stride[k], a position in another
 * buffer. A zero stride makes an axis repeat the same elements (broadcast) or fold onto one
 * (reduction). */
typedef struct IndexWalk {
    Shape shape;
    int index[IR_MAXDIM];
    long stride[IR_MAXDIM];
    long offset;
} IndexWalk;

static IndexWalk walk_begin(Shape shape, const long *stride, long base)
{
    IndexWalk w;
    memset(&w, 0, sizeof w);
    w.shape = shape;
    memcpy(w.stride, stride, sizeof(long) * (size_t)shape.ndim);
    w.offset = base;
    return w;
}

static void walk_next(IndexWalk *w)
{
    for (int k = w->shape.ndim - 1; k >= 0; k--) {
        w->offset += w->stride[k];
        if (++w->index[k] < w->shape.dim[k])
            return;
        w->offset -= w->stride[k] * w->shape.dim[k];
        w->index[k] = 0;
    }
}

/* out[k] = in[offset of k], for every flat index k of out_shape. */
static void gather(double *out, Shape out_shape, const double *in, const long *in_stride, long base)
{
    long n = ir_shape_size(out_shape);
    IndexWalk w = walk_begin(out_shape, in_stride, base);
    for (long k = 0; k < n; k++, walk_next(&w))
        out[k] = in[w.offset];
}

/* out[offset of k] = in[k], for every flat index k of in_shape. */
static void scatter(double *out, const long *out_stride, long base, const double *in, Shape in_shape)
{
    long n = ir_shape_size(in_shape);
    IndexWalk w = walk_begin(in_shape, out_stride, base);
    for (long k = 0; k < n; k++, walk_next(&w))
        out[w.offset] = in[k];
}

static long dot_offsets(int ndim, const int *index, const long *stride)
{
    long offset = 0;
    for (int k = 0; k < ndim; k++)
        offset += index[k] * stride[k];
    return offset;
}

/* ----- elementwise ops ------------------------------------------------------------------- */

static void eval_unary(const IrNode *node, double *out, const double *a, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = ir_unary_value(node->op, a[i], node->value);
}

static void eval_binary(const IrNode *node, double *out, const double *a, const double *b, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = ir_binary_value(node->op, a[i], b[i]);
}

static void eval_select(double *out, const double *mask, const double *a, const double *b, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = mask[i] != 0 ? a[i] : b[i];
}

/* ----- shape ops ------------------------------------------------------------------------- */

/* Output axis i is input axis perm[i]: stepping along it moves by that input axis's stride. */
static void eval_permute(const IrNode *node, Shape in_shape, double *out, const double *in)
{
    long in_stride[IR_MAXDIM], mapped[IR_MAXDIM];
    shape_strides(in_shape, in_stride);
    for (int i = 0; i < node->shape.ndim; i++)
        mapped[i] = in_stride[node->perm[i]];
    gather(out, node->shape, in, mapped, 0);
}

/* The kept output axes step through the input's axes in order; the new axes repeat (stride 0). */
static void eval_broadcast(const IrNode *node, Shape in_shape, double *out, const double *in)
{
    long in_stride[IR_MAXDIM], mapped[IR_MAXDIM];
    shape_strides(in_shape, in_stride);
    int in_axis = 0;
    for (int i = 0; i < node->shape.ndim; i++)
        mapped[i] = node->axes & (1u << i) ? in_stride[in_axis++] : 0;
    gather(out, node->shape, in, mapped, 0);
}

static void eval_slice(const IrNode *node, Shape in_shape, double *out, const double *in)
{
    long in_stride[IR_MAXDIM];
    shape_strides(in_shape, in_stride);
    gather(out, node->shape, in, in_stride, dot_offsets(in_shape.ndim, node->start, in_stride));
}

static void eval_pad(const IrNode *node, Shape in_shape, double *out, const double *in)
{
    long out_stride[IR_MAXDIM];
    shape_strides(node->shape, out_stride);
    memset(out, 0, sizeof(double) * (size_t)ir_shape_size(node->shape));
    scatter(out, out_stride, dot_offsets(in_shape.ndim, node->start, out_stride), in, in_shape);
}

/* a fills the start of the concat axis, b the rest. */
static void eval_concat(const IrNode *node, Shape a_shape, Shape b_shape, double *out,
                        const double *a, const double *b)
{
    long out_stride[IR_MAXDIM];
    shape_strides(node->shape, out_stride);
    scatter(out, out_stride, 0, a, a_shape);
    scatter(out, out_stride, a_shape.dim[node->axis] * out_stride[node->axis], b, b_shape);
}

/* ----- reductions ------------------------------------------------------------------------ */

/* For a walk over the input: a kept axis steps by its output axis's stride, a reduced axis by 0,
 * so the walk's offset is the output element each input element reduces into. */
static void reduction_strides(Shape in_shape, Shape out_shape, unsigned axes, long mapped[])
{
    long out_stride[IR_MAXDIM];
    shape_strides(out_shape, out_stride);
    int out_axis = 0;
    for (int k = 0; k < in_shape.ndim; k++)
        mapped[k] = axes & (1u << k) ? 0 : out_stride[out_axis++];
}

/* Sums in double, in the input's row-major order: deterministic. */
static void eval_sum(const IrNode *node, Shape in_shape, double *out, const double *in)
{
    long mapped[IR_MAXDIM];
    reduction_strides(in_shape, node->shape, node->axes, mapped);
    memset(out, 0, sizeof(double) * (size_t)ir_shape_size(node->shape));
    long n = ir_shape_size(in_shape);
    IndexWalk w = walk_begin(in_shape, mapped, 0);
    for (long k = 0; k < n; k++, walk_next(&w))
        out[w.offset] += in[k];
}

/* For each output element, the flat input index of its first maximal element. */
static void find_argmax(const IrNode *node, Shape in_shape, const double *in, long *chosen)
{
    long mapped[IR_MAXDIM];
    reduction_strides(in_shape, node->shape, node->axes, mapped);
    long out_n = ir_shape_size(node->shape), n = ir_shape_size(in_shape);
    for (long o = 0; o < out_n; o++)
        chosen[o] = -1;
    IndexWalk w = walk_begin(in_shape, mapped, 0);
    for (long k = 0; k < n; k++, walk_next(&w))
        if (chosen[w.offset] < 0 || in[k] > in[chosen[w.offset]])
            chosen[w.offset] = k;
}

/* ----- masks ------------------------------------------------------------------------------ */

static void require_record(const Interp *it, int id)
{
    if (!it->recorded[id]) {
        fprintf(stderr, "ganc: internal error: interpreter node %d used frozen masks before a "
                        "recording run\n", id);
        abort();
    }
}

/* A comparison is computed live; in FROZEN mode the recorded result replaces it. */
static void apply_comparison_mask(Interp *it, int id, double *out, long n)
{
    size_t bytes = sizeof(double) * (size_t)n;
    if (it->mask_mode == MASK_FROZEN) {
        require_record(it, id);
        memcpy(out, it->recorded_masks[id], bytes);
    } else if (it->mask_mode == MASK_RECORD) {
        memcpy(it->recorded_masks[id], out, bytes);
        it->recorded[id] = 1;
    }
}

/* max = in[chosen index]; the index is the live argmax, or the recorded one in FROZEN mode. */
static void eval_max(Interp *it, int id, Shape in_shape, double *out, const double *in)
{
    const IrNode *node = &it->graph->nodes[id];
    long n = ir_shape_size(node->shape);
    const long *chosen = it->argmax_scratch;
    if (it->mask_mode == MASK_FROZEN) {
        require_record(it, id);
        chosen = it->recorded_argmax[id];
    } else {
        find_argmax(node, in_shape, in, it->argmax_scratch);
        if (it->mask_mode == MASK_RECORD) {
            memcpy(it->recorded_argmax[id], it->argmax_scratch, sizeof(long) * (size_t)n);
            it->recorded[id] = 1;
        }
    }
    for (long o = 0; o < n; o++)
        out[o] = in[chosen[o]];
}

/* ----- BLAS-backed ops -------------------------------------------------------------------- */

/* C[M,N] = op(A)[M,K] op(B)[K,N] + beta C, all row-major and densely stored. */
static float *to_floats(const double *v, long n)
{
    float *f = checked_calloc((size_t)n, sizeof(float));
    for (long i = 0; i < n; i++)
        f[i] = (float)v[i];
    return f;
}

static struct {
    __typeof__(cblas_dgemm) *dgemm;
    __typeof__(cblas_sgemm) *sgemm;
} blas;

static void load_blas(void)
{
    const char *name = "libopenblas.so.0";
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
        blas.dgemm = (__typeof__(cblas_dgemm) *)dlsym(lib, "cblas_dgemm");
        blas.sgemm = (__typeof__(cblas_sgemm) *)dlsym(lib, "cblas_sgemm");
    }
    if (!blas.dgemm || !blas.sgemm) {
        fprintf(stderr, "ganc: error: the interpreter cannot load OpenBLAS (%s): %s (`make deps` installs it)\n", name,
                lib ? "no cblas_dgemm/cblas_sgemm in it" : dlerror());
        exit(1);
    }
}

/* c = op(a) op(b) + beta c. In f32 mode (single) the product is sgemm's on float copies: float
 * models multiply in float, with float accumulation, and the reference must too, or an
 * optimizer as sensitive to tiny gradients as Adam amplifies the difference. */
static void gemm(int single, int ta, int tb, long m, long n, long k, const double *a, const double *b,
                 double beta, double *c)
{
    static pthread_once_t loaded = PTHREAD_ONCE_INIT;
    pthread_once(&loaded, load_blas);
    CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    if (!single) {
        blas.dgemm(CblasRowMajor, opa, opb, (int)m, (int)n, (int)k, 1.0, a, (int)(ta ? m : k), b,
                    (int)(tb ? k : n), beta, c, (int)n);
        return;
    }
    float *fa = to_floats(a, m * k), *fb = to_floats(b, k * n), *fc = to_floats(c, m * n);
    blas.sgemm(CblasRowMajor, opa, opb, (int)m, (int)n, (int)k, 1.0f, fa, (int)(ta ? m : k), fb,
                (int)(tb ? k : n), (float)beta, fc, (int)n);
    for (long i = 0; i < m * n; i++)
        c[i] = fc[i];
    free(fa);
    free(fb);
    free(fc);
}

static void eval_matmul(int single, const IrNode *node, Shape a_shape, double *out, const double *a,
                        const double *b)
{
    long m = node->shape.dim[0], n = node->shape.dim[1];
    long k = a_shape.dim[node->ta ? 0 : 1];
    gemm(single, node->ta, node->tb, m, n, k, a, b, 0.0, out);
}

/* A conv as matrices: for image n, the patch matrix P[(c,p,q), (i,j)] = x[n, c, i*stride-pad+p,
 * j*stride-pad+q] (0 in the padding). Then conv is y_n = W P, its adjoint in x scatters W^T y_n
 * back through the same map, and its adjoint in w is y_n P^T. All three share the one map from a
 * patch entry to its source pixel, so they are adjoint by construction. */
typedef struct ConvGeometry {
    int batch, channels, height, width;       /* x [N, C, H, W]   */
    int out_channels, kernel_h, kernel_w;     /* w [O, C, KH, KW] */
    int out_h, out_w;                         /* y [N, O, OH, OW] */
    int stride, pad;
    long patch_rows, patch_cols;              /* C*KH*KW, OH*OW   */
    long *source;                             /* per patch entry: index in x_n [C,H,W], or -1 */
    int single;                               /* f32 mode: products in float (see gemm) */
} ConvGeometry;

static ConvGeometry conv_geometry(Shape x, Shape w, Shape y, int stride, int pad, int single)
{
    ConvGeometry g = {
        .batch = x.dim[0], .channels = x.dim[1], .height = x.dim[2], .width = x.dim[3],
        .out_channels = w.dim[0], .kernel_h = w.dim[2], .kernel_w = w.dim[3],
        .out_h = y.dim[2], .out_w = y.dim[3],
        .stride = stride, .pad = pad, .single = single,
        .patch_rows = (long)x.dim[1] * w.dim[2] * w.dim[3],
        .patch_cols = (long)y.dim[2] * y.dim[3],
    };
    g.source = checked_calloc((size_t)(g.patch_rows * g.patch_cols), sizeof(long));
    long entry = 0;
    for (int c = 0; c < g.channels; c++)
        for (int p = 0; p < g.kernel_h; p++)
            for (int q = 0; q < g.kernel_w; q++)
                for (int i = 0; i < g.out_h; i++)
                    for (int j = 0; j < g.out_w; j++) {
                        int h = i * stride - pad + p, v = j * stride - pad + q;
                        int inside = h >= 0 && h < g.height && v >= 0 && v < g.width;
                        g.source[entry++] = inside ? ((long)c * g.height + h) * g.width + v : -1;
                    }
    return g;
}

static long conv_image_size(const ConvGeometry *g) { return (long)g->channels * g->height * g->width; }
static long conv_output_size(const ConvGeometry *g) { return (long)g->out_channels * g->patch_cols; }

static void image_to_patches(const ConvGeometry *g, const double *image, double *patches)
{
    for (long e = 0; e < g->patch_rows * g->patch_cols; e++)
        patches[e] = g->source[e] >= 0 ? image[g->source[e]] : 0.0;
}

/* The adjoint of image_to_patches: each patch entry adds into its source pixel. */
static void patches_add_to_image(const ConvGeometry *g, const double *patches, double *image)
{
    for (long e = 0; e < g->patch_rows * g->patch_cols; e++)
        if (g->source[e] >= 0)
            image[g->source[e]] += patches[e];
}

/* y[N,O,OH,OW] = conv(x, w) */
static void eval_conv(ConvGeometry *g, double *y, const double *x, const double *w)
{
    double *patches = checked_calloc((size_t)(g->patch_rows * g->patch_cols), sizeof(double));
    for (int n = 0; n < g->batch; n++) {
        image_to_patches(g, x + n * conv_image_size(g), patches);
        gemm(g->single, 0, 0, g->out_channels, g->patch_cols, g->patch_rows, w, patches, 0.0,
             y + n * conv_output_size(g));
    }
    free(patches);
}

/* x[N,C,H,W] = the adjoint of conv in x, applied to y */
static void eval_conv_bd(ConvGeometry *g, double *x, const double *w, const double *y)
{
    double *patches = checked_calloc((size_t)(g->patch_rows * g->patch_cols), sizeof(double));
    memset(x, 0, sizeof(double) * (size_t)(g->batch * conv_image_size(g)));
    for (int n = 0; n < g->batch; n++) {
        gemm(g->single, 1, 0, g->patch_rows, g->patch_cols, g->out_channels, w,
             y + n * conv_output_size(g), 0.0, patches);
        patches_add_to_image(g, patches, x + n * conv_image_size(g));
    }
    free(patches);
}

/* w[O,C,KH,KW] = the adjoint of conv in w, applied to y (summed over the batch) */
static void eval_conv_bf(ConvGeometry *g, double *w, const double *x, const double *y)
{
    double *patches = checked_calloc((size_t)(g->patch_rows * g->patch_cols), sizeof(double));
    memset(w, 0, sizeof(double) * (size_t)(g->out_channels * g->patch_rows));
    for (int n = 0; n < g->batch; n++) {
        image_to_patches(g, x + n * conv_image_size(g), patches);
        gemm(g->single, 0, 1, g->out_channels, g->patch_rows, g->patch_cols, y + n * conv_output_size(g),
             patches, 1.0, w);
    }
    free(patches);
}

/* The three conv ops name x, w, y in different input slots; this sorts them out. */
static void eval_conv_family(Interp *it, const IrNode *node, double *out)
{
    const IrGraph *graph = it->graph;
    Shape first = graph->nodes[node->in[0]].shape, second = graph->nodes[node->in[1]].shape;
    const double *a = it->values[node->in[0]], *b = it->values[node->in[1]];
    ConvGeometry g;
    switch (node->op) {
    case OP_CONV: /* (x, w) -> y */
        g = conv_geometry(first, second, node->shape, node->stride, node->pad, it->round_to_f32);
        eval_conv(&g, out, a, b);
        break;
    case OP_CONV_BD: /* (w, y) -> x */
        g = conv_geometry(node->shape, first, second, node->stride, node->pad, it->round_to_f32);
        eval_conv_bd(&g, out, a, b);
        break;
    default: /* OP_CONV_BF: (x, y) -> w */
        g = conv_geometry(first, node->shape, second, node->stride, node->pad, it->round_to_f32);
        eval_conv_bf(&g, out, a, b);
        break;
    }
    free(g.source);
}

/* ----- evaluation ------------------------------------------------------------------------- */

static void round_to_float(double *values, long n)
{
    for (long i = 0; i < n; i++)
        values[i] = (double)(float)values[i];
}

/* The ops that are not elementwise: each has its own walk over the shapes. */
static void evaluate_call(Interp *it, int id, double *out)
{
    const IrNode *node = &it->graph->nodes[id];
    const double *a = it->values[node->in[0]];
    const double *b = node->nin > 1 ? it->values[node->in[1]] : NULL;
    Shape a_shape = it->graph->nodes[node->in[0]].shape;
    switch (node->op) {
    case OP_RESHAPE: memcpy(out, a, sizeof(double) * (size_t)ir_shape_size(node->shape)); break;
    case OP_PERMUTE: eval_permute(node, a_shape, out, a); break;
    case OP_BROADCAST: eval_broadcast(node, a_shape, out, a); break;
    case OP_SUM: eval_sum(node, a_shape, out, a); break;
    case OP_MAX: eval_max(it, id, a_shape, out, a); break;
    case OP_SLICE: eval_slice(node, a_shape, out, a); break;
    case OP_PAD: eval_pad(node, a_shape, out, a); break;
    case OP_CONCAT:
        eval_concat(node, a_shape, it->graph->nodes[node->in[1]].shape, out, a, b);
        break;
    case OP_MATMUL: eval_matmul(it->round_to_f32, node, a_shape, out, a, b); break;
    case OP_BLOCK_SUM: case OP_BLOCK_MAX: /* one step of the shard simulator's rank-order sum (max) */
        for (long i = 0, n = ir_shape_size(node->shape); i < n; i++)
            out[i] = node->op == OP_BLOCK_SUM ? a[i] + b[i] : b[i] > a[i] ? b[i] : a[i];
        break;
    case OP_CONV: case OP_CONV_BD: case OP_CONV_BF:
        eval_conv_family(it, node, out);
        break;
    default: /* not a SHAPE, REDUCE or BLAS op; a collective is the shard simulator's (shardsim.h) */
        fprintf(stderr, "ganc: internal error: the interpreter cannot compute %s alone\n", ir_op_name(node->op));
        abort();
    }
}

static void evaluate_node(Interp *it, int id)
{
    const IrNode *node = &it->graph->nodes[id];
    double *out = it->values[id];
    const double *a = node->nin > 0 ? it->values[node->in[0]] : NULL;
    const double *b = node->nin > 1 ? it->values[node->in[1]] : NULL;
    long n = ir_shape_size(node->shape);
    switch (ir_op_class(node->op)) {
    case OPC_UNARY: eval_unary(node, out, a, n); break;
    case OPC_BINARY: eval_binary(node, out, a, b, n); break;
    case OPC_SELECT: eval_select(out, a, b, it->values[node->in[2]], n); break;
    case OPC_LEAF: case OPC_CONST: abort(); /* never computed */
    default: evaluate_call(it, id, out); break;
    }
    /* comparisons and stop_grad: frozen like a mask, since to autodiff their value is a constant */
    if (ir_op_blocks_gradient(node->op))
        apply_comparison_mask(it, id, out, n);
    if (it->round_to_f32)
        round_to_float(out, n);
}

void interp_run_node(Interp *it, int id)
{
    if (is_computed(it->graph->nodes[id].op))
        evaluate_node(it, id);
    else if (it->round_to_f32)
        round_to_float(it->values[id], node_size(it, id));
}

void interp_run_after(Interp *it, int first)
{
    for (int id = first + 1; id < it->graph->nnodes; id++)
        if (is_computed(it->graph->nodes[id].op))
            evaluate_node(it, id);
}

/* A full run starts from the leaves the caller filled: in f32 mode they are rounded to float
 * first, as the native f32 code holds them. */
void interp_run(Interp *it)
{
    for (int id = 0; id < it->graph->nnodes; id++)
        interp_run_node(it, id);
}

/* ----- lifetime --------------------------------------------------------------------------- */

Interp *interp_new(const IrGraph *g, int round_to_f32)
{
    Interp *it = checked_calloc(1, sizeof *it);
    it->graph = g;
    it->round_to_f32 = round_to_f32;
    it->mask_mode = MASK_LIVE;
    it->values = checked_calloc((size_t)g->nnodes, sizeof(double *));
    it->recorded_masks = checked_calloc((size_t)g->nnodes, sizeof(double *));
    it->recorded_argmax = checked_calloc((size_t)g->nnodes, sizeof(long *));
    it->recorded = checked_calloc((size_t)g->nnodes, 1);
    long largest_max = 0;
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *node = &g->nodes[id];
        long n = node_size(it, id);
        it->values[id] = tensor_calloc(node, n, sizeof(double));
        if (ir_op_blocks_gradient(node->op))
            it->recorded_masks[id] = tensor_calloc(node, n, sizeof(double));
        if (node->op == OP_MAX) {
            it->recorded_argmax[id] = tensor_calloc(node, n, sizeof(long));
            largest_max = n > largest_max ? n : largest_max;
        }
        if (node->op == OP_CONST) {
            for (long i = 0; i < n; i++)
                it->values[id][i] = node->value;
            if (round_to_f32)
                round_to_float(it->values[id], n);
        }
    }
    it->argmax_scratch = checked_calloc((size_t)largest_max, sizeof(long));
    return it;
}

void interp_free(Interp *it)
{
    if (!it)
        return;
    for (int id = 0; id < it->graph->nnodes; id++) {
        free(it->values[id]);
        free(it->recorded_masks[id]);
        free(it->recorded_argmax[id]);
    }
    free(it->values);
    free(it->recorded_masks);
    free(it->recorded_argmax);
    free(it->recorded);
    free(it->argmax_scratch);
    free(it);
}

double *interp_buffer(Interp *it, int node) { return it->values[node]; }

void interp_set_mask_mode(Interp *it, MaskMode mode) { it->mask_mode = mode; }
