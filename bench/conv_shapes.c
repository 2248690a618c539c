/* conv_shapes.c: milliseconds per call of libganrt's three convolutions on the DCGAN shapes
 * (both geometries of stdlib/fmnist.gan's nets at batch 64: D's first layer and G's last,
 * D's second layer and G's first), the measurement behind the choice of conv kernels
 * (docs/performance.md). Usage: conv_shapes THREADS [REPEATS]; the best of REPEATS calls, in
 * process CPU time (WALL=1: wall-clock time), which a loaded machine disturbs less. Build:
 * cc -O2 -Iruntime bench/conv_shapes.c build/libganrt.a -lopenblas -ldnnl -lgomp -lm */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "ganrt.h"
#include "pool.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(getenv("WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *random_floats(long n)
{
    float *p = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++)
        p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, repeats = argc > 2 ? atoi(argv[2]) : 20;
    openblas_set_num_threads(threads);
    pool_start(threads);
    static const int shapes[2][8] = {{64, 1, 28, 28, 64, 1, 4, 4}, {64, 64, 14, 14, 128, 64, 4, 4}};
    for (int s = 0; s < 2; s++) {
        const int *xd = shapes[s], *wd = shapes[s] + 4;
        int oh = (xd[2] + 2 - wd[2]) / 2 + 1, ow = (xd[3] + 2 - wd[3]) / 2 + 1;
        long nx = (long)xd[0] * xd[1] * xd[2] * xd[3], nw = (long)wd[0] * wd[1] * wd[2] * wd[3],
             ny = (long)xd[0] * wd[0] * oh * ow;
        float *x = random_floats(nx), *w = random_floats(nw), *y = random_floats(ny);
        double ms[3];
        for (int kind = 0; kind < 3; kind++) {
            double best = 1e30;
            for (int r = 0; r < repeats; r++) {
                double t0 = now();
                if (kind == 0) ganrt_conv_f32(x, w, y, xd, wd, 2, 1);
                if (kind == 1) ganrt_conv_bd_f32(w, y, x, xd, wd, 2, 1);
                if (kind == 2) ganrt_conv_bf_f32(x, y, w, xd, wd, 2, 1);
                double t = now() - t0;
                best = t < best ? t : best;
            }
            ms[kind] = best * 1e3;
        }
        double gflop = 2.0 * ny * wd[1] * wd[2] * wd[3] / 1e9;
        printf("x[%d,%d,%d,%d] w[%d,%d,%d,%d]: conv %.2f ms, conv_bd %.2f ms, conv_bf %.2f ms (%.2f GFLOP each)\n",
               xd[0], xd[1], xd[2], xd[3], wd[0], wd[1], wd[2], wd[3], ms[0], ms[1], ms[2], gflop);
        free(x), free(w), free(y);
    }
    return 0;
}
