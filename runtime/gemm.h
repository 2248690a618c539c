/* gemm.h: the matrix products of libganrt (gemm.c). Private to libganrt: the kernels
 * (kernels_impl.h) call them for matmul and for the im2col convolutions. */
#ifndef GANRT_GEMM_H
#define GANRT_GEMM_H

/* c[m,n] = op(a)[m,k] op(b)[k,n] + beta c, all row-major and dense (op transposes when ta / tb is
 * set); beta 0 ignores c's contents. Large products split across the --threads pool. The same
 * shapes and thread count give the same bits. */
void gemm_f32(int ta, int tb, int m, int n, int k, const float *a, const float *b, float beta, float *c);
void gemm_f64(int ta, int tb, int m, int n, int k, const double *a, const double *b, double beta, double *c);

#endif
