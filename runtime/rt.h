/* rt.h: what the files of libganrt's driver share (ganrt.c lists them): the model as the driver
 * holds it, with storage for every tensor, the runtime's state, and the functions one file
 * provides to the others. Internal to libganrt: generated code sees only ganrt.h. */
#ifndef GANC_RT_H
#define GANC_RT_H
#include <stdint.h>
#include <stdio.h>

#include "fill.h"
#include "ganrt.h"
#include "record.h"
#include "safetensors.h"

enum {
    MAXDIM = GAN_MAXDIM,
    TENSOR_ALIGN = 64, /* leaves, outputs and the arena: whole cache lines, any vector width */
};

/* Inputs of the eval graph run at a log point and of the sample graph are drawn under keys
 * derived from the seed, not at reserved draw numbers of the training key: a draw's counters
 * are draw * size + element, which wraps around 2^64, so any large fixed draw number lands on
 * the counters of some training draw for some tensor size (2^61 * 8 == 0 mod 2^64). */
#define EVAL_KEY_SALT "ganrt/eval-at-log"   /* draw number: the iteration        */
#define SAMPLE_KEY_SALT "ganrt/sample-grid" /* draw number 0: the same every time */
#define MAX_EXACT_SEED (1ull << 53)          /* checkpoints hold it in a double   */

/* ----- the model with its storage --------------------------------------------------------- */

/* The model as the compiler gave it (contract.h), with the storage the driver allocates: leaves
 * and outputs are copies of the contract's records plus their data, so that --set can change a
 * hyperparameter's value in a model that is constant data. */
typedef GanDims Dims;

typedef struct Leaf {
    const char *name;
    LeafRole role;
    Dims dims;
    LeafInit fill;
    void *data; /* model dtype, TENSOR_ALIGN-aligned */
} Leaf;

typedef struct Output {
    int is_update;
    const char *name; /* "loss/D", or the updated leaf's name */
    Dims dims;
    int leaf;         /* an update's leaf */
    void *data;       /* a value's own buffer, or the updated leaf's storage */
} Output;

typedef struct Graph {
    const char *name, *net;
    GraphRole kind;
    int times;
    long arena_bytes;
    int nuse, nout;
    const int32_t *use; /* leaf indices, in argument order */
    const int32_t *use_split; /* per use: 1, this rank's rows of the leaf (dist.h) */
    int ranks;          /* a step graph for a run on this many ranks (1: one process) */
    Output *out;
    void **leaf_args;   /* what the graph function receives: fixed once storage exists */
    void **out_args;
    GanGraphFn fn;
} Graph;

typedef struct Model {
    const char *name;
    int is_f64;
    long batch, iters, log_every, sample_every, fid_every;
    uint64_t seed;
    Leaf *leaves;
    int nleaves;
    Graph *graphs;
    int ngraphs;
    const GanLog *logs;
    int nlogs;
    const GanSample *samples;
    int nsamples;
    int eval, sample, fid; /* graph indices, -1 when absent */
} Model;

/* ----- the runtime's state ----------------------------------------------------------------- */

typedef struct Options {
    long steps;
    uint64_t seed;
    int threads;
    int has_steps, has_seed, has_threads, quiet, help, eval;
    const char *out_dir, *resume, *eval_in, *eval_out;
} Options;

typedef struct Progress {
    int enabled, shown;
    double start, last;
} Progress;

typedef struct Runtime {
    Model m;
    Options opt;
    const char *exe;
    uint64_t seed, draw; /* draw: the training draw counter */
    long first_iter, steps, iter;
    char *arena;
    double *scratch;     /* the largest leaf or output, in double: fills and conversions */
    char *out_dir, *path;
    size_t path_cap;
    char **sample_stems; /* per sample record: its label as a file name */
    FILE *log;
    int log_needs_eval;
    StFile ckpt;
    Progress progress;
    int argc;            /* the command line, for the run record */
    char **argv;
    RunRecord record;    /* run.json's session, also the checkpoints' metadata (record.h) */
    char *metadata;
    double clock_start;  /* log times: seconds since clock_start, the earlier sessions' included */
} Runtime;


/* ----- ganrt.c: tensors and lookups ------------------------------------------------------- */

void *xcalloc(size_t count, size_t size);
long dims_count(const Dims *d);
int dims_equal(const Dims *a, const Dims *b);
const char *dims_text(char *buf, size_t len, const Dims *d); /* "[8,2]" */
int find_leaf(const Model *m, const char *name);
int find_graph(const Model *m, const char *name);
int find_output(const Graph *g, const char *name);
void from_double(int is_f64, void *dst, const double *src, long n);
double value_at(int is_f64, const void *p, long i);
void to_double(int is_f64, const void *src, double *dst, long n);
/* "EXE: error: ..." on stderr (after the progress line, if one is shown); returns 1. */
__attribute__((format(printf, 2, 3))) int rt_error(Runtime *rt, const char *fmt, ...);

/* ----- load.c ------------------------------------------------------------------------------- */

/* The compiler's model, checked for consistency and copied into m (storage not yet allocated):
 * 0, or -1 with the reason in err. The format version is checked before (ganrt_main). */
int model_load(Model *m, const GanModel *model, char *err, size_t errlen);
void model_free(Model *m);

/* ----- options.c ---------------------------------------------------------------------------- */

int parse_options(Runtime *rt, int argc, char **argv);
void print_usage(const Runtime *rt, FILE *to);

/* ----- train.c ------------------------------------------------------------------------------ */

void init_leaves(Runtime *rt);
void draw_inputs(Runtime *rt, const Graph *g, uint64_t key, uint64_t draw);
void call_graph(Runtime *rt, const Graph *g);
uint64_t derived_key(const Runtime *rt, const char *salt);
int train(Runtime *rt);
int evaluate(Runtime *rt);

/* ----- logs.c ------------------------------------------------------------------------------- */

/* The output directory, the log (opened) and the sample file names, before the first step. */
int prepare_outputs(Runtime *rt);
/* rt->path = OUT/<formatted>; the buffer is sized at setup, so this never allocates. */
__attribute__((format(printf, 2, 3))) const char *out_path(Runtime *rt, const char *fmt, ...);
int is_log_point(const Runtime *rt, long iter);
void write_log_line(Runtime *rt, long iter);
void progress_update(Runtime *rt, long iter);
void progress_end(Runtime *rt);
double now_seconds(void);
int write_samples(Runtime *rt, long iter);
int log_fid(Runtime *rt, long iter);

/* ----- checkpoint.c ------------------------------------------------------------------------- */

void prepare_checkpoint(Runtime *rt);
int write_checkpoint(Runtime *rt, long iter);
int load_checkpoint(Runtime *rt, const char *path);
Dims tensor_dims(const StTensor *t);

#endif
