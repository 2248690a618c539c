/* contract.h: the model as the compiler hands it to libganrt, one set of C structs shared by
 * the writer and the reader (as Lua's lundump.h is by its dumper and undumper).
 *
 * ganc builds a GanModel from the finished IR and its plans (compiler/codegen.c) and emits it
 * into the executable as constant data laid out exactly as these structs (compiler/modeldata.c,
 * which checks every field's offset against this header); the executable's main() passes its
 * address to ganrt_main (ganrt.h). libganrt parses nothing: it checks the format version first,
 * then the model's consistency (runtime/load.c), and uses the structs as they are. The runtime
 * tests build a GanModel as a C initialiser (tests/fake_model.c).
 *
 * Layout rules, so the emitted data needs no padding rules of its own: fields are 64-bit
 * (int64_t, double, pointers) or pairs of 32-bit ones; arrays are a pointer and a count; strings
 * are NUL-terminated UTF-8, any bytes the language accepts (spaces, quotes, newlines in labels);
 * a missing string is NULL. Change anything here and GANC_MODEL_FORMAT_VERSION goes up: an
 * executable built by another ganc then stops at start with both versions named. */
#ifndef GANC_CONTRACT_H
#define GANC_CONTRACT_H
#include <stdint.h>

/* 1 was the text description of earlier versions; 3 added the step graphs for runs on
 * several processes (GanGraph's ranks and use_split). */
#define GANC_MODEL_FORMAT_VERSION 3

enum { GAN_MAXDIM = 4 };

/* How a leaf gets its values: X(kind, text name). The one list of initialiser kinds: the
 * compiler's IR (ir.h's leaves hold a LeafInit), the interpreter (compiler/store.c), the model
 * the compiler hands libganrt and libganrt (fill.h) all use it; the names are for messages
 * (init_kind_name, fill.h). */
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

/* A leaf's initialiser. The compiler builds it, the code generator emits it as constant data,
 * libganrt and the interpreter fill from it (fill.h): one struct, nothing translated. Fields
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

typedef enum { ROLE_PARAM, ROLE_STATE, ROLE_INPUT } LeafRole;
typedef enum { GRAPH_STEP, GRAPH_EVAL, GRAPH_SAMPLE, GRAPH_FID } GraphRole;

/* Graph function k reads leaf tensors through leaves[i], in the order of the graph's `use`;
 * writes output j to outputs[j], in the order of its `out`; and uses `arena` (arena_bytes
 * long, 64-byte aligned) for every intermediate. It writes an update's output only after its
 * last read of that leaf's old value (compiler/plan.h), so the runtime passes a parameter's own
 * storage as the output that updates it, and the update may be computed there directly.
 * Tensors are dense row-major arrays of float (is_f64 0) or double (is_f64 1). */
typedef void (*GanGraphFn)(void **leaves, void **outputs, char *arena);

typedef struct GanDims {
    int64_t ndim;            /* 0 to GAN_MAXDIM; 0 is a scalar */
    int64_t dim[GAN_MAXDIM]; /* each at least 1 */
} GanDims;

/* A named tensor that lives across graph executions: a trained parameter, a state tensor
 * (optimizer moments, running averages), or an input drawn before each execution (data, noise,
 * random draws, hyperparameters `hyper.NAME` of kind constant, which --set overrides). */
typedef struct GanLeaf {
    const char *name;
    int64_t role;            /* LeafRole */
    GanDims dims;
    LeafInit init;
} GanLeaf;

typedef struct GanOutput {
    const char *name;        /* a value: "loss/D", "grad/D/D.w", "sample/LABEL"; an update: the leaf's name */
    int32_t is_update;       /* an update is the new value of leaf `leaf` (a param or state)  */
    int32_t leaf;            /* -1 for a value */
    GanDims dims;
} GanOutput;

/* Graphs come in the order of the schedule's step graphs, then eval, sample and fid (the last
 * two when the experiment has them), then the schedule's step graphs split for each --ranks
 * count. Each step graph runs `times` times in a row per
 * iteration; eval computes every loss (loss/NET), its gradients (grad/NET/PARAM) and the
 * logged expressions; sample the sampled tensors; fid the feature batches fid/fake, fid/real. */
typedef struct GanGraph {
    const char *name;        /* "step_D", "eval", "sample", "fid" */
    const char *net;         /* the network a step graph trains; NULL for the others */
    int32_t role;            /* GraphRole */
    int32_t times;
    int32_t nuse, nout;
    int64_t arena_bytes;
    int64_t ranks;           /* 1; a step graph for a run on `ranks` processes (ganc --ranks,
                                runtime/dist.h): such graphs follow the others, the schedule's
                                step graphs again in order for each count */
    const int32_t *use;      /* leaf indices, in argument order */
    const int32_t *use_split;/* per use: 1, the graph reads this rank's rows of the leaf (its
                                first rows / ranks of the whole draw); NULL when nuse is 0 */
    const GanOutput *out;
    GanGraphFn fn;
} GanGraph;

typedef struct GanLog {      /* a logged value: output `output` of graph `graph`, a scalar */
    const char *label;
    int32_t graph, output;
} GanLog;

typedef struct GanSample {   /* a sampled tensor: output `output` of the sample graph */
    const char *label;
    int64_t output;
} GanSample;

typedef struct GanModel {
    int64_t version;         /* GANC_MODEL_FORMAT_VERSION: first, in every version */
    const char *name;
    int32_t is_f64;          /* the dtype: 0 float, 1 double */
    int32_t batch;
    uint64_t seed;           /* at most 2^53 (checkpoints hold it in a double) */
    int64_t iters, log_every, sample_every, fid_every; /* every: 0 is the default or never */
    int32_t nleaves, ngraphs;
    int32_t nlogs, nsamples;
    const GanLeaf *leaves;
    const GanGraph *graphs;
    const GanLog *logs;
    const GanSample *samples;
} GanModel;

/* No padding anywhere: the emitter's layout and the C compiler's agree field by field. */
_Static_assert(sizeof(GanDims) == 5 * 8, "GanDims has no padding");
_Static_assert(sizeof(GanLeaf) == sizeof(void *) + 8 + sizeof(GanDims) + sizeof(LeafInit), "GanLeaf has no padding");
_Static_assert(sizeof(GanOutput) == sizeof(void *) + 8 + sizeof(GanDims), "GanOutput has no padding");
_Static_assert(sizeof(GanGraph) == 6 * sizeof(void *) + 4 * 8, "GanGraph has no padding");
_Static_assert(sizeof(GanLog) == sizeof(void *) + 8 && sizeof(GanSample) == sizeof(void *) + 8, "no padding");
_Static_assert(sizeof(GanModel) == 5 * sizeof(void *) + 9 * 8, "GanModel has no padding");

#endif
