/* fid.c: FID and KID of generated samples against a reference split, on a classifier's
 * penultimate features; see fid.h for where it sits in libganrt and the definitions.
 *
 * Numerics. Products go through CBLAS (OpenBLAS); the eigen-decompositions through LAPACK's
 * dsyevd_, which libopenblas exports (there is no lapacke.h, so the Fortran symbol is declared
 * here). LAPACK is column-major, but every matrix handed to it is symmetric, so row-major and
 * column-major are the same matrix.
 *
 * tr (S_a S_b)^(1/2) is not taken from a general (non-symmetric) matrix square root as scipy's
 * sqrtm does: S_a S_b is similar to the symmetric PSD matrix S_a^1/2 S_b S_a^1/2, so its
 * eigenvalues are real and >= 0 and a symmetric eigensolver finds them stably; the trace is the
 * sum of their square roots. Rounding leaves the zero eigenvalues of a singular covariance (always
 * singular when there are fewer samples than features) at +-1e-16 of the largest; they, and any
 * other eigenvalue below what the solver resolves, are clamped to 0 (clamp_unresolved). */
#include "fid.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK's symmetric eigensolver, divide and conquer (Fortran ABI). The two trailing size_t are
 * the hidden lengths of the character arguments that gfortran-compiled code expects; leaving them
 * out mostly works, but is undefined and has broken callers when gfortran makes tail calls. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len,
                    size_t uplo_len);

/* Rows of centred features per dsyrk call in fid_stats: bounds the scratch to about 4 MiB
 * whatever the sample count (50k x 2048 features would otherwise need a 800 MB copy). */
enum { STATS_SCRATCH = 1 << 19 };
/* Side of the Gram-matrix tiles in kid_distance: the full na x nb Gram matrix of two 50k sets
 * would take 20 GB; a 256 x 256 tile stays in cache and is still a good dgemm. */
enum { KID_TILE = 256 };

static int fail(char *err, int errlen, const char *fmt, ...) {
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, (size_t)errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int all_finite(const double *v, long n) {
    for (long i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Copies the upper triangle of the n x n matrix m onto the lower one (dsyrk fills only one). */
static void mirror_upper(double *m, int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) m[(size_t)j * n + i] = m[(size_t)i * n + j];
}

/* ---- statistics ------------------------------------------------------------------------- */

static void column_mean(const double *x, long count, int dim, double *mean) {
    memset(mean, 0, sizeof(double) * (size_t)dim);
    for (long r = 0; r < count; r++)
        for (int j = 0; j < dim; j++) mean[j] += x[(size_t)r * dim + j];
    for (int j = 0; j < dim; j++) mean[j] /= (double)count;
}

/* cov = sum over rows of (x - mean)(x - mean)^T / (count - 1). The data is centred before the
 * product (two passes) rather than using E[x x^T] - mu mu^T, which cancels catastrophically when
 * the features have a large mean relative to their spread. */
static int centred_cov(const double *x, long count, int dim, const double *mean, double *cov) {
    long rows = STATS_SCRATCH / dim > 0 ? STATS_SCRATCH / dim : 1;
    if (rows > count) rows = count;
    double *buf = malloc(sizeof(double) * (size_t)rows * (size_t)dim);
    if (!buf) return -1;
    for (long r0 = 0; r0 < count; r0 += rows) {
        long n = count - r0 < rows ? count - r0 : rows;
        for (long r = 0; r < n; r++)
            for (int j = 0; j < dim; j++) buf[(size_t)r * dim + j] = x[(size_t)(r0 + r) * dim + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, (int)n, 1.0 / (double)(count - 1), buf, dim,
                    r0 ? 1.0 : 0.0, cov, dim);
    }
    free(buf);
    mirror_upper(cov, dim);
    return 0;
}

int fid_stats(const double *features, long count, int dim, FeatureStats *out, char *err, int errlen) {
    if (!out) return fail(err, errlen, "fid_stats: no output");
    memset(out, 0, sizeof *out);
    if (!features) return fail(err, errlen, "fid_stats: no features");
    if (count < 2) return fail(err, errlen, "fid_stats: need at least 2 feature vectors, got %ld", count);
    if (dim < 1) return fail(err, errlen, "fid_stats: feature dimension must be >= 1, got %d", dim);
    out->dim = dim;
    out->count = count;
    out->mean = malloc(sizeof(double) * (size_t)dim);
    out->cov = malloc(sizeof(double) * (size_t)dim * (size_t)dim);
    if (!out->mean || !out->cov) {
        fid_stats_free(out);
        return fail(err, errlen, "fid_stats: out of memory (dim %d)", dim);
    }
    column_mean(features, count, dim, out->mean);
    /* a NaN or inf anywhere in the features reaches the mean */
    const char *why = !all_finite(out->mean, dim) ? "features contain non-finite values"
                      : centred_cov(features, count, dim, out->mean, out->cov) ? "out of memory"
                      : !all_finite(out->cov, (long)dim * dim) ? "covariance overflows"
                      : NULL;
    if (why) {
        fid_stats_free(out);
        return fail(err, errlen, "fid_stats: %s", why);
    }
    return 0;
}

void fid_stats_free(FeatureStats *s) {
    if (!s) return;
    free(s->mean);
    free(s->cov);
    memset(s, 0, sizeof *s);
}

/* ---- FID -------------------------------------------------------------------------------- */

/* Eigenvalues (ascending) into w and, when vectors, eigenvectors into a, of the symmetric n x n
 * matrix a (overwritten). Row i of a (row-major) is then the i-th eigenvector: LAPACK stores them
 * as columns of its column-major array. dsyevd (divide and conquer) rather than dsyev: with
 * vectors it is 4x faster at n = 2048 (8 s against 32 s on two cores), and as accurate (both
 * are backward stable). Returns LAPACK's info, or NO_MEMORY. */
enum { NO_MEMORY = -1000 };
static int sym_eig(double *a, int n, double *w, int vectors) {
    const char jobz = vectors ? 'V' : 'N', uplo = 'U';
    int info = 0, lwork = -1, liwork = -1, iquery = 0;
    double query = 0;
    dsyevd_(&jobz, &uplo, &n, a, &n, w, &query, &lwork, &iquery, &liwork, &info, 1, 1);
    if (info) return info;
    lwork = (int)query, liwork = iquery;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    if (work && iwork) dsyevd_(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    else info = NO_MEMORY;
    free(work);
    free(iwork);
    return info;
}

/* Eigenvalues below n eps max|w| are below what the solver can resolve (its backward error is of
 * that order), so they count as 0 rather than only the negative ones: a singular covariance's
 * null eigenvalues come back as +-1e-16 |S|, and their square roots, 1e-8 |S|^(1/2), would
 * otherwise add noise at the 1e-8 level (fid(a, a) of 5 samples in 10 dimensions, say). */
static void clamp_unresolved(double *w, int n) {
    double big = 0;
    for (int i = 0; i < n; i++) big = fmax(big, fabs(w[i]));
    double tol = n * DBL_EPSILON * big;
    for (int i = 0; i < n; i++)
        if (w[i] < tol) w[i] = 0;
}

/* root = s^(1/2) for the symmetric PSD n x n s: with s = sum_i l_i q_i q_i^T, root = R^T R where
 * row i of R is l_i^(1/4) q_i, so one dsyrk gives an exactly symmetric PSD result. */
static int psd_sqrt(const double *s, int n, double *root) {
    double *q = malloc(sizeof(double) * (size_t)n * (size_t)n), *l = malloc(sizeof(double) * (size_t)n);
    int info = (q && l) ? 0 : NO_MEMORY;
    if (!info) {
        memcpy(q, s, sizeof(double) * (size_t)n * (size_t)n);
        info = sym_eig(q, n, l, 1);
    }
    if (!info) {
        clamp_unresolved(l, n);
        for (int i = 0; i < n; i++) {
            double f = sqrt(sqrt(l[i]));
            for (int j = 0; j < n; j++) q[(size_t)i * n + j] *= f;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, n, 1.0, q, n, 0.0, root, n);
        mirror_upper(root, n);
    }
    free(q);
    free(l);
    return info;
}

/* tr (sa sb)^(1/2) = sum sqrt(eig(sa^1/2 sb sa^1/2)), unresolved eigenvalues taken as 0. */
static int trace_sqrt_product(const double *sa, const double *sb, int n, double *tr) {
    size_t nn = (size_t)n * (size_t)n;
    double *root = malloc(sizeof(double) * nn), *t = malloc(sizeof(double) * nn);
    double *m = malloc(sizeof(double) * nn), *w = malloc(sizeof(double) * (size_t)n);
    int info = (root && t && m && w) ? 0 : NO_MEMORY;
    if (!info) info = psd_sqrt(sa, n, root);
    if (!info) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, root, n, sb, n, 0.0, t, n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, t, n, root, n, 0.0, m, n);
        /* rounding leaves M only nearly symmetric; (M + M^T) / 2 has its trace, and dsyevd reads
         * one triangle only */
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                m[(size_t)i * n + j] = 0.5 * (m[(size_t)i * n + j] + m[(size_t)j * n + i]);
        info = sym_eig(m, n, w, 0);
    }
    if (!info) {
        double sum = 0;
        clamp_unresolved(w, n);
        for (int i = 0; i < n; i++) sum += sqrt(w[i]);
        *tr = sum;
    }
    free(root);
    free(t);
    free(m);
    free(w);
    return info;
}

static int check_stats(const FeatureStats *s, const char *which, char *err, int errlen) {
    if (!s || !s->mean || !s->cov || s->dim < 1)
        return fail(err, errlen, "fid_distance: %s: empty statistics", which);
    if (s->count < 2) return fail(err, errlen, "fid_distance: %s: need count >= 2, got %ld", which, s->count);
    if (!all_finite(s->mean, s->dim) || !all_finite(s->cov, (long)s->dim * s->dim))
        return fail(err, errlen, "fid_distance: %s: non-finite statistics", which);
    return 0;
}

int fid_distance(const FeatureStats *a, const FeatureStats *b, double *fid, char *err, int errlen) {
    if (!fid) return fail(err, errlen, "fid_distance: no output");
    if (check_stats(a, "first", err, errlen) || check_stats(b, "second", err, errlen)) return -1;
    if (a->dim != b->dim) return fail(err, errlen, "fid_distance: dimensions differ (%d vs %d)", a->dim, b->dim);
    int n = a->dim;
    double mean_sq = 0, tr_a = 0, tr_b = 0, tr_root = 0;
    for (int i = 0; i < n; i++) {
        double d = a->mean[i] - b->mean[i];
        mean_sq += d * d;
        tr_a += a->cov[(size_t)i * n + i];
        tr_b += b->cov[(size_t)i * n + i];
    }
    int info = trace_sqrt_product(a->cov, b->cov, n, &tr_root);
    if (info == NO_MEMORY) return fail(err, errlen, "fid_distance: out of memory (dim %d)", n);
    if (info) return fail(err, errlen, "fid_distance: LAPACK dsyevd failed (info %d)", info);
    *fid = mean_sq + tr_a + tr_b - 2 * tr_root;
    return 0;
}

/* ---- KID -------------------------------------------------------------------------------- */

/* Sum of k(x_i, y_j) over the bi x bj tile of Gram values g (already x.y / dim), leaving out the
 * diagonal i == j when diag (a tile on the diagonal of a set against itself). */
static double tile_kernel_sum(const double *g, int bi, int bj, int diag) {
    double sum = 0;
    for (int i = 0; i < bi; i++) {
        const double *row = g + (size_t)i * bj;
        double r = 0;
        for (int j = 0; j < bj; j++) {
            double t = row[j] + 1;
            r += t * t * t;
        }
        if (diag) {  /* take k(x_i, x_i) back out: the estimator is unbiased only without it */
            double t = row[i] + 1;
            r -= t * t * t;
        }
        sum += r;
    }
    return sum;
}

/* sum over i, j of k(x_i, y_j), tile by tile; when self (y is x) only i != j, and only the tiles
 * on or above the diagonal are computed, those above counting twice (k is symmetric). */
static double kernel_sum(const double *x, long nx, const double *y, long ny, int dim, int self, double *g) {
    double total = 0;
    for (long i0 = 0; i0 < nx; i0 += KID_TILE) {
        int bi = (int)(nx - i0 < KID_TILE ? nx - i0 : KID_TILE);
        for (long j0 = self ? i0 : 0; j0 < ny; j0 += KID_TILE) {
            int bj = (int)(ny - j0 < KID_TILE ? ny - j0 : KID_TILE);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, bj, dim, 1.0 / dim, x + (size_t)i0 * dim, dim,
                        y + (size_t)j0 * dim, dim, 0.0, g, bj);
            double s = tile_kernel_sum(g, bi, bj, self && i0 == j0);
            total += (self && j0 > i0) ? 2 * s : s;
        }
    }
    return total;
}

int kid_distance(const double *fa, long na, const double *fb, long nb, int dim, double *kid, char *err,
                 int errlen) {
    if (!fa || !fb || !kid) return fail(err, errlen, "kid_distance: missing features or output");
    if (na < 2 || nb < 2)
        return fail(err, errlen, "kid_distance: need at least 2 feature vectors per set, got %ld and %ld", na, nb);
    if (dim < 1) return fail(err, errlen, "kid_distance: feature dimension must be >= 1, got %d", dim);
    double *g = malloc(sizeof(double) * KID_TILE * KID_TILE);
    if (!g) return fail(err, errlen, "kid_distance: out of memory");
    double kaa = kernel_sum(fa, na, fa, na, dim, 1, g);
    double kbb = kernel_sum(fb, nb, fb, nb, dim, 1, g);
    double kab = kernel_sum(fa, na, fb, nb, dim, 0, g);
    free(g);
    double v = kaa / ((double)na * (na - 1)) + kbb / ((double)nb * (nb - 1)) - 2 * kab / ((double)na * nb);
    /* NaN or inf in the features (or overflow of the cubes) would otherwise be logged as a value */
    if (!isfinite(v)) return fail(err, errlen, "kid_distance: non-finite result (features non-finite or huge)");
    *kid = v;
    return 0;
}
