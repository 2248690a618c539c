/* check.c: `ganc check`, every gradient of a model against central finite differences.
 *
 * Runs in float64 on the interpreter, at the initial parameters and one fixed random batch
 * (every input drawn from the seed). For each loss, and each parameter tensor it trains, the
 * derivative along a direction v (unit norm) computed by autodiff, <grad, v>, is compared with
 * (L(p + h v) - L(p - h v)) / 2h, extrapolated from h and h/2 (Richardson). The directions are the gradient's own and two random ones.
 * Each grad(y, x) inside a loss is checked the same way, perturbing x inside the graph. Since
 * a loss that contains grad() is differentiated through that grad when its network trains,
 * the loss check is a second-order check.
 *
 * The error of one direction is |ad - fd| / max(|ad|, |fd|, |grad|, 1e-3 |whole grad|): relative
 * to the tensor's gradient norm, so a direction almost orthogonal to the gradient cannot fake a
 * large error, and at least to a thousandth of the norm of the loss's whole gradient, so a
 * tensor whose gradient is exactly zero (the last bias under a WGAN loss: +1 from the fake
 * mean, -1 from the real one) is measured against the rounding noise of the difference, not 0.
 * Comparison masks (ReLU, max) are frozen at the unperturbed point (see interp.h), so the
 * difference never straddles a kink. */
#include "check.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "interp.h"
#include "rng.h"
#include "store.h"

enum { DIRECTIONS = 3 };
static const double STEP = 1e-4;

typedef struct Probe {
    Interp *it;
    const IrGraph *g;
    int target;  /* the node perturbed                        */
    int value;   /* the scalar node whose change is measured */
} Probe;

static double dot(const double *a, const double *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* value at target + t v, everything after target recomputed with frozen masks */
static double value_along(Probe *p, const double *base, const double *v, long n, double t) {
    double *x = interp_buffer(p->it, p->target);
    for (long i = 0; i < n; i++) x[i] = base[i] + t * v[i];
    interp_run_after(p->it, p->target);
    return interp_buffer(p->it, p->value)[0];
}

/* The derivative along v by central differences at steps h and h/2, combined by Richardson
 * extrapolation, (4 D(h/2) - D(h)) / 3, whose error is O(h^4) instead of O(h^2): the third
 * derivative of a penalty's norm is large enough to matter at 1e-6 otherwise. */
static double central_difference(Probe *p, const double *base, const double *v, long n) {
    double d[2];
    for (int k = 0; k < 2; k++) {
        double h = STEP / (1 + k);
        d[k] = (value_along(p, base, v, n, h) - value_along(p, base, v, n, -h)) / (2 * h);
    }
    return (4 * d[1] - d[0]) / 3;
}

/* Largest relative error over the directions for d value / d target against analytic grad. */
static double check_direction_set(Probe *p, const double *grad, const char *name, double floor) {
    long n = ir_shape_size(p->g->nodes[p->target].shape);
    double *base = malloc(sizeof(double) * (size_t)n), *v = malloc(sizeof(double) * (size_t)n);
    memcpy(base, interp_buffer(p->it, p->target), sizeof(double) * (size_t)n);
    double gnorm = sqrt(dot(grad, grad, n)), worst = 0;
    for (int d = 0; d < DIRECTIONS; d++) {
        if (d == 0 && gnorm > 0)
            for (long i = 0; i < n; i++) v[i] = grad[i] / gnorm;
        else {
            rng_normal(12345, rng_stream_id(name), (uint64_t)d * (uint64_t)n, v, n);
            double vn = sqrt(dot(v, v, n));
            for (long i = 0; i < n; i++) v[i] /= vn;
        }
        double ad = dot(grad, v, n);
        double fd = central_difference(p, base, v, n);
        double scale = fmax(fmax(fabs(ad), fabs(fd)), fmax(gnorm, floor));
        double err = scale > 0 ? fabs(ad - fd) / scale : 0;
        if (!(err <= worst)) worst = err; /* NaN counts as the worst */
    }
    value_along(p, base, v, n, 0);
    free(base);
    free(v);
    return worst;
}

static Interp *prepare(const IrGraph *g, StFile *store) {
    Interp *it = interp_new(g, 0);
    store_load(store, it, g);
    interp_set_mask_mode(it, MASK_RECORD);
    interp_run(it);
    interp_set_mask_mode(it, MASK_FROZEN);
    return it;
}

static double *copy_output(Interp *it, const IrGraph *g, int node) {
    long n = ir_shape_size(g->nodes[node].shape);
    double *out = malloc(sizeof(double) * (size_t)n);
    memcpy(out, interp_buffer(it, node), sizeof(double) * (size_t)n);
    return out;
}

static int find_leaf(const IrGraph *g, const char *name) {
    for (int id = 0; id < g->nnodes; id++)
        if (g->nodes[id].name && strcmp(g->nodes[id].name, name) == 0) return id;
    return -1;
}

static double check_step(const Model *m, const NetStep *st, double tolerance) {
    StFile store = {0};
    store_init_leaves(&store, st->check, m->seed);
    store_draw_inputs(&store, st->check, m->seed, 0, 0);
    char label[64];
    snprintf(label, sizeof label, "loss/%s", st->net);

    /* first the parameters, perturbing them in the loss-only graph */
    Interp *fwd = prepare(st->forward, &store);
    Interp *chk = prepare(st->check, &store);
    printf("loss %s: %d parameter tensors, %d grad() inside\n", st->net, st->nparams, st->ngrads);
    double worst = 0, total = 0;
    double **grads = malloc(sizeof(double *) * (size_t)st->nparams);
    for (int i = 0; i < st->nparams; i++) {
        char gname[256];
        snprintf(gname, sizeof gname, "grad/%s/%s", st->net, st->params[i]);
        int gnode = ir_find_output(st->check, gname);
        grads[i] = copy_output(chk, st->check, gnode);
        total += dot(grads[i], grads[i], ir_shape_size(st->check->nodes[gnode].shape));
    }
    double floor = 1e-3 * sqrt(total);
    for (int i = 0; i < st->nparams; i++) {
        double *grad = grads[i];
        Probe p = {fwd, st->forward, find_leaf(st->forward, st->params[i]), ir_find_output(st->forward, label)};
        double err = check_direction_set(&p, grad, st->params[i], floor);
        char buf[64];
        printf("  %-32s %-14s rel err %.2e%s\n", st->params[i],
               ir_shape_str(buf, sizeof buf, DT_F64, st->forward->nodes[p.target].shape), err,
               err < tolerance ? "" : "  FAILED");
        worst = fmax(worst, err);
        free(grad);
    }
    free(grads);
    /* then each grad(y, x) inside, perturbing x inside the full graph */
    for (int i = 0; i < st->ngrads; i++) {
        const GradRecord *r = &st->grads[i];
        double *grad = copy_output(chk, st->check, r->g);
        char name[64];
        snprintf(name, sizeof name, "check/%s/%d", st->net, i);
        Probe p = {chk, st->check, r->x, r->y};
        double err = check_direction_set(&p, grad, name, 0);
        printf("  grad() at %s:%d:%d %*s rel err %.2e%s\n", r->loc.file->name, r->loc.line, r->loc.col,
               20, "", err, err < tolerance ? "" : "  FAILED");
        worst = fmax(worst, err);
        free(grad);
    }
    printf("loss %s: largest relative error %.2e%s\n", st->net, worst,
           st->ngrads ? " (second order: the loss contains grad())" : "");
    interp_free(fwd);
    interp_free(chk);
    st_free(&store);
    return worst;
}

int check_model(const Model *m, double tolerance) {
    double worst = 0;
    for (int i = 0; i < m->nsteps; i++) {
        double err = check_step(m, &m->steps[i], tolerance);
        if (!(err <= worst)) worst = err;
    }
    int ok = worst < tolerance;
    printf("check %s: largest relative error %.2e, tolerance %.0e\n", ok ? "passed" : "FAILED", worst, tolerance);
    return ok ? 0 : 1;
}
