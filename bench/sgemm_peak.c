/* sgemm_peak.c: the machine's single-precision GEMM rate through OpenBLAS, the ceiling that
 * `make bench` compares useful GFLOP/s with. Usage: sgemm_peak THREADS [SECONDS]
 * Times C = A B for square 1024 matrices (the size at which OpenBLAS reaches its peak on this
 * class of machine, large enough to amortise packing, small enough to stay in L3) until SECONDS
 * (default 1) have passed, and prints GFLOP/s (2 n^3 per product). */
#include <cblas.h>
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sgemm_peak THREADS [SECONDS]\n");
        return 1;
    }
    openblas_set_num_threads(atoi(argv[1]));
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N),
          *c = malloc(sizeof(float) * N * N);
    for (long i = 0; i < (long)N * N; i++)
        a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
    long products = 0;
    double start = now(), elapsed;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
        products++;
    } while ((elapsed = now() - start) < seconds);
    printf("%.1f\n", 2.0 * N * N * N * products / elapsed / 1e9);
    free(a), free(b), free(c);
    return 0;
}
