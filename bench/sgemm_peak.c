/* sgemm_peak.c: the machine's single-precision GEMM rate, the ceiling that `make bench` compares
 * useful GFLOP/s with. Usage: sgemm_peak THREADS [SECONDS]
 * Times C = A B for square 1024 matrices (large enough to amortise packing, small enough to stay
 * in L3) with each of the two GEMMs on the machine, OpenBLAS's cblas_sgemm and oneDNN's
 * dnnl_sgemm (which libganrt uses for float products, runtime/gemm.c), each until SECONDS
 * (default 1) have passed, and prints the faster rate in GFLOP/s (2 n^3 per product) on stdout,
 * both on stderr. The better library is the ceiling: on the project's Zen 4, Debian's OpenBLAS
 * runs AVX2 kernels (some 100 GFLOP/s a core) where oneDNN's AVX-512 code does twice that. */
#include <cblas.h>
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 1024 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void openblas_product(const float *a, const float *b, float *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
}

static void onednn_product(const float *a, const float *b, float *c)
{
    dnnl_sgemm('N', 'N', N, N, N, 1, a, N, b, N, 0, c, N);
}

/* GFLOP/s of `product` over `seconds`, after one untimed call (packing buffers, JIT) */
static double rate(void (*product)(const float *, const float *, float *), const float *a, const float *b,
                   float *c, double seconds)
{
    product(a, b, c);
    long products = 0;
    double start = now(), elapsed;
    do {
        product(a, b, c);
        products++;
    } while ((elapsed = now() - start) < seconds);
    return 2.0 * N * N * N * products / elapsed / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sgemm_peak THREADS [SECONDS]\n");
        return 1;
    }
    int threads = atoi(argv[1]);
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N),
          *c = malloc(sizeof(float) * N * N);
    for (long i = 0; i < (long)N * N; i++)
        a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double openblas = rate(openblas_product, a, b, c, seconds), onednn = rate(onednn_product, a, b, c, seconds);
    fprintf(stderr, "sgemm n=%d on %d threads: OpenBLAS %.1f GFLOP/s, oneDNN %.1f\n", N, threads, openblas, onednn);
    printf("%.1f\n", openblas > onednn ? openblas : onednn);
    free(a), free(b), free(c);
    return 0;
}
