/* fill.c: see fill.h. A tensor's values come from the counter-based generator at (seed, the
 * hash of its name, draw * size + element), so any draw of any tensor is reproducible alone. */
#include "fill.h"
#include <string.h>
#include "rng.h"
#include "samplers.h"

/* A random permutation of 0..n-1 per epoch, as a function: a 4-round Feistel network on the
 * smallest square power of two that holds n, walking cycles until the value falls below n. */
static uint64_t shuffled_index(uint64_t i, uint64_t n, uint64_t seed, uint64_t stream, uint64_t epoch) {
    int half = 1;
    while ((1ull << (2 * half)) < n) half++;
    uint64_t mask = (1ull << half) - 1;
    do {
        uint64_t left = i >> half, right = i & mask;
        for (uint64_t round = 0; round < 4; round++) {
            uint32_t w[4];
            rng_philox(seed, stream ^ 0x5851F42D4C957F2Dull, ((epoch * 4 + round) << 32) | right, w);
            uint64_t mixed = left ^ (w[0] & mask);
            left = right;
            right = mixed;
        }
        i = (left << half) | right;
    } while (i >= n);
    return i;
}

/* rows samples of a fixed set of `points`: row r of draw d is position d * rows + r of the
 * sequence of epochs, each a new permutation of the set. */
static void draw_from_set(const FillSpec *spec, uint64_t seed, uint64_t stream, uint64_t draw, double *out,
                          long rows, long per_row) {
    const SamplerInfo *s = sampler_find(spec->sampler);
    uint64_t n = (uint64_t)spec->points;
    for (long r = 0; r < rows; r++) {
        uint64_t position = draw * (uint64_t)rows + (uint64_t)r;
        uint64_t index = shuffled_index(position % n, n, seed, stream, position / n);
        s->draw(spec->args, seed, stream, index, out + r * per_row, 1);
    }
}

void fill_values(const FillSpec *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows) {
    if (spec->fixed) draw = 0;
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
        if (spec->points)
            draw_from_set(spec, seed, stream, draw, out, rows, size / rows);
        else
            sampler_find(spec->sampler)->draw(spec->args, seed, stream, draw * (uint64_t)rows, out, (int)rows);
        break;
    case FILL_COPY: case FILL_PROGRESS:
        break; /* the caller's (see fill.h) */
    }
}
