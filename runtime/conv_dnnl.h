/* conv_dnnl.h: float convolutions through oneDNN (private to libganrt; kernels.c calls it). */
#ifndef GANRT_CONV_DNNL_H
#define GANRT_CONV_DNNL_H

typedef enum { CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_WEIGHTS } ConvKind;

/* The conv of kind over x [N,C,H,W] (dims xd) and w [O,C,KH,KW] (dims wd), with operands as
 * ganrt_conv_f32, ganrt_conv_bd_f32 and ganrt_conv_bf_f32 take them (a, b, out). Returns 0
 * when it computed out, -1 when oneDNN refused the shape (the caller falls back to im2col). */
int conv_dnnl_f32(ConvKind kind, const float *a, const float *b, float *out, const int *xd,
                  const int *wd, int stride, int pad);

#endif
