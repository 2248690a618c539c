/* fake_model.c: a hand-written stand-in for what ganc generates, so libganrt (runtime/ganrt.c)
 * can be tested before and independently of code generation. tests/test_ganrt.c drives it.
 *
 * It defines the model of the contract (runtime/contract.h) as a C initialiser, for a tiny
 * linear GAN on 8 Gaussians, batch 8:
 *   G(z) = z W          (W [2,2])                 z ~ N(0, 1) [8,2], x ~ gaussians8 [8,2]
 *   D(v) = v a          (a [2,1])
 *   loss D = mean D(G(z)) - mean D(x)     SGD with momentum 0.9 on a (state D.a/m), lr 0.05, x2
 *   loss G = -mean D(G(z))                plain SGD on W, lr 0.05
 * plus the eval graph (both losses and their gradients) and the sample graph (G(z)). The graph
 * functions follow the contract: leaves in `use` order, outputs in `out` order, intermediates in
 * the arena, outputs written only after every leaf is read (an update's output is the leaf's own
 * storage). They abort if a pointer is not 64-byte aligned, which the runtime promises.
 *
 * Built in float by default (dtype f32) and in double with -DFAKE_F64 (dtype f64). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ganrt.h"

#ifdef FAKE_F64
typedef double real;
#define IS_F64 1
#else
typedef float real;
#define IS_F64 0
#endif

enum { BATCH = 8, LATENT = 2, FEATURES = 2 };
#define LR ((real)0.05)
#define MOMENTUM ((real)0.9)

/* ----- the model's math ------------------------------------------------------------------- */

static void require_aligned(const void *p)
{
    if ((uintptr_t)p % 64 != 0) {
        fprintf(stderr, "fake_model: a tensor at %p is not 64-byte aligned\n", p);
        abort();
    }
}

/* fake[b] = z[b] W */
static void generate(const real *z, const real *w, real *fake)
{
    for (int b = 0; b < BATCH; b++)
        for (int j = 0; j < FEATURES; j++) {
            real s = 0;
            for (int i = 0; i < LATENT; i++)
                s += z[b * LATENT + i] * w[i * FEATURES + j];
            fake[b * FEATURES + j] = s;
        }
}

/* mean over the batch of D(v[b]) = v[b] a */
static real mean_critic(const real *v, const real *a)
{
    real s = 0;
    for (int b = 0; b < BATCH; b++)
        for (int j = 0; j < FEATURES; j++)
            s += v[b * FEATURES + j] * a[j];
    return s / BATCH;
}

/* grad_a of loss D = mean fake - mean x, per feature */
static void critic_gradient(const real *x, const real *fake, real *grad)
{
    for (int j = 0; j < FEATURES; j++) {
        real s = 0;
        for (int b = 0; b < BATCH; b++)
            s += fake[b * FEATURES + j] - x[b * FEATURES + j];
        grad[j] = s / BATCH;
    }
}

/* grad_W of loss G: -mean_b z[b][i] a[j] */
static void generator_gradient(const real *z, const real *a, real *grad)
{
    for (int i = 0; i < LATENT; i++) {
        real s = 0;
        for (int b = 0; b < BATCH; b++)
            s += z[b * LATENT + i];
        for (int j = 0; j < FEATURES; j++)
            grad[i * FEATURES + j] = -s / BATCH * a[j];
    }
}

static void check_alignment(void **leaves, int nleaves, void **outputs, int nout, char *arena)
{
    for (int i = 0; i < nleaves; i++)
        require_aligned(leaves[i]);
    for (int i = 0; i < nout; i++)
        require_aligned(outputs[i]);
    require_aligned(arena);
}

/* ----- the graph functions ---------------------------------------------------------------- */

/* use x z G.w D.a D.a/m; out loss/D, D.a', D.a/m' */
static void step_D(void **leaves, void **outputs, char *arena)
{
    check_alignment(leaves, 5, outputs, 3, arena);
    const real *x = leaves[0], *z = leaves[1], *w = leaves[2], *a = leaves[3], *m = leaves[4];
    real *fake = (real *)arena, *grad = fake + BATCH * FEATURES, *next_m = grad + FEATURES;
    generate(z, w, fake);
    real loss = mean_critic(fake, a) - mean_critic(x, a);
    critic_gradient(x, fake, grad);
    real next_a[FEATURES];
    for (int j = 0; j < FEATURES; j++) {
        next_m[j] = MOMENTUM * m[j] + grad[j];
        next_a[j] = a[j] - LR * next_m[j];
    }
    *(real *)outputs[0] = loss;
    for (int j = 0; j < FEATURES; j++) {
        ((real *)outputs[1])[j] = next_a[j];
        ((real *)outputs[2])[j] = next_m[j];
    }
}

/* use z G.w D.a; out loss/G, G.w' */
static void step_G(void **leaves, void **outputs, char *arena)
{
    check_alignment(leaves, 3, outputs, 2, arena);
    const real *z = leaves[0], *w = leaves[1], *a = leaves[2];
    real *fake = (real *)arena, *grad = fake + BATCH * FEATURES;
    generate(z, w, fake);
    real loss = -mean_critic(fake, a);
    generator_gradient(z, a, grad);
    *(real *)outputs[0] = loss;
    for (int k = 0; k < LATENT * FEATURES; k++)
        ((real *)outputs[1])[k] = w[k] - LR * grad[k];
}

/* use x z G.w D.a; out loss/D, loss/G, grad/D/D.a, grad/G/G.w */
static void eval(void **leaves, void **outputs, char *arena)
{
    check_alignment(leaves, 4, outputs, 4, arena);
    const real *x = leaves[0], *z = leaves[1], *w = leaves[2], *a = leaves[3];
    real *fake = (real *)arena;
    generate(z, w, fake);
    *(real *)outputs[0] = mean_critic(fake, a) - mean_critic(x, a);
    *(real *)outputs[1] = -mean_critic(fake, a);
    critic_gradient(x, fake, outputs[2]);
    generator_gradient(z, a, outputs[3]);
}

/* use z G.w; out sample/fake */
static void sample(void **leaves, void **outputs, char *arena)
{
    check_alignment(leaves, 2, outputs, 1, arena);
    generate(leaves[0], leaves[1], outputs[0]);
}

/* ----- the model (contract.h) --------------------------------------------------------------- */

#define DIMS0 {0, {0}}
#define DIMS2(a, b) {2, {a, b}}
enum { X, Z, G_W, D_A, D_A_M }; /* leaf indices */

static const GanLeaf leaves[] = {
    {"x", ROLE_INPUT, DIMS2(8, 2), {.kind = INIT_DATA, .sampler = "gaussians8", .nargs = 3, .args = {2, 0.02, 1.414}}},
    {"z", ROLE_INPUT, DIMS2(8, 2), {.kind = INIT_NORMAL, .a = 0, .b = 1}},
    {"G.w", ROLE_PARAM, DIMS2(2, 2), {.kind = INIT_NORMAL, .a = 0, .b = 0.5}},
    {"D.a", ROLE_PARAM, DIMS2(2, 1), {.kind = INIT_UNIFORM, .a = -0.5, .b = 0.5}},
    {"D.a/m", ROLE_STATE, DIMS2(2, 1), {.kind = INIT_ZEROS}},
};

static const int32_t step_D_use[] = {X, Z, G_W, D_A, D_A_M}, step_G_use[] = {Z, G_W, D_A},
                     eval_use[] = {X, Z, G_W, D_A}, sample_use[] = {Z, G_W};
static const GanOutput step_D_out[] = {
    {"loss/D", 0, -1, DIMS0}, {"D.a", 1, D_A, DIMS2(2, 1)}, {"D.a/m", 1, D_A_M, DIMS2(2, 1)}};
static const GanOutput step_G_out[] = {{"loss/G", 0, -1, DIMS0}, {"G.w", 1, G_W, DIMS2(2, 2)}};
static const GanOutput eval_out[] = {{"loss/D", 0, -1, DIMS0}, {"loss/G", 0, -1, DIMS0},
                                     {"grad/D/D.a", 0, -1, DIMS2(2, 1)}, {"grad/G/G.w", 0, -1, DIMS2(2, 2)}};
static const GanOutput sample_out[] = {{"sample/fake", 0, -1, DIMS2(8, 2)}};

static const int32_t whole[8] = {0}; /* no use is split: one process */
static const GanGraph graphs[] = {
    {"step_D", "D", GRAPH_STEP, 2, 5, 3, 256, 1, step_D_use, whole, step_D_out, step_D},
    {"step_G", "G", GRAPH_STEP, 1, 3, 2, 256, 1, step_G_use, whole, step_G_out, step_G},
    {"eval", NULL, GRAPH_EVAL, 1, 4, 4, 256, 1, eval_use, whole, eval_out, eval},
    {"sample", NULL, GRAPH_SAMPLE, 1, 2, 1, 256, 1, sample_use, whole, sample_out, sample},
};

static const GanLog logs[] = {{"loss D", 0, 0}, {"loss G", 1, 0}, {"eval loss D", 2, 0}};
static const GanSample samples[] = {{"fake", 0}};

static const GanModel model = {
    .version = GANC_MODEL_FORMAT_VERSION, .name = "fake", .is_f64 = IS_F64, .batch = BATCH, .seed = 7,
    .iters = 20, .log_every = 5, .sample_every = 10,
    .nleaves = 5, .ngraphs = 4, .nlogs = 3, .nsamples = 1,
    .leaves = leaves, .graphs = graphs, .logs = logs, .samples = samples,
};

int main(int argc, char **argv) { return ganrt_main(&model, argc, argv); }
