/* plot.h: pictures of low-dimensional samples, written by libganrt at each sample step next to
 * the NPY/CSV files, so a toy run can be judged by eye without Python:
 *   2-D points [n, 2]: a scatter plot, fake points orange, real points blue, the data's mode
 *                      centres as black crosses;
 *   1-D values [n, 1]: a histogram, fake orange bars over real blue bars.
 * The axes are fixed by the caller (plot_range, from the real data, which are drawn the same at
 * every sample step), so the frames of a run compare. A light grid marks a "nice" step (1, 2 or
 * 5 times a power of ten) and a darker line the zero of each axis. PNG, PLOT_SIZE pixels square. */
#ifndef GANC_PLOT_H
#define GANC_PLOT_H

enum { PLOT_SIZE = 400 };

/* The range [lo, hi] of column `col` of n rows of `dim` values and of the k centres (k rows of
 * dim), widened by a tenth on each side (to 1 wide around the middle when all are equal); NaN
 * and infinite values are ignored. */
void plot_range(const double *rows, long n, const double *centres, int k, int dim, int col, double range[2]);

/* fake [nfake, 2], real [nreal, 2] (nreal may be 0), centres [k, 2]; x in xr, y in yr; points
 * outside are drawn on the border. 0, or -1 with why in err. */
int plot_scatter(const char *path, const double *fake, long nfake, const double *real, long nreal,
                 const double *centres, int k, const double xr[2], const double yr[2], char *err, int errlen);
/* A histogram of PLOT_BINS bins over range (values outside go to the end bins), heights
 * relative to the fuller of the two. */
enum { PLOT_BINS = 50 };
int plot_histogram(const char *path, const double *fake, long nfake, const double *real, long nreal,
                   const double range[2], char *err, int errlen);

/* The plot colours, shared with the tests that count them. */
#define PLOT_FAKE_RGB 230, 110, 20
#define PLOT_REAL_RGB 40, 100, 200

#endif
