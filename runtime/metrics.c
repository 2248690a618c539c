/* metrics.c: modes covered, high-quality fraction, KL of the mode histogram (see metrics.h). */
#include "metrics.h"
#include <math.h>
#include <stdlib.h>

static double distance(const double *a, const double *b, int dim) {
    double s = 0;
    for (int k = 0; k < dim; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
    return sqrt(s);
}

static int nearest(const double *x, const double *centres, int modes, int dim, double *dist) {
    int best = 0;
    *dist = INFINITY;
    for (int m = 0; m < modes; m++) {
        double d = distance(x, centres + (long)m * dim, dim);
        if (d < *dist) *dist = d, best = m;
    }
    return best;
}

int toy_metrics(const double *samples, long n, int dim, const double *centres, int modes, double spread,
                ToyMetrics *out) {
    if (modes <= 0 || n <= 0) return 0;
    double radius = 3 * spread;
    long *high = calloc((size_t)modes, sizeof(long)), good = 0;
    out->modes = modes;
    out->count[0] = out->count[1] = 0;
    for (long i = 0; i < n; i++) {
        double d;
        int m = nearest(samples + i * dim, centres, modes, dim, &d);
        if (modes == 2) out->count[m]++;
        if (d <= radius) high[m]++, good++;
    }
    out->covered = 0;
    out->kl = 0;
    for (int m = 0; m < modes; m++) {
        out->covered += high[m] > 0;
        if (high[m] > 0) {
            double p = (double)high[m] / (double)good;
            out->kl += p * log(p * modes);
        }
    }
    out->quality = (double)good / (double)n;
    free(high);
    return 1;
}
