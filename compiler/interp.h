/* interp.h: the reference interpreter, which evaluates any graph IR directly.
 *
 * It is the oracle: `ganc check` compares autodiff against finite differences with it, `ganc
 * eval` replays one step with it, `ganc run` trains with it, and the native code is tested
 * against it. Values are held in double; in f32 mode every node's result is rounded to float
 * after it is computed, which for + - * / sqrt is exactly float arithmetic.
 *
 * Mask freezing exists for finite differences: ReLU, abs, max and the like are piecewise smooth,
 * and a central difference that straddles a kink is wrong by up to half the jump in slope. In
 * MASK_RECORD mode a run stores the result of every comparison (gt, ge, eq) and the position of
 * every max; in MASK_FROZEN mode later runs reuse them, so they evaluate the smooth piece that
 * holds the recorded point, whose derivative there is the true derivative. stop_grad is frozen
 * the same way: autodiff treats its value as a constant, so the difference must too. */
#ifndef GANC_INTERP_H
#define GANC_INTERP_H
#include "ir.h"

typedef struct Interp Interp;

typedef enum { MASK_LIVE, MASK_RECORD, MASK_FROZEN } MaskMode;

Interp *interp_new(const IrGraph *g, int round_to_f32);
void interp_free(Interp *it);
/* The buffer of a node (ir_shape_size elements). Fill leaves (param, state, input) before a run;
 * const nodes are filled by interp_new. */
double *interp_buffer(Interp *it, int node);
void interp_set_mask_mode(Interp *it, MaskMode mode);
/* Evaluate every non-leaf node in order. */
void interp_run(Interp *it);
/* Node id alone, its inputs computed (a leaf is only rounded, in f32 mode, as interp_run does
 * first): for a caller that walks the graph itself, as the shard simulator does. */
void interp_run_node(Interp *it, int id);
/* Re-evaluate the non-leaf nodes with id > first, after the caller overwrote node first's buffer
 * (how a finite difference perturbs an interior node such as the x of grad(y, x)). */
void interp_run_after(Interp *it, int first);

#endif
