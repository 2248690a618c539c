/* fill.c: see fill.h. A tensor's values come from the counter-based generator at (seed, the
 * hash of its name, draw * size + element), so any draw of any tensor is reproducible alone. */
#include "fill.h"
#include <string.h>
#include "rng.h"
#include "samplers.h"

void fill_values(const FillSpec *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows) {
    uint64_t stream = rng_stream_id(name), index0 = draw * (uint64_t)size;
    switch (spec->kind) {
    case FILL_ZEROS: memset(out, 0, sizeof(double) * (size_t)size); break;
    case FILL_CONSTANT:
        for (long i = 0; i < size; i++) out[i] = spec->a;
        break;
    case FILL_UNIFORM:
        rng_uniform(seed, stream, index0, out, size);
        for (long i = 0; i < size; i++) out[i] = spec->a + (spec->b - spec->a) * out[i];
        break;
    case FILL_NORMAL:
        rng_normal(seed, stream, index0, out, size);
        for (long i = 0; i < size; i++) out[i] = spec->a + spec->b * out[i];
        break;
    case FILL_DATA:
        sampler_find(spec->sampler)->draw(spec->args, seed, stream, draw * (uint64_t)rows, out, (int)rows);
        break;
    }
}
