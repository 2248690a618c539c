/* flops.c: floating-point operation counts of IR nodes and graphs, from their static shapes.
 *
 * The products (matmul, conv and its two adjoints) count 2 flops per multiply-add, the usual
 * convention, so GFLOP/s compare with a BLAS sgemm's. Every other node that computes counts one
 * per element it produces (a reduction one per element it reads); leaves, constants and pure
 * data movement (reshape, permute, slice, pad, concat, broadcast) count nothing. --emit=ir-opt
 * prints both counts per graph, and `make bench` turns the gemm count into useful GFLOP/s. */
#include "flops.h"

/* A conv's multiply-adds: one per (output pixel, input channel, kernel tap), whichever of the
 * three products it is; x is the image, w the kernel, y the output. */
static double conv_macs(Shape x, Shape w, Shape y) {
    (void)x;
    return (double)y.dim[0] * y.dim[1] * y.dim[2] * y.dim[3] * w.dim[1] * w.dim[2] * w.dim[3];
}

Flops flops_of_node(const IrGraph *g, int id) {
    const IrNode *n = &g->nodes[id];
    Flops f = {0, 0};
    Shape a = n->nin > 0 ? ir_shape_of(g, n->in[0]) : n->shape, b = n->nin > 1 ? ir_shape_of(g, n->in[1]) : a;
    switch (n->op) {
    case OP_PARAM: case OP_STATE: case OP_INPUT: case OP_CONST: case OP_STOP_GRAD:
    case OP_RESHAPE: case OP_PERMUTE: case OP_BROADCAST: case OP_SLICE: case OP_PAD: case OP_CONCAT:
        break;
    case OP_MATMUL: f.gemm = 2.0 * n->shape.dim[0] * n->shape.dim[1] * a.dim[n->ta ? 0 : 1]; break;
    case OP_CONV: f.gemm = 2 * conv_macs(a, b, n->shape); break;    /* (x, w) -> y */
    case OP_CONV_BD: f.gemm = 2 * conv_macs(n->shape, a, b); break; /* (w, y) -> x */
    case OP_CONV_BF: f.gemm = 2 * conv_macs(a, n->shape, b); break; /* (x, y) -> w */
    case OP_SUM: case OP_MAX: f.elementwise = (double)ir_shape_size(a); break;
    default: f.elementwise = (double)ir_shape_size(n->shape); break;
    }
    return f;
}

Flops flops_of_graph(const IrGraph *g) {
    Flops total = {0, 0};
    for (int id = 0; id < g->nnodes; id++) {
        Flops f = flops_of_node(g, id);
        total.gemm += f.gemm;
        total.elementwise += f.elementwise;
    }
    return total;
}
