/* model.c: assembling the model above sema, one stage per function (see model.h).
 *
 * Each graph of the model is first lowered by sema (the user's losses, logs, samples), then
 * differentiated, then given its updates, then stripped of dead code. The stages run over every
 * graph before the next stage starts, so compiler/main.c can list them in order and stop after
 * any one. What a later stage needs from an earlier one (the lowering of each graph, its loss
 * nodes, the gradients) waits in the ModelBuild, which lives from model_lower to model_optimise.
 *
 * The graphs: per trained network a check graph (its loss, the gradient of each of its
 * parameters, and every inner grad(), for `ganc check`) and its loss alone (--emit=ir); per
 * entry of the schedule a step graph (the losses of the nets it trains, taken at the same
 * parameters, then each net's optimizer update); one eval graph (every loss with its gradients,
 * and the logged expressions); the sample and fid graphs when the program has them. */
#include "model.h"
#include <string.h>
#include "autodiff.h"
#include "sema.h"

/* One graph on its way through the stages; nets[0..nnets) are the networks whose losses it takes. */
typedef struct Pending {
    IrGraph *g;
    Lower *L;
    NetStep *nets;
    int nnets;
    int *loss;            /* per net: its loss node                                  */
    int **params, **grads; /* per net: its parameters' nodes and their gradients     */
    int *nparams;
    int *logs;            /* eval: the node of each log item, -1 for a logged loss    */
} Pending;

typedef struct ModelBuild {
    Arena *arena;
    Sema *sema;
    Pending *check;       /* per trained network */
    Pending *step;        /* per schedule entry  */
    Pending eval;
} ModelBuild;

static const char *loss_output(Arena *a, const char *net) { return arena_printf(a, "loss/%s", net); }

static Pending pending(Arena *a, Sema *s, IrGraph *g, int training, NetStep *nets, int nnets) {
    Pending p = {g, sema_lower_into(s, g, training), nets, nnets, ARENA_ARRAY(a, int, nnets),
                 ARENA_ARRAY(a, int *, nnets), ARENA_ARRAY(a, int *, nnets), ARENA_ARRAY(a, int, nnets), NULL};
    return p;
}

/* The trained parameters of a net that a graph uses, in creation order. */
static int collect_params(Arena *a, const IrGraph *g, const char *net, int **nodes) {
    int n = 0;
    size_t len = strlen(net);
    *nodes = ARENA_ARRAY(a, int, g->nnodes + 1);
    for (int id = 0; id < g->nnodes; id++) {
        const IrNode *node = &g->nodes[id];
        if (node->op == OP_PARAM && strncmp(node->name, net, len) == 0 && node->name[len] == '.') (*nodes)[n++] = id;
    }
    return n;
}

/* ---- model_lower: what sema evaluates --------------------------------------------------- */

/* A network's loss alone, and the start of its check graph. */
static Pending lower_check(ModelBuild *b, NetStep *st, DType dtype) {
    Arena *a = b->arena;
    IrGraph *g = ir_new_graph(a, arena_printf(a, "loss_%s", st->net), dtype);
    Pending p = pending(a, b->sema, g, 1, st, 1);
    p.loss[0] = sema_lower_loss(p.L, st->net);
    ir_add_output(g, OUT_VALUE, loss_output(a, st->net), p.loss[0]);
    st->forward = ir_compact(g, NULL);
    p.nparams[0] = collect_params(a, g, st->net, &p.params[0]);
    if (p.nparams[0] == 0)
        diag_error(st->loss_loc, "the loss of '%s' does not depend on any parameter of '%s', so training cannot change it",
                   st->net, st->net);
    st->nparams = p.nparams[0];
    st->params = ARENA_ARRAY(a, const char *, p.nparams[0]);
    for (int i = 0; i < p.nparams[0]; i++) st->params[i] = g->nodes[p.params[0][i]].name;
    return p;
}

/* The step that trains nets[0..n): every loss is taken at the same parameters. */
static Pending lower_step(ModelBuild *b, NetStep *nets, int n, DType dtype) {
    Arena *a = b->arena;
    const char *name = "step";
    for (int i = 0; i < n; i++) name = arena_printf(a, "%s_%s", name, nets[i].net);
    Pending p = pending(a, b->sema, ir_new_graph(a, name, dtype), 1, nets, n);
    for (int i = 0; i < n; i++) {
        p.loss[i] = sema_lower_loss(p.L, nets[i].net);
        ir_add_output(p.g, OUT_VALUE, loss_output(a, nets[i].net), p.loss[i]);
    }
    return p;
}

/* The schedule: each net alone, or the nets of a `together` group in one step. */
static void lower_schedule(ModelBuild *b, Model *m) {
    m->schedule = ARENA_ARRAY(b->arena, ScheduleStep, m->nsteps + 1);
    b->step = ARENA_ARRAY(b->arena, Pending, m->nsteps + 1);
    for (int i = 0; i < m->nsteps;) {
        int n = 1;
        while (m->steps[i].group && i + n < m->nsteps && m->steps[i + n].group == m->steps[i].group) {
            if (m->steps[i + n].times != m->steps[i].times)
                diag_error(m->steps[i + n].loc, "the networks of one 'together' group must repeat as often ('times')");
            n++;
        }
        b->step[m->nschedule] = lower_step(b, &m->steps[i], n, m->dtype);
        m->schedule[m->nschedule] = (ScheduleStep){b->step[m->nschedule].g, m->steps[i].times, 0};
        m->nschedule++;
        i += n;
    }
}

/* Every loss (its gradients come in model_autodiff) and the logged expressions. */
static Pending lower_eval(ModelBuild *b, Model *m) {
    Pending p = pending(b->arena, b->sema, ir_new_graph(b->arena, "eval", m->dtype), 0, m->steps, m->nsteps);
    for (int i = 0; i < m->nsteps; i++) p.loss[i] = sema_lower_loss(p.L, m->steps[i].net);
    p.logs = ARENA_ARRAY(b->arena, int, m->nlogs + 1);
    for (int i = 0; i < m->nlogs; i++) p.logs[i] = m->logs[i].is_loss ? -1 : sema_lower_log(p.L, i);
    return p;
}

static IrGraph *lower_sample(ModelBuild *b, Model *m) {
    IrGraph *g = ir_new_graph(b->arena, "sample", m->dtype);
    Lower *L = sema_lower_into(b->sema, g, 0);
    for (int i = 0; i < m->nsample_labels; i++)
        ir_add_output(g, OUT_VALUE, arena_printf(b->arena, "sample/%s", m->sample_labels[i]), sema_lower_sample(L, i));
    return g;
}

/* fid every N: features(fake), features(real): the graph whose two outputs the runtime draws in
 * batches to compare their statistics (FID, KID), with running batch-norm statistics. */
static IrGraph *lower_fid(ModelBuild *b, Model *m) {
    IrGraph *g = ir_new_graph(b->arena, "fid", m->dtype);
    int features[2];
    sema_lower_fid(sema_lower_into(b->sema, g, 0), features);
    ir_add_output(g, OUT_VALUE, "fid/fake", features[0]);
    ir_add_output(g, OUT_VALUE, "fid/real", features[1]);
    return g;
}

void model_lower(Model *m, Sema *s, Arena *arena) {
    ModelBuild *b = m->build = ARENA_NEW(arena, ModelBuild);
    b->arena = arena;
    b->sema = s;
    b->check = ARENA_ARRAY(arena, Pending, m->nsteps + 1);
    for (int i = 0; i < m->nsteps; i++) b->check[i] = lower_check(b, &m->steps[i], m->dtype);
    lower_schedule(b, m);
    b->eval = lower_eval(b, m);
    if (m->sample_labels) m->sample = lower_sample(b, m);
    if (m->fid_every) m->fid = lower_fid(b, m);
    sema_check_unused(s);
}

/* ---- model_autodiff: the gradients ------------------------------------------------------ */

/* The gradient of each net's loss w.r.t. its parameters, as grad/NET/PARAM outputs if asked. */
static void differentiate(Arena *a, Pending *p, int as_outputs) {
    for (int i = 0; i < p->nnets; i++) {
        const char *net = p->nets[i].net;
        if (!p->params[i]) p->nparams[i] = collect_params(a, p->g, net, &p->params[i]);
        p->grads[i] = ARENA_ARRAY(a, int, p->nparams[i] + 1);
        if (as_outputs) ir_add_output(p->g, OUT_VALUE, loss_output(a, net), p->loss[i]);
        ad_grad(p->g, p->loss[i], p->nparams[i], p->params[i], p->grads[i]);
        for (int k = 0; as_outputs && k < p->nparams[i]; k++)
            ir_add_output(p->g, OUT_VALUE, arena_printf(a, "grad/%s/%s", net, p->g->nodes[p->params[i][k]].name),
                          p->grads[i][k]);
    }
}

void model_autodiff(Model *m) {
    ModelBuild *b = m->build;
    Arena *a = b->arena;
    for (int i = 0; i < m->nsteps; i++) {
        Pending *p = &b->check[i];
        differentiate(a, p, 0);
        for (int k = 0; k < p->nparams[0]; k++)
            ir_add_output(p->g, OUT_VALUE, arena_printf(a, "grad/%s/%s", p->nets[0].net, m->steps[i].params[k]),
                          p->grads[0][k]);
        const GradRecord *grads;
        int n = sema_inner_grads(p->L, &grads);
        for (int k = 0; k < n; k++) {
            ir_add_output(p->g, OUT_VALUE, arena_printf(a, "check/y%d", k), grads[k].y);
            ir_add_output(p->g, OUT_VALUE, arena_printf(a, "check/x%d", k), grads[k].x);
            ir_add_output(p->g, OUT_VALUE, arena_printf(a, "check/g%d", k), grads[k].g);
        }
        p->g->name = arena_printf(a, "check_%s", p->nets[0].net);
    }
    for (int k = 0; k < m->nschedule; k++) differentiate(a, &b->step[k], 0);
    differentiate(a, &b->eval, 1);
    for (int i = 0; i < m->nlogs; i++)
        if (!m->logs[i].is_loss) ir_add_output(b->eval.g, OUT_VALUE, m->logs[i].output, b->eval.logs[i]);
}

/* ---- model_update: what a step writes back ---------------------------------------------- */

static int update_output(const IrGraph *g, const char *leaf) {
    for (int k = 0; k < g->noutputs; k++)
        if (g->outputs[k].kind == OUT_UPDATE && strcmp(g->outputs[k].name, leaf) == 0) return k;
    return -1;
}

/* ema 0.999: a running average of each parameter, updated after the network's step and read by
 * the sampling graph instead of the parameter. */
static void update_averages(IrGraph *g, const NetStep *st) {
    for (int k = 0; k < st->nparams; k++) {
        int out = update_output(g, st->params[k]), p1 = g->outputs[out].node;
        LeafInit copy = {.kind = INIT_COPY, .source = st->params[k]};
        int avg = ir_state(g, arena_printf(g->arena, "%s.ema", st->params[k]), ir_shape_of(g, p1), copy);
        int next = ir_add(g, ir_mul(g, ir_const_like(g, st->ema, avg), avg), ir_mul(g, ir_const_like(g, 1 - st->ema, p1), p1));
        ir_add_output(g, OUT_UPDATE, g->nodes[avg].name, next);
    }
}

/* Each net's optimizer, projections and averages update it; its states take their next values. */
static void update_step(Pending *p) {
    IrGraph *g = p->g;
    for (int i = 0; i < p->nnets; i++) {
        const NetStep *st = &p->nets[i];
        g->cur_loc = st->loc;
        optim_build_update(g, &st->opt, st->net, p->nparams[i], p->params[i], p->grads[i]);
        sema_project(p->L, st->net, st->params, st->nparams);
        if (st->ema) update_averages(g, st);
    }
    const StateUpdate *updates;
    int n = sema_next_states(p->L, &updates);
    for (int k = 0; k < n; k++) {
        const char *leaf = g->nodes[updates[k].leaf].name;
        for (int i = 0; i < p->nnets; i++) {
            size_t len = strlen(p->nets[i].net);
            if (strncmp(leaf, p->nets[i].net, len) == 0 && leaf[len] == '.') ir_add_output(g, OUT_UPDATE, leaf, updates[k].value);
        }
    }
}

void model_update(Model *m) {
    for (int k = 0; k < m->nschedule; k++) update_step(&m->build->step[k]);
}

/* ---- model_optimise: dead code ---------------------------------------------------------- */

/* Hash-consing already shared common subexpressions and folded constants as nodes were made;
 * what is left is to drop the nodes no output needs (ir_compact). */
void model_optimise(Model *m) {
    ModelBuild *b = m->build;
    for (int i = 0; i < m->nsteps; i++) {
        NetStep *st = &m->steps[i];
        const IrGraph *g = b->check[i].g;
        int *map = ARENA_ARRAY(b->arena, int, g->nnodes + 1);
        st->check = ir_compact(g, map);
        const GradRecord *grads;
        st->ngrads = sema_inner_grads(b->check[i].L, &grads);
        st->grads = ARENA_ARRAY(b->arena, GradRecord, st->ngrads + 1);
        for (int k = 0; k < st->ngrads; k++)
            st->grads[k] = (GradRecord){map[grads[k].y], map[grads[k].x], map[grads[k].g], grads[k].loc};
    }
    for (int k = 0; k < m->nschedule; k++) {
        IrGraph *step = ir_compact(m->schedule[k].graph, NULL);
        m->schedule[k].graph = step;
        for (int i = 0; i < b->step[k].nnets; i++) b->step[k].nets[i].step = step;
    }
    m->eval = ir_compact(b->eval.g, NULL);
    if (m->sample) m->sample = ir_compact(m->sample, NULL);
    if (m->fid) m->fid = ir_compact(m->fid, NULL);
    m->build = NULL;
}

int model_graphs(const Model *m, const IrGraph **graphs, int max) {
    int n = 0;
    if (m->nschedule + 3 + m->nranked > max)
        diag_fatal("too many networks or --ranks counts (at most %d graphs)", max);
    for (int i = 0; i < m->nschedule; i++) graphs[n++] = m->schedule[i].graph;
    graphs[n++] = m->eval;
    if (m->sample) graphs[n++] = m->sample;
    if (m->fid) graphs[n++] = m->fid;
    for (int i = 0; i < m->nranked; i++) graphs[n++] = m->ranked[i].graph;
    return n;
}
