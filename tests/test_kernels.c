/* test_kernels.c: every libganrt kernel (runtime/kernels.c) against the reference interpreter.
 *
 * Each case is a one-op graph built with the IR constructors (ir.h) on random inputs. The
 * interpreter (compiler/interp.c, float64) evaluates it; the kernel is called with the arguments
 * that generated code derives from the same node (call_kernel below spells that mapping out, so
 * it doubles as the reference for codegen), on an output buffer prefilled with NaN so a kernel
 * that accumulates into its output instead of overwriting it fails. Checked:
 *   f64: max_i |got - want| / max(|want_i|, 1e-6 max|want|)  < 1e-12
 *   f32: max_i |got - want| / max|want|                       < 1e-5  (inputs rounded to float)
 * Prints `ok - ...` / `not ok - ...` per check, then `N passed, M failed`; exits 1 on failure.
 * Build (the Makefile does the same):
 *   cc -std=c11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -Icompiler -Iruntime tests/test_kernels.c \
 *      runtime/kernels.c compiler/interp.c compiler/ir.c compiler/arena.c compiler/diag.c \
 *      -lopenblas -lm -o build/test_kernels */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ganrt.h"
#include "pool.h"
#include "interp.h"
#include "ir.h"
#include "check.h"

/* " on 3 threads" once the pool runs: the float convs split the batch across it */
static const char *threads_label = "";

#define F64_TOLERANCE 1e-12
#define F32_TOLERANCE 1e-5

static Arena arena;

/* ----- deterministic random numbers (splitmix64) ----------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double uniform_signed(void) /* U(-1, 1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-52 - 1.0;
}

/* ----- the kernel call generated code makes for a node ----------------------------------- */

/* Arguments are void pointers, so one call site serves both element types. */
#define KERNEL(as_f32, name, ...) ((as_f32) ? name##_f32(__VA_ARGS__) : name##_f64(__VA_ARGS__))

static void call_kernel(const IrGraph *g, int id, int as_f32, void *const *in, void *out)
{
    const IrNode *n = &g->nodes[id];
    const Shape *a = &g->nodes[n->in[0]].shape;
    const Shape *b = n->nin > 1 ? &g->nodes[n->in[1]].shape : NULL;
    switch (n->op) {
    case OP_MATMUL:
        KERNEL(as_f32, ganrt_matmul, n->ta, n->tb, n->shape.dim[0], n->shape.dim[1],
               a->dim[n->ta ? 0 : 1], in[0], in[1], out);
        break;
    case OP_CONV: /* (x, w) -> y */
        KERNEL(as_f32, ganrt_conv, in[0], in[1], out, a->dim, b->dim, n->stride, n->pad);
        break;
    case OP_CONV_BD: /* (w, y) -> x */
        KERNEL(as_f32, ganrt_conv_bd, in[0], in[1], out, n->shape.dim, a->dim, n->stride, n->pad);
        break;
    case OP_CONV_BF: /* (x, y) -> w */
        KERNEL(as_f32, ganrt_conv_bf, in[0], in[1], out, a->dim, n->shape.dim, n->stride, n->pad);
        break;
    case OP_BROADCAST:
        KERNEL(as_f32, ganrt_broadcast, in[0], out, n->shape.dim, n->shape.ndim, n->axes);
        break;
    case OP_SUM: case OP_MAX:
        KERNEL(as_f32, ganrt_reduce, in[0], out, a->dim, a->ndim, n->axes, n->op == OP_MAX);
        break;
    case OP_PERMUTE:
        KERNEL(as_f32, ganrt_permute, in[0], out, a->dim, a->ndim, n->perm);
        break;
    case OP_SLICE:
        KERNEL(as_f32, ganrt_slice, in[0], out, a->dim, n->shape.dim, a->ndim, n->start);
        break;
    case OP_PAD:
        KERNEL(as_f32, ganrt_pad, in[0], out, a->dim, n->shape.dim, a->ndim, n->start);
        break;
    case OP_CONCAT:
        KERNEL(as_f32, ganrt_concat, in[0], in[1], out, a->dim, b->dim, a->ndim, n->axis);
        break;
    default:
        fprintf(stderr, "test_kernels: no kernel for op %s\n", ir_op_name(n->op));
        abort();
    }
}

/* ----- one check ------------------------------------------------------------------------- */

static void *to_type(const double *values, long n, int as_f32)
{
    void *p = malloc((size_t)n * (as_f32 ? sizeof(float) : sizeof(double)));
    for (long i = 0; i < n; i++) {
        if (as_f32)
            ((float *)p)[i] = (float)values[i];
        else
            ((double *)p)[i] = values[i];
    }
    return p;
}

static double element(const void *p, long i, int as_f32)
{
    return as_f32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

/* max_i |got - want| / max(|want_i|, floor * max|want|): floor 1 measures against the largest
 * magnitude, a small floor element by element (sparing only values that cancelled to ~0). */
static double max_error(const void *got, const double *want, long n, int as_f32, double floor)
{
    double largest = 0, worst = 0;
    for (long i = 0; i < n; i++)
        largest = fmax(largest, fabs(want[i]));
    for (long i = 0; i < n; i++) {
        double scale = fmax(fmax(fabs(want[i]), floor * largest), DBL_MIN);
        double err = fabs(element(got, i, as_f32) - want[i]) / scale;
        worst = isnan(err) ? INFINITY : fmax(worst, err);
    }
    return worst;
}

/* Random inputs (rounded to float for the f32 check), the interpreter's result, the kernel's
 * result, and their distance. */
static double run_check(const IrGraph *g, int id, int as_f32)
{
    const IrNode *n = &g->nodes[id];
    Interp *it = interp_new(g, 0);
    void *in[3] = {0};
    for (int k = 0; k < n->nin; k++) {
        double *values = interp_buffer(it, n->in[k]);
        long size = ir_shape_size(g->nodes[n->in[k]].shape);
        for (long i = 0; i < size; i++)
            values[i] = as_f32 ? (double)(float)uniform_signed() : uniform_signed();
        in[k] = to_type(values, size, as_f32);
    }
    interp_run(it);
    long size = ir_shape_size(n->shape);
    double *nans = malloc(sizeof(double) * (size_t)size);
    for (long i = 0; i < size; i++)
        nans[i] = NAN;
    void *out = to_type(nans, size, as_f32);
    call_kernel(g, id, as_f32, in, out);
    /* f64 element by element down to 1e-3 of the largest magnitude: a conv_bf sums N*OH*OW terms
     * per weight (256 in the DCGAN case) in BLAS's blocked order, not the interpreter's, so an
     * element that cancels to 1e-4 of the largest carries a rounding of a few 1e-16 of it. */
    double err = max_error(out, interp_buffer(it, id), size, as_f32, as_f32 ? 1.0 : 1e-3);
    for (int k = 0; k < n->nin; k++)
        free(in[k]);
    free(nans);
    free(out);
    interp_free(it);
    return err;
}

/* Checks node id of g (which must have op `op`: the constructors may simplify) in both types. */
static void check_node(const IrGraph *g, int id, IrOp op, const char *label)
{
    if (!check(g->nodes[id].op == op, label, "the IR built %s, not %s", ir_op_name(g->nodes[id].op),
               ir_op_name(op)))
        return;
    for (int as_f32 = 0; as_f32 <= 1; as_f32++) {
        double err = run_check(g, id, as_f32), tolerance = as_f32 ? F32_TOLERANCE : F64_TOLERANCE;
        char name[256];
        snprintf(name, sizeof name, "%s %s%s", as_f32 ? "f32" : "f64", label, threads_label);
        check(err < tolerance, name, "max error %.3g, tolerance %g", err, tolerance);
    }
}

/* ----- graph building -------------------------------------------------------------------- */

static IrGraph *new_graph(void) { return ir_new_graph(&arena, "kernel_case", DT_F64); }

static int input(IrGraph *g, const char *name, int ndim, const int *dims)
{
    LeafInit zeros = {0};
    return ir_input(g, name, ir_shape(ndim, dims), zeros);
}

/* "[2,3,4]" */
static const char *dims_str(char *buf, int ndim, const int *dims)
{
    int used = snprintf(buf, 64, "[");
    for (int k = 0; k < ndim; k++)
        used += snprintf(buf + used, (size_t)(64 - used), "%s%d", k ? "," : "", dims[k]);
    snprintf(buf + used, (size_t)(64 - used), "]");
    return buf;
}

/* ----- cases ----------------------------------------------------------------------------- */

static void matmul_case(int ta, int tb, int m, int n, int k)
{
    IrGraph *g = new_graph();
    int a_dims[2] = {ta ? k : m, ta ? m : k}, b_dims[2] = {tb ? n : k, tb ? k : n};
    int id = ir_matmul(g, input(g, "a", 2, a_dims), input(g, "b", 2, b_dims), ta, tb);
    char label[128];
    snprintf(label, sizeof label, "matmul ta=%d tb=%d m=%d n=%d k=%d", ta, tb, m, n, k);
    check_node(g, id, OP_MATMUL, label);
}

/* ganrt_matmul_acc: c + op(a) op(b) in c (GEMM with beta = 1, plan.h's INTO), against the sum
 * computed here in double; c starts at values of its own, not zeros. */
static void matmul_acc_case(int ta, int tb, int m, int n, int k)
{
    long sa = (long)m * k, sb = (long)k * n, sc = (long)m * n;
    double *a = malloc(sizeof(double) * (size_t)(sa + sb + 2 * sc)), *b = a + sa, *c = b + sb, *want = c + sc;
    for (long i = 0; i < sa + sb + sc; i++)
        a[i] = uniform_signed();
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double sum = c[(long)i * n + j];
            for (int p = 0; p < k; p++)
                sum += a[ta ? (long)p * m + i : (long)i * k + p] * b[tb ? (long)j * k + p : (long)p * n + j];
            want[(long)i * n + j] = sum;
        }
    for (int as_f32 = 0; as_f32 <= 1; as_f32++) {
        void *ta_ = to_type(a, sa, as_f32), *tb_ = to_type(b, sb, as_f32), *tc = to_type(c, sc, as_f32);
        KERNEL(as_f32, ganrt_matmul_acc, ta, tb, m, n, k, ta_, tb_, tc);
        double err = max_error(tc, want, sc, as_f32, 1.0), tolerance = as_f32 ? F32_TOLERANCE : F64_TOLERANCE;
        char name[96];
        snprintf(name, sizeof name, "%s matmul_acc ta=%d tb=%d m=%d n=%d k=%d%s", as_f32 ? "f32" : "f64", ta, tb, m, n, k,
                 threads_label);
        check(err < tolerance, name, "max error %.3g, tolerance %g", err, tolerance);
        free(ta_);
        free(tb_);
        free(tc);
    }
    free(a);
}

static void conv_cases(const int *xd, const int *wd, int stride, int pad)
{
    int oh = ir_conv_out_size(xd[2], wd[2], stride, pad), ow = ir_conv_out_size(xd[3], wd[3], stride, pad);
    int yd[4] = {xd[0], wd[0], oh, ow};
    char label[160], xs[64], ws[64];
    snprintf(label, sizeof label, "x%s w%s stride %d pad %d", dims_str(xs, 4, xd), dims_str(ws, 4, wd),
             stride, pad);
    char full[200];

    IrGraph *g = new_graph();
    int id = ir_conv(g, input(g, "x", 4, xd), input(g, "w", 4, wd), stride, pad);
    snprintf(full, sizeof full, "conv %s", label);
    check_node(g, id, OP_CONV, full);

    g = new_graph();
    id = ir_conv_bd(g, input(g, "w", 4, wd), input(g, "y", 4, yd), stride, pad, ir_shape(4, xd));
    snprintf(full, sizeof full, "conv_bd %s", label);
    check_node(g, id, OP_CONV_BD, full);

    g = new_graph();
    id = ir_conv_bf(g, input(g, "x", 4, xd), input(g, "y", 4, yd), stride, pad, ir_shape(4, wd));
    snprintf(full, sizeof full, "conv_bf %s", label);
    check_node(g, id, OP_CONV_BF, full);
}

/* The DCGAN layers' weight gradients at batch 64 (N*OH*OW = 3136 and 12544 terms per weight),
 * within 1e-6 of their largest element in float: oneDNN's direct kernel over the whole batch
 * was off by 2e-6 and 3.8e-6 (one float chain per weight), the gemm conv by 1.6e-7 and 3.5e-7,
 * the sub-batches of 8 images 4.2e-7 and 7.9e-7. And a kernel so large that its units are
 * fewer and larger (conv_dnnl.c's BF_BYTES), uneven. */
static void test_conv_bf_accuracy(void)
{
    static const int shapes[3][8] = {{64, 64, 14, 14, 128, 64, 4, 4}, {64, 1, 28, 28, 64, 1, 4, 4},
                                     {64, 512, 2, 2, 512, 512, 3, 3}}; /* 9 MB of weights: 7 units */
    for (int s = 0; s < 3; s++) {
        const int *xd = shapes[s], *wd = shapes[s] + 4;
        int yd[4] = {xd[0], wd[0], ir_conv_out_size(xd[2], wd[2], 2, 1), ir_conv_out_size(xd[3], wd[3], 2, 1)};
        IrGraph *g = new_graph();
        int id = ir_conv_bf(g, input(g, "x", 4, xd), input(g, "y", 4, yd), 2, 1, ir_shape(4, wd));
        char xs[64], ws[64], name[200];
        snprintf(name, sizeof name, "f32 conv_bf x%s w%s within 1e-6%s", dims_str(xs, 4, xd), dims_str(ws, 4, wd),
                 threads_label);
        double err = run_check(g, id, 1);
        check(err < 1e-6, name, "max error %.3g", err);
    }
}

static void reduce_case(int ndim, const int *dims, unsigned axes, int is_max)
{
    IrGraph *g = new_graph();
    int a = input(g, "a", ndim, dims);
    int id = is_max ? ir_max(g, a, axes) : ir_sum(g, a, axes);
    char label[128], ds[64];
    snprintf(label, sizeof label, "%s %s axes 0x%x", is_max ? "max" : "sum", dims_str(ds, ndim, dims), axes);
    check_node(g, id, is_max ? OP_MAX : OP_SUM, label);
}

static void broadcast_case(int in_ndim, const int *in_dims, int ndim, const int *dims, unsigned kept)
{
    IrGraph *g = new_graph();
    int id = ir_broadcast(g, input(g, "a", in_ndim, in_dims), ir_shape(ndim, dims), kept);
    char label[128], is[64], os[64];
    snprintf(label, sizeof label, "broadcast %s -> %s kept 0x%x", dims_str(is, in_ndim, in_dims),
             dims_str(os, ndim, dims), kept);
    check_node(g, id, OP_BROADCAST, label);
}

static void permute_case(int ndim, const int *dims, const int *perm)
{
    IrGraph *g = new_graph();
    int id = ir_permute(g, input(g, "a", ndim, dims), perm);
    char label[128], ds[64], ps[64];
    snprintf(label, sizeof label, "permute %s perm %s", dims_str(ds, ndim, dims), dims_str(ps, ndim, perm));
    check_node(g, id, OP_PERMUTE, label);
}

/* slice in[start : start+out] and its transpose, pad out by `start` zeros before. */
static void slice_pad_cases(int ndim, const int *in_dims, const int *out_dims, const int *start)
{
    char label[160], is[64], os[64], ss[64];
    IrGraph *g = new_graph();
    int id = ir_slice(g, input(g, "a", ndim, in_dims), start, ir_shape(ndim, out_dims));
    snprintf(label, sizeof label, "slice %s -> %s start %s", dims_str(is, ndim, in_dims),
             dims_str(os, ndim, out_dims), dims_str(ss, ndim, start));
    check_node(g, id, OP_SLICE, label);

    g = new_graph();
    id = ir_pad(g, input(g, "a", ndim, out_dims), start, ir_shape(ndim, in_dims));
    snprintf(label, sizeof label, "pad %s -> %s before %s", dims_str(os, ndim, out_dims),
             dims_str(is, ndim, in_dims), dims_str(ss, ndim, start));
    check_node(g, id, OP_PAD, label);
}

static void concat_case(int ndim, const int *a_dims, const int *b_dims, int axis)
{
    IrGraph *g = new_graph();
    int id = ir_concat(g, input(g, "a", ndim, a_dims), input(g, "b", ndim, b_dims), axis);
    char label[128], as[64], bs[64];
    snprintf(label, sizeof label, "concat %s %s axis %d", dims_str(as, ndim, a_dims),
             dims_str(bs, ndim, b_dims), axis);
    check_node(g, id, OP_CONCAT, label);
}

static void test_matmul(void)
{
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            matmul_case(ta, tb, 5, 7, 3);
            matmul_case(ta, tb, 33, 17, 64);
        }
    matmul_case(0, 0, 1, 1, 1);
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            matmul_acc_case(ta, tb, 33, 17, 64);
}

static void test_conv(void)
{
    /* non-square images and kernels; stride 2 leaves a remainder on one axis */
    conv_cases((int[]){2, 3, 7, 6}, (int[]){4, 3, 3, 2}, 2, 1);
    conv_cases((int[]){2, 3, 7, 6}, (int[]){4, 3, 3, 2}, 1, 0);
    conv_cases((int[]){3, 2, 8, 5}, (int[]){5, 2, 4, 3}, 2, 1);
    conv_cases((int[]){2, 4, 5, 9}, (int[]){3, 4, 2, 4}, 1, 2); /* padding wider than half the kernel */
    conv_cases((int[]){2, 3, 6, 4}, (int[]){5, 3, 1, 1}, 1, 0); /* pointwise: no patch matrix */
    conv_cases((int[]){2, 3, 6, 4}, (int[]){5, 3, 1, 1}, 2, 0);
    conv_cases((int[]){1, 2, 4, 4}, (int[]){2, 2, 4, 4}, 1, 0); /* the kernel covers the image */
    conv_cases((int[]){4, 16, 16, 16}, (int[]){32, 16, 4, 4}, 2, 1); /* a DCGAN layer's shape */
    /* the float convs on oneDNN's blocked layouts (channels in blocks of 16, reorders around) and,
     * where a block would pad the channels, on plain ones (conv_dnnl.c's layouts()) */
    conv_cases((int[]){5, 32, 9, 7}, (int[]){48, 32, 4, 4}, 2, 1);
    conv_cases((int[]){3, 1, 12, 12}, (int[]){16, 1, 4, 4}, 2, 1);
    conv_cases((int[]){3, 24, 6, 6}, (int[]){40, 24, 3, 3}, 1, 1);
    /* conv_bf in sub-batches (conv_dnnl.c's units()): 20 images are 3 units of 6, 7 and 7 */
    conv_cases((int[]){20, 16, 8, 8}, (int[]){32, 16, 4, 4}, 2, 1);
}

static void test_reduce(void)
{
    static const int dims3[3] = {3, 4, 5}, dims4[4] = {2, 3, 4, 5};
    static const unsigned axes3[] = {1, 2, 4, 3, 5, 6, 7};
    for (int is_max = 0; is_max <= 1; is_max++) {
        for (size_t i = 0; i < sizeof axes3 / sizeof axes3[0]; i++)
            reduce_case(3, dims3, axes3[i], is_max);
        reduce_case(4, dims4, 0xa, is_max);
        reduce_case(4, dims4, 0x5, is_max);
        reduce_case(4, dims4, 0xf, is_max);
        reduce_case(1, (int[]){1000}, 1, is_max);
        reduce_case(2, (int[]){64, 9}, 1, is_max);
        /* batch-norm statistics and bias gradients: N,H,W of [N,C,H,W], the H,W rows contiguous
         * (merged into one of 63: float sums in 8 lanes and a tail), size-1 axes dropped, and a
         * large one split across the pool */
        reduce_case(4, (int[]){6, 5, 7, 9}, 0xd, is_max);
        reduce_case(4, (int[]){3, 1, 4, 3}, 0xd, is_max);
        reduce_case(4, (int[]){64, 16, 7, 7}, 0xd, is_max);
        reduce_case(4, (int[]){4, 3, 2, 5}, 0x3, is_max); /* leading axes merged, strided rows */
    }
}

static void test_shape_ops(void)
{
    broadcast_case(1, (int[]){5}, 2, (int[]){4, 5}, 0x2);      /* [n] -> [m,n] */
    broadcast_case(1, (int[]){4}, 2, (int[]){4, 5}, 0x1);      /* [m] -> [m,n] */
    broadcast_case(0, NULL, 3, (int[]){2, 3, 4}, 0x0);          /* scalar -> [a,b,c] */
    broadcast_case(2, (int[]){2, 4}, 3, (int[]){2, 3, 4}, 0x5); /* [a,c] -> [a,b,c] */
    broadcast_case(2, (int[]){3, 4}, 4, (int[]){2, 3, 4, 2}, 0x6);
    broadcast_case(1, (int[]){5}, 4, (int[]){3, 5, 7, 9}, 0x2);    /* [C] -> [N,C,H,W] */
    broadcast_case(1, (int[]){6}, 4, (int[]){3, 6, 7, 9}, 0x2);    /* the same, copied blocks */
    broadcast_case(2, (int[]){1, 4}, 4, (int[]){2, 1, 4, 3}, 0x6); /* size-1 axes */

    permute_case(2, (int[]){3, 5}, (int[]){1, 0});
    permute_case(3, (int[]){2, 3, 4}, (int[]){2, 0, 1});
    permute_case(3, (int[]){2, 3, 4}, (int[]){1, 0, 2});
    permute_case(4, (int[]){2, 3, 4, 5}, (int[]){0, 2, 3, 1});
    permute_case(4, (int[]){2, 3, 4, 5}, (int[]){3, 2, 1, 0});

    slice_pad_cases(3, (int[]){5, 6, 7}, (int[]){3, 4, 2}, (int[]){1, 2, 3});
    slice_pad_cases(2, (int[]){6, 8}, (int[]){6, 3}, (int[]){0, 5});
    slice_pad_cases(1, (int[]){9}, (int[]){4}, (int[]){2});
    slice_pad_cases(4, (int[]){2, 3, 6, 6}, (int[]){2, 3, 4, 4}, (int[]){0, 0, 1, 1});

    for (int axis = 0; axis < 3; axis++) {
        int a[3] = {2, 3, 4}, b[3] = {2, 3, 4};
        b[axis] = 5;
        concat_case(3, a, b, axis);
    }
    concat_case(2, (int[]){7, 1}, (int[]){7, 2}, 1);
}

/* Shapes over POOL_MIN_WORK elements, so the copies split their rows across the pool's 3 threads
 * (uneven parts: row counts not divisible by 3). */
static void test_large_shape_ops(void)
{
    broadcast_case(1, (int[]){257}, 2, (int[]){131, 257}, 0x2);
    broadcast_case(1, (int[]){131}, 3, (int[]){131, 5, 61}, 0x1);
    broadcast_case(1, (int[]){64}, 4, (int[]){33, 64, 7, 7}, 0x2);
    /* a first block gathered, then copied: 32 blocks over 3 threads, and two new leading axes */
    broadcast_case(1, (int[]){128}, 4, (int[]){33, 128, 7, 7}, 0x2);
    broadcast_case(2, (int[]){9, 40}, 4, (int[]){5, 7, 9, 40}, 0xc);
    permute_case(3, (int[]){64, 33, 20}, (int[]){2, 0, 1});
    permute_case(4, (int[]){4, 32, 17, 16}, (int[]){0, 2, 3, 1});
    slice_pad_cases(4, (int[]){5, 8, 40, 41}, (int[]){5, 7, 38, 40}, (int[]){0, 1, 1, 0});
    slice_pad_cases(2, (int[]){301, 200}, (int[]){299, 130}, (int[]){2, 70});
    concat_case(2, (int[]){257, 140}, (int[]){257, 131}, 1);
    concat_case(3, (int[]){100, 3, 120}, (int[]){110, 3, 120}, 0);
}

/* Products over gemm.c's one-thread limit (2^22 multiply-adds), so float ones split across the
 * pool's 3 threads: by rows when m >= n, by columns otherwise, in blocks that do not divide
 * evenly; with and without accumulation, in every transpose case. */
static void test_large_matmul(void)
{
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            matmul_case(ta, tb, 301, 170, 100);
            matmul_case(ta, tb, 90, 403, 130);
            matmul_acc_case(ta, tb, 90, 403, 130);
        }
}

int main(void)
{
    test_matmul();
    test_conv();
    pool_start(3); /* three chunks: uneven ones for batches of 2 and 4, one image each for 3 */
    threads_label = " on 3 threads";
    test_conv();
    test_conv_bf_accuracy();
    threads_label = "";
    test_reduce();
    test_shape_ops();
    threads_label = " on 3 threads";
    test_large_shape_ops();
    test_large_matmul();
    arena_free(&arena);
    return check_summary();
}
