/* sha256.h: SHA-256 (FIPS 180-4), for the run record's fingerprint of the .gan source. Small and
 * self-contained so the runtime needs no crypto library; tests/test_record.c holds it to the
 * standard's test vectors. */
#ifndef GANC_SHA256_H
#define GANC_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct Sha256 {
    uint32_t h[8];
    uint64_t length;        /* bytes hashed so far */
    unsigned char block[64];
    size_t used;            /* bytes waiting in block */
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, unsigned char digest[32]);
/* The digest of n bytes as 64 lower-case hex digits and a NUL. */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
