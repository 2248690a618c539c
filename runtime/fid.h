/* fid.h: Frechet Inception Distance (FID) and Kernel Inception Distance (KID), computed by
 * libganrt on feature vectors and logged like a loss.
 *
 * Where it sits: for image experiments (Fashion-MNIST) the runtime feeds generated samples and a
 * held-out reference split through a fixed classifier, takes its penultimate-layer features, and
 * compares the two feature clouds here. The reference split's statistics are computed once
 * (fid_stats) and reused at every evaluation step; only the generated side is recomputed.
 *
 *   FID (Heusel et al. 2017): the Frechet distance between Gaussians fitted to the two clouds,
 *       ||mu_a - mu_b||^2 + tr S_a + tr S_b - 2 tr (S_a S_b)^(1/2).
 *   KID (Binkowski et al. 2018): the unbiased estimate of MMD^2 under the cubic polynomial kernel
 *       k(x, y) = (x.y / dim + 1)^3; unlike FID it is unbiased in the sample size, so it can be
 *       slightly negative when the two sets come from one distribution.
 *
 * Everything is double. Matrices are row-major. Functions returning int give 0 on success and -1
 * on failure with a message in err (errlen bytes, may be 0). */
#ifndef GANC_FID_H
#define GANC_FID_H

typedef struct FeatureStats {
    int dim;       /* feature dimension */
    long count;    /* how many feature vectors the statistics summarise */
    double *mean;  /* [dim] */
    double *cov;   /* [dim, dim] row-major, unbiased (divided by count - 1) */
} FeatureStats;

/* Mean and covariance of features [count, dim] (row-major), count >= 2. out's arrays are
 * allocated here; release them with fid_stats_free. */
int fid_stats(const double *features, long count, int dim, FeatureStats *out, char *err, int errlen);
/* Frees s's arrays and zeroes it; safe on a zeroed or already freed FeatureStats. */
void fid_stats_free(FeatureStats *s);

/* FID between two feature distributions' statistics (same dim). The trace of the matrix square
 * root is computed as sum sqrt(eig(S_a^1/2 S_b S_a^1/2)), eigenvalues below rounding level (negative
 * ones included) clamped to 0, so singular covariances (fewer samples than features) are fine. */
int fid_distance(const FeatureStats *a, const FeatureStats *b, double *fid, char *err, int errlen);

/* KID between feature sets fa [na, dim] and fb [nb, dim], na, nb >= 2: the unbiased MMD^2 of the
 * two full sets (average over subsets, as Binkowski et al. report it, is the caller's choice). */
int kid_distance(const double *fa, long na, const double *fb, long nb, int dim, double *kid, char *err,
                 int errlen);

#endif
