/* test_ops.c: every differentiable IR op's VJP rule, checked against finite differences.
 *
 * What it proves. For each case (an op, or a composition, applied to PARAM leaves filled with
 * seeded random values), in float64 with the reference interpreter:
 *   order 1: L = sum(y * r), r a random INPUT, so every output element matters; the gradients
 *            ad_grad(L, params) equal the central finite differences of L, element by element;
 *   order 2: L2 = sum_i sum(g_i * s_i), g_i the order-1 gradient NODES and s_i fresh random
 *            INPUTs; ad_grad(L2, params) equals the finite differences of L2. So the graphs that
 *            autodiff emits are themselves differentiated correctly (double backprop, which a
 *            gradient penalty needs); for a linear op L2 is constant and both sides are zero.
 * Compositions do what WGAN-GP training does: the penalty on grad(D(x_hat), x_hat) for an MLP
 * (ReLU and tanh) and for a stride-2 pad-1 conv, differentiated with respect to D's weights
 * (their "order 2" is then a third derivative). Negative controls corrupt a gradient, thaw a
 * stop_grad or unfreeze the masks on purpose and require the checker to fail, so a checker that
 * cannot fail would be caught.
 *
 * Why these choices. Finite differences use a Richardson-extrapolated central difference
 * (f(-2h), f(-h), f(h), f(2h): truncation error O(h^4)) with h = 2^-13 (1.2e-4) * max(1, |p|),
 * because the plain central difference with h = 1e-6 leaves about eps * |L| / h = 1e-10 * |L| of
 * rounding noise: over 300 seeds its worst error was 9e-7, at the 1e-6 bound, against 8e-8 for
 * the extrapolated one (`test_ops --h6` runs the plain one, `--seed N` another draw).
 * Non-smooth ops (max, select on gt/ge/eq) are differentiated on the smooth piece that holds the
 * point: the interpreter records every comparison and argmax at the unperturbed point
 * (MASK_RECORD) and replays them for the perturbed runs (MASK_FROZEN). stop_grad is treated the
 * same way: its value is held at the recorded one while its input is perturbed, which is what
 * "derivative zero" means. The error of an element is
 *     |ad - fd| / max(|ad|, |fd|, 1e-3 * max_tensor |fd|, 1e-8)
 * and every element of every case must be below 1e-6. */
#include "autodiff.h"
#include "interp.h"
#include "ir.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-6

/* ---- deterministic random numbers (splitmix64) ------------------------------------------ */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double urand(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; } /* [0, 1) */

typedef enum {
    FILL_SIGNED,   /* U(-1, 1)                                                     */
    FILL_POSITIVE, /* U(0.5, 2): log, sqrt, fractional and negative powers           */
    FILL_AWAY,     /* +-U(0.5, 1.5): divisors, bounded away from 0                   */
    FILL_DISTINCT, /* a shuffled grid over [-1, 1], gaps >= 1/n: max and comparisons */
    FILL_KINK,     /* U(-1, 1) but two elements within the FD stencil of 0: ReLU's kink */
} FillKind;

static void fill(double *v, long n, FillKind kind)
{
    for (long i = 0; i < n; i++) {
        double u = urand();
        switch (kind) {
        case FILL_SIGNED: v[i] = 2 * u - 1; break;
        case FILL_POSITIVE: v[i] = 0.5 + 1.5 * u; break;
        case FILL_AWAY: v[i] = (rng_next() & 1 ? 1 : -1) * (0.5 + u); break;
        case FILL_DISTINCT: v[i] = -1 + 2 * ((double)i + 0.25 + 0.5 * u) / (double)n; break;
        case FILL_KINK: v[i] = i == 0 ? 3e-7 : i == 1 ? -2e-7 : 2 * u - 1; break;
        }
    }
    if (kind == FILL_DISTINCT)
        for (long i = n - 1; i > 0; i--) {
            long j = (long)(rng_next() % (uint64_t)(i + 1));
            double t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
}

/* ---- cases ------------------------------------------------------------------------------ */

enum { MAXLEAF = 8 };

typedef struct Leaf {
    int node;
    FillKind kind;
} Leaf;

/* What a builder creates: the graph, its params (differentiated) and its other inputs. */
typedef struct Ctx {
    IrGraph *g;
    Leaf params[MAXLEAF], inputs[MAXLEAF];
    int nparam, ninput;
} Ctx;

typedef struct Case {
    const char *op, *variant;
    int (*build)(Ctx *c); /* returns y */
} Case;

static Shape shape_n(int ndim, const int *dims) { return ir_shape(ndim, dims); }
#define SH(...) shape_n((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__})

static int add_leaf(Ctx *c, int is_param, const char *name, Shape s, FillKind kind)
{
    LeafInit init;
    memset(&init, 0, sizeof init);
    int id = is_param ? ir_param(c->g, name, s, init) : ir_input(c->g, name, s, init);
    Leaf *list = is_param ? c->params : c->inputs;
    int *count = is_param ? &c->nparam : &c->ninput;
    if (*count == MAXLEAF) abort();
    list[(*count)++] = (Leaf){id, kind};
    return id;
}

static int P(Ctx *c, const char *name, Shape s, FillKind kind) { return add_leaf(c, 1, name, s, kind); }
static int I(Ctx *c, const char *name, Shape s, FillKind kind) { return add_leaf(c, 0, name, s, kind); }

static unsigned all_axes(int ndim) { return (1u << ndim) - 1; }

/* elementwise binary ops on [3,4] */
static int binary_case(Ctx *c, IrOp op, FillKind kb)
{
    int a = P(c, "a", SH(3, 4), FILL_SIGNED), b = P(c, "b", SH(3, 4), kb);
    return ir_binary(c->g, op, a, b);
}
static int b_add(Ctx *c) { return binary_case(c, OP_ADD, FILL_SIGNED); }
static int b_sub(Ctx *c) { return binary_case(c, OP_SUB, FILL_SIGNED); }
static int b_mul(Ctx *c) { return binary_case(c, OP_MUL, FILL_SIGNED); }
static int b_div(Ctx *c) { return binary_case(c, OP_DIV, FILL_AWAY); }
/* the same node on both sides: the two contributions must accumulate */
static int b_mul_self(Ctx *c) { int a = P(c, "a", SH(3, 4), FILL_SIGNED); return ir_mul(c->g, a, a); }
static int b_div_self(Ctx *c)
{
    int a = P(c, "a", SH(3, 4), FILL_AWAY);
    return ir_div(c->g, ir_unary(c->g, OP_EXP, a), a);
}

static int unary_case(Ctx *c, IrOp op, FillKind k)
{
    return ir_unary(c->g, op, P(c, "a", SH(3, 4), k));
}
static int b_neg(Ctx *c) { return unary_case(c, OP_NEG, FILL_SIGNED); }
static int b_exp(Ctx *c) { return unary_case(c, OP_EXP, FILL_SIGNED); }
static int b_log(Ctx *c) { return unary_case(c, OP_LOG, FILL_POSITIVE); }
static int b_sqrt(Ctx *c) { return unary_case(c, OP_SQRT, FILL_POSITIVE); }
static int b_tanh(Ctx *c) { return unary_case(c, OP_TANH, FILL_SIGNED); }
static int b_log1p(Ctx *c) { return unary_case(c, OP_LOG1P, FILL_SIGNED); } /* a > -1 */
static int b_expm1(Ctx *c) { return unary_case(c, OP_EXPM1, FILL_SIGNED); }
/* the tails the two ops exist for: tiny arguments, where 1 + a rounds to 1 */
static int b_log1p_tiny(Ctx *c) { return ir_unary(c->g, OP_LOG1P, ir_mul(c->g, P(c, "a", SH(3, 4), FILL_SIGNED), ir_const(c->g, 1e-9, SH(3, 4)))); }
static int b_expm1_tiny(Ctx *c) { return ir_unary(c->g, OP_EXPM1, ir_mul(c->g, P(c, "a", SH(3, 4), FILL_SIGNED), ir_const(c->g, 1e-9, SH(3, 4)))); }
static int b_sigmoid(Ctx *c)
{
    /* spread over [-4, 4] so both tails of the stable sigmoid are used */
    int a = P(c, "a", SH(3, 4), FILL_DISTINCT);
    return ir_unary(c->g, OP_SIGMOID, ir_mul(c->g, a, ir_const(c->g, 4, SH(3, 4))));
}

static int pow_case(Ctx *c, double e, FillKind k) { return ir_pow(c->g, P(c, "a", SH(3, 4), k), e); }
static int b_pow2(Ctx *c) { return pow_case(c, 2, FILL_SIGNED); }
static int b_pow3(Ctx *c) { return pow_case(c, 3, FILL_SIGNED); }
static int b_pow15(Ctx *c) { return pow_case(c, 1.5, FILL_POSITIVE); }
static int b_pow_m05(Ctx *c) { return pow_case(c, -0.5, FILL_POSITIVE); }
static int b_pow_m2(Ctx *c) { return pow_case(c, -2, FILL_AWAY); }

/* select on a comparison: the mask blocks the gradient, each branch gets its share */
static int b_select_gt(Ctx *c)
{
    IrGraph *g = c->g;
    int a = P(c, "a", SH(3, 4), FILL_DISTINCT), b = P(c, "b", SH(3, 4), FILL_DISTINCT);
    return ir_select(g, ir_binary(g, OP_GT, a, b), ir_mul(g, a, b), ir_unary(g, OP_EXP, a));
}
/* ge at its equality point: a >= broadcast(max a) holds exactly at the argmax */
static int b_select_ge(Ctx *c)
{
    IrGraph *g = c->g;
    int a = P(c, "a", SH(3, 4), FILL_DISTINCT), b = P(c, "b", SH(3, 4), FILL_SIGNED);
    int m = ir_broadcast(g, ir_max(g, a, 2u), SH(3, 4), 1u);
    return ir_select(g, ir_binary(g, OP_GE, a, m), ir_mul(g, a, b), ir_unary(g, OP_TANH, b));
}
/* eq as a one-hot argmax mask */
static int b_select_eq(Ctx *c)
{
    IrGraph *g = c->g;
    int a = P(c, "a", SH(3, 4), FILL_DISTINCT), b = P(c, "b", SH(3, 4), FILL_SIGNED);
    int m = ir_broadcast(g, ir_max(g, a, 1u), SH(3, 4), 2u);
    return ir_select(g, ir_binary(g, OP_EQ, a, m), ir_mul(g, a, a), ir_mul(g, a, b));
}
static int b_select_relu(Ctx *c)
{
    IrGraph *g = c->g;
    int a = P(c, "a", SH(3, 4), FILL_DISTINCT), zero = ir_const(g, 0, SH(3, 4));
    return ir_select(g, ir_binary(g, OP_GT, a, zero), a, zero);
}
/* ReLU with two entries closer to the kink than the FD step: right only with frozen masks */
static int b_select_relu_kink(Ctx *c)
{
    IrGraph *g = c->g;
    int a = P(c, "a", SH(3, 4), FILL_KINK), zero = ir_const(g, 0, SH(3, 4));
    int b = P(c, "b", SH(3, 4), FILL_SIGNED);
    return ir_mul(g, ir_select(g, ir_binary(g, OP_GT, a, zero), a, zero), b);
}
/* a mask computed from an INPUT only: no path from the params through it */
static int b_select_inputmask(Ctx *c)
{
    IrGraph *g = c->g;
    int m = I(c, "m", SH(3, 4), FILL_SIGNED);
    int a = P(c, "a", SH(3, 4), FILL_SIGNED), b = P(c, "b", SH(3, 4), FILL_SIGNED);
    int mask = ir_binary(g, OP_GT, m, ir_const(g, 0, SH(3, 4)));
    return ir_select(g, mask, ir_unary(g, OP_TANH, a), ir_mul(g, a, b));
}

/* stop_grad: y = exp(ab) * sg(ab), ab = concat(a, b); AD sees exp(ab) * const. In frozen mode the
 * interpreter holds sg's value at the recorded one, as it holds comparison masks. */
static int b_stop_grad(Ctx *c)
{
    IrGraph *g = c->g;
    int a = P(c, "a", SH(2, 3), FILL_SIGNED), b = P(c, "b", SH(2, 3), FILL_SIGNED);
    int ab = ir_concat(g, a, b, 0);
    int sg = ir_unary(g, OP_STOP_GRAD, ab);
    return ir_mul(g, ir_unary(g, OP_EXP, ab), sg);
}

/* Shape ops come in two variants: "linear" y = op(a) (L2 is constant, both sides zero) and
 * "scaled" y = op(a) * b with b a param, whose order 2 differentiates the op's VJP graph. */
static int scaled(Ctx *c, int y)
{
    return ir_mul(c->g, y, P(c, "b", ir_shape_of(c->g, y), FILL_SIGNED));
}

static int reshape_op(Ctx *c) { return ir_reshape(c->g, P(c, "a", SH(3, 4), FILL_SIGNED), SH(2, 3, 2)); }
static int permute_op(Ctx *c)
{
    static const int perm[3] = {2, 0, 1};
    return ir_permute(c->g, P(c, "a", SH(2, 3, 4), FILL_SIGNED), perm);
}
static int permute4_op(Ctx *c)
{
    static const int perm[4] = {0, 3, 1, 2};
    return ir_permute(c->g, P(c, "a", SH(2, 3, 2, 2), FILL_SIGNED), perm);
}
static int bcast_mid_op(Ctx *c) { return ir_broadcast(c->g, P(c, "a", SH(3), FILL_SIGNED), SH(2, 3, 4), 2u); }
static int bcast_trail_op(Ctx *c) { return ir_broadcast(c->g, P(c, "a", SH(3, 4), FILL_SIGNED), SH(2, 3, 4), 6u); }
static int bcast_scalar_op(Ctx *c) { return ir_broadcast(c->g, P(c, "a", ir_shape_scalar(), FILL_SIGNED), SH(3, 4), 0u); }
static int bcast_outer_op(Ctx *c) { return ir_broadcast(c->g, P(c, "a", SH(2, 4), FILL_SIGNED), SH(2, 3, 4), 5u); }
static int bcast_4d_op(Ctx *c) { return ir_broadcast(c->g, P(c, "a", SH(3, 2), FILL_SIGNED), SH(2, 3, 2, 2), 6u); }
static int sum_4d_op(Ctx *c) { return ir_sum(c->g, P(c, "a", SH(2, 3, 2, 3), FILL_SIGNED), 10u); }
static int max_4d_op(Ctx *c) { return ir_max(c->g, P(c, "a", SH(2, 3, 2, 3), FILL_DISTINCT), 9u); }
static int slice_4d_op(Ctx *c)
{
    static const int start[4] = {1, 0, 2, 1};
    return ir_slice(c->g, P(c, "a", SH(2, 3, 4, 3), FILL_SIGNED), start, SH(1, 2, 2, 2));
}
static int pad_4d_op(Ctx *c)
{
    static const int before[4] = {0, 1, 1, 2};
    return ir_pad(c->g, P(c, "a", SH(2, 1, 2, 2), FILL_SIGNED), before, SH(2, 3, 4, 5));
}
static int concat_4d_op(Ctx *c)
{
    return ir_concat(c->g, P(c, "a", SH(2, 2, 3, 2), FILL_SIGNED), P(c, "b0", SH(2, 2, 1, 2), FILL_SIGNED), 2);
}
static int sum_1_op(Ctx *c) { return ir_sum(c->g, P(c, "a", SH(2, 3, 4), FILL_SIGNED), 2u); }
static int sum_02_op(Ctx *c) { return ir_sum(c->g, P(c, "a", SH(2, 3, 4), FILL_SIGNED), 5u); }
static int sum_all_op(Ctx *c) { return ir_sum(c->g, P(c, "a", SH(2, 3, 4), FILL_SIGNED), 7u); }
static int max_1_op(Ctx *c) { return ir_max(c->g, P(c, "a", SH(3, 5), FILL_DISTINCT), 2u); }
static int max_02_op(Ctx *c) { return ir_max(c->g, P(c, "a", SH(2, 3, 4), FILL_DISTINCT), 5u); }
static int max_all_op(Ctx *c) { return ir_max(c->g, P(c, "a", SH(2, 3, 4), FILL_DISTINCT), 7u); }
static int slice_op(Ctx *c)
{
    static const int start[2] = {1, 2};
    return ir_slice(c->g, P(c, "a", SH(4, 5), FILL_SIGNED), start, SH(2, 3));
}
static int pad_op(Ctx *c)
{
    static const int before[3] = {1, 0, 2};
    return ir_pad(c->g, P(c, "a", SH(2, 3, 2), FILL_SIGNED), before, SH(4, 3, 5));
}
static int concat1_op(Ctx *c)
{
    return ir_concat(c->g, P(c, "a", SH(2, 3), FILL_SIGNED), P(c, "b0", SH(2, 4), FILL_SIGNED), 1);
}
static int concat0_op(Ctx *c)
{
    return ir_concat(c->g, P(c, "a", SH(2, 3), FILL_SIGNED), P(c, "b0", SH(1, 3), FILL_SIGNED), 0);
}
/* a tensor concatenated with itself: two slices of one cotangent accumulate */
static int concat_self_op(Ctx *c)
{
    int a = P(c, "a", SH(2, 3), FILL_SIGNED);
    return ir_concat(c->g, a, a, 1);
}

#define SHAPE_CASES(X)                                                                          \
    X(reshape, "3x4>2x3x2", reshape_op) X(permute, "3d", permute_op)                              \
    X(permute, "4d", permute4_op) X(broadcast, "mid", bcast_mid_op)                               \
    X(broadcast, "trail", bcast_trail_op) X(broadcast, "scalar", bcast_scalar_op)                 \
    X(broadcast, "outer", bcast_outer_op) X(broadcast, "4d", bcast_4d_op)                         \
    X(sum, "axis1", sum_1_op) X(sum, "axes02", sum_02_op) X(sum, "all", sum_all_op)               \
    X(sum, "4d-axes13", sum_4d_op) X(max, "axis1", max_1_op) X(max, "axes02", max_02_op)          \
    X(max, "all", max_all_op) X(max, "4d-axes03", max_4d_op) X(slice, "4x5>2x3", slice_op)        \
    X(slice, "4d", slice_4d_op) X(pad, "2x3x2>4x3x5", pad_op) X(pad, "4d", pad_4d_op)             \
    X(concat, "axis1", concat1_op) X(concat, "axis0", concat0_op)                                 \
    X(concat, "4d-axis2", concat_4d_op) X(concat, "self", concat_self_op)

#define X(op, v, f) static int f##_linear(Ctx *c) { return f(c); } \
                    static int f##_scaled(Ctx *c) { return scaled(c, f(c)); }
SHAPE_CASES(X)
#undef X

/* matmul: a is [M,K] (or [K,M] when ta), b is [K,N] (or [N,K] when tb) */
static int matmul_case(Ctx *c, int ta, int tb)
{
    enum { M = 3, K = 4, N = 2 };
    int a = P(c, "a", ta ? SH(K, M) : SH(M, K), FILL_SIGNED);
    int b = P(c, "b", tb ? SH(N, K) : SH(K, N), FILL_SIGNED);
    return ir_matmul(c->g, a, b, ta, tb);
}
static int b_mm_nn(Ctx *c) { return matmul_case(c, 0, 0); }
static int b_mm_nt(Ctx *c) { return matmul_case(c, 0, 1); }
static int b_mm_tn(Ctx *c) { return matmul_case(c, 1, 0); }
static int b_mm_tt(Ctx *c) { return matmul_case(c, 1, 1); }
/* a^T a and a a^T: both operands the same node */
static int b_mm_ata(Ctx *c) { int a = P(c, "a", SH(3, 4), FILL_SIGNED); return ir_matmul(c->g, a, a, 1, 0); }
static int b_mm_aat(Ctx *c) { int a = P(c, "a", SH(3, 4), FILL_SIGNED); return ir_matmul(c->g, a, a, 0, 1); }
/* degenerate dimensions, where BLAS leading dimensions are easiest to get wrong */
static int matmul_dims(Ctx *c, int m, int k, int n, int ta, int tb)
{
    int a = P(c, "a", ta ? SH(k, m) : SH(m, k), FILL_SIGNED);
    int b = P(c, "b", tb ? SH(n, k) : SH(k, n), FILL_SIGNED);
    return ir_matmul(c->g, a, b, ta, tb);
}
static int b_mm_dot_tt(Ctx *c) { return matmul_dims(c, 1, 5, 1, 1, 1); }
static int b_mm_outer_tn(Ctx *c) { return matmul_dims(c, 3, 1, 4, 1, 0); }
static int b_mm_row_nt(Ctx *c) { return matmul_dims(c, 1, 4, 3, 0, 1); }

/* convs: x [2,2,H,W], w [3,2,3,2] (non-square), y [2,3,OH,OW]. "s2p1odd" has
 * (H + 2p - KH) % stride != 0 in both axes, so the last input rows are never read by the conv;
 * "s3p2" also has pad >= KW, so some output columns see only padding. */
typedef struct ConvGeom {
    int h, w, stride, pad;
} ConvGeom;
static const ConvGeom geom_s1p0 = {5, 6, 1, 0}, geom_s2p1 = {5, 6, 2, 1}, geom_s2p1odd = {6, 5, 2, 1},
                      geom_s3p2 = {7, 5, 3, 2};

static Shape conv_x(ConvGeom q) { return SH(2, 2, q.h, q.w); }
static Shape conv_w(void) { return SH(3, 2, 3, 2); }
static Shape conv_y(ConvGeom q)
{
    return SH(2, 3, ir_conv_out_size(q.h, 3, q.stride, q.pad), ir_conv_out_size(q.w, 2, q.stride, q.pad));
}
static int conv_case(Ctx *c, ConvGeom q)
{
    int x = P(c, "x", conv_x(q), FILL_SIGNED), w = P(c, "w", conv_w(), FILL_SIGNED);
    return ir_conv(c->g, x, w, q.stride, q.pad);
}
static int conv_bd_case(Ctx *c, ConvGeom q)
{
    int w = P(c, "w", conv_w(), FILL_SIGNED), y = P(c, "y", conv_y(q), FILL_SIGNED);
    return ir_conv_bd(c->g, w, y, q.stride, q.pad, conv_x(q));
}
static int conv_bf_case(Ctx *c, ConvGeom q)
{
    int x = P(c, "x", conv_x(q), FILL_SIGNED), y = P(c, "y", conv_y(q), FILL_SIGNED);
    return ir_conv_bf(c->g, x, y, q.stride, q.pad, conv_w());
}
static int b_conv_s1p0(Ctx *c) { return conv_case(c, geom_s1p0); }
static int b_conv_s2p1(Ctx *c) { return conv_case(c, geom_s2p1); }
static int b_conv_s2p1odd(Ctx *c) { return conv_case(c, geom_s2p1odd); }
static int b_conv_bd_s1p0(Ctx *c) { return conv_bd_case(c, geom_s1p0); }
static int b_conv_bd_s2p1(Ctx *c) { return conv_bd_case(c, geom_s2p1); }
static int b_conv_bd_s2p1odd(Ctx *c) { return conv_bd_case(c, geom_s2p1odd); }
static int b_conv_bf_s1p0(Ctx *c) { return conv_bf_case(c, geom_s1p0); }
static int b_conv_bf_s2p1(Ctx *c) { return conv_bf_case(c, geom_s2p1); }
static int b_conv_bf_s2p1odd(Ctx *c) { return conv_bf_case(c, geom_s2p1odd); }
static int b_conv_s3p2(Ctx *c) { return conv_case(c, geom_s3p2); }
static int b_conv_bd_s3p2(Ctx *c) { return conv_bd_case(c, geom_s3p2); }
static int b_conv_bf_s3p2(Ctx *c) { return conv_bf_case(c, geom_s3p2); }

/* ---- WGAN-GP compositions ---------------------------------------------------------------- */

/* mean over the batch of (sqrt(sum(g*g) over the other axes + 1e-12) - 1)^2 */
static int gradient_penalty(IrGraph *g, int gx)
{
    Shape s = ir_shape_of(g, gx);
    int sq = ir_sum(g, ir_mul(g, gx, gx), all_axes(s.ndim) & ~1u);
    int norm = ir_unary(g, OP_SQRT, ir_add(g, sq, ir_const_like(g, 1e-12, sq)));
    int dev = ir_sub(g, norm, ir_const_like(g, 1, norm));
    int total = ir_sum(g, ir_pow(g, dev, 2), 1u);
    return ir_mul(g, total, ir_const(g, 1.0 / s.dim[0], ir_shape_scalar()));
}

/* D(x) = matmul(act(matmul(x, W1) + b1), W2), gp on grad(sum(D(xh)), xh) */
static int gp_mlp(Ctx *c, int relu)
{
    IrGraph *g = c->g;
    enum { N = 4, DIN = 3, H = 5 };
    int xh = I(c, "xh", SH(N, DIN), FILL_SIGNED);
    int w1 = P(c, "W1", SH(DIN, H), FILL_SIGNED), b1 = P(c, "b1", SH(H), FILL_SIGNED);
    int w2 = P(c, "W2", SH(H, 1), FILL_SIGNED);
    int h = ir_add(g, ir_matmul(g, xh, w1, 0, 0), ir_broadcast(g, b1, SH(N, H), 2u));
    int zero = ir_const_like(g, 0, h);
    int act = relu ? ir_select(g, ir_binary(g, OP_GT, h, zero), h, zero) : ir_unary(g, OP_TANH, h);
    int d = ir_matmul(g, act, w2, 0, 0);
    int gx;
    ad_grad(g, ir_sum(g, d, 3u), 1, &xh, &gx);
    return gradient_penalty(g, gx);
}
static int b_gp_mlp_relu(Ctx *c) { return gp_mlp(c, 1); }
static int b_gp_mlp_tanh(Ctx *c) { return gp_mlp(c, 0); }

/* D(x) = sum(tanh(conv(x, w, stride 2, pad 1) + b)) per sample */
static int b_gp_conv(Ctx *c)
{
    IrGraph *g = c->g;
    ConvGeom q = geom_s2p1odd;
    int xh = I(c, "xh", conv_x(q), FILL_SIGNED);
    int w = P(c, "w", conv_w(), FILL_SIGNED), b = P(c, "b", SH(3), FILL_SIGNED);
    int y = ir_conv(g, xh, w, q.stride, q.pad);
    int t = ir_unary(g, OP_TANH, ir_add(g, y, ir_broadcast(g, b, ir_shape_of(g, y), 2u)));
    int d = ir_sum(g, t, 14u);
    int gx;
    ad_grad(g, ir_sum(g, d, 1u), 1, &xh, &gx);
    return gradient_penalty(g, gx);
}

/* a non-saturating GAN generator step through a small conv net: log sigmoid, max-pool-like max,
 * reshape and a dense layer, to cover ops in combination */
static int b_mixed(Ctx *c)
{
    IrGraph *g = c->g;
    ConvGeom q = geom_s2p1;
    int z = I(c, "z", conv_x(q), FILL_SIGNED);
    int w = P(c, "w", conv_w(), FILL_SIGNED), v = P(c, "v", SH(12, 2), FILL_SIGNED);
    int h = ir_unary(g, OP_TANH, ir_conv(g, z, w, q.stride, q.pad)); /* [2,3,3,4] */
    int m = ir_max(g, h, 4u);                                         /* [2,3,4]   */
    int f = ir_matmul(g, ir_reshape(g, m, SH(2, 12)), v, 0, 0);       /* [2,2]     */
    return ir_unary(g, OP_LOG, ir_unary(g, OP_SIGMOID, f));
}

static const Case cases[] = {
    {"add", "3x4", b_add},
    {"sub", "3x4", b_sub},
    {"mul", "3x4", b_mul},
    {"mul", "self", b_mul_self},
    {"div", "3x4", b_div},
    {"div", "exp/self", b_div_self},
    {"neg", "3x4", b_neg},
    {"exp", "3x4", b_exp},
    {"log", "3x4", b_log},
    {"sqrt", "3x4", b_sqrt},
    {"tanh", "3x4", b_tanh},
    {"log1p", "3x4", b_log1p},
    {"log1p", "tiny", b_log1p_tiny},
    {"expm1", "3x4", b_expm1},
    {"expm1", "tiny", b_expm1_tiny},
    {"sigmoid", "wide", b_sigmoid},
    {"pow", "e=2", b_pow2},
    {"pow", "e=3", b_pow3},
    {"pow", "e=1.5", b_pow15},
    {"pow", "e=-0.5", b_pow_m05},
    {"pow", "e=-2", b_pow_m2},
    {"select", "gt", b_select_gt},
    {"select", "ge", b_select_ge},
    {"select", "eq", b_select_eq},
    {"select", "relu", b_select_relu},
    {"select", "relu-at-kink", b_select_relu_kink},
    {"select", "inputmask", b_select_inputmask},
    {"stop_grad", "frozen", b_stop_grad},
#define X(op, v, f) {#op, v "/linear", f##_linear}, {#op, v "/scaled", f##_scaled},
    SHAPE_CASES(X)
#undef X
    {"matmul", "nn", b_mm_nn},
    {"matmul", "nt", b_mm_nt},
    {"matmul", "tn", b_mm_tn},
    {"matmul", "tt", b_mm_tt},
    {"matmul", "ata", b_mm_ata},
    {"matmul", "aat", b_mm_aat},
    {"matmul", "dot-tt", b_mm_dot_tt},
    {"matmul", "outer-tn", b_mm_outer_tn},
    {"matmul", "row-nt", b_mm_row_nt},
    {"conv", "s1p0", b_conv_s1p0},
    {"conv", "s2p1", b_conv_s2p1},
    {"conv", "s2p1odd", b_conv_s2p1odd},
    {"conv", "s3p2", b_conv_s3p2},
    {"conv_bd", "s1p0", b_conv_bd_s1p0},
    {"conv_bd", "s2p1", b_conv_bd_s2p1},
    {"conv_bd", "s2p1odd", b_conv_bd_s2p1odd},
    {"conv_bd", "s3p2", b_conv_bd_s3p2},
    {"conv_bf", "s1p0", b_conv_bf_s1p0},
    {"conv_bf", "s2p1", b_conv_bf_s2p1},
    {"conv_bf", "s2p1odd", b_conv_bf_s2p1odd},
    {"conv_bf", "s3p2", b_conv_bf_s3p2},
    {"wgan-gp", "mlp-relu", b_gp_mlp_relu},
    {"wgan-gp", "mlp-tanh", b_gp_mlp_tanh},
    {"wgan-gp", "conv-s2p1", b_gp_conv},
    {"mixed", "conv-max-dense-logsigmoid", b_mixed},
};

/* ---- the checker ------------------------------------------------------------------------- */

typedef struct Options {
    double h;          /* relative step                                                    */
    int richardson;    /* 4-point stencil (O(h^4)) instead of the 2-point one (O(h^2))       */
    int live_masks;    /* negative control: FD without mask freezing                        */
    double corrupt[2]; /* negative control: multiply the AD gradient of param 0, per order  */
} Options;

static const Options default_options = {0x1p-13, 1, 0, {1, 1}}; /* h = 1.22e-4 */

typedef struct Result {
    double maxerr[2];
    char detail[2][256]; /* the worst element, or what went wrong */
} Result;

typedef struct Evaluator {
    Interp *it;
    int loss[2];          /* L, L2                                          */
} Evaluator;

/* Both losses at the params' current values. */
static void evaluate(const Evaluator *e, double out[2])
{
    interp_run(e->it);
    for (int k = 0; k < 2; k++)
        out[k] = interp_buffer(e->it, e->loss[k])[0];
}

static int sum_node(IrGraph *g, int a) { return ir_sum(g, a, all_axes(ir_shape_of(g, a).ndim)); }

/* Builds the case, checks orders 1 and 2. Returns 1 when both pass. */
static int check_case(const Case *cs, const Options *opt, unsigned long seed, Result *res)
{
    memset(res, 0, sizeof *res);
    rng_state = 0x243f6a8885a308d3ull ^ (seed * 0x9e3779b97f4a7c15ull);
    Arena arena = {0};
    IrGraph *g = ir_new_graph(&arena, cs->op, DT_F64);
    Ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    int y = cs->build(&c);
    int np = c.nparam, xs[MAXLEAF], grad[2][MAXLEAF];
    for (int i = 0; i < np; i++)
        xs[i] = c.params[i].node;

    /* order 1: L = sum(y * r) */
    int r = I(&c, "_r", ir_shape_of(g, y), FILL_SIGNED);
    int loss1 = sum_node(g, ir_mul(g, y, r));
    ad_grad(g, loss1, np, xs, grad[0]);
    /* order 2: L2 = sum_i sum(g_i * s_i) */
    int loss2 = ir_const(g, 0, ir_shape_scalar());
    for (int i = 0; i < np; i++) {
        char name[16];
        snprintf(name, sizeof name, "_s%d", i);
        int s = I(&c, name, ir_shape_of(g, xs[i]), FILL_SIGNED);
        loss2 = ir_add(g, loss2, sum_node(g, ir_mul(g, grad[0][i], s)));
    }
    ad_grad(g, loss2, np, xs, grad[1]);
    ir_add_output(g, OUT_VALUE, "L", loss1);
    ir_add_output(g, OUT_VALUE, "L2", loss2);

    Interp *it = interp_new(g, 0);
    for (int i = 0; i < c.nparam; i++)
        fill(interp_buffer(it, c.params[i].node), ir_shape_size(ir_shape_of(g, c.params[i].node)), c.params[i].kind);
    for (int i = 0; i < c.ninput; i++)
        fill(interp_buffer(it, c.inputs[i].node), ir_shape_size(ir_shape_of(g, c.inputs[i].node)), c.inputs[i].kind);

    /* AD at the unperturbed point, recording every comparison and argmax */
    interp_set_mask_mode(it, opt->live_masks ? MASK_LIVE : MASK_RECORD);
    interp_run(it);
    double base[2] = {interp_buffer(it, loss1)[0], interp_buffer(it, loss2)[0]};
    Evaluator ev = {it, {loss1, loss2}};
    long total = 0, offset[MAXLEAF + 1];
    for (int i = 0; i < np; i++) {
        offset[i] = total;
        total += ir_shape_size(ir_shape_of(g, xs[i]));
    }
    offset[np] = total;
    double *ad[2], *fd[2];
    for (int k = 0; k < 2; k++) {
        ad[k] = malloc(sizeof(double) * (size_t)(total ? total : 1));
        fd[k] = malloc(sizeof(double) * (size_t)(total ? total : 1));
        for (int i = 0; i < np; i++) {
            long n = offset[i + 1] - offset[i];
            memcpy(ad[k] + offset[i], interp_buffer(it, grad[k][i]), sizeof(double) * (size_t)n);
            if (i == 0)
                for (long j = 0; j < n; j++) ad[k][j] *= opt->corrupt[k];
        }
    }

    /* finite differences on the smooth piece that holds the point */
    if (!opt->live_masks)
        interp_set_mask_mode(it, MASK_FROZEN);
    for (int i = 0; i < np; i++) {
        double *p = interp_buffer(it, xs[i]);
        for (long j = 0; j < offset[i + 1] - offset[i]; j++) {
            double p0 = p[j], h = opt->h * fmax(1, fabs(p0)), f[2][2][2]; /* [step][sign][order] */
            for (int step = 0; step < (opt->richardson ? 2 : 1); step++)
                for (int sign = 0; sign < 2; sign++) {
                    p[j] = p0 + (sign ? -1 : 1) * (step + 1) * h;
                    evaluate(&ev, f[step][sign]);
                }
            p[j] = p0;
            for (int k = 0; k < 2; k++) {
                double d1 = f[0][0][k] - f[0][1][k];
                fd[k][offset[i] + j] = opt->richardson ? (8 * d1 - (f[1][0][k] - f[1][1][k])) / (12 * h)
                                                       : d1 / (2 * h);
            }
        }
    }

    /* the frozen function must be the function: at the point itself it gives the same losses */
    double again[2];
    evaluate(&ev, again);
    int ok[2] = {1, 1};
    for (int k = 0; k < 2; k++) {
        res->maxerr[k] = 0;
        if (!isfinite(base[k]) || fabs(again[k] - base[k]) > 1e-13 * fmax(1, fabs(base[k]))) {
            ok[k] = 0;
            res->maxerr[k] = INFINITY;
            snprintf(res->detail[k], sizeof res->detail[k], "loss %.17g at the point, %.17g replayed",
                     base[k], again[k]);
            continue;
        }
        for (int i = 0; i < np; i++) {
            double scale = 0;
            for (long j = offset[i]; j < offset[i + 1]; j++)
                scale = fmax(scale, fabs(fd[k][j]));
            for (long j = offset[i]; j < offset[i + 1]; j++) {
                double a = ad[k][j], d = fd[k][j];
                double den = fmax(fmax(fabs(a), fabs(d)), fmax(1e-3 * scale, 1e-8));
                double err = fabs(a - d) / den;
                if (!(err < TOLERANCE))
                    ok[k] = 0;
                if (!(err <= res->maxerr[k])) { /* also takes NaN */
                    res->maxerr[k] = isnan(err) ? INFINITY : err;
                    snprintf(res->detail[k], sizeof res->detail[k], "param %s[%ld]: ad=%.12g fd=%.12g",
                             g->nodes[xs[i]].name, j - offset[i], a, d);
                }
            }
        }
    }

    for (int k = 0; k < 2; k++) {
        free(ad[k]);
        free(fd[k]);
    }
    interp_free(it);
    arena_free(&arena);
    return ok[0] && ok[1];
}

/* ---- the checks -------------------------------------------------------------------------- */

static const Case *find_case(const char *op, const char *variant)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].op, op) == 0 && strcmp(cases[i].variant, variant) == 0)
            return &cases[i];
    abort();
}

/* A negative control: the checker must fail the given order. */
static void expect_failure(const char *what, const char *op, const char *variant, Options opt, int order)
{
    Result res;
    check_case(find_case(op, variant), &opt, 1000, &res);
    char name[256];
    snprintf(name, sizeof name, "selftest %s (%s %s) order%d detected", what, op, variant, order);
    check(!(res.maxerr[order - 1] < TOLERANCE), name, "not detected: maxerr=%.1e", res.maxerr[order - 1]);
}

/* The op table: every computed op of IR_OP_LIST occurs in some case's graph, so a new op cannot
 * land without its derivative checks, and each row's class agrees with its number of inputs.
 * Collectives are the exception: they exist only in the graphs the batch-axis pass makes after
 * autodiff (compiler/shard.c), never differentiated; tests/shards.sh checks them. */
static void check_op_table(void)
{
    char seen[OP_COUNT] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Arena arena = {0};
        Ctx c = {ir_new_graph(&arena, cases[i].op, DT_F64), {{0}}, {{0}}, 0, 0};
        cases[i].build(&c);
        for (int id = 0; id < c.g->nnodes; id++) seen[c.g->nodes[id].op] = 1;
        arena_free(&arena);
    }
    static const int class_arity[] = {[OPC_LEAF] = 0, [OPC_CONST] = 0, [OPC_UNARY] = 1, [OPC_BINARY] = 2,
                                      [OPC_SELECT] = 3, [OPC_SHAPE] = -1, [OPC_REDUCE] = 1, [OPC_BLAS] = 2,
                                      [OPC_COLLECTIVE] = -1}; /* allreduce: 1; block_sum: 2 */
    for (int op = 0; op < OP_COUNT; op++) {
        char name[128];
        int want = class_arity[ir_op_class(op)];
        snprintf(name, sizeof name, "op table: %s's inputs agree with its class", ir_op_name(op));
        check(want < 0 || ir_op_arity(op) == want, name, "%d inputs, its class %d takes %d", ir_op_arity(op),
              ir_op_class(op), want);
        if (ir_op_is_comparison(op)) {
            snprintf(name, sizeof name, "op table: comparison %s is BINARY and blocks the gradient", ir_op_name(op));
            CHECK(ir_op_class(op) == OPC_BINARY && ir_op_blocks_gradient(op), name);
        }
        if (ir_op_arity(op) > 0 && ir_op_class(op) != OPC_COLLECTIVE) {
            snprintf(name, sizeof name, "op table: %s occurs in a derivative case", ir_op_name(op));
            check(seen[op], name, "no case of test_ops builds it: add one to cases[]");
        }
    }
}

int main(int argc, char **argv)
{
    Options opt = default_options;
    unsigned long seed = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--h6") == 0) { /* the plain central difference, for comparison */
            opt.h = 1e-6;
            opt.richardson = 0;
        } else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
            seed = strtoul(argv[++a], NULL, 10);
        } else {
            fprintf(stderr, "usage: test_ops [--h6] [--seed N]\n");
            return 2;
        }
    }
    check_op_table();
    double worst[2] = {0, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Result res;
        check_case(&cases[i], &opt, seed * 1000003ul + i, &res);
        for (int k = 0; k < 2; k++) {
            char name[128];
            snprintf(name, sizeof name, "%s %s order%d", cases[i].op, cases[i].variant, k + 1);
            check(res.maxerr[k] < TOLERANCE, name, "maxerr=%.1e %s", res.maxerr[k], res.detail[k]);
            worst[k] = fmax(worst[k], res.maxerr[k]);
        }
    }

    /* negative controls: each must make the checker fail */
    Options bad = opt;
    bad.corrupt[0] = 1.001;
    expect_failure("ad*1.001", "tanh", "3x4", bad, 1);
    bad = opt;
    bad.corrupt[1] = 1.001;
    expect_failure("ad*1.001", "tanh", "3x4", bad, 2);
    expect_failure("ad*1.001", "matmul", "nt", bad, 2);
    bad = opt;
    bad.live_masks = 1; /* the interpreter holds stop_grad like a mask; live, its value moves */
    expect_failure("stop_grad not held", "stop_grad", "frozen", bad, 1);
    bad = opt;
    bad.live_masks = 1;
    expect_failure("live masks at a kink", "select", "relu-at-kink", bad, 1);

    printf("# worst error over all cases: order1 %.1e, order2 %.1e\n", worst[0], worst[1]);
    return check_summary();
}
