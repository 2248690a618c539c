/* autodiff.h: reverse-mode differentiation as a graph-to-graph transform.
 *
 * ad_grad appends to the graph the nodes that compute dy/dx for each x, built from the same
 * primitive ops by the VJP rules of docs/ir.md, so its output can be differentiated again
 * (double backprop: a gradient penalty's inner grad is differentiated when D trains). Only nodes
 * on a path from some x to y get a cotangent; a zero cotangent is never built. */
#ifndef GANC_AUTODIFF_H
#define GANC_AUTODIFF_H
#include "ir.h"

/* y must be a scalar (shape []). grads[i] receives dy/dxs[i], shaped like xs[i] (a zero const
 * when y does not depend on xs[i]). */
void ad_grad(IrGraph *g, int y, int nx, const int *xs, int *grads);

#endif
