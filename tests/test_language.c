/* test_language.c: the language's builtins and the stdlib's numerically delicate functions,
 * evaluated by the interpreter in float64 and float32.
 *
 * tests/language/values.gan logs one scalar per check (a `let` named after it); the test runs
 *     build/ganc eval tests/language/values.gan --dtype DTYPE -o OUT
 * and compares each `log/NAME` output with its value computed here with libm: the tails of
 * softplus and log_sigmoid (softplus(-40) = 4.2e-18, not 0; softplus(-20) = 2.1e-9 in float32
 * too), log1p and expm1 on tiny arguments, the derivative of abs at 0 (0) and of softplus at 0
 * (1/2), tensor literals, arange and one_hot. A relative tolerance of 1e-12 in float64 and 1e-6
 * in float32 (what float32 rounding leaves of these few operations); a value of exactly 0 must
 * be exactly 0. It also checks that `--set` with a misspelt hyperparameter names the right one,
 * and the clusters and styles of --emit=dot.
 *
 * Prints `ok - ...` / `not ok - ...` lines and `N passed, M failed`; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"
#include "check.h"

typedef struct Expected {
    const char *name;
    double value;
} Expected;

static void check_dtype(const char *dtype, double tolerance) {
    const double sp40 = log1p(exp(-40)), sp20 = log1p(exp(-20));
    const Expected expected[] = {
        {"abs_slope_at_0", 0},
        {"softplus_slope_at_0", 0.5},
        {"softplus_m40", sp40},
        {"softplus_m20", sp20},
        {"softplus_40", 40 + sp40},
        {"log_sigmoid_40", -sp40},
        {"log_sigmoid_m40", -40 - sp40},
        {"log1p_tiny", log1p(1e-10)},
        {"expm1_tiny", expm1(1e-10)},
        {"log1p_1", log1p(1)},
        {"expm1_1", expm1(1)},
        {"literal", 654321},            /* digits placed by [[1, 2], ...] * [[1, 10], ...] */
        {"literal_matmul", 0},          /* x times the identity literal, minus x */
        {"arange_digits", 6543210},
        {"arange_big", 999 * 1000 / 2},
        {"one_hot_digits", 10001100},   /* classes 2, 0, 1 pick 100, 1e3 and 1e7 */
        {"class_grid", 3 * (0 + 1 + 2 + 3)},
        {"one_hot_tensor", 5},          /* one_hot(arange(5), 5) is the identity */
    };
    char cmd[512], err[512];
    snprintf(cmd, sizeof cmd, "build/ganc eval tests/language/values.gan --dtype %s -o build/test_language.safetensors"
             " 2> build/test_language.err", dtype);
    StFile out = {0};
    if (system(cmd) != 0 || st_read("build/test_language.safetensors", &out, err, sizeof err) != 0) {
        check(0, dtype, "ganc eval failed (build/test_language.err)");
        return;
    }
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char name[128], what[160];
        const Expected *e = &expected[i];
        snprintf(name, sizeof name, "log/%s", e->name);
        snprintf(what, sizeof what, "%s %s = %.17g", dtype, e->name, e->value);
        const StTensor *t = st_find(&out, name);
        if (!t) {
            check(0, what, "missing from ganc eval's output");
            continue;
        }
        double got = t->data[0];
        check(e->value == 0 ? got == 0 : fabs(got - e->value) <= tolerance * fabs(e->value), what,
              "got %.17g, relative error %.3g", got, fabs(got - e->value) / fabs(e->value));
    }
    st_free(&out);
}

/* --set with a misspelt name: an error that names the hyperparameter meant. */
static void check_set_hint(void) {
    const char *want = "ganc: error: --set: 'ofset' is not a hyperparameter of tests/language/values.gan "
                       "(did you mean 'offset'?)";
    int rc = system("build/ganc eval tests/language/values.gan --set ofset=1 -o build/test_language.safetensors"
                    " 2> build/test_language.err");
    char line[400] = "";
    FILE *f = fopen("build/test_language.err", "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        line[strcspn(line, "\n")] = 0;
        fclose(f);
    }
    check(rc != 0 && strcmp(line, want) == 0, "--set ofset=1 suggests 'offset'", "%s", line);
}

/* --emit=dot of tests/golden/tiny_wgan.gan (G and D, two dense layers and a relu each): a cluster
 * per network holding one per layer, each parameter in its layer's cluster, the gradient nodes
 * autodiff made dashed and the forward ones not, inputs outside every cluster; and Graphviz
 * reads it. */
static void check_dot(void) {
    int rc = system("build/ganc --emit=dot tests/golden/tiny_wgan.gan > build/test_language.dot");
    char *dot = slurp("build/test_language.dot", NULL);
    if (rc != 0 || !dot) {
        check(0, "--emit=dot", "ganc --emit=dot failed");
        return;
    }
    char *end = strstr(dot, "\n}\n");            /* the first graph, step_D */
    if (end) end[1] = 0;
    char *d = strstr(dot, "subgraph \"cluster_D\" {"), *dense = strstr(dot, "subgraph \"cluster_D.dense0\" {");
    char *relu = strstr(dot, "subgraph \"cluster_D.relu0\" {"), *g = strstr(dot, "subgraph \"cluster_G\" {");
    char *w = strstr(dot, "param D.dense0.w"), *x = strstr(dot, "input x");
    check(d && dense && relu && g && d < dense && dense < relu, "dot: clusters D, D.dense0 and D.relu0 nested in order",
          "missing or out of order");
    /* the parameter lies inside D.dense0's braces: after its opening and before the next cluster */
    check(dense && w && relu && dense < w && w < relu, "dot: D.dense0.w is drawn in the cluster D.dense0", "elsewhere");
    char *last_brace = NULL;
    for (char *p = strstr(dot, "\n  }\n"); p; p = strstr(p + 1, "\n  }\n")) last_brace = p;
    check(x && last_brace && x > last_brace, "dot: the input x is outside every cluster", "inside one");
    int backward = 0, forward_dashed = 0;
    for (char *line = strtok(dot, "\n"); line; line = strtok(NULL, "\n")) {
        int dashed = strstr(line, "style=dashed") != NULL;
        if (strstr(line, "param ") || strstr(line, "input ")) forward_dashed += dashed;
        backward += dashed;
    }
    check(backward > 10 && forward_dashed == 0, "dot: backward nodes dashed, leaves not", "%d dashed nodes, %d of them leaves",
          backward, forward_dashed);
    rc = system("dot -Tsvg -O build/test_language.dot 2> build/test_language.err");
    check(rc == 0, "dot: Graphviz draws every graph (dot -Tsvg)", "dot failed or is not installed (make deps)");
    free(dot);
}

int main(void) {
    check_prefix = "language ";
    check_dtype("f64", 1e-12);
    check_dtype("f32", 1e-6);
    check_set_hint();
    check_dot();
    return check_summary();
}
