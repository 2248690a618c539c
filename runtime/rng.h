/* rng.h: the counter-based random generator shared by the compiler's interpreter and libganrt.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): the value
 * at (seed, stream, index) is a pure function of the three, so a draw never depends on how many
 * threads produced the draws before it, and any draw can be reproduced alone. A named tensor (a
 * parameter's initial value, a noise batch) is a stream, named by a 64-bit hash of its name; the
 * index runs over its elements and over the steps. */
#ifndef GANC_RNG_H
#define GANC_RNG_H
#include <stdint.h>

uint64_t rng_stream_id(const char *name);  /* FNV-1a 64 of the name */
/* Four 32-bit words at counter (stream, index) under key seed. */
void rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);
/* out[i] for i < n, from counters index0 + i: uniform in [0, 1) with 53 random bits. */
void rng_uniform(uint64_t seed, uint64_t stream, uint64_t index0, double *out, long n);
/* standard normal draws (Box-Muller on the two doubles of one counter). */
void rng_normal(uint64_t seed, uint64_t stream, uint64_t index0, double *out, long n);

#endif
