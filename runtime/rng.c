/* rng.c: Philox4x32-10, the counter-based generator behind every random draw in ganc.
 *
 * Shared by the compiler (the reference interpreter, parameter initialisation) and libganrt (the
 * native training loop), so both draw bit-identical values: a draw is a pure function of (seed,
 * stream, index). The key is the 64-bit seed split into two 32-bit words; the counter is (stream
 * low, stream high, index low, index high). Checked against the Random123 known-answer vector in
 * tests/test_runtime.c. */
#include "rng.h"

#include <math.h>

/* Constants of Salmon et al.: the round multipliers and the Weyl sequence that bumps the key. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

#define TWO_PI 6.28318530717958647692

/* One Philox round: two 32x32->64 multiplications whose halves are mixed with the key. */
static void philox_round(uint32_t counter[4], const uint32_t key[2])
{
    uint64_t product0 = (uint64_t)PHILOX_M0 * counter[0];
    uint64_t product1 = (uint64_t)PHILOX_M1 * counter[2];
    uint32_t hi0 = (uint32_t)(product0 >> 32), lo0 = (uint32_t)product0;
    uint32_t hi1 = (uint32_t)(product1 >> 32), lo1 = (uint32_t)product1;
    uint32_t mixed[4] = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
    for (int k = 0; k < 4; k++)
        counter[k] = mixed[k];
}

void rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4])
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    out[0] = (uint32_t)stream;
    out[1] = (uint32_t)(stream >> 32);
    out[2] = (uint32_t)index;
    out[3] = (uint32_t)(index >> 32);
    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        if (round > 0) {
            key[0] += PHILOX_W0;
            key[1] += PHILOX_W1;
        }
        philox_round(out, key);
    }
}

/* 53 random bits from two words: 32 from the first, the top 21 of the second. */
static uint64_t bits53(uint32_t high, uint32_t low)
{
    return ((uint64_t)high << 21) | (low >> 11);
}

#define TWO_POW_MINUS_53 (1.0 / 9007199254740992.0)

void rng_uniform(uint64_t seed, uint64_t stream, uint64_t index0, double *out, long n)
{
    for (long i = 0; i < n; i++) {
        uint32_t words[4];
        rng_philox(seed, stream, index0 + (uint64_t)i, words);
        out[i] = (double)bits53(words[0], words[1]) * TWO_POW_MINUS_53; /* [0, 1) */
    }
}

/* Each output has its own counter, so out[i] depends only on (seed, stream, index0 + i): a
 * normal draw can be reproduced alone, whatever n the caller asked for. Box-Muller, cos branch;
 * the radius uniform is shifted into (0, 1] so log never sees 0. */
void rng_normal(uint64_t seed, uint64_t stream, uint64_t index0, double *out, long n)
{
    for (long i = 0; i < n; i++) {
        uint32_t words[4];
        rng_philox(seed, stream, index0 + (uint64_t)i, words);
        double radius_u = (double)(bits53(words[0], words[1]) + 1) * TWO_POW_MINUS_53; /* (0, 1] */
        double angle_u = (double)bits53(words[2], words[3]) * TWO_POW_MINUS_53;       /* [0, 1) */
        out[i] = sqrt(-2.0 * log(radius_u)) * cos(TWO_PI * angle_u);
    }
}

/* FNV-1a, 64-bit: a stable hash of a tensor's name, so a name always names the same stream. */
uint64_t rng_stream_id(const char *name)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        hash ^= *p;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}
