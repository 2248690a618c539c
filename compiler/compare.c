/* compare.c: `ganc compare A.safetensors B.safetensors`, the tensors two runs have in common,
 * side by side. It is how the test suite holds native code to the interpreter, and how a user
 * compares ganc's results with another framework's. The error of a tensor is
 * max_i |a_i - b_i| / max_i max(|a_i|, |b_i|): relative to the tensor's largest magnitude, so an
 * element near zero in a tensor of ordinary size does not count as a large relative error. */
#include "compare.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "safetensors.h"

static double tensor_error(const StTensor *a, const StTensor *b, long n) {
    double diff = 0, scale = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs(a->data[i] - b->data[i]);
        if (!(d <= diff)) diff = d; /* a NaN on one side counts */
        scale = fmax(scale, fmax(fabs(a->data[i]), fabs(b->data[i])));
    }
    return diff == 0 ? 0 : scale > 0 ? diff / scale : INFINITY;
}

static long shape_size(const StTensor *t, const StTensor *other, int *same) {
    long n = 1;
    *same = t->ndim == other->ndim;
    for (int k = 0; k < t->ndim; k++) {
        n *= t->shape[k];
        *same &= k < other->ndim && t->shape[k] == other->shape[k];
    }
    return n;
}

int compare_files(const char *path_a, const char *path_b, double tolerance, int verbose) {
    StFile a = {0}, b = {0};
    char err[512];
    if (st_read(path_a, &a, err, sizeof err) || st_read(path_b, &b, err, sizeof err)) {
        fprintf(stderr, "ganc: error: %s\n", err);
        st_free(&a);
        st_free(&b);
        return 1;
    }
    int common = 0, bad = 0;
    double worst = 0;
    for (int i = 0; i < a.count; i++) {
        const StTensor *ta = &a.tensors[i], *tb = st_find(&b, ta->name);
        if (!tb) continue;
        common++;
        int same;
        long n = shape_size(ta, tb, &same);
        double e = same ? tensor_error(ta, tb, n) : INFINITY;
        if (!(e <= tolerance)) bad++;
        if (!(e <= worst)) worst = e;
        if (verbose || !(e <= tolerance))
            printf("%-40s %s%.3g%s\n", ta->name, same ? "" : "shapes differ ", e, e <= tolerance ? "" : "  EXCEEDS");
    }
    printf("compared %d tensors: largest relative error %.3g, tolerance %.3g: %s\n", common, worst, tolerance,
           common && !bad ? "ok" : common ? "FAILED" : "FAILED (no tensor in common)");
    st_free(&a);
    st_free(&b);
    return common && !bad ? 0 : 1;
}
