/* fill.h: initial values and per-step draws of a named tensor, shared by the compiler's
 * interpreter (compiler/store.c) and libganrt, so both start from and draw exactly the same
 * numbers for the same seed: the precondition for comparing native code with the interpreter
 * bit for bit at the inputs. */
#ifndef GANC_FILL_H
#define GANC_FILL_H
#include <stdint.h>

typedef enum {
    FILL_ZEROS, FILL_CONSTANT, FILL_UNIFORM, FILL_NORMAL, FILL_DATA, FILL_COPY, FILL_PROGRESS,
    FILL_FILE,   /* items of a data set file (dataset.h), one per row */
    FILL_LABELS, /* one-hot rows of the class labels in a data set file */
    FILL_TENSOR, /* the tensor of the leaf's name in the safetensors file `file` (pretrained) */
} FillKind;

typedef struct FillSpec {
    FillKind kind;
    double a, b;          /* CONSTANT: a; UNIFORM: [a, b); NORMAL: mean a, std b */
    const char *sampler;  /* DATA */
    double args[8];
    int nargs;
    long points;          /* DATA: a fixed set of the sampler's first `points` samples, visited in
                             a new random order each epoch; 0: a fresh sample every time.
                             FILE, LABELS: the file's first `points` items; 0: all of them */
    int fixed;            /* every draw is draw 0: one fixed batch */
    const char *source;   /* FILL_COPY: the leaf whose initial value this one copies */
    const char *file;     /* FILE, LABELS: the data set's path */
    const char *order;    /* FILE, LABELS: the path whose shuffle the rows follow (NULL: file's
                             own), so labels drawn with order = the images file stay paired */
    int classes;          /* LABELS: the one-hot width; labels must lie in 0..classes-1 */
} FillSpec;
/* FILE and LABELS visit their n items (points, or the file's count) like DATA with points, a
 * new permutation each epoch, but the permutation is keyed by the hash of `order` (or `file`),
 * not by the leaf's name: leaves with the same order key, the same rows and the same n draw the
 * same item positions at every draw, which keeps images and their labels paired. */
/* FILL_COPY (a copy of another leaf's initial value) and FILL_PROGRESS (the run's progress) are
 * filled by the caller, which knows the other leaves and the iteration. */

/* Loads and validates the file of leaf `name`, of `rows` rows of `per_row` values: a FILE or
 * LABELS data set (item size, labels in range, sizes of the order file) or a TENSOR's
 * safetensors file (a tensor `name` of that size): 0, or -1 with a message naming the file in
 * err. Other kinds always pass. Call it once per leaf before drawing: fill_values assumes it
 * passed. */
int fill_check(const FillSpec *spec, const char *name, long rows, long per_row, char *err, int errlen);
/* The same checks from a data set file's header alone (dataset_header), for the compiler; the
 * data is read on the first draw, which exits with a message if the file is corrupt past its
 * header. Labels are read and checked in full either way. */
int fill_check_shape(const FillSpec *spec, const char *name, long rows, long per_row, char *err, int errlen);

/* The values of tensor `name` (size elements; rows = leading dimension, for samplers) at its
 * draw number `draw` (0 for initial values). */
void fill_values(const FillSpec *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows);

#endif
