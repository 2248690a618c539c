/* model.h: a model, what the compiler builds from a program and hands to every later stage.
 *
 * A model is graphs plus the facts about running them: the trained networks with their
 * optimizers, the schedule of step graphs, the sampling, evaluation and FID graphs, what to log
 * and sample. It holds no AST: the interpreter, the checks, the plan and codegen see only this.
 *
 * model.c assembles it above sema, one stage at a time (compiler/main.c calls them in order):
 *   model_lower       the losses, logs, samples and features as graphs (sema lowers the user's
 *                     expressions into them)                                      --emit=ir
 *   model_autodiff    the gradients: of each loss w.r.t. its network's parameters
 *   model_update      the optimizer updates, projections, weight averages, next states
 *   model_optimise    dead-code removal over every graph                          --emit=ir-grad
 * then files.c checks the data and weights files the finished model's leaves name. */
#ifndef GANC_MODEL_H
#define GANC_MODEL_H
#include "ir.h"
#include "optim.h"

/* A grad(y, x) met while lowering: kept so `ganc check` can test it against finite differences. */
typedef struct GradRecord {
    int y, x, g;   /* output names check/y<i>, check/x<i>, check/g<i> in the check graph */
    SrcLoc loc;
} GradRecord;

/* One trained network: its loss, the graphs built from it, and its optimizer. */
typedef struct NetStep {
    const char *net;
    SrcLoc loc;            /* its entry in the train block */
    SrcLoc loss_loc;       /* its loss */
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
    int ranks;             /* in Model.ranked: the graph of one of `ranks` processes (shard.h) */
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
    ScheduleStep *ranked;  /* ganc --ranks N,M: the schedule again split for N, then for M
                              processes (shard_model_ranks); the executable picks by launcher */
    int nranked;
    IrGraph *sample;       /* outputs sample/<label> */
    IrGraph *eval;         /* outputs loss/<net>, grad/<net>/<param>, log/<label> */
    IrGraph *fid;          /* outputs fid/fake and fid/real: the features FID compares, or NULL */
    long fid_every;
    LogSpec *logs;
    int nlogs;
    long log_every, sample_every;
    const char **sample_labels;
    int nsample_labels;
    struct ModelBuild *build; /* between model_lower and model_update: what lowering left to do */
} Model;

struct Sema;
struct ModelBuild;

void model_lower(Model *m, struct Sema *s, Arena *arena);
void model_autodiff(Model *m);
void model_update(Model *m);
void model_optimise(Model *m);

/* The graphs an executable runs, in the order of its graph table: the schedule's steps, eval,
 * then sample and fid when there are; returns how many (at most max). */
int model_graphs(const Model *m, const IrGraph **graphs, int max);

#endif
