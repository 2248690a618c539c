/* metrics.h: the toy experiments' metrics, computed by libganrt from a batch of samples and the
 * data distribution's modes, and logged like losses. Definitions follow VEEGAN (Srivastava et
 * al. 2017): a sample is high quality when it lies within 3 standard deviations of its nearest
 * mode; a mode is covered when it is the nearest mode of at least one high-quality sample; the
 * KL divergence is that of the histogram of high-quality samples over the modes from the
 * uniform distribution. */
#ifndef GANC_METRICS_H
#define GANC_METRICS_H

typedef struct ToyMetrics {
    int modes;         /* how many modes the distribution has */
    int covered;       /* modes covered */
    double quality;    /* fraction of high-quality samples */
    double kl;         /* KL(histogram || uniform), in nats; +inf-free: empty modes add 0 */
    double count[2];   /* 1-D two-mode data: how many samples lie nearest each mode */
} ToyMetrics;

/* samples: [n, dim] row-major; centres: [modes, dim]; spread: one mode's standard deviation (0
 * for point masses: only exact hits are high quality). Returns 0 if there are no modes. */
int toy_metrics(const double *samples, long n, int dim, const double *centres, int modes, double spread,
                ToyMetrics *out);

#endif
