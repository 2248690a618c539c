/* test_fid.c: runtime/fid.c (FID and KID on feature vectors) against values computed here
 * independently of its code.
 *
 * FID: closed forms where they exist (diagonal or commuting covariances: ||mu_a - mu_b||^2 +
 * sum (sqrt(a_i) - sqrt(b_i))^2; 2 x 2 covariances, whose square roots have a closed form), its
 * invariances (self-distance 0, symmetry, translation, scaling), the sample statistics against a
 * naive two-pass loop, and a 200k-sample Monte Carlo check. KID: hand-computed tiny cases, a naive
 * O(n^2) loop over sets larger than the runtime's tiles, and its behaviour (self ~ 0, growing
 * with a shift). Random draws come from a local splitmix64 so that the test does not depend on
 * the runtime's generator.
 *
 * Prints `ok - ...` / `not ok - ...` lines and `N passed, M failed`; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fid.h"
#include "check.h"


/* |got - want| <= tol * max(1, |want|) */
static void check_close(const char *what, double got, double want, double tol) {
    double scale = fabs(want) > 1 ? fabs(want) : 1;
    check_got(isfinite(got) && fabs(got - want) <= tol * scale, what, got, want);
}

/* ---- a local generator ------------------------------------------------------------------ */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned long long splitmix64(void) {
    unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform01(void) { return ((splitmix64() >> 11) + 0.5) * 0x1.0p-53; }  /* in (0, 1) */

static double normal(void) {  /* Box-Muller, one of the pair */
    return sqrt(-2 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

/* x [n, dim]: mean + L z, z standard normal, L [dim, dim] row-major (NULL: identity scaled by sd,
 * sd NULL: 1) */
static double *gaussian(long n, int dim, const double *mean, const double *sd, const double *L) {
    double *x = malloc(sizeof(double) * n * dim), *z = malloc(sizeof(double) * dim);
    for (long r = 0; r < n; r++) {
        for (int j = 0; j < dim; j++) z[j] = normal();
        for (int i = 0; i < dim; i++) {
            double v = 0;
            if (L)
                for (int j = 0; j < dim; j++) v += L[i * dim + j] * z[j];
            else
                v = (sd ? sd[i] : 1) * z[i];
            x[r * dim + i] = (mean ? mean[i] : 0) + v;
        }
    }
    free(z);
    return x;
}

static double *random_matrix(int rows, int cols) {
    double *m = malloc(sizeof(double) * rows * cols);
    for (int i = 0; i < rows * cols; i++) m[i] = normal();
    return m;
}

static double trace(const double *m, int n) {
    double t = 0;
    for (int i = 0; i < n; i++) t += m[i * n + i];
    return t;
}

static FeatureStats stats_of(const double *x, long n, int dim) {
    FeatureStats s;
    char err[200];
    if (fid_stats(x, n, dim, &s, err, sizeof err)) printf("# fid_stats: %s\n", err);
    return s;
}

static double fid_of(const FeatureStats *a, const FeatureStats *b) {
    double f = NAN;
    char err[200];
    if (fid_distance(a, b, &f, err, sizeof err)) printf("# fid_distance: %s\n", err);
    return f;
}

static double kid_of(const double *a, long na, const double *b, long nb, int dim) {
    double k = NAN;
    char err[200];
    if (kid_distance(a, na, b, nb, dim, &k, err, sizeof err)) printf("# kid_distance: %s\n", err);
    return k;
}

/* ---- statistics ------------------------------------------------------------------------- */

/* Against a naive two-pass loop, on enough rows that fid_stats works in several chunks (its
 * scratch is 2^19 doubles: 174762 rows of 3) and with a mean far from 0 relative to the spread,
 * which a one-pass E[xx^T] - mu mu^T formula would get badly wrong. */
static void test_stats(void) {
    enum { N = 400000, D = 3 };
    const double mean[D] = {1e4, -3e3, 0.5}, L[D * D] = {1, 0, 0, 0.5, 2, 0, -0.3, 0.2, 0.1};
    double *x = gaussian(N, D, mean, NULL, L);
    double mu[D] = {0}, cov[D * D] = {0};
    for (long r = 0; r < N; r++)
        for (int j = 0; j < D; j++) mu[j] += x[r * D + j] / N;
    for (long r = 0; r < N; r++)
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) cov[i * D + j] += (x[r * D + i] - mu[i]) * (x[r * D + j] - mu[j]) / (N - 1);
    FeatureStats s = stats_of(x, N, D);
    double mean_err = 0, cov_err = 0;
    for (int i = 0; i < D; i++) mean_err = fmax(mean_err, fabs(s.mean[i] - mu[i]) / fabs(mu[i]));
    for (int i = 0; i < D * D; i++) cov_err = fmax(cov_err, fabs(s.cov[i] - cov[i]));
    check_got(s.dim == D && s.count == N, "stats: dim and count", s.count, N);
    check_got(mean_err < 1e-12, "stats: mean matches a naive loop", mean_err, 0);
    check_got(cov_err < 1e-9, "stats: covariance (3 chunks, mean 1e4) matches a naive loop", cov_err, 0);
    check_got(s.cov[1] == s.cov[D] && s.cov[2] == s.cov[2 * D], "stats: covariance exactly symmetric", s.cov[1], s.cov[D]);
    fid_stats_free(&s);
    fid_stats_free(&s);  /* twice: a no-op */
    check_got(!s.mean && !s.cov, "stats: free zeroes the struct", 0, 0);
    free(x);
}

/* ---- FID: closed forms ------------------------------------------------------------------- */

static FeatureStats by_hand(int dim, double *mean, double *cov) {
    FeatureStats s = {dim, 1000, mean, cov};
    return s;
}

/* diagonal covariances: FID = ||mu_a - mu_b||^2 + sum (sqrt(a_i) - sqrt(b_i))^2 */
static double diagonal_fid(int dim, const double *ma, const double *va, const double *mb, const double *vb) {
    double f = 0;
    for (int i = 0; i < dim; i++) {
        double dm = ma[i] - mb[i], ds = sqrt(va[i]) - sqrt(vb[i]);
        f += dm * dm + ds * ds;
    }
    return f;
}

static void test_diagonal_exact(void) {
    enum { D = 4 };
    double ma[D] = {0, 1, -2, 3}, mb[D] = {0.5, 1, 0, 2.5}, va[D] = {1, 4, 0.25, 9}, vb[D] = {2, 1, 0.25, 0};
    double ca[D * D] = {0}, cb[D * D] = {0};
    for (int i = 0; i < D; i++) ca[i * D + i] = va[i], cb[i * D + i] = vb[i];
    FeatureStats a = by_hand(D, ma, ca), b = by_hand(D, mb, cb);
    check_close("diagonal covariances, exact statistics", fid_of(&a, &b), diagonal_fid(D, ma, va, mb, vb), 1e-10);
}

/* the same formula on 200k samples per side: sampling error only (about 0.5% of the value) */
static void test_diagonal_sampled(void) {
    enum { N = 200000, D = 3 };
    const double ma[D] = {0, 1, -1}, sa[D] = {1, 2, 0.5}, mb[D] = {0.5, 0, -1}, sb[D] = {1.5, 1, 0.5};
    double va[D], vb[D];
    for (int i = 0; i < D; i++) va[i] = sa[i] * sa[i], vb[i] = sb[i] * sb[i];
    double *xa = gaussian(N, D, ma, sa, NULL), *xb = gaussian(N, D, mb, sb, NULL);
    FeatureStats a = stats_of(xa, N, D), b = stats_of(xb, N, D);
    check_close("diagonal Gaussians, 200k samples each (tol 0.03 of 2.5)", fid_of(&a, &b),
                diagonal_fid(D, ma, va, mb, vb), 0.03 / 2.5);
    fid_stats_free(&a);
    fid_stats_free(&b);
    free(xa);
    free(xb);
}

/* 2 x 2 SPD M: sqrt(M) = (M + sqrt(det M) I) / sqrt(tr M + 2 sqrt(det M)) */
static void sqrt2x2(const double m[4], double r[4]) {
    double s = sqrt(m[0] * m[3] - m[1] * m[2]), t = sqrt(m[0] + m[3] + 2 * s);
    r[0] = (m[0] + s) / t, r[1] = m[1] / t, r[2] = m[2] / t, r[3] = (m[3] + s) / t;
}

static void mul2x2(const double a[4], const double b[4], double c[4]) {
    c[0] = a[0] * b[0] + a[1] * b[2], c[1] = a[0] * b[1] + a[1] * b[3];
    c[2] = a[2] * b[0] + a[3] * b[2], c[3] = a[2] * b[1] + a[3] * b[3];
}

/* non-commuting 2 x 2 covariances: tr sqrtm(S_a S_b) = tr sqrt(P), P = sqrt(S_a) S_b sqrt(S_a),
 * with both square roots from the closed form */
static void test_2x2(void) {
    double ma[2] = {1, -1}, mb[2] = {0.25, 0.5}, ca[4] = {2, 0.7, 0.7, 1}, cb[4] = {1.5, -0.4, -0.4, 0.8};
    double ra[4], t[4], p[4], rp[4];
    sqrt2x2(ca, ra);
    mul2x2(ra, cb, t);
    mul2x2(t, ra, p);
    sqrt2x2(p, rp);
    double dm0 = ma[0] - mb[0], dm1 = ma[1] - mb[1];
    double want = dm0 * dm0 + dm1 * dm1 + ca[0] + ca[3] + cb[0] + cb[3] - 2 * (rp[0] + rp[3]);
    FeatureStats a = by_hand(2, ma, ca), b = by_hand(2, mb, cb);
    check_close("2x2 non-commuting covariances vs closed-form sqrtm", fid_of(&a, &b), want, 1e-10);
}

/* n x n orthogonal Q = H1 H2 H3, H = I - 2 v v^T / v.v */
static double *random_orthogonal(int n) {
    double *q = calloc((size_t)n * n, sizeof(double)), *v = malloc(sizeof(double) * n), *w = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) q[i * n + i] = 1;
    for (int h = 0; h < 3; h++) {
        double vv = 0;
        for (int i = 0; i < n; i++) v[i] = normal(), vv += v[i] * v[i];
        for (int i = 0; i < n; i++) {  /* q <- q H: row i minus 2 (q_i . v) v / vv */
            double d = 0;
            for (int k = 0; k < n; k++) d += q[i * n + k] * v[k];
            w[i] = 2 * d / vv;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) q[i * n + k] -= w[i] * v[k];
    }
    free(v);
    free(w);
    return q;
}

/* Q diag(l) Q^T */
static void rotate_diag(const double *q, const double *l, int n, double *out) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += q[i * n + k] * l[k] * q[j * n + k];
            out[i * n + j] = s;
        }
}

/* commuting, non-diagonal: S = Q diag Q^T with one Q for both, so the diagonal formula holds on
 * the eigenvalues (one of them 0: a singular covariance) */
static void test_commuting(void) {
    enum { D = 6 };
    double ma[D] = {1, 2, 3, 4, 5, 6}, mb[D] = {1, 2.5, 3, 3, 5, 6};
    double la[D] = {1, 2, 3, 0.5, 0.1, 4}, lb[D] = {4, 1, 3, 0.5, 2, 0};
    double ca[D * D], cb[D * D], *q = random_orthogonal(D);
    rotate_diag(q, la, D, ca);
    rotate_diag(q, lb, D, cb);
    FeatureStats a = by_hand(D, ma, ca), b = by_hand(D, mb, cb);
    check_close("6x6 commuting rotated covariances (one singular)", fid_of(&a, &b), diagonal_fid(D, ma, la, mb, lb), 1e-10);
    free(q);
}

/* ---- FID: invariances -------------------------------------------------------------------- */

/* correlated features: x = mean + L z with a random L */
static double *correlated(long n, int dim, double offset) {
    double *L = random_matrix(dim, dim), *mean = malloc(sizeof(double) * dim);
    for (int i = 0; i < dim; i++) mean[i] = offset + normal();
    double *x = gaussian(n, dim, mean, NULL, L);
    free(L);
    free(mean);
    return x;
}

static void test_self(void) {
    enum { N = 500, D = 16 };
    double *x = correlated(N, D, 0);
    FeatureStats a = stats_of(x, N, D);
    double f = fid_of(&a, &a), tr = trace(a.cov, D);
    check_got(fabs(f) < 1e-9 * tr, "fid(a, a) ~ 0 (|fid| < 1e-9 tr S)", f, 0);
    fid_stats_free(&a);
    free(x);
}

static void scale_shift(double *x, long n, int dim, double scale, const double *shift) {
    for (long r = 0; r < n; r++)
        for (int j = 0; j < dim; j++) x[r * dim + j] = scale * x[r * dim + j] + (shift ? shift[j] : 0);
}

static void test_invariances(void) {
    enum { NA = 700, NB = 900, D = 12 };
    double *xa = correlated(NA, D, 0), *xb = correlated(NB, D, 0.5), shift[D];
    FeatureStats a = stats_of(xa, NA, D), b = stats_of(xb, NB, D);
    double ab = fid_of(&a, &b), ba = fid_of(&b, &a);
    check_got(ab > 0, "fid of different distributions > 0", ab, 0);
    check_close("symmetry fid(a, b) = fid(b, a)", ba, ab, 1e-10);

    for (int j = 0; j < D; j++) shift[j] = 100 * normal();  /* same shift to both sets */
    scale_shift(xa, NA, D, 1, shift);
    scale_shift(xb, NB, D, 1, shift);
    FeatureStats as = stats_of(xa, NA, D), bs = stats_of(xb, NB, D);
    check_close("translation invariance", fid_of(&as, &bs), ab, 1e-9);

    scale_shift(xa, NA, D, 3, NULL);  /* scaling both by c scales FID by c^2 */
    scale_shift(xb, NB, D, 3, NULL);
    FeatureStats a3 = stats_of(xa, NA, D), b3 = stats_of(xb, NB, D);
    check_close("scaling both sets by 3 multiplies fid by 9", fid_of(&a3, &b3), 9 * ab, 1e-9);

    /* b = c a: mean diff (1-c) mu, covariance c^2 S, so fid = (1-c)^2 (||mu||^2 + tr S) */
    FeatureStats ac = {D, NA, malloc(sizeof(double) * D), malloc(sizeof(double) * D * D)};
    double c = 0.6, mu2 = 0;
    for (int i = 0; i < D; i++) ac.mean[i] = c * a.mean[i], mu2 += a.mean[i] * a.mean[i];
    for (int i = 0; i < D * D; i++) ac.cov[i] = c * c * a.cov[i];
    check_close("fid(a, 0.6 a) = 0.16 (||mu||^2 + tr S)", fid_of(&a, &ac), (1 - c) * (1 - c) * (mu2 + trace(a.cov, D)), 1e-10);

    FeatureStats *all[] = {&a, &b, &as, &bs, &a3, &b3, &ac};
    for (int i = 0; i < 7; i++) fid_stats_free(all[i]);
    free(xa);
    free(xb);
}

/* fewer samples than features: singular covariances. The null space's eigenvalues come back at
 * about 1e-16 |S|; were they not clamped, their roots (1e-8 |S|^1/2) would miss these tolerances. */
static void test_singular(void) {
    enum { N = 5, D = 10 };
    double *xa = correlated(N, D, 0), *xb = correlated(N, D, 1);
    FeatureStats a = stats_of(xa, N, D), b = stats_of(xb, N, D);
    double self = fid_of(&a, &a), ab = fid_of(&a, &b), tr = trace(a.cov, D) + trace(b.cov, D);
    check_got(fabs(self) < 1e-9 * tr, "singular covariance (5 samples, dim 10): fid(a, a) ~ 0", self, 0);
    check_got(isfinite(ab) && ab > 0, "singular covariances: fid(a, b) finite and > 0", ab, 0);
    check_close("singular covariances: symmetric", fid_of(&b, &a), ab, 1e-10);
    fid_stats_free(&a);
    fid_stats_free(&b);
    free(xa);
    free(xb);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void expect_error(const char *what, int rc, const char *err, const char *needle) {
    int ok = rc == -1 && strstr(err, needle);
    if (!ok) printf("# rc %d, message '%s'\n", rc, err);
    check_got(ok, what, rc, -1);
}

static void test_errors(void) {
    double x[6] = {1, 2, 3, 4, 5, 6}, bad[6] = {1, 2, 3, NAN, 5, 6}, f = 0;
    char err[200] = "";
    FeatureStats s, a, b;
    expect_error("error: fid_stats with count 1", fid_stats(x, 1, 3, &s, err, sizeof err), err, "at least 2");
    check_got(!s.mean && !s.cov, "error: failed fid_stats leaves a zeroed struct", 0, 0);
    expect_error("error: fid_stats with NaN features", fid_stats(bad, 2, 3, &s, err, sizeof err), err, "non-finite");
    expect_error("error: fid_stats with dim 0", fid_stats(x, 2, 0, &s, err, sizeof err), err, "dimension");
    check_got(fid_stats(x, 1, 3, &s, NULL, 0) == -1, "error: no message buffer is fine", 0, 0);
    fid_stats(x, 3, 2, &a, err, sizeof err);
    fid_stats(x, 2, 3, &b, err, sizeof err);
    expect_error("error: fid_distance with differing dims", fid_distance(&a, &b, &f, err, sizeof err), err, "dimensions differ");
    FeatureStats one = a;
    one.count = 1;
    expect_error("error: fid_distance with count 1", fid_distance(&one, &a, &f, err, sizeof err), err, "count >= 2");
    a.cov[1] = NAN;
    expect_error("error: fid_distance with a NaN covariance", fid_distance(&a, &a, &f, err, sizeof err), err, "non-finite");
    FeatureStats empty = {0};
    expect_error("error: fid_distance with empty stats", fid_distance(&empty, &b, &f, err, sizeof err), err, "empty");
    expect_error("error: kid with one sample", kid_distance(x, 1, x, 3, 2, &f, err, sizeof err), err, "at least 2");
    expect_error("error: kid with NaN features", kid_distance(bad, 2, x, 2, 3, &f, err, sizeof err), err, "non-finite");
    fid_stats_free(&a);
    fid_stats_free(&b);
}

/* ---- KID --------------------------------------------------------------------------------- */

/* dim 1, k(x, y) = (xy + 1)^3; a = {0, 1}, b = {1, 2}:
 *   aa: k(0,1) = 1, mean over i != j: 1;  bb: k(1,2) = 27: 27;
 *   ab: k(0,1) + k(0,2) + k(1,1) + k(1,2) = 1 + 1 + 8 + 27 = 37, mean 9.25;
 *   KID = 1 + 27 - 2 * 9.25 = 9.5.
 * dim 2, k(x, y) = (x.y/2 + 1)^3; a = {(1,0), (0,1)}, b = {(1,1), (0,0), (2,0)}:
 *   aa: dot 0 -> 1: mean 1;  bb: dots 0, 2, 0 -> 1, 8, 1: mean (2 * 10) / 6 = 10/3;
 *   ab: dots 1, 0, 2 / 1, 0, 0 -> 3.375, 1, 8, 3.375, 1, 1 = 17.75, mean 17.75 / 6;
 *   KID = 1 + 10/3 - 17.75/3 = -19/12 (the unbiased estimate can be negative). */
static void test_kid_hand(void) {
    double a1[2] = {0, 1}, b1[2] = {1, 2};
    double a2[4] = {1, 0, 0, 1}, b2[6] = {1, 1, 0, 0, 2, 0};
    check_close("kid by hand, dim 1", kid_of(a1, 2, b1, 2, 1), 9.5, 1e-14);
    check_close("kid by hand, dim 2", kid_of(a2, 2, b2, 3, 2), -19.0 / 12, 1e-14);
}

static double poly3(const double *x, const double *y, int dim) {
    double d = 0;
    for (int k = 0; k < dim; k++) d += x[k] * y[k];
    d = d / dim + 1;
    return d * d * d;
}

/* the unbiased MMD^2, straight from its definition */
static double naive_kid(const double *a, long na, const double *b, long nb, int dim) {
    double aa = 0, bb = 0, ab = 0;
    for (long i = 0; i < na; i++)
        for (long j = 0; j < na; j++)
            if (i != j) aa += poly3(a + i * dim, a + j * dim, dim);
    for (long i = 0; i < nb; i++)
        for (long j = 0; j < nb; j++)
            if (i != j) bb += poly3(b + i * dim, b + j * dim, dim);
    for (long i = 0; i < na; i++)
        for (long j = 0; j < nb; j++) ab += poly3(a + i * dim, b + j * dim, dim);
    return aa / (na * (na - 1.0)) + bb / (nb * (nb - 1.0)) - 2 * ab / ((double)na * nb);
}

/* sets larger than the runtime's 256 x 256 tiles, with partial tiles at the edges */
static void test_kid_naive(void) {
    enum { NA = 600, NB = 530, D = 5 };
    double *a = correlated(NA, D, 0), *b = correlated(NB, D, 0.3);
    double want = naive_kid(a, NA, b, NB, D);
    check_close("kid matches the naive O(n^2) sum (600 x 530, tiled)", kid_of(a, NA, b, NB, D), want, 1e-12);
    check_close("kid symmetric", kid_of(b, NB, a, NA, D), want, 1e-12);
    free(a);
    free(b);
}

static void test_kid_behaviour(void) {
    enum { N = 2000, D = 8 };
    double *x = gaussian(N, D, NULL, NULL, NULL), *y = gaussian(N, D, NULL, NULL, NULL);
    /* same set: KID(x, x) = -(1 / (n^2 (n-1))) sum_{i != j} ||phi_i - phi_j||^2 <= 0, O(1/n) */
    double self = kid_of(x, N, x, N, D), same = kid_of(x, N, y, N, D);
    check_got(self <= 1e-12 && self > -0.01, "kid(x, x) ~ 0, slightly negative", self, 0);
    /* over seeds this is 0 +- 0.002, heavy-tailed (1000 seeds: max 0.01); a shift of 0.25 gives 0.27 */
    check_got(fabs(same) < 0.02, "kid of two samples of one distribution ~ 0", same, 0);
    double prev = same;
    int grows = 1;
    for (double shift = 0.25; shift <= 1.01; shift *= 2) {
        double *z = malloc(sizeof(double) * N * D);
        for (int i = 0; i < N * D; i++) z[i] = y[i] + shift;
        double k = kid_of(x, N, z, N, D);
        printf("# kid shift %.2f: %.6g\n", shift, k);
        grows &= k > prev && k > 0;
        prev = k;
        free(z);
    }
    check_got(grows, "kid grows with the shift (0, 0.25, 0.5, 1)", prev, 0);
    free(x);
    free(y);
}

int main(void) {
    check_prefix = "fid ";
    test_stats();
    test_diagonal_exact();
    test_diagonal_sampled();
    test_2x2();
    test_commuting();
    test_self();
    test_invariances();
    test_singular();
    test_errors();
    test_kid_hand();
    test_kid_naive();
    test_kid_behaviour();
    return check_summary();
}
