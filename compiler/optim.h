/* optim.h: optimizer updates as graph IR.
 *
 * The update of every trained parameter is part of its step graph (elementwise ops on the
 * parameter, its gradient and the optimizer's state leaves), so it is checked by the same
 * interpreter and fuses with the rest of the step in native code. */
#ifndef GANC_OPTIM_H
#define GANC_OPTIM_H
#include "ir.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_RMSPROP } OptimizerKind;

typedef struct OptimizerSpec {
    OptimizerKind kind;
    double lr, beta1, beta2, eps, momentum, alpha;
    const char *lr_input;   /* the learning rate is this hyperparameter's input leaf, or NULL */
    LeafInit lr_init;
    int linear_decay;       /* lr * (1 - progress): linear decay to 0 over the run */
} OptimizerSpec;

/* Adds OUT_UPDATE outputs for each params[i] and the optimizer state it needs. State leaves are
 * named "<param>.m", "<param>.v" (Adam), "<param>.momentum" (SGD), "<param>.square" (RMSProp)
 * and "<net>.step" (Adam's update counter, for bias correction). */
void optim_build_update(IrGraph *g, const OptimizerSpec *opt, const char *net, int nparams,
                        const int *params, const int *grads);

#endif
