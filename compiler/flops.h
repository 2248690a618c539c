/* flops.h: the arithmetic a graph does, counted from its shapes (printed by --emit=ir-opt). */
#ifndef GANC_FLOPS_H
#define GANC_FLOPS_H
#include "ir.h"

typedef struct Flops {
    double gemm;        /* matmul and the three convolutions: 2 per multiply-add          */
    double elementwise; /* one per element of every other computing node (loops, reductions) */
} Flops;

Flops flops_of_node(const IrGraph *g, int id);
Flops flops_of_graph(const IrGraph *g);

#endif
