/* plan.h: fusion and memory planning, the last stage before code generation.
 *
 * Decides, for every node of a graph, how native code computes it:
 *  - LEAF: a param, state or input, read through the graph function's leaf pointers;
 *  - FUSED: an elementwise node with a single elementwise consumer of the same shape (or a
 *    constant), computed inside its consumer's loop and never stored;
 *  - LOOP: an elementwise node that is stored: one loop nest computes it and every FUSED node
 *    below it, so a chain such as Adam's update is one pass over memory;
 *  - CALL: a node computed by a libganrt kernel (matmul, conv, broadcast, reductions, ...);
 *  - INTO: a matmul or broadcast written straight into the buffer of the add that is its only
 *    reader, which is then a CALL: the bias or first product is written there, and the (next)
 *    product is accumulated onto it by GEMM with beta = 1, so x W + b and the gradient sums
 *    A^T B + C^T D need no buffer and no loop of their own.
 * Stored nodes get an offset in the graph's arena from their live ranges (first-fit over
 * offsets; a buffer is freed after its last reader), so a step allocates nothing at run time.
 *  - VIEW: a slice of whole rows (axis 0 of a dense buffer) or a reshape: no code and no buffer,
 *    its values are its input's, at an offset (`home`, `offset`); the storage they are in then
 *    lives as long as the view's readers.
 * A concat along axis 0 is its inputs one after the other: an input that is read by it alone is
 * computed straight into its rows of the concat's buffer (`home`: the concat), and the concat
 * copies only its other inputs; the buffer is allocated when the first of them is computed.
 * A LOOP or CALL output of the graph is computed straight into the output's memory (`output`),
 * which for an update is its parameter's or state's own storage, when nothing scheduled after
 * it reads the old value: then the step copies nothing out at its end. */
#ifndef GANC_PLAN_H
#define GANC_PLAN_H
#include <stdio.h>
#include "model.h"

typedef enum { PLAN_LEAF, PLAN_FUSED, PLAN_LOOP, PLAN_CALL, PLAN_INTO, PLAN_VIEW } PlanKind;

typedef struct NodePlan {
    PlanKind kind;
    int root;         /* FUSED: the LOOP node whose loop computes it; INTO: the add it is
                         written into; else the node itself                              */
    int last_use;     /* the last node (a root) that reads it; nnodes for outputs           */
    long offset;      /* LOOP, CALL: byte offset in the arena, or in `home`'s storage         */
    int home;         /* -1, or the node whose storage holds this one's values at `offset`:
                         a VIEW's input; the concat a LOOP or CALL is computed into           */
    long bytes;
    int output;       /* >= 0: computed straight into the memory of the graph's output #output */
} NodePlan;

typedef struct GraphPlan {
    const IrGraph *g;
    NodePlan *nodes;
    long arena_bytes;
    int nloops, ncalls, nfused, ninto;
    int ndirect, ncopies; /* outputs computed in place; outputs still copied out at the end */
    int nviews, nplaced;  /* VIEWs; nodes computed into their rows of a concat                */
} GraphPlan;

GraphPlan *plan_graph(const IrGraph *g);
/* Whether node id broadcasts a one-element value; fused (PLAN_FUSED, root itself) into every
 * loop that reads it, which loads that one element and splats it. */
int plan_is_scalar_broadcast(const IrGraph *g, int id);

/* The plans of the graphs an executable runs, in model_graphs' order (the graph table's). */
enum { PLAN_MAX_GRAPHS = 64 };
typedef struct ModelPlan {
    int ngraphs;
    const IrGraph *graphs[PLAN_MAX_GRAPHS];
    const GraphPlan *plans[PLAN_MAX_GRAPHS];
} ModelPlan;

ModelPlan *plan_model(const Model *m);
/* --emit=ir-opt: each graph with each node's kernel, fusion and arena slot. */
void plan_print(FILE *out, const ModelPlan *p);

#endif
