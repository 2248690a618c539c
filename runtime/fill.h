/* fill.h: initial values and per-step draws of a named tensor, shared by the compiler's
 * interpreter (compiler/store.c) and libganrt, so both start from and draw exactly the same
 * numbers for the same seed: the precondition for comparing native code with the interpreter
 * bit for bit at the inputs. */
#ifndef GANC_FILL_H
#define GANC_FILL_H
#include <stdint.h>

typedef enum { FILL_ZEROS, FILL_CONSTANT, FILL_UNIFORM, FILL_NORMAL, FILL_DATA, FILL_COPY, FILL_PROGRESS } FillKind;

typedef struct FillSpec {
    FillKind kind;
    double a, b;          /* CONSTANT: a; UNIFORM: [a, b); NORMAL: mean a, std b */
    const char *sampler;  /* DATA */
    double args[8];
    int nargs;
    long points;          /* DATA: a fixed set of the sampler's first `points` samples, visited in
                             a new random order each epoch; 0: a fresh sample every time */
    int fixed;            /* every draw is draw 0: one fixed batch */
    const char *source;   /* FILL_COPY: the leaf whose initial value this one copies */
} FillSpec;
/* FILL_COPY (a copy of another leaf's initial value) and FILL_PROGRESS (the run's progress) are
 * filled by the caller, which knows the other leaves and the iteration. */

/* The values of tensor `name` (size elements; rows = leading dimension, for samplers) at its
 * draw number `draw` (0 for initial values). */
void fill_values(const FillSpec *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows);

#endif
