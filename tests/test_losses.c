/* test_losses.c: every loss and penalty of the stdlib against its formula, computed by hand.
 *
 * Each tests/losses/NAME.gan is a tiny GAN on 1-D (or 2-D) data with batch 3: G(z) = z w and
 * D(x) = x a + b (a feature map with two features for the MMD and Cramer losses; a quadratic
 * x a + x^2 c + b where a penalty's random draws must matter). The test writes x, z, the
 * parameters and the penalties' random draws to a safetensors file, runs
 *     build/ganc eval tests/losses/NAME.gan --dtype f64 --values IN -o OUT
 * and compares loss/D and loss/G with values computed here from the formulas of
 * ../shared/papers.md (and the documented defaults and eps of docs/language.md), independently
 * of the stdlib's code, to 1e-12. Notation: f = D's output, x the real batch, y = G(z) the fake
 * one, E the batch mean, sp(t) = log(1 + e^t), relu(t) = max(0, t), s(t) = 1 / (1 + e^-t).
 *
 * Prints `ok - ...` / `not ok - ...` lines and `N passed, M failed`; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"
#include "check.h"

enum { B = 3 };                   /* the batch size of every tests/losses program */
static const double EPS = 1e-12;  /* norm()'s and grad_norms()'s eps, mmd_gan's 1e-12 */
static const double TOL = 1e-12;

static const double X[B] = {0.4, 2.0, -1.2};     /* the real batch */
static const double Z[B] = {0.3, -0.8, 1.1};     /* the noise */
static const double Z2[B] = {-0.5, 0.7, 1.9};    /* a second noise batch (Cramer GAN) */
static const double U1[B] = {0.5, 0.25, 0.9};    /* interpolation weights, one per sample */
static const double U2[B] = {0.1, 0.6, 0.35};    /* a second draw (DRAGAN) */

/* ---- the input file and ganc eval ------------------------------------------------------- */

/* name: a [rows, cols] tensor, or a vector [rows] when cols is 0 */
static void put(StFile *f, const char *name, int rows, int cols, const double *v) {
    long shape[2] = {rows, cols};
    st_add(f, name, cols ? 2 : 1, shape, v);
}

static void put1(StFile *f, const char *name, int rows, int cols, double v) {
    double one[1] = {v};
    put(f, name, rows, cols, one);
}

/* Runs ganc eval on tests/losses/NAME.gan with the tensors of in; 0 and *out filled on success. */
static int eval(const char *name, StFile *in, StFile *out) {
    char err[512], cmd[512];
    if (st_write("build/test_losses_in.safetensors", in, 1, err, sizeof err)) {
        check(0, name, "%s", err);
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "build/ganc eval tests/losses/%s.gan --dtype f64 --values build/test_losses_in.safetensors"
             " -o build/test_losses_out.safetensors 2> build/test_losses.err",
             name);
    int rc = system(cmd);
    st_free(in);
    if (rc != 0) {
        char line[400] = "ganc eval failed";
        FILE *f = fopen("build/test_losses.err", "r");
        if (f) {
            if (!fgets(line, sizeof line, f)) snprintf(line, sizeof line, "ganc eval failed");
            line[strcspn(line, "\n")] = 0;
            fclose(f);
        }
        check(0, name, "%s", line);
        return -1;
    }
    if (st_read("build/test_losses_out.safetensors", out, err, sizeof err)) {
        check(0, name, "%s", err);
        return -1;
    }
    return 0;
}

static void expect(const char *name, const StFile *out, const char *output, double want) {
    char what[160], detail[160];
    snprintf(what, sizeof what, "%s %s = %.15g", name, output, want);
    const StTensor *t = st_find(out, output);
    if (!t) {
        check(0, what, "missing from ganc eval's output");
        return;
    }
    double got = t->data[0];
    snprintf(detail, sizeof detail, "got %.17g, off by %.3g", got, got - want);
    check(fabs(got - want) <= TOL * fmax(1, fabs(want)), what, "%s", detail);
}

/* Evaluates NAME with the inputs in and checks loss/D (and loss/G unless it is NAN). */
static void check_losses(const char *name, StFile *in, double want_d, double want_g) {
    StFile out = {0};
    if (eval(name, in, &out) == 0) {
        expect(name, &out, "loss/D", want_d);
        if (!isnan(want_g)) expect(name, &out, "loss/G", want_g);
    }
    st_free(&out);
}

/* ---- arithmetic ------------------------------------------------------------------------- */

static double sp(double t) { return log1p(exp(t)); }
static double relu(double t) { return t > 0 ? t : 0; }
static double sig(double t) { return 1 / (1 + exp(-t)); }
static double dsig(double t) { return sig(t) * (1 - sig(t)); }
static double sq(double t) { return t * t; }
static double mean(const double *v) { return (v[0] + v[1] + v[2]) / B; }
static double enorm(double sq_norm) { return sqrt(sq_norm + EPS); }   /* norm(v) = sqrt(|v|^2 + eps) */

/* The linear critic f(t) = a t + b of the 1-D programs, at x and at y = w z. */
typedef struct Linear {
    double a, b, w;
    double fx[B], fy[B], y[B];
} Linear;

static Linear linear(double a, double b, double w) {
    Linear l = {a, b, w, {0}, {0}, {0}};
    for (int i = 0; i < B; i++) {
        l.y[i] = Z[i] * w;
        l.fx[i] = X[i] * a + b;
        l.fy[i] = l.y[i] * a + b;
    }
    return l;
}

/* x, z and the parameters of a 1-D program with a linear D */
static void linear_inputs(StFile *in, const Linear *l) {
    put(in, "x", B, 1, X);
    put(in, "z", B, 1, Z);
    put1(in, "D.a", 1, 1, l->a);
    put1(in, "D.b", 1, 0, l->b);
    put1(in, "G.w", 1, 1, l->w);
}

/* ---- the separable and relativistic losses ---------------------------------------------- */

static void separable_losses(void) {
    Linear l = linear(0.75, -0.25, 1.5);
    double t[B], u[B];
    StFile in = {0};

    /* JS-GAN: D = sp(-f(x)) + sp(f(y)); NS G = sp(-f(y)); minimax G = -sp(f(y)) */
    for (int i = 0; i < B; i++) t[i] = sp(-l.fx[i]), u[i] = sp(l.fy[i]);
    double js_d = mean(t) + mean(u), minimax_g = -mean(u);
    for (int i = 0; i < B; i++) u[i] = sp(-l.fy[i]);
    linear_inputs(&in, &l);
    check_losses("ns_gan", &in, js_d, mean(u));
    linear_inputs(&in, &l);
    check_losses("minimax_gan", &in, js_d, minimax_g);

    /* WGAN: D = f(y) - f(x); G = -f(y) */
    linear_inputs(&in, &l);
    check_losses("wgan", &in, mean(l.fy) - mean(l.fx), -mean(l.fy));

    /* hinge: D = relu(1 - f(x)) + relu(1 + f(y)); G = -f(y) */
    for (int i = 0; i < B; i++) t[i] = relu(1 - l.fx[i]), u[i] = relu(1 + l.fy[i]);
    linear_inputs(&in, &l);
    check_losses("hinge", &in, mean(t) + mean(u), -mean(l.fy));

    /* LS-GAN: D = 1/2 (f(x) - b)^2 + 1/2 (f(y) - a)^2; G = 1/2 (f(y) - c)^2 */
    double ab[2][3] = {{-1, 1, 0}, {0, 1, 1}};
    const char *ls_names[2] = {"ls_gan", "ls_gan_01"};
    for (int k = 0; k < 2; k++) {
        double a = ab[k][0], b = ab[k][1], c = ab[k][2], g[B];
        for (int i = 0; i < B; i++) t[i] = sq(l.fx[i] - b), u[i] = sq(l.fy[i] - a), g[i] = sq(l.fy[i] - c);
        linear_inputs(&in, &l);
        check_losses(ls_names[k], &in, 0.5 * mean(t) + 0.5 * mean(u), 0.5 * mean(g));
    }

    /* LGANs: D = E phi(f(y)) + E varphi(f(x)); G = -f(y) */
    double phi[B], varphi[B];
    linear_inputs(&in, &l);
    check_losses("lgan_x", &in, mean(l.fy) - mean(l.fx), -mean(l.fy));
    for (int i = 0; i < B; i++) phi[i] = sp(l.fy[i]), varphi[i] = sp(-l.fx[i]);
    linear_inputs(&in, &l);
    check_losses("lgan_log_sigmoid", &in, mean(phi) + mean(varphi), -mean(l.fy));
    for (int i = 0; i < B; i++) phi[i] = exp(l.fy[i]), varphi[i] = exp(-l.fx[i]);
    linear_inputs(&in, &l);
    check_losses("lgan_exp", &in, mean(phi) + mean(varphi), -mean(l.fy));
    for (int i = 0; i < B; i++) phi[i] = sqrt(sq(l.fy[i]) + 1) + l.fy[i], varphi[i] = sqrt(sq(l.fx[i]) + 1) - l.fx[i];
    linear_inputs(&in, &l);
    check_losses("lgan_sqrt", &in, mean(phi) + mean(varphi), -mean(l.fy));
}

static void relativistic_losses(void) {
    Linear l = linear(0.75, -0.25, 1.5);
    double d[B], g[B], t[B], u[B];
    StFile in = {0};

    /* RS-GAN: D = sp(f(y) - f(x)); G = sp(f(x) - f(y)), real and fake paired by position */
    for (int i = 0; i < B; i++) d[i] = sp(l.fy[i] - l.fx[i]), g[i] = sp(l.fx[i] - l.fy[i]);
    linear_inputs(&in, &l);
    check_losses("rs_gan", &in, mean(d), mean(g));

    /* relativistic hinge: D = relu(1 + f(y) - f(x)); G = relu(1 + f(x) - f(y)) */
    for (int i = 0; i < B; i++) d[i] = relu(1 + l.fy[i] - l.fx[i]), g[i] = relu(1 + l.fx[i] - l.fy[i]);
    linear_inputs(&in, &l);
    check_losses("rel_hinge", &in, mean(d), mean(g));

    double mr = mean(l.fx), mf = mean(l.fy);
    /* RaSGAN: D = 1/2[sp(-(f(x) - m_f)) + sp(f(y) - m_r)]; G = 1/2[sp(f(x) - m_f) + sp(-(f(y) - m_r))] */
    for (int i = 0; i < B; i++) t[i] = sp(-(l.fx[i] - mf)), u[i] = sp(l.fy[i] - mr);
    double ra_d = 0.5 * (mean(t) + mean(u));
    for (int i = 0; i < B; i++) t[i] = sp(l.fx[i] - mf), u[i] = sp(-(l.fy[i] - mr));
    linear_inputs(&in, &l);
    check_losses("ra_sgan", &in, ra_d, 0.5 * (mean(t) + mean(u)));

    /* RaLSGAN: D = 1/2[(f(x) - m_f - 1)^2 + (f(y) - m_r + 1)^2]; G = 1/2[(f(y) - m_r - 1)^2 + (f(x) - m_f + 1)^2] */
    for (int i = 0; i < B; i++) t[i] = sq(l.fx[i] - mf - 1), u[i] = sq(l.fy[i] - mr + 1);
    ra_d = 0.5 * (mean(t) + mean(u));
    for (int i = 0; i < B; i++) t[i] = sq(l.fy[i] - mr - 1), u[i] = sq(l.fx[i] - mf + 1);
    linear_inputs(&in, &l);
    check_losses("ra_lsgan", &in, ra_d, 0.5 * (mean(t) + mean(u)));

    /* RaHinge: D = 1/2[relu(1 - (f(x) - m_f)) + relu(1 + (f(y) - m_r))]; G = 1/2[relu(1 - (f(y) - m_r)) + relu(1 + (f(x) - m_f))] */
    for (int i = 0; i < B; i++) t[i] = relu(1 - (l.fx[i] - mf)), u[i] = relu(1 + (l.fy[i] - mr));
    ra_d = 0.5 * (mean(t) + mean(u));
    for (int i = 0; i < B; i++) t[i] = relu(1 - (l.fy[i] - mr)), u[i] = relu(1 + (l.fx[i] - mf));
    linear_inputs(&in, &l);
    check_losses("ra_hinge", &in, ra_d, 0.5 * (mean(t) + mean(u)));
}

/* ---- MMD GAN and Cramer GAN: D is a feature map h(t) = t a + b with two features -------- */

static const double FA[2] = {0.75, -0.4}, FB[2] = {-0.25, 0.1}, FW = 1.5;

static void features(const double *t, double h[B][2]) {
    for (int i = 0; i < B; i++)
        for (int k = 0; k < 2; k++) h[i][k] = t[i] * FA[k] + FB[k];
}

static void feature_inputs(StFile *in, int with_z2) {
    put(in, "x", B, 1, X);
    put(in, "z", B, 1, Z);
    if (with_z2) put(in, "z2", B, 1, Z2);
    put(in, "D.a", 1, 2, FA);
    put(in, "D.b", 2, 0, FB);
    put1(in, "G.w", 1, 1, FW);
}

static double d2(const double *u, const double *v) { return sq(u[0] - v[0]) + sq(u[1] - v[1]); }

/* k(u, v) = sum over s in 1, 2, 4, 8, 16 of exp(-|u - v|^2 / (2 s^2)) */
static double k_rbf(const double *u, const double *v) {
    double r = 0;
    for (int s = 1; s <= 16; s *= 2) r += exp(-d2(u, v) / (2.0 * s * s));
    return r;
}

/* k(u, v) = sum over a in 0.1, 1, 10 of (1 + |u - v|^2 / (2a))^-a, plus <u, v> */
static double k_rq_dot(const double *u, const double *v) {
    static const double alphas[3] = {0.1, 1, 10};
    double r = u[0] * v[0] + u[1] * v[1];
    for (int i = 0; i < 3; i++) r += pow(1 + d2(u, v) / (2 * alphas[i]), -alphas[i]);
    return r;
}

/* MMD^2 of two batches of features: biased (every pair) or unbiased (i != j within a batch) */
static double mmd2(double (*k)(const double *, const double *), double hx[B][2], double hy[B][2], int biased) {
    double xx = 0, yy = 0, xy = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            if (biased || i != j) xx += k(hx[i], hx[j]), yy += k(hy[i], hy[j]);
            xy += k(hx[i], hy[j]);
        }
    double pairs = biased ? B * B : B * (B - 1);
    return xx / pairs + yy / pairs - 2 * xy / (B * B);
}

static double fnorm(const double *u, const double *v) { return enorm(d2(u, v)); }   /* norm(u - v) */
static double fnorm0(const double *u) { return enorm(sq(u[0]) + sq(u[1])); }        /* norm(u) */

static void distance_losses(void) {
    double y[B], y2[B], hx[B][2], hy[B][2], hy2[B][2];
    for (int i = 0; i < B; i++) y[i] = Z[i] * FW, y2[i] = Z2[i] * FW;
    features(X, hx);
    features(y, hy);
    features(y2, hy2);
    StFile in = {0};

    /* MMD GAN: G = sqrt(relu(biased MMD^2) + 1e-12) with the RBF mixture; D = -G */
    double g = sqrt(relu(mmd2(k_rbf, hx, hy, 1)) + EPS);
    feature_inputs(&in, 0);
    check_losses("mmd_gan", &in, -g, g);

    /* MMD GAN with mix_rq_1dot: G = unbiased MMD^2; D = -G */
    g = mmd2(k_rq_dot, hx, hy, 0);
    feature_inputs(&in, 0);
    check_losses("mmd_rq", &in, -g, g);

    /* Cramer GAN with the anchor y2: critic(a) = |h(a) - h(y2)| - |h(a)|;
     * G = |hx - hy| + |hx - hy2| - |hy - hy2|; D = -(critic(x) - critic(y)) */
    double gv[B], dv[B];
    for (int i = 0; i < B; i++) {
        gv[i] = fnorm(hx[i], hy[i]) + fnorm(hx[i], hy2[i]) - fnorm(hy[i], hy2[i]);
        double critic_x = fnorm(hx[i], hy2[i]) - fnorm0(hx[i]);
        double critic_y = fnorm(hy[i], hy2[i]) - fnorm0(hy[i]);
        dv[i] = critic_x - critic_y;
    }
    double cramer_d = -mean(dv), cramer_g = mean(gv);
    feature_inputs(&in, 1);
    check_losses("cramer", &in, cramer_d, cramer_g);

    /* its penalty: 10 E(|d critic(x_hat) / d x_hat| - 1)^2, x_hat = u x + (1 - u) y, where
     * d critic / d t = sum_k a_k [(h_k(t) - h_k(y2)) / |h(t) - h(y2)| - h_k(t) / |h(t)|] */
    double pen[B];
    for (int i = 0; i < B; i++) {
        double xh = U1[i] * X[i] + (1 - U1[i]) * y[i], h[2], dh = 0;
        for (int k = 0; k < 2; k++) h[k] = xh * FA[k] + FB[k];
        for (int k = 0; k < 2; k++) dh += FA[k] * ((h[k] - hy2[i][k]) / fnorm(h, hy2[i]) - h[k] / fnorm0(h));
        pen[i] = sq(enorm(sq(dh)) - 1);
    }
    feature_inputs(&in, 1);
    put(&in, "D_loss.cramer_penalty0.uniform0", B, 1, U1);
    check_losses("cramer_penalty", &in, cramer_d + 10 * mean(pen), cramer_g);
}

/* ---- penalties on a linear D: the gradient of f is a, of s(f) s'(f) a -------------------- */

static const char *GP_DRAW = "D_loss.gradient_penalty0.interpolates0.uniform0";

/* |grad| at each x_hat = u x + (1 - u) y, of f or (prob) of s(f), norm()'s eps included */
static void interpolate_norms(const Linear *l, int prob, double *norms) {
    for (int i = 0; i < B; i++) {
        double xh = U1[i] * X[i] + (1 - U1[i]) * l->y[i];
        double g = prob ? dsig(xh * l->a + l->b) * l->a : l->a;
        norms[i] = enorm(sq(g));
    }
}

static void linear_penalties(void) {
    StFile in = {0};
    double n[B], t[B];

    /* gradient_penalty: weight E(|grad f(x_hat)| - center)^2, weight 10; of s(f) with prob: true */
    for (int prob = 0; prob <= 1; prob++)
        for (int center = 0; center <= 1; center++) {
            Linear l = prob ? linear(2.5, -0.25, 1.5) : linear(0.75, -0.25, 1.5);
            char name[32];
            snprintf(name, sizeof name, "gp%s%s", center ? "" : "0", prob ? "_prob" : "");
            interpolate_norms(&l, prob, n);
            for (int i = 0; i < B; i++) t[i] = sq(n[i] - center);
            linear_inputs(&in, &l);
            if (prob) put(&in, GP_DRAW, B, 1, U1);   /* a linear f's gradient does not depend on x_hat */
            check_losses(name, &in, mean(l.fy) - mean(l.fx) + 10 * mean(t), -mean(l.fy));
        }

    /* lipschitz_penalty: 10 E relu(|grad| - 1)^2; |a| > 1 for f, and s'(f) a crosses 1 at one sample */
    Linear l = linear(1.6, -0.25, 1.5);
    interpolate_norms(&l, 0, n);
    for (int i = 0; i < B; i++) t[i] = sq(relu(n[i] - 1));
    linear_inputs(&in, &l);
    check_losses("lp", &in, mean(l.fy) - mean(l.fx) + 10 * mean(t), NAN);
    l = linear(8, -3, 1.5);
    interpolate_norms(&l, 1, n);
    for (int i = 0; i < B; i++) t[i] = sq(relu(n[i] - 1));
    linear_inputs(&in, &l);
    put(&in, "D_loss.lipschitz_penalty0.interpolates0.uniform0", B, 1, U1);
    check_losses("lp_prob", &in, mean(l.fy) - mean(l.fx) + 10 * mean(t), NAN);

    /* max_gradient_penalty: 0.1 (max_i |grad_i|)^2 */
    for (int prob = 0; prob <= 1; prob++) {
        l = linear(prob ? 2.5 : 0.75, -0.25, 1.5);
        interpolate_norms(&l, prob, n);
        double m = fmax(n[0], fmax(n[1], n[2]));
        linear_inputs(&in, &l);
        if (prob) put(&in, "D_loss.max_gradient_penalty0.interpolates0.uniform0", B, 1, U1);
        check_losses(prob ? "maxgp_prob" : "maxgp", &in, mean(l.fy) - mean(l.fx) + 0.1 * m * m, NAN);
    }

    /* r1 / r2: 10 E |grad f|^2 at the real / fake samples (no eps, no 1/2) */
    for (int fake = 0; fake <= 1; fake++)
        for (int prob = 0; prob <= 1; prob++) {
            l = linear(prob ? 2.5 : 0.75, -0.25, 1.5);
            for (int i = 0; i < B; i++) {
                double at = fake ? l.fy[i] : l.fx[i];
                t[i] = sq(prob ? dsig(at) * l.a : l.a);
            }
            char name[32];
            snprintf(name, sizeof name, "r%d%s", fake + 1, prob ? "_prob" : "");
            linear_inputs(&in, &l);
            check_losses(name, &in, mean(l.fy) - mean(l.fx) + 10 * mean(t), NAN);
        }

    /* dragan_penalty: the gradient of a linear f is a wherever DRAGAN perturbs x */
    l = linear(0.6, -0.25, 1.5);
    linear_inputs(&in, &l);
    check_losses("dragan", &in, mean(l.fy) - mean(l.fx) + 10 * sq(enorm(sq(l.a)) - 1), NAN);
}

/* ---- penalties on a quadratic D: f(t) = a t + c t^2 + b, f'(t) = a + 2 c t --------------- */

static const double QA = 0.75, QC = 0.5, QB = -0.25, QW = 1.5;
static double qf(double t) { return t * QA + t * t * QC + QB; }
static double qdf(double t) { return QA + 2 * QC * t; }

static void quadratic_inputs(StFile *in) {
    put(in, "x", B, 1, X);
    put(in, "z", B, 1, Z);
    put1(in, "D.a", 1, 1, QA);
    put1(in, "D.c", 1, 1, QC);
    put1(in, "D.b", 1, 0, QB);
    put1(in, "G.w", 1, 1, QW);
}

static void quadratic_penalties(void) {
    StFile in = {0};
    double y[B], fx[B], fy[B], n[B], t[B];
    for (int i = 0; i < B; i++) y[i] = Z[i] * QW, fx[i] = qf(X[i]), fy[i] = qf(y[i]);
    double wgan = mean(fy) - mean(fx);
    for (int i = 0; i < B; i++) n[i] = enorm(sq(qdf(U1[i] * X[i] + (1 - U1[i]) * y[i])));

    for (int center = 0; center <= 1; center++) {
        for (int i = 0; i < B; i++) t[i] = sq(n[i] - center);
        quadratic_inputs(&in);
        put(&in, GP_DRAW, B, 1, U1);
        check_losses(center ? "quad_gp" : "quad_gp0", &in, wgan + 10 * mean(t), NAN);
    }
    for (int i = 0; i < B; i++) t[i] = sq(relu(n[i] - 1));
    quadratic_inputs(&in);
    put(&in, "D_loss.lipschitz_penalty0.interpolates0.uniform0", B, 1, U1);
    check_losses("quad_lp", &in, wgan + 10 * mean(t), NAN);

    double m = fmax(n[0], fmax(n[1], n[2]));
    quadratic_inputs(&in);
    put(&in, "D_loss.max_gradient_penalty0.interpolates0.uniform0", B, 1, U1);
    check_losses("quad_maxgp", &in, wgan + 0.1 * m * m, NAN);

    for (int i = 0; i < B; i++) t[i] = sq(qdf(X[i]));
    quadratic_inputs(&in);
    check_losses("quad_r1", &in, wgan + 10 * mean(t), NAN);
    for (int i = 0; i < B; i++) t[i] = sq(qdf(y[i]));
    quadratic_inputs(&in);
    check_losses("quad_r2", &in, wgan + 10 * mean(t), NAN);

    /* DRAGAN: x_p = x + c std(x) u1 (u1 per element), x_hat = x + u2 (x_p - x) (u2 per sample),
     * 10 E(|grad f(x_hat)| - 1)^2 with c = 0.5 and std the population std of the batch */
    double mx = mean(X), var[B];
    for (int i = 0; i < B; i++) var[i] = sq(X[i] - mx);
    double sd = sqrt(mean(var));
    for (int i = 0; i < B; i++) {
        double xp = X[i] + 0.5 * sd * U1[i], xh = X[i] + U2[i] * (xp - X[i]);
        t[i] = sq(enorm(sq(qdf(xh))) - 1);
    }
    quadratic_inputs(&in);
    put(&in, "D_loss.dragan_penalty0.uniform0", B, 1, U1);
    put(&in, "D_loss.dragan_penalty0.uniform1", B, 1, U2);
    check_losses("quad_dragan", &in, wgan + 10 * mean(t), NAN);
}

/* ---- 2-D data: the norm of a sample's gradient is over both coordinates ------------------ */

static void two_d_penalties(void) {
    static const double x[B * 2] = {0.4, -0.7, 1.3, 0.2, -0.9, -1.1};
    static const double z[B * 2] = {0.3, 0.5, -0.8, 0.1, 1.1, -0.6};
    static const double w[4] = {1.5, -0.5, 0.25, 0.8};             /* G.w, [2, 2] */
    static const double a[2] = {1.2, -2.1}, c[2] = {0.5, -0.3}, b = 0.15;
    static const double u1[B * 2] = {0.5, 0.2, 0.75, 0.05, 0.9, 0.4};
    double y[B * 2], f[B], fy[B], t[B];
    for (int i = 0; i < B; i++)
        for (int j = 0; j < 2; j++) y[2 * i + j] = z[2 * i] * w[j] + z[2 * i + 1] * w[2 + j];
    StFile in = {0};

    /* gradient_penalty(center: 1, weight: 2, prob: true) on f(v) = v . a + b */
    for (int i = 0; i < B; i++) {
        f[i] = x[2 * i] * a[0] + x[2 * i + 1] * a[1] + b;
        fy[i] = y[2 * i] * a[0] + y[2 * i + 1] * a[1] + b;
        double xh0 = U1[i] * x[2 * i] + (1 - U1[i]) * y[2 * i];
        double xh1 = U1[i] * x[2 * i + 1] + (1 - U1[i]) * y[2 * i + 1];
        double s = dsig(xh0 * a[0] + xh1 * a[1] + b);
        t[i] = sq(enorm(sq(s * a[0]) + sq(s * a[1])) - 1);
    }
    put(&in, "x", B, 2, x);
    put(&in, "z", B, 2, z);
    put(&in, "G.w", 2, 2, w);
    put(&in, "D.a", 2, 1, a);
    put1(&in, "D.b", 1, 0, b);
    put(&in, GP_DRAW, B, 1, U1);
    check_losses("gp_2d_prob", &in, mean(fy) - mean(f) + 2 * mean(t), -mean(fy));

    /* dragan_penalty(weight: 3, k: 0.5, c: 0.25) on f(v) = v . a + (v * v) . c + b: std over all
     * six values of the batch, u1 [3, 2] per element, u2 [3, 1] per sample */
    double mx = 0, var = 0;
    for (int k = 0; k < B * 2; k++) mx += x[k] / (B * 2);
    for (int k = 0; k < B * 2; k++) var += sq(x[k] - mx) / (B * 2);
    double sd = sqrt(var);
    for (int i = 0; i < B; i++) {
        double g2 = 0, fxi = b, fyi = b;
        for (int j = 0; j < 2; j++) {
            double v = x[2 * i + j], xp = v + 0.25 * sd * u1[2 * i + j], xh = v + U2[i] * (xp - v);
            g2 += sq(a[j] + 2 * c[j] * xh);
            fxi += v * a[j] + v * v * c[j];
            fyi += y[2 * i + j] * a[j] + y[2 * i + j] * y[2 * i + j] * c[j];
        }
        f[i] = fxi, fy[i] = fyi;
        t[i] = sq(enorm(g2) - 0.5);
    }
    put(&in, "x", B, 2, x);
    put(&in, "z", B, 2, z);
    put(&in, "G.w", 2, 2, w);
    put(&in, "D.a", 2, 1, a);
    put(&in, "D.c", 2, 1, c);
    put1(&in, "D.b", 1, 0, b);
    put(&in, "D_loss.dragan_penalty0.uniform0", B, 2, u1);
    put(&in, "D_loss.dragan_penalty0.uniform1", B, 1, U2);
    check_losses("dragan_2d", &in, mean(fy) - mean(f) + 3 * mean(t), -mean(fy));
}

int main(void) {
    check_prefix = "losses ";
    separable_losses();
    relativistic_losses();
    distance_losses();
    linear_penalties();
    quadratic_penalties();
    two_d_penalties();
    return check_summary();
}
