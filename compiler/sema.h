/* sema.h: semantic analysis and lowering, from AST to graph IR.
 *
 * sema resolves names across the user's file and the stdlib, checks arities and shapes, inlines
 * user functions and network applications (a network applied twice shares its parameters,
 * because parameters are named by where they are declared, not by the call) and expands grad()
 * through autodiff. It lowers what the model stage (model.c) asks for into the graph it gives:
 * a network's loss, a logged or sampled expression, a projection of updated parameters. Nothing
 * after model.c sees the AST. */
#ifndef GANC_SEMA_H
#define GANC_SEMA_H
#include "ast.h"
#include "model.h"

typedef struct Sema Sema;
typedef struct Lower Lower; /* the lowering of expressions into one graph */

/* The whole-program checks (names, duplicates, the train block), and the model's plain facts:
 * name, batch, seed, steps with their optimizers, logs, sample labels. */
Sema *sema_check(Arena *arena, const Program *prog, DType dtype, Model *m);
/* Evaluates the definitions no graph used, so their errors are reported all the same. */
void sema_check_unused(Sema *s);

Lower *sema_lower_into(Sema *s, IrGraph *g, int training);
int sema_lower_loss(Lower *L, const char *net);           /* the loss plus its penalties */
int sema_lower_log(Lower *L, int i);                      /* the i-th item of `log` */
int sema_lower_sample(Lower *L, int i);                   /* the i-th item of `sample` */
void sema_lower_fid(Lower *L, int features[2]);           /* fid's features of fake and real */
/* Replaces each update output of params by its projection (`constrain NET: clip(0.01)`). */
void sema_project(Lower *L, const char *net, const char *const *params, int nparams);
/* The grad() calls met so far, node ids of the graph. */
int sema_inner_grads(const Lower *L, const GradRecord **grads);
/* The `next` statements met so far: a state leaf and its next value, the first per state. */
typedef struct StateUpdate {
    int leaf, value;
} StateUpdate;
int sema_next_states(const Lower *L, const StateUpdate **updates);

/* The embedded stdlib module of that name, parsed (NULL if there is none). */
const SourceFile *stdlib_source(Arena *arena, const char *module);

#endif
