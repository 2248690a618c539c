/* samplers.c: the synthetic data distributions of the toy experiments, as a table.
 *
 * Shared by sema (which checks a call's parameter names against the table), the interpreter and
 * libganrt (which draw from it). Sample i depends only on (seed, stream, index0 + i): each random
 * quantity a sample needs (the mode it picks, each noise coordinate) comes from its own
 * sub-stream of the tensor's stream at counter index0 + i, so batches can be drawn in any order
 * or split across threads and still agree.
 *
 * The distributions follow the papers' code: gaussians8, gaussians25 and swissroll are those of
 * the WGAN-GP toy (gan_toy.py), ring is the RS-GAN paper's 5-Gaussian ring. */
#include "samplers.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "rng.h"

#define PI 3.14159265358979323846

/* Sub-streams: distinct, fixed offsets of the caller's stream, one per random quantity. */
enum { SUB_CHOICE, SUB_NOISE_X, SUB_NOISE_Y, SUB_UNIFORM };

static uint64_t sub_stream(uint64_t stream, int sub)
{
    return stream ^ ((uint64_t)(sub + 1) * 0x9E3779B97F4A7C15ULL);
}

static double uniform_at(uint64_t seed, uint64_t stream, int sub, uint64_t index)
{
    double u;
    rng_uniform(seed, sub_stream(stream, sub), index, &u, 1);
    return u;
}

static double normal_at(uint64_t seed, uint64_t stream, int sub, uint64_t index)
{
    double z;
    rng_normal(seed, sub_stream(stream, sub), index, &z, 1);
    return z;
}

/* A uniform choice in 0 .. count-1 (the clamp guards against rounding at the top). */
static int choice_at(uint64_t seed, uint64_t stream, uint64_t index, int count)
{
    int k = (int)(uniform_at(seed, stream, SUB_CHOICE, index) * count);
    return k < count ? k : count - 1;
}

/* --- mode centres, before any final scaling ----------------------------------------------- */

static void circle_point(double radius, double angle, double *point)
{
    point[0] = radius * cos(angle);
    point[1] = radius * sin(angle);
}

static void gaussians8_centre(const double *args, int k, double *centre)
{
    circle_point(args[0], k * PI / 4, centre);
}

static void gaussians25_centre(const double *args, int k, double *centre)
{
    centre[0] = args[0] * (k / 5 - 2);
    centre[1] = args[0] * (k % 5 - 2);
}

static int ring_mode_count(const double *args)
{
    int modes = (int)args[0];
    return modes > 0 ? modes : 1;
}

static void ring_centre(const double *args, int k, double *centre)
{
    circle_point(args[1], 2 * PI * k / ring_mode_count(args), centre);
}

/* A 2-D mixture of isotropic Gaussians: point = (centre_k + std * N(0, I)) / scale. */
typedef void (*CentreFn)(const double *args, int k, double *centre);

static void draw_mixture_2d(CentreFn centre_of, int modes, double std, double scale,
                            const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                            double *out, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t index = index0 + (uint64_t)i;
        double centre[2];
        centre_of(args, choice_at(seed, stream, index, modes), centre);
        out[2 * i + 0] = (centre[0] + std * normal_at(seed, stream, SUB_NOISE_X, index)) / scale;
        out[2 * i + 1] = (centre[1] + std * normal_at(seed, stream, SUB_NOISE_Y, index)) / scale;
    }
}

/* --- the samplers ------------------------------------------------------------------------- */

/* args: radius, std, scale */
static void draw_gaussians8(const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                            double *out, int n)
{
    draw_mixture_2d(gaussians8_centre, 8, args[1], args[2], args, seed, stream, index0, out, n);
}

/* args: spacing, std, scale */
static void draw_gaussians25(const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                             double *out, int n)
{
    draw_mixture_2d(gaussians25_centre, 25, args[1], args[2], args, seed, stream, index0, out, n);
}

/* args: modes, radius, std (no scaling) */
static void draw_ring(const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                      double *out, int n)
{
    draw_mixture_2d(ring_centre, ring_mode_count(args), args[2], 1.0, args, seed, stream, index0,
                    out, n);
}

/* args: noise, scale. sklearn's make_swiss_roll keeps (x, z) = (t cos t, t sin t). */
static void draw_swissroll(const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                           double *out, int n)
{
    double noise = args[0], scale = args[1];
    for (int i = 0; i < n; i++) {
        uint64_t index = index0 + (uint64_t)i;
        double t = 1.5 * PI * (1 + 2 * uniform_at(seed, stream, SUB_UNIFORM, index));
        out[2 * i + 0] = (t * cos(t) + noise * normal_at(seed, stream, SUB_NOISE_X, index)) / scale;
        out[2 * i + 1] = (t * sin(t) + noise * normal_at(seed, stream, SUB_NOISE_Y, index)) / scale;
    }
}

/* args: low, high, width. Half the points in [low, low+width), half in [high, high+width). */
static void draw_two_clusters(const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                              double *out, int n)
{
    double low = args[0], high = args[1], width = args[2];
    for (int i = 0; i < n; i++) {
        uint64_t index = index0 + (uint64_t)i;
        double base = choice_at(seed, stream, index, 2) == 0 ? low : high;
        out[i] = base + width * uniform_at(seed, stream, SUB_UNIFORM, index);
    }
}

/* args: at. Every point is `at` (Dirac-GAN's data distribution, delta_at). */
static void draw_dirac(const double *args, uint64_t seed, uint64_t stream, uint64_t index0,
                       double *out, int n)
{
    (void)seed, (void)stream, (void)index0;
    for (int i = 0; i < n; i++)
        out[i] = args[0];
}

static const SamplerInfo sampler_list[] = {
    {"gaussians8", 2, 3, {"radius", "std", "scale"}, {2, 0.02, 1.414},
     "8 Gaussians on a circle (the WGAN-GP toy): (radius*(cos, sin)(k*pi/4) + std*N) / scale",
     draw_gaussians8},
    {"gaussians25", 2, 3, {"spacing", "std", "scale"}, {2, 0.05, 2.828},
     "a 5x5 grid of Gaussians (the WGAN-GP toy): (spacing*(i, j) + std*N) / scale, i, j in -2..2",
     draw_gaussians25},
    {"swissroll", 2, 2, {"noise", "scale"}, {0.25, 7.5},
     "sklearn's swiss roll, (t cos t, t sin t) + noise*N, t = 1.5*pi*(1 + 2u), divided by scale",
     draw_swissroll},
    {"ring", 2, 3, {"modes", "radius", "std"}, {5, 1, 0.0447},
     "Gaussians on a circle (the RS-GAN toy): radius*(cos, sin)(2*pi*k/modes) + std*N",
     draw_ring},
    {"two_clusters", 1, 3, {"low", "high", "width"}, {0, 4, 0.3},
     "1-D: half the points U[low, low+width], half U[high, high+width]", draw_two_clusters},
    {"dirac", 1, 1, {"at"}, {0}, "1-D: every point is `at` (the data of Dirac-GAN)", draw_dirac},
};

enum { SAMPLER_COUNT = sizeof sampler_list / sizeof sampler_list[0] };

const SamplerInfo *sampler_table(int *count)
{
    *count = SAMPLER_COUNT;
    return sampler_list;
}

const SamplerInfo *sampler_find(const char *name)
{
    for (int i = 0; i < SAMPLER_COUNT; i++)
        if (strcmp(sampler_list[i].name, name) == 0)
            return &sampler_list[i];
    return NULL;
}

/* Fills the centres of modes 0 .. count-1 (as many as fit in max) divided by scale. */
static int fill_centres(CentreFn centre_of, int count, double scale, const double *args,
                        double *centres, int max)
{
    for (int k = 0; k < count && k < max; k++) {
        centre_of(args, k, &centres[2 * k]);
        centres[2 * k + 0] /= scale;
        centres[2 * k + 1] /= scale;
    }
    return count;
}

/* Like snprintf: returns the number of modes even when only max of them fit. */
int sampler_modes(const SamplerInfo *s, const double *args, double *centres, int max)
{
    if (s->draw == draw_gaussians8)
        return fill_centres(gaussians8_centre, 8, args[2], args, centres, max);
    if (s->draw == draw_gaussians25)
        return fill_centres(gaussians25_centre, 25, args[2], args, centres, max);
    if (s->draw == draw_ring)
        return fill_centres(ring_centre, ring_mode_count(args), 1.0, args, centres, max);
    if (s->draw == draw_two_clusters) {
        double width = args[2];
        double cluster_centres[2] = {args[0] + width / 2, args[1] + width / 2};
        for (int k = 0; k < 2 && k < max; k++)
            centres[k] = cluster_centres[k];
        return 2;
    }
    if (s->draw == draw_dirac) {
        if (max > 0)
            centres[0] = args[0];
        return 1;
    }
    return 0; /* swissroll: a continuous manifold, no modes */
}

double sampler_mode_std(const SamplerInfo *s, const double *args)
{
    if (s->draw == draw_gaussians8 || s->draw == draw_gaussians25)
        return args[1] / args[2];
    if (s->draw == draw_ring)
        return args[2];
    if (s->draw == draw_two_clusters)
        return args[2] / sqrt(12.0); /* the std of U[0, width] */
    return 0;
}
