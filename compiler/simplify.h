/* simplify.h: the structural-zeros pass, run on the finished step, eval, sample and fid graphs.
 *
 * ir.c's constructors already fold what is visible at one node (x*0, x+0, a select with a
 * constant mask). What they cannot see is a zero that is only part of a tensor: the branch of a
 * select that a mask zeroes (relu, leaky relu and their derivatives), or a product with a tensor
 * that is one value everywhere (the seed of a mean's gradient). This pass copies a graph node by
 * node, rewriting those (docs/ir.md, "Structural zeros"):
 *   select(m,a,0) + select(m,0,b)  -> select(m, a, b)        (leaky relu's derivative)
 *   select(m,a,0) + select(m,b,0)  -> select(m, a+b, 0)      (and with 0 in the first branch)
 *   select(m,a,0) * select(m,0,b)  -> 0;  select(m,a,0) * select(m,b,0) -> select(m, a*b, 0)
 *   select(m,a,0) * y              -> select(m, a*y, 0)      (when the select has no other reader)
 *   matmul(const c, B)             -> broadcast(c * column sums of B)  (and B's side likewise)
 * The values are those of the untransformed graph up to rounding (a sum instead of BLAS's
 * product) and the sign of a zero; tests/simplify.sh checks it on every example. */
#ifndef GANC_SIMPLIFY_H
#define GANC_SIMPLIFY_H
#include "model.h"

IrGraph *simplify_graph(const IrGraph *g);
/* Every graph the model runs (the schedule's, eval, sample, fid), not the check graphs. */
void simplify_model(Model *m);

#endif
