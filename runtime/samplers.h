/* samplers.h: synthetic data distributions for the toy experiments (`data x = gaussians8(...)`).
 *
 * Each sampler has named parameters with defaults; sema checks a .gan file's call against this
 * table, and the interpreter and libganrt draw from it with the counter-based generator. */
#ifndef GANC_SAMPLERS_H
#define GANC_SAMPLERS_H
#include <stdint.h>

enum { SAMPLER_MAXARGS = 8 };

typedef struct SamplerInfo {
    const char *name;
    int dim;                                 /* features per sample */
    int nparams;
    const char *param_names[SAMPLER_MAXARGS];
    double defaults[SAMPLER_MAXARGS];
    const char *doc;                         /* one line for docs and errors */
    void (*draw)(const double *args, uint64_t seed, uint64_t stream, uint64_t index0, double *out,
                 int n);                     /* n samples, row-major [n, dim] */
} SamplerInfo;

const SamplerInfo *sampler_find(const char *name);  /* NULL if unknown */
const SamplerInfo *sampler_table(int *count);
/* The centres of the modes (for metrics); returns the count and fills up to max centres [k, dim]. */
int sampler_modes(const SamplerInfo *s, const double *args, double *centres, int max);
/* The standard deviation of one mode in output coordinates (0 if the modes are points). */
double sampler_mode_std(const SamplerInfo *s, const double *args);

#endif
