/* merge.h: the row-merge pass: one network applied to several batches of rows in one pass.
 *
 * A GAN step applies D to the real rows, to the fake rows and (with a gradient penalty) to
 * interpolates, and its gradients run back through each application. When D treats its rows
 * independently, those applications are the same computation on different rows: the pass
 * concatenates the rows, runs each layer once (one GEMM per layer instead of two or three),
 * slices the results apart where the loss reads them, and sums the weight gradients of all
 * applications in one GEMM over all their rows. It refuses a network that couples the rows of a
 * batch (batch norm, minibatch statistics, pairwise kernels, a max over the batch).
 * docs/ir.md, section "Merging the applications of a network". */
#ifndef GANC_MERGE_H
#define GANC_MERGE_H
#include <stdio.h>
#include "ir.h"
#include "model.h"

/* g with the applications of each network merged, or g itself when nothing merges. report
 * (may be NULL) receives one line per network that merged or was refused. */
IrGraph *merge_graph(const IrGraph *g, FILE *report);
/* merge_graph over the graphs a step runs: the schedule, the ranked schedules and eval. */
void merge_model(Model *m, FILE *report);

#endif
