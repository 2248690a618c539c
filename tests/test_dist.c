/* test_dist.c: libganrt's collectives (runtime/dist.c) under mpirun, against sums computed here.
 *
 * Every rank's values are a function of (rank, index), so each rank can compute what the sum
 * over ranks must be, in rank order 0, 1, ..., N-1, and compare bits. Run by tests/mpi.sh on 3
 * and 4 ranks with GANRT_ALLREDUCE=gather, =scatter and unset: whichever route moves the bytes,
 *  - allreduce_sum (float64 and float32) equals the rank-order sum bit for bit, for lengths
 *    below, at and above the rank count and not divisible by it;
 *  - allreduce_max equals the largest value;
 *  - allreduce_group (one collective for several tensors) equals each tensor's rank-order sum;
 * and the values are such that another order (the rotation a neighbour ring would use) gives
 * other bits for some element, so the comparison can fail. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"

static void check(int ok, const char *what) {
    if (dist_rank() != 0) return; /* every rank has the same results: rank 0 reports */
    printf("%s - dist on %d ranks: %s\n", ok ? "ok" : "not ok", dist_size(), what);
}

/* A value of rank r at index i: magnitudes from 1e-8 to 1e8 and both signs, so sums round. */
static double value(int r, long i) {
    uint64_t h = (uint64_t)(r + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)i * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31, h *= 0x94d049bb133111ebull, h ^= h >> 29;
    double u = (double)(h >> 11) / 9007199254740992.0; /* [0, 1) */
    return (u - 0.5) * pow(10.0, (double)(int)(h % 17) - 8.0);
}

#define SUMS(T, S)                                                                                    \
    static T rank_order_##S(long i, int rotate) { /* rotate: start at rank 1 (a ring's chunk 0) */   \
        int n = dist_size();                                                                          \
        T acc = (T)value(rotate % n, i);                                                              \
        for (int k = 1; k < n; k++) acc = acc + (T)value((k + rotate) % n, i);                       \
        return acc;                                                                                   \
    }                                                                                                 \
    /* 1 if allreduce of n elements equals the rank-order sum bitwise; *rotated counts the         \
     * elements whose rotated-order sum has other bits */                                             \
    static int sums_##S(long n, long *rotated) {                                                      \
        T *x = malloc(sizeof(T) * (size_t)(n + 1)), *y = malloc(sizeof(T) * (size_t)(n + 1));         \
        for (long i = 0; i < n; i++) x[i] = (T)value(dist_rank(), i);                                 \
        ganrt_allreduce_##S(x, y, n, 0);                                                              \
        int ok = 1;                                                                                   \
        for (long i = 0; i < n; i++) {                                                                \
            T want = rank_order_##S(i, 0), other = rank_order_##S(i, 1);                              \
            ok &= memcmp(&y[i], &want, sizeof(T)) == 0;                                               \
            *rotated += memcmp(&other, &want, sizeof(T)) != 0;                                        \
        }                                                                                             \
        free(x);                                                                                      \
        free(y);                                                                                      \
        return ok;                                                                                    \
    }
SUMS(double, f64)
SUMS(float, f32)

static void test_sums(void) {
    const long lengths[] = {1, 3, 4, 5, 1000, 70001, 300000};
    long rotated = 0;
    int ok64 = 1, ok32 = 1;
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        ok64 &= sums_f64(lengths[k], &rotated);
        ok32 &= sums_f32(lengths[k], &rotated);
    }
    check(ok64, "allreduce_sum f64 equals the rank-order sum bit for bit (1 to 300000 elements)");
    check(ok32, "allreduce_sum f32 equals the rank-order sum bit for bit (1 to 300000 elements)");
    check(rotated > 0, "the values tell orders apart (a rotated order gives other bits)");
}

static void test_max(void) {
    long n = 100003;
    double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    for (long i = 0; i < n; i++) x[i] = value(dist_rank(), i);
    ganrt_allreduce_f64(x, y, n, 1);
    int ok = 1;
    for (long i = 0; i < n; i++) {
        double want = value(0, i);
        for (int r = 1; r < dist_size(); r++) want = fmax(want, value(r, i));
        ok &= y[i] == want;
    }
    check(ok, "allreduce_max equals the largest value");
    free(x);
    free(y);
}

/* Three tensors (5, 70001 and 1 elements) at offsets 0, 10 and 80011 of one array. */
static void test_group(void) {
    const long n[3] = {5, 70001, 1}, at[3] = {0, 10, 80011};
    double *x = malloc(sizeof(double) * 80012), *y = calloc(80012, sizeof(double));
    for (long i = 0; i < 80012; i++) x[i] = value(dist_rank(), i);
    const double *in[3] = {x + at[0], x + at[1], x + at[2]};
    double *out[3] = {y + at[0], y + at[1], y + at[2]};
    ganrt_allreduce_group_f64(in, out, n, 3);
    int ok = 1;
    for (int k = 0; k < 3; k++)
        for (long i = at[k]; i < at[k] + n[k]; i++) {
            double want = rank_order_f64(i, 0);
            ok &= memcmp(&y[i], &want, sizeof want) == 0;
        }
    ok &= y[7] == 0 && y[80010] == 0; /* between the tensors: untouched */
    check(ok, "allreduce_group sums each tensor as allreduce_sum does, and nothing else");
    free(x);
    free(y);
}

int main(void) {
    char err[256];
    if (dist_start(err, sizeof err) != 0) {
        fprintf(stderr, "not ok - dist: %s\n", err);
        return 1;
    }
    if (dist_size() < 2) {
        printf("not ok - dist: run under mpirun with 2 or more ranks\n");
        return 1;
    }
    test_sums();
    test_max();
    test_group();
    return 0;
}
