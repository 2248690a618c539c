/* gemm.c: the matrix products (gemm.h): oneDNN's sgemm for float, OpenBLAS for double.
 *
 * Why two libraries. Debian's OpenBLAS (0.3.21) runs its Haswell (AVX2) kernels on AVX-512
 * machines such as the project's Zen 4; oneDNN (libdnnl, already linked for the convolutions)
 * generates AVX-512 code at run time. Measured on that machine, one thread, CPU time, best of
 * three: a 128 x 128 x 128 float product 95-98 GFLOP/s with cblas_sgemm and 192-206 with
 * dnnl_sgemm in all three transpose cases the graphs use, 1024^3 102 against 200 (the
 * comparison program is in bench/sgemm_peak.c). oneDNN has no double GEMM, so float64 stays on
 * OpenBLAS: float64 is for checking, not for speed.
 *
 * Threads. oneDNN parallelises with OpenMP, whose pool would spin next to ours (pool.c); it is
 * limited to one thread on every thread that calls it, and a large product is cut instead into
 * one block of rows (or of columns, when there are more of them) per --threads worker, each a
 * one-thread dnnl_sgemm. Blocks are static, so the same thread count gives the same bits.
 * OpenBLAS keeps its own pool for double products, called from the main thread only while our
 * workers sleep, with one thread for small products. */
#include "gemm.h"
#include "pool.h"

#include <cblas.h>
#include <dnnl.h>
#include <omp.h>

/* Products under this many multiply-adds (a 128 x 128 x 256 one, some 25 microseconds on one
 * core) run on one thread: splitting them costs more in wake-ups and packing than it saves. */
#define SMALL_PRODUCT (1 << 22)

/* ----- float: oneDNN -------------------------------------------------------------------- */

typedef struct Product {
    int ta, tb, m, n, k, by_rows;
    const float *a, *b;
    float beta;
    float *c;
} Product;

/* oneDNN's OpenMP regions on the calling thread run on it alone (set once per thread). */
static void one_openmp_thread(void)
{
    static __thread int done;
    if (!done) {
        omp_set_num_threads(1);
        done = 1;
    }
}

static void sgemm(const Product *p, int m, int n, const float *a, const float *b, float *c)
{
    one_openmp_thread();
    int lda = p->ta ? p->m : p->k, ldb = p->tb ? p->k : p->n;
    if (dnnl_sgemm(p->ta ? 'T' : 'N', p->tb ? 'T' : 'N', m, n, p->k, 1.0f, a, lda, b, ldb, p->beta, c, p->n) !=
        dnnl_success) /* only for arguments oneDNN rejects, which these are not; stay correct anyway */
        cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, m, n, p->k,
                    1.0f, a, lda, b, ldb, p->beta, c, p->n);
}

/* The first row (column) of block `part` of `nparts` of `len`, at multiples of 16 so that
 * every block but the last is whole vectors. */
static int block_start(int len, int part, int nparts)
{
    int step = (len + nparts - 1) / nparts;
    step = (step + 15) / 16 * 16;
    int lo = part * step;
    return lo < len ? lo : len;
}

static void product_block(void *ctx, int part, int nparts)
{
    const Product *p = ctx;
    int len = p->by_rows ? p->m : p->n, lo = block_start(len, part, nparts), hi = block_start(len, part + 1, nparts);
    if (lo == hi)
        return;
    if (p->by_rows) /* rows lo..hi of op(a) and of c */
        sgemm(p, hi - lo, p->n, p->a + (p->ta ? (long)lo : (long)lo * p->k), p->b, p->c + (long)lo * p->n);
    else            /* columns lo..hi of op(b) and of c */
        sgemm(p, p->m, hi - lo, p->a, p->b + (p->tb ? (long)lo * p->k : (long)lo), p->c + lo);
}

void gemm_f32(int ta, int tb, int m, int n, int k, const float *a, const float *b, float beta, float *c)
{
    Product p = {ta, tb, m, n, k, m >= n, a, b, beta, c};
    int threads = pool_threads();
    if (threads == 1 || (double)m * n * k < SMALL_PRODUCT)
        sgemm(&p, m, n, a, b, c);
    else
        pool_run(product_block, &p, threads);
}

/* ----- double: OpenBLAS ----------------------------------------------------------------- */

/* OpenBLAS's thread count for a product of `macs` multiply-adds: one for small ones, the
 * --threads count for the rest; set only when it changes. (OpenBLAS's own cutoff, 64^3, would
 * split the narrow toys' 128 x 128 layers across threads for no gain.) */
static void blas_threads_for(double macs)
{
    static int current;
    int want = macs < SMALL_PRODUCT ? 1 : pool_threads();
    if (want > 1)
        pool_park(); /* OpenBLAS's threads will spin: ours block */
    if (want != current) {
        openblas_set_num_threads(want);
        current = want;
    }
}

void gemm_f64(int ta, int tb, int m, int n, int k, const double *a, const double *b, double beta, double *c)
{
    blas_threads_for((double)m * n * k);
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a,
                ta ? m : k, b, tb ? k : n, beta, c, n);
}
