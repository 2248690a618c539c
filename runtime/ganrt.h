/* ganrt.h: the contract between the code ganc generates and libganrt, the runtime it links with.
 *
 * An executable built by `ganc FILE.gan -o EXE` contains two things from the compiler:
 *
 *   const char ganc_model_desc[];      a text description of the model (format below)
 *   void (*const ganc_graph_fns[])(void **leaves, void **outputs, char *arena);
 *
 * and everything else comes from libganrt: main() (ganrt_main), flags, parameter
 * initialisation, data and noise, the training schedule, logs, samples, checkpoints.
 *
 * Graph function k reads leaf tensors through leaves[i], in the order of the graph's `use`
 * lines; writes output j to outputs[j], in the order of its `out` lines; and uses `arena`
 * (arena_bytes long, 64-byte aligned) for every intermediate. It writes the outputs only after
 * it has read every leaf, so the runtime may pass a parameter's own storage as the output that
 * updates it. Tensors are dense row-major arrays of float (dtype f32) or double (f64).
 *
 * The description is text, one record per line, fields separated by single spaces; the last
 * field of `log` and `sample` lines is a label that may contain spaces:
 *
 *   ganc-model 1
 *   name NAME                 dtype f32|f64             batch N
 *   seed S                    iters N                   log_every N      sample_every N
 *   leaf NAME param|state|input NDIM D... KIND A B SAMPLER NARGS ARG... POINTS FIXED SOURCE FILE ORDER CLASSES
 *        KIND: zeros|constant|uniform|normal|data|copy|progress|file|labels|tensor
 *        SAMPLER is "-" and NARGS 0 unless the kind is data; POINTS, FIXED, SOURCE, FILE,
 *        ORDER, CLASSES are FillSpec's fields (runtime/fill.h), "-" for a missing name
 *   graph NAME step|eval|sample NET TIMES NUSE NOUT ARENA_BYTES     (NET "-" unless a step)
 *   use LEAFNAME                                      NUSE of these follow their graph line
 *   out value|update NAME NDIM D...                   NOUT of these follow the use lines
 *   log GRAPH OUTPUT LABEL                            a logged value: output OUTPUT of graph GRAPH
 *   sample OUTPUT LABEL                               a sampled tensor: output of graph "sample"
 *   end
 *
 * Graphs appear in the order of ganc_graph_fns. Step graphs come in schedule order; each runs
 * TIMES times in a row per iteration. Graph "eval" computes every loss (out loss/NET) and its
 * gradients (grad/NET/PARAM); graph "sample" computes the sampled tensors (sample/LABEL). */
#ifndef GANC_GANRT_H
#define GANC_GANRT_H
#include <stdint.h>

typedef void (*GanGraphFn)(void **leaves, void **outputs, char *arena);

/* libganrt's entry point; the executable's main() calls it. */
int ganrt_main(const char *desc, GanGraphFn const *fns, int argc, char **argv);

/* ---- kernels the generated code calls (suffix _f32 for float, _f64 for double) ----
 * dims arrays hold ndim entries; masks are bitmasks over axes, as in the IR (docs/ir.md). */
#define GANRT_KERNELS(T, S)                                                                     \
    void ganrt_matmul_##S(int ta, int tb, int m, int n, int k, const T *a, const T *b, T *c);    \
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
