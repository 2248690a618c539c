/* ganrt.h: what the code ganc generates calls in libganrt, the runtime it links with.
 *
 * An executable built by `ganc FILE.gan -o EXE` contains the model as constant data (a
 * GanModel: its leaves, graphs with their native functions, logs and samples; contract.h) and
 * a main() that passes it to ganrt_main. Everything else comes from libganrt: flags,
 * parameter initialisation, data and noise, the training schedule, logs, samples, checkpoints.
 * The graph functions call the kernels below.
 *
 * The executable also holds the .gan file's path as given to ganc and its text, as two global
 * strings that libganrt reads by name for the run record (record.h); the references are weak,
 * so a program without them (tests/fake_model.c) links, and records no source:
 *
 *   const char ganc_source_path[];     const char ganc_source_text[]; */
#ifndef GANC_GANRT_H
#define GANC_GANRT_H
#include <stdint.h>

#include "contract.h"

/* libganrt's entry point; the executable's main() calls it. It checks model->version first:
 * a model of another format version is an error naming both (exit status 1). */
int ganrt_main(const GanModel *model, int argc, char **argv);

/* A fused elementwise loop of a graph function, outlined by codegen: computes elements
 * [lo, hi) of the buffers whose addresses `slots` holds (one function serves every loop of the
 * same structure). ganrt_parallel_loop runs it over [0, n) split across the --threads pool (or
 * on the calling thread when n * cost, cost the loop's operations per element, is small). */
typedef void (*GanLoopFn)(void **slots, char *arena, long lo, long hi);
void ganrt_parallel_loop(GanLoopFn fn, void **slots, char *arena, long n, long cost);

/* ---- kernels the generated code calls (suffix _f32 for float, _f64 for double) ----
 * dims arrays hold ndim entries; masks are bitmasks over axes, as in the IR (docs/ir.md). */
#define GANRT_KERNELS(T, S)                                                                     \
    void ganrt_matmul_##S(int ta, int tb, int m, int n, int k, const T *a, const T *b, T *c);    \
    /* c += op(a) op(b): GEMM with beta = 1, a bias or another product already in c (plan.h) */  \
    void ganrt_matmul_acc_##S(int ta, int tb, int m, int n, int k, const T *a, const T *b, T *c); \
    void ganrt_conv_##S(const T *x, const T *w, T *y, const int *xd, const int *wd, int stride,  \
                        int pad);                                                                \
    void ganrt_conv_bd_##S(const T *w, const T *y, T *x, const int *xd, const int *wd,           \
                           int stride, int pad);                                                 \
    void ganrt_conv_bf_##S(const T *x, const T *y, T *w, const int *xd, const int *wd,           \
                           int stride, int pad);                                                 \
    void ganrt_broadcast_##S(const T *in, T *out, const int *out_dims, int ndim, unsigned kept); \
    void ganrt_reduce_##S(const T *in, T *out, const int *in_dims, int ndim, unsigned axes,      \
                          int is_max);                                                           \
    void ganrt_permute_##S(const T *in, T *out, const int *in_dims, int ndim, const int *perm);  \
    void ganrt_slice_##S(const T *in, T *out, const int *in_dims, const int *out_dims, int ndim,  \
                         const int *start);                                                      \
    void ganrt_pad_##S(const T *in, T *out, const int *in_dims, const int *out_dims, int ndim,    \
                       const int *before);                                                       \
    void ganrt_concat_##S(const T *a, const T *b, T *out, const int *a_dims, const int *b_dims,  \
                          int ndim, int axis);
GANRT_KERNELS(float, f32)
GANRT_KERNELS(double, f64)
#undef GANRT_KERNELS

#endif
