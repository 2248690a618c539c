/* optim.c: SGD with momentum, Adam and RMSProp written as IR (see optim.h). The formulas are
 * PyTorch's (torch.optim), so a step replays exactly against it. */
#include "optim.h"
#include <math.h>

static int scalar_to(IrGraph *g, int scalar, int like) {
    return ir_broadcast(g, scalar, ir_shape_of(g, like), 0);
}

static int times_const(IrGraph *g, double c, int x) { return ir_mul(g, ir_const_like(g, c, x), x); }

/* lr * x, where lr is a constant or a hyperparameter, decayed linearly if asked */
static int times_lr(IrGraph *g, const OptimizerSpec *o, int x) {
    Shape scalar = ir_shape_scalar();
    int lr = o->lr_input ? ir_input(g, o->lr_input, scalar, o->lr_init) : ir_const(g, o->lr, scalar);
    if (o->linear_decay) {
        LeafInit progress = {.kind = INIT_PROGRESS};
        int left = ir_sub(g, ir_const(g, 1, scalar), ir_input(g, "__progress", scalar, progress));
        lr = ir_mul(g, lr, left);
    }
    return ir_mul(g, scalar_to(g, lr, x), x);
}

static int state_leaf(IrGraph *g, const char *param_name, const char *suffix, Shape s) {
    LeafInit zeros = {.kind = INIT_ZEROS};
    return ir_state(g, arena_printf(g->arena, "%s.%s", param_name, suffix), s, zeros);
}

static void update(IrGraph *g, int leaf, int value) {
    ir_add_output(g, OUT_UPDATE, g->nodes[leaf].name, value);
}

/* buf = momentum * buf + g; p -= lr * buf */
static void sgd(IrGraph *g, const OptimizerSpec *o, int p, int grad) {
    int step = grad;
    if (o->momentum != 0) {
        int buf = state_leaf(g, g->nodes[p].name, "momentum", ir_shape_of(g, p));
        step = ir_add(g, times_const(g, o->momentum, buf), grad);
        update(g, buf, step);
    }
    update(g, p, ir_sub(g, p, times_lr(g, o, step)));
}

/* The moving average beta * s + (1 - beta) * x of a state s named <param>.<suffix>. With beta = 0
 * it is x itself, and no state is kept: a state that is never read is not a state. */
static int moving_average(IrGraph *g, int p, const char *suffix, double beta, int x) {
    if (beta == 0) return x;
    int s = state_leaf(g, g->nodes[p].name, suffix, ir_shape_of(g, p));
    int s1 = ir_add(g, times_const(g, beta, s), times_const(g, 1 - beta, x));
    update(g, s, s1);
    return s1;
}

/* v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps) */
static void rmsprop(IrGraph *g, const OptimizerSpec *o, int p, int grad) {
    int v1 = moving_average(g, p, "square", o->alpha, ir_mul(g, grad, grad));
    int denom = ir_add(g, ir_unary(g, OP_SQRT, v1), ir_const_like(g, o->eps, v1));
    update(g, p, ir_sub(g, p, times_lr(g, o, ir_div(g, grad, denom))));
}

/* 1 - beta^t for the scalar step counter t; beta = 0 needs no correction */
static int bias_correction(IrGraph *g, double beta, int t) {
    if (beta == 0) return ir_const_like(g, 1, t);
    int power = ir_unary(g, OP_EXP, times_const(g, log(beta), t));
    return ir_sub(g, ir_const_like(g, 1, t), power);
}

static void adam(IrGraph *g, const OptimizerSpec *o, int t1, int p, int grad) {
    int m1 = moving_average(g, p, "m", o->beta1, grad);
    int v1 = moving_average(g, p, "v", o->beta2, ir_mul(g, grad, grad));
    int c1 = scalar_to(g, bias_correction(g, o->beta1, t1), p);
    int c2 = scalar_to(g, bias_correction(g, o->beta2, t1), p);
    int denom = ir_add(g, ir_unary(g, OP_SQRT, ir_div(g, v1, c2)), ir_const_like(g, o->eps, p));
    int step = ir_div(g, ir_div(g, m1, c1), denom);
    update(g, p, ir_sub(g, p, times_lr(g, o, step)));
}

void optim_build_update(IrGraph *g, const OptimizerSpec *opt, const char *net, int nparams,
                        const int *params, const int *grads) {
    int t1 = -1;
    if (opt->kind == OPT_ADAM) {
        LeafInit zeros = {.kind = INIT_ZEROS};
        int t = ir_state(g, arena_printf(g->arena, "%s.step", net), ir_shape_scalar(), zeros);
        t1 = ir_add(g, t, ir_const_like(g, 1, t));
        update(g, t, t1);
    }
    for (int i = 0; i < nparams; i++) {
        switch (opt->kind) {
        case OPT_SGD: sgd(g, opt, params[i], grads[i]); break;
        case OPT_RMSPROP: rmsprop(g, opt, params[i], grads[i]); break;
        case OPT_ADAM: adam(g, opt, t1, params[i], grads[i]); break;
        }
    }
}
