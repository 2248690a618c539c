/* sema.h: semantic analysis and lowering, from AST to graph IR.
 *
 * sema resolves names across the user's file and the stdlib, checks arities and shapes, inlines
 * user functions and network applications (a network applied twice shares its parameters,
 * because parameters are named by where they are declared, not by the call), expands grad()
 * through autodiff, and builds the model: the step graphs with their optimizer updates, the
 * sampling graph and the evaluation graph. Everything after it (interpreter, checks, codegen)
 * works on the Model alone. */
#ifndef GANC_SEMA_H
#define GANC_SEMA_H
#include "ast.h"
#include "ir.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_RMSPROP } OptimizerKind;

typedef struct OptimizerSpec {
    OptimizerKind kind;
    double lr, beta1, beta2, eps, momentum, alpha;
    const char *lr_input;   /* the learning rate is this hyperparameter's input leaf, or NULL */
    LeafInit lr_init;
    int linear_decay;       /* lr * (1 - progress): linear decay to 0 over the run */
} OptimizerSpec;

/* A grad(y, x) met while lowering: kept so `ganc check` can test it against finite differences. */
typedef struct GradRecord {
    int y, x, g;   /* output names check/y<i>, check/x<i>, check/g<i> in the check graph */
    SrcLoc loc;
} GradRecord;

/* One trained network: its loss, the graphs built from it, and its optimizer. */
typedef struct NetStep {
    const char *net;
    SrcLoc loc;
    int times;             /* consecutive updates per round of the schedule */
    int group;             /* a nonzero group trains with the other nets of its `together` */
    double ema;            /* decay of the running average of the weights; 0: none */
    OptimizerSpec opt;
    IrGraph *forward;      /* the loss alone (--emit=ir)                                    */
    IrGraph *check;        /* loss, gradient per trained param, inner grads (ganc check)      */
    IrGraph *step;         /* its update: loss, params, optimizer state; for a `together`
                              group, the first net's step updates every net of the group     */
    const char **params;   /* the trained parameters' names                                   */
    int nparams;
    GradRecord *grads;     /* inner grad() records, node ids of `check`                        */
    int ngrads;
} NetStep;

typedef struct LogSpec {
    const char *label;     /* "loss D" or an expression's name */
    const char *output;    /* output name: "loss/D" in the step graph, or "log/<label>" in `eval` */
    int is_loss;
} LogSpec;

/* One entry of the training schedule: a step graph run `times` times in a row. */
typedef struct ScheduleStep {
    IrGraph *graph;
    int times;
} ScheduleStep;

typedef struct Model {
    const char *name;      /* the file name without directory and .gan */
    int batch;
    unsigned long long seed;
    DType dtype;
    long train_iters;
    NetStep *steps;        /* in schedule order */
    int nsteps;
    ScheduleStep *schedule;/* what a training iteration runs, in order */
    int nschedule;
    IrGraph *sample;       /* outputs sample/<label> */
    IrGraph *eval;         /* outputs loss/<net>, grad/<net>/<param>, log/<label> */
    IrGraph *fid;          /* outputs fid/fake and fid/real: the features FID compares, or NULL */
    long fid_every;
    LogSpec *logs;
    int nlogs;
    long log_every, sample_every;
    const char **sample_labels;
    int nsample_labels;
} Model;

Model *sema_build(Arena *arena, const Program *prog, DType dtype);
/* The embedded stdlib module of that name, parsed (NULL if there is none). */
const SourceFile *stdlib_source(Arena *arena, const char *module);

#endif
