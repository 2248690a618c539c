/* test_eval.c: `ganc eval` on tests/eval/linear.gan against values computed by hand.
 *
 * G(z) = z w, D(x) = x a, with w = 2 and a = 3 initially. With x = [1, 2], z = [1, 0] and the
 * random draw D_loss.uniform0 = [0.5, 0.25] given in the input file:
 *   loss D = mean(a z w) - mean(a x) + mean(u) = 3 - 4.5 + 0.375 = -1.125
 *   d loss D / d a = mean(z w) - mean(x) = 1 - 1.5 = -0.5
 *   loss G = -mean(a z w) = -3,   d loss G / d w = -a mean(z) = -1.5
 * and with a = 1 given as well: loss G = -1, d loss G / d w = -0.5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"
#include "check.h"


static void add(StFile *f, const char *name, double v0, double v1, int n) {
    long shape[2] = {n, 1};
    double v[2] = {v0, v1};
    st_add(f, name, 2, shape, v);
}

/* Runs ganc eval with the given input tensors; returns its exit status. */
static int run_eval(const StFile *in, const char *dtype, const char *out) {
    char err[256], cmd[512];
    if (st_write("build/test_eval_in.safetensors", in, 1, err, sizeof err)) return printf("# %s\n", err), -1;
    snprintf(cmd, sizeof cmd,
             "build/ganc eval tests/eval/linear.gan --values build/test_eval_in.safetensors -o %s --dtype %s"
             " 2> build/test_eval.err",
             out, dtype);
    return system(cmd);
}

static void expect(const StFile *out, const char *name, double want, double tol, const char *label) {
    char what[128], detail[128];
    snprintf(what, sizeof what, "%s %s = %g", label, name, want);
    const StTensor *t = st_find(out, name);
    if (!t) {
        check(0, what, "missing from the output");
        return;
    }
    snprintf(detail, sizeof detail, "got %.17g", t->data[0]);
    check(fabs(t->data[0] - want) <= tol * fmax(1, fabs(want)), what, "%s", detail);
}

static void check_values(const char *dtype, double tol) {
    StFile in = {0}, out = {0};
    char err[256];
    add(&in, "x", 1, 2, 2);
    add(&in, "z", 1, 0, 2);
    add(&in, "D_loss.uniform0", 0.5, 0.25, 2);
    int rc = run_eval(&in, dtype, "build/test_eval_out.safetensors");
    check(rc == 0, dtype, "ganc eval failed");
    if (rc == 0 && st_read("build/test_eval_out.safetensors", &out, err, sizeof err) == 0) {
        expect(&out, "loss/D", -1.125, tol, dtype);
        expect(&out, "grad/D/D.a", -0.5, tol, dtype);
        expect(&out, "loss/G", -3, tol, dtype);
        expect(&out, "grad/G/G.w", -1.5, tol, dtype);
    }
    st_free(&out);
    add(&in, "D.a", 1, 0, 1);
    rc = run_eval(&in, dtype, "build/test_eval_out.safetensors");
    if (rc == 0 && st_read("build/test_eval_out.safetensors", &out, err, sizeof err) == 0) {
        expect(&out, "loss/G", -1, tol, "with D.a = 1");
        expect(&out, "grad/G/G.w", -0.5, tol, "with D.a = 1");
    }
    st_free(&out);
    st_free(&in);
}

static int stderr_mentions(const char *a, const char *b) {
    FILE *f = fopen("build/test_eval.err", "r");
    char line[512] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        fclose(f);
    }
    return strstr(line, a) && strstr(line, b);
}

static void check_errors(void) {
    StFile in = {0};
    add(&in, "D.b", 1, 0, 1);
    int rc = run_eval(&in, "f64", "build/test_eval_out.safetensors");
    check(rc != 0 && stderr_mentions("test_eval_in.safetensors", "'D.b' is not a parameter"),
          "rejects an unknown tensor name, naming the file and the tensor", "accepted or unclear message");
    st_free(&in);
    add(&in, "x", 1, 2, 1);
    rc = run_eval(&in, "f64", "build/test_eval_out.safetensors");
    check(rc != 0 && stderr_mentions("test_eval_in.safetensors", "'x' has the wrong shape"),
          "rejects a tensor of the wrong shape", "accepted or unclear message");
    st_free(&in);
}

int main(void) {
    check_prefix = "eval ";
    check_values("f64", 1e-12);
    check_values("f32", 1e-6);
    check_errors();
    return check_summary();
}
