/* fill.h: initial values and per-step draws of a named tensor, shared by the compiler's
 * interpreter (compiler/store.c) and libganrt, so both start from and draw exactly the same
 * numbers for the same seed: the precondition for comparing native code with the interpreter
 * bit for bit at the inputs. */
#ifndef GANC_FILL_H
#define GANC_FILL_H
#include <stdint.h>

/* How a leaf gets its values: X(kind, text name). The one list of initialiser kinds: the
 * compiler's IR (ir.h's leaves hold a LeafInit), the interpreter (compiler/store.c), the model
 * the compiler hands libganrt (contract.h) and libganrt all use it; the names are for messages. */
#define INIT_KIND_LIST(X)                                                                       \
    X(ZEROS, "zeros")       /* state, and params declared `= zeros`                          */ \
    X(CONSTANT, "constant") /* a                                                             */ \
    X(UNIFORM, "uniform")   /* U[a, b)                                                       */ \
    X(NORMAL, "normal")     /* N(a, b^2)                                                     */ \
    X(DATA, "data")         /* a sampler of samplers.h: sampler, args                        */ \
    X(COPY, "copy")         /* the initial value of the leaf named source                    */ \
    X(PROGRESS, "progress") /* the run's progress, (iteration - 1) / iterations               */ \
    X(FILE, "file")         /* items of a data set file (dataset.h), one per row             */ \
    X(LABELS, "labels")     /* one-hot rows of the class labels in a data set file           */ \
    X(TENSOR, "tensor")     /* the tensor of the leaf's name in the safetensors file `file`  */

typedef enum {
#define X(kind, text) INIT_##kind,
    INIT_KIND_LIST(X)
#undef X
    INIT_KIND_COUNT
} InitKind;

/* "uniform", ...; "?" for a value outside the list */
const char *init_kind_name(InitKind kind);

/* A leaf's initialiser. The compiler builds it, the code generator emits it as constant data
 * (contract.h), libganrt and the interpreter fill from it: one struct, nothing translated. Fields
 * are ordered so the struct has no padding (its layout is checked where it is emitted). */
typedef struct LeafInit {
    InitKind kind;
    int32_t nargs;        /* DATA: the sampler's arguments given (the rest take its defaults) */
    int32_t fixed;        /* inputs: every draw is draw 0, one fixed batch                   */
    int32_t classes;      /* LABELS: the one-hot width; labels must lie in 0..classes-1       */
    double a, b;          /* CONSTANT: a; UNIFORM: [a, b); NORMAL: mean a, std b             */
    double args[8];       /* DATA: the sampler's arguments                                   */
    int64_t points;       /* DATA: a fixed set of the sampler's first `points` samples, visited
                             in a new random order each epoch; 0: a fresh sample every time.
                             FILE, LABELS: the file's first `points` items; 0: all of them    */
    const char *sampler;  /* DATA: "gaussians8", ...                                         */
    const char *source;   /* COPY: the leaf whose initial value this one copies              */
    const char *file;     /* FILE, LABELS, TENSOR: the file's path                           */
    const char *order;    /* FILE, LABELS: the path whose shuffle the rows follow (NULL: file's
                             own), so labels drawn with order = the images file stay paired  */
} LeafInit;
_Static_assert(sizeof(InitKind) == 4, "InitKind is emitted as a 32-bit integer");
_Static_assert(sizeof(LeafInit) == 4 * 4 + 11 * 8 + 4 * sizeof(const char *), "LeafInit has no padding");
/* FILE and LABELS visit their n items (points, or the file's count) like DATA with points, a
 * new permutation each epoch, but the permutation is keyed by the hash of `order` (or `file`),
 * not by the leaf's name: leaves with the same order key, the same rows and the same n draw the
 * same item positions at every draw, which keeps images and their labels paired. */
/* INIT_COPY (a copy of another leaf's initial value) and INIT_PROGRESS (the run's progress) are
 * not fill_values': policy.c fills them, given the other leaf's value or the iteration. */

/* Loads and validates the file of leaf `name`, of `rows` rows of `per_row` values: a FILE or
 * LABELS data set (item size, labels in range, sizes of the order file) or a TENSOR's
 * safetensors file (a tensor `name` of that size): 0, or -1 with a message naming the file in
 * err. Other kinds always pass. Call it once per leaf before drawing: fill_values assumes it
 * passed. */
int fill_check(const LeafInit *spec, const char *name, long rows, long per_row, char *err, int errlen);
/* The same checks from a data set file's header alone (dataset_header), for the compiler; the
 * data is read on the first draw, which exits with a message if the file is corrupt past its
 * header. Labels are read and checked in full either way. */
int fill_check_shape(const LeafInit *spec, const char *name, long rows, long per_row, char *err, int errlen);

/* The values of tensor `name` (size elements; rows = leading dimension, for samplers) at its
 * draw number `draw` (0 for initial values). */
void fill_values(const LeafInit *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows);

#endif
