/* ganrt.c: libganrt's driver, ganrt_main: everything a compiled experiment does besides
 * computing its graphs.
 *
 * An executable built by ganc holds a model description and one native function per graph
 * (ganrt.h); its main() calls ganrt_main, which parses the description and the command line,
 * allocates every tensor once, initialises parameters, and then either trains (the schedule,
 * the JSON log, samples, checkpoints, a progress line) or evaluates once (--eval,
 * --eval-values, the twin of `ganc eval`).
 *
 * Training reproduces the interpreter's `ganc run` (compiler/run.c) draw for draw: parameters
 * start from fill_values(seed, name, draw 0) and each execution of a step graph draws its inputs
 * at the next number of one counter, so native results can be compared with the interpreter's.
 * A checkpoint stores that counter with the parameters, in the model's dtype, so a run resumed
 * from it is bit-identical to one that never stopped.
 *
 * Sections: the description (parsing, validation), tensors, command line, draws and graph
 * execution, log and progress, samples, checkpoints, evaluation, the driver.
 *
 * Data set leaves (kinds file and labels) are loaded and checked once at startup (fill_check),
 * before any storage is allocated, so a missing or malformed file ends the run at once. Image
 * samples ([N, C, H, W], C = 1 or 3) are also written as PNG grids (png.h). */
#include "ganrt.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fill.h"
#include "png.h"
#include "rng.h"
#include "safetensors.h"
#include "samplers.h"
#include "metrics.h"
#include "fid.h"

enum {
    MAXDIM = ST_MAXDIM,
    TENSOR_ALIGN = 64, /* leaves, outputs and the arena: whole cache lines, any vector width */
};

/* Inputs of the eval graph run at a log point and of the sample graph are drawn under keys
 * derived from the seed, not at reserved draw numbers of the training key: a draw's counters
 * are draw * size + element, which wraps around 2^64, so any large fixed draw number lands on
 * the counters of some training draw for some tensor size (2^61 * 8 == 0 mod 2^64). */
#define EVAL_KEY_SALT "ganrt/eval-at-log"   /* draw number: the iteration        */
#define SAMPLE_KEY_SALT "ganrt/sample-grid" /* draw number 0: the same every time */
#define MAX_EXACT_SEED (1ull << 53)          /* checkpoints hold it in a double   */

/* ----- the model description -------------------------------------------------------------- */

typedef struct Dims {
    int ndim;
    long dim[MAXDIM];
} Dims;

typedef enum { ROLE_PARAM, ROLE_STATE, ROLE_INPUT } LeafRole;

typedef struct Leaf {
    const char *name;
    LeafRole role;
    Dims dims;
    FillSpec fill;
    void *data; /* model dtype, TENSOR_ALIGN-aligned */
} Leaf;

typedef struct Output {
    int is_update;
    const char *name; /* "loss/D", or the updated leaf's name */
    Dims dims;
    int leaf;         /* an update's leaf */
    void *data;       /* a value's own buffer, or the updated leaf's storage */
} Output;

typedef enum { GRAPH_STEP, GRAPH_EVAL, GRAPH_SAMPLE, GRAPH_FID } GraphKind;

typedef struct Graph {
    const char *name, *net;
    GraphKind kind;
    int times;
    long arena_bytes;
    int nuse, nout;
    int *use;          /* leaf indices, in argument order */
    Output *out;
    void **leaf_args;  /* what the graph function receives: fixed once storage exists */
    void **out_args;
    GanGraphFn fn;
} Graph;

typedef struct LogRecord {
    int graph, output;
    const char *label;
} LogRecord;

typedef struct SampleRecord {
    int output; /* of the sample graph */
    const char *label;
} SampleRecord;

typedef struct Model {
    char *text; /* the description, split in place: every name points into it */
    const char *name;
    int is_f64;
    long batch, iters, log_every, sample_every, fid_every;
    uint64_t seed;
    Leaf *leaves;
    int nleaves;
    Graph *graphs;
    int ngraphs;
    LogRecord *logs;
    int nlogs;
    SampleRecord *samples;
    int nsamples;
    int eval, sample, fid; /* graph indices, -1 when absent */
} Model;

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "ganrt: out of memory\n");
        exit(1);
    }
    return p;
}

static long dims_count(const Dims *d)
{
    long n = 1;
    for (int k = 0; k < d->ndim; k++)
        n *= d->dim[k];
    return n;
}

static int dims_equal(const Dims *a, const Dims *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int k = 0; k < a->ndim; k++)
        if (a->dim[k] != b->dim[k])
            return 0;
    return 1;
}

/* "[8,2]" */
static const char *dims_text(char *buf, size_t len, const Dims *d)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < d->ndim && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, k ? ",%ld" : "%ld", d->dim[k]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

static int find_leaf(const Model *m, const char *name)
{
    for (int i = 0; i < m->nleaves; i++)
        if (strcmp(m->leaves[i].name, name) == 0)
            return i;
    return -1;
}

static int find_graph(const Model *m, const char *name)
{
    for (int i = 0; i < m->ngraphs; i++)
        if (strcmp(m->graphs[i].name, name) == 0)
            return i;
    return -1;
}

static int find_output(const Graph *g, const char *name)
{
    for (int i = 0; i < g->nout; i++)
        if (strcmp(g->out[i].name, name) == 0)
            return i;
    return -1;
}

/* ----- parsing ------------------------------------------------------------------------------ */

/* Numbers as text: a count is decimal digits only (no sign, no space, no junk), which is what
 * both the description and the command line must hold. */
static int parse_count(const char *s, uint64_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int parse_real(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end ? 0 : -1;
}

typedef struct Parser {
    char **lines;
    int nlines, at; /* at: the line being parsed */
    char *rest;     /* the current line's unread fields */
    char err[256];
} Parser;

__attribute__((format(printf, 2, 3)))
static int parse_error(Parser *p, const char *fmt, ...)
{
    int used = snprintf(p->err, sizeof p->err, "line %d: ", p->at + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + used, sizeof p->err - (size_t)used, fmt, ap);
    va_end(ap);
    return -1;
}

/* The next space-separated field of the current line, or NULL at its end. */
static char *next_field(Parser *p)
{
    char *field = p->rest;
    if (!*field)
        return NULL;
    char *space = strchr(field, ' ');
    if (space) {
        *space = '\0';
        p->rest = space + 1;
    } else {
        p->rest = field + strlen(field);
    }
    return field;
}

static int field_name(Parser *p, const char *what, const char **out)
{
    *out = next_field(p);
    return *out && **out ? 0 : parse_error(p, "missing %s", what);
}

/* Dimensions and counts fit an int (the kernels take int dims); byte counts may be larger. */
#define COUNT_MAX INT32_MAX
#define BYTES_MAX (1L << 40)

static int field_count(Parser *p, const char *what, long min, long max, long *out)
{
    char *f = next_field(p);
    uint64_t v;
    if (!f || parse_count(f, &v) != 0 || v < (uint64_t)min || v > (uint64_t)max)
        return parse_error(p, "%s must be a whole number from %ld to %ld, not '%s'", what, min, max,
                           f ? f : "");
    *out = (long)v;
    return 0;
}

static int field_real(Parser *p, const char *what, double *out)
{
    char *f = next_field(p);
    return f && parse_real(f, out) == 0 ? 0 : parse_error(p, "%s must be a number, not '%s'", what, f ? f : "");
}

/* One of choices (NULL-terminated); its index in *out. */
static int field_choice(Parser *p, const char *what, const char *const *choices, int *out)
{
    char *f = next_field(p);
    for (int i = 0; f && choices[i]; i++)
        if (strcmp(f, choices[i]) == 0) {
            *out = i;
            return 0;
        }
    return parse_error(p, "unknown %s '%s'", what, f ? f : "");
}

/* NDIM D... */
static int field_dims(Parser *p, Dims *d)
{
    long ndim;
    if (field_count(p, "the number of axes", 0, COUNT_MAX, &ndim) != 0)
        return -1;
    if (ndim > MAXDIM)
        return parse_error(p, "%ld axes (at most %d)", ndim, MAXDIM);
    d->ndim = (int)ndim;
    for (int k = 0; k < d->ndim; k++)
        if (field_count(p, "a dimension", 1, COUNT_MAX, &d->dim[k]) != 0)
            return -1;
    return 0;
}

static int end_of_line(Parser *p)
{
    return *p->rest ? parse_error(p, "unexpected '%s' at the end of the line", p->rest) : 0;
}

/* The rest of the line, a label that may hold spaces. */
static int field_label(Parser *p, const char **out)
{
    *out = p->rest;
    p->rest += strlen(p->rest);
    return **out ? 0 : parse_error(p, "missing label");
}

/* Moves to line i, or fails with `what` if the description ends first. */
static int enter_line(Parser *p, int i, const char *what)
{
    if (i >= p->nlines)
        return parse_error(p, "the description ends before %s", what);
    p->at = i;
    p->rest = p->lines[i];
    return 0;
}

/* "-" is no name: a NULL field. */
static int field_optional_name(Parser *p, const char *what, const char **out)
{
    if (field_name(p, what, out) != 0)
        return -1;
    if (strcmp(*out, "-") == 0)
        *out = NULL;
    return 0;
}

/* FILE ORDER CLASSES, the data set fields ("-", "-", 0 unless the kind is file or labels);
 * the files themselves are checked at startup (check_data_sets). */
static int parse_data_set(Parser *p, const Leaf *leaf, FillSpec *f)
{
    long classes;
    if (field_optional_name(p, "the data set file", &f->file) != 0 ||
        field_optional_name(p, "the order file", &f->order) != 0 ||
        field_count(p, "the number of classes", 0, COUNT_MAX, &classes) != 0)
        return -1;
    f->classes = (int)classes;
    if ((f->kind == FILL_FILE || f->kind == FILL_LABELS) && !f->file)
        return parse_error(p, "%s is drawn from a data set but names no file", leaf->name);
    if (f->kind == FILL_LABELS && f->classes < 1)
        return parse_error(p, "%s holds one-hot labels but gives no number of classes", leaf->name);
    return 0;
}

/* KIND A B SAMPLER NARGS ARG... POINTS FIXED SOURCE FILE ORDER CLASSES; missing sampler
 * arguments take the sampler's defaults. */
static int parse_fill(Parser *p, const Leaf *leaf, FillSpec *f)
{
    static const char *const kinds[] = {"zeros", "constant", "uniform", "normal", "data", "copy", "progress",
                                        "file", "labels", "tensor", NULL}; /* in FillKind's order */
    int kind;
    long nargs;
    const char *sampler;
    if (field_choice(p, "initialiser", kinds, &kind) != 0 || field_real(p, "A", &f->a) != 0 ||
        field_real(p, "B", &f->b) != 0 || field_name(p, "sampler", &sampler) != 0 ||
        field_count(p, "the number of sampler arguments", 0, COUNT_MAX, &nargs) != 0)
        return -1;
    f->kind = (FillKind)kind;
    f->sampler = sampler;
    if (nargs > 8)
        return parse_error(p, "%ld sampler arguments (at most 8)", nargs);
    f->nargs = (int)nargs;
    for (int i = 0; i < f->nargs; i++)
        if (field_real(p, "a sampler argument", &f->args[i]) != 0)
            return -1;
    long fixed;
    if (field_count(p, "the number of points", 0, COUNT_MAX, &f->points) != 0 ||
        field_count(p, "the fixed flag", 0, 1, &fixed) != 0 || field_name(p, "the source leaf", &f->source) != 0 ||
        parse_data_set(p, leaf, f) != 0)
        return -1;
    f->fixed = (int)fixed;
    if (f->kind != FILL_DATA)
        return 0;
    const SamplerInfo *s = sampler_find(sampler);
    if (!s)
        return parse_error(p, "unknown sampler '%s'", sampler);
    if (f->nargs > s->nparams)
        return parse_error(p, "%s takes %d arguments, not %d", sampler, s->nparams, f->nargs);
    for (int i = f->nargs; i < s->nparams; i++)
        f->args[i] = s->defaults[i];
    long rows = leaf->dims.ndim ? leaf->dims.dim[0] : 1;
    if (rows * s->dim != dims_count(&leaf->dims)) /* the sampler writes rows * dim values */
        return parse_error(p, "%s draws %d values per row, which does not fit %s's shape", sampler,
                           s->dim, leaf->name);
    return 0;
}

/* leaf NAME ROLE NDIM D... KIND A B SAMPLER NARGS ARG... POINTS FIXED SOURCE FILE ORDER CLASSES */
static int parse_leaf(Parser *p, Model *m)
{
    static const char *const roles[] = {"param", "state", "input", NULL};
    Leaf *l = &m->leaves[m->nleaves];
    int role;
    if (field_name(p, "leaf name", &l->name) != 0 || field_choice(p, "leaf role", roles, &role) != 0 ||
        field_dims(p, &l->dims) != 0 || parse_fill(p, l, &l->fill) != 0 || end_of_line(p) != 0)
        return -1;
    l->role = (LeafRole)role;
    if (find_leaf(m, l->name) >= 0)
        return parse_error(p, "leaf '%s' declared twice", l->name);
    m->nleaves++;
    return 0;
}

/* out value|update NAME NDIM D... */
static int parse_output(Parser *p, Model *m, const Graph *g, Output *o)
{
    static const char *const kinds[] = {"value", "update", NULL};
    const char *keyword;
    if (field_name(p, "'out'", &keyword) != 0 || strcmp(keyword, "out") != 0)
        return parse_error(p, "expected an 'out' line of graph %s", g->name);
    if (field_choice(p, "output kind", kinds, &o->is_update) != 0 ||
        field_name(p, "output name", &o->name) != 0 || field_dims(p, &o->dims) != 0 ||
        end_of_line(p) != 0)
        return -1;
    if (!o->is_update)
        return 0;
    if (g->kind != GRAPH_STEP)
        return parse_error(p, "graph %s is not a step but updates '%s'", g->name, o->name);
    o->leaf = find_leaf(m, o->name);
    if (o->leaf < 0 || m->leaves[o->leaf].role == ROLE_INPUT)
        return parse_error(p, "'%s' is updated but is not a declared param or state", o->name);
    if (!dims_equal(&o->dims, &m->leaves[o->leaf].dims))
        return parse_error(p, "the update of '%s' does not have its shape", o->name);
    return 0;
}

/* use LEAFNAME */
static int parse_use(Parser *p, const Model *m, const Graph *g, int *leaf)
{
    const char *keyword, *name;
    if (field_name(p, "'use'", &keyword) != 0 || strcmp(keyword, "use") != 0)
        return parse_error(p, "expected a 'use' line of graph %s", g->name);
    if (field_name(p, "leaf name", &name) != 0 || end_of_line(p) != 0)
        return -1;
    *leaf = find_leaf(m, name);
    return *leaf >= 0 ? 0 : parse_error(p, "graph %s uses undeclared leaf '%s'", g->name, name);
}

/* graph NAME step|eval|sample NET TIMES NUSE NOUT ARENA_BYTES, then its use and out lines. */
static int parse_graph(Parser *p, Model *m)
{
    static const char *const kinds[] = {"step", "eval", "sample", "fid", NULL};
    Graph *g = &m->graphs[m->ngraphs];
    int kind;
    long times, nuse, nout;
    if (field_name(p, "graph name", &g->name) != 0 || field_choice(p, "graph kind", kinds, &kind) != 0 ||
        field_name(p, "net", &g->net) != 0 || field_count(p, "TIMES", 1, COUNT_MAX, &times) != 0 ||
        field_count(p, "NUSE", 0, COUNT_MAX, &nuse) != 0 || field_count(p, "NOUT", 0, COUNT_MAX, &nout) != 0 ||
        field_count(p, "ARENA_BYTES", 0, BYTES_MAX, &g->arena_bytes) != 0 || end_of_line(p) != 0)
        return -1;
    g->kind = (GraphKind)kind;
    g->times = (int)times;
    if (nuse + nout > p->nlines - p->at - 1)
        return parse_error(p, "graph %s has %ld use and out lines, but fewer lines follow", g->name,
                           nuse + nout);
    if (find_graph(m, g->name) >= 0)
        return parse_error(p, "graph '%s' declared twice", g->name);
    int *slot = g->kind == GRAPH_EVAL ? &m->eval : g->kind == GRAPH_SAMPLE ? &m->sample
              : g->kind == GRAPH_FID ? &m->fid : NULL;
    if (slot && *slot >= 0)
        return parse_error(p, "a second %s graph", kinds[kind]);
    if (slot)
        *slot = m->ngraphs;
    g->nuse = (int)nuse;
    g->nout = (int)nout;
    g->use = xcalloc((size_t)nuse, sizeof(int));
    g->out = xcalloc((size_t)nout, sizeof(Output));
    m->ngraphs++; /* from here model_free frees its arrays */
    int line = p->at;
    for (int i = 0; i < g->nuse; i++)
        if (enter_line(p, ++line, "the graph's use lines") != 0 || parse_use(p, m, g, &g->use[i]) != 0)
            return -1;
    for (int i = 0; i < g->nout; i++)
        if (enter_line(p, ++line, "the graph's out lines") != 0 || parse_output(p, m, g, &g->out[i]) != 0)
            return -1;
    return 0;
}

/* The output of graph `graph` named `output` must exist and be a value. */
static int value_output(Parser *p, const Model *m, int graph, const char *output, int *out)
{
    *out = find_output(&m->graphs[graph], output);
    if (*out < 0 || m->graphs[graph].out[*out].is_update)
        return parse_error(p, "graph %s has no value output '%s'", m->graphs[graph].name, output);
    return 0;
}

/* log GRAPH OUTPUT LABEL */
static int parse_log(Parser *p, Model *m)
{
    LogRecord *r = &m->logs[m->nlogs];
    const char *graph, *output;
    if (field_name(p, "graph", &graph) != 0 || field_name(p, "output", &output) != 0 ||
        field_label(p, &r->label) != 0)
        return -1;
    r->graph = find_graph(m, graph);
    if (r->graph < 0 || m->graphs[r->graph].kind == GRAPH_SAMPLE)
        return parse_error(p, "a log of '%s', which is not a step or eval graph", graph);
    if (value_output(p, m, r->graph, output, &r->output) != 0)
        return -1;
    m->nlogs++;
    return 0;
}

/* sample OUTPUT LABEL */
static int parse_sample(Parser *p, Model *m)
{
    SampleRecord *r = &m->samples[m->nsamples];
    const char *output;
    if (field_name(p, "output", &output) != 0 || field_label(p, &r->label) != 0)
        return -1;
    if (m->sample < 0)
        return parse_error(p, "a sample record before the sample graph");
    if (value_output(p, m, m->sample, output, &r->output) != 0)
        return -1;
    m->nsamples++;
    return 0;
}

/* Header records, as KEY VALUE pairs (one or several per line). */
enum { H_NAME, H_DTYPE, H_BATCH, H_SEED, H_ITERS, H_LOG_EVERY, H_SAMPLE_EVERY, H_FID_EVERY, H_COUNT };
static const char *const header_keys[] = {"name", "dtype", "batch", "seed", "iters",
                                          "log_every", "sample_every", "fid_every", NULL};

static int header_index(const char *word)
{
    for (int i = 0; header_keys[i]; i++)
        if (strcmp(word, header_keys[i]) == 0)
            return i;
    return -1;
}

static int parse_header_value(Parser *p, Model *m, int key)
{
    static const char *const dtypes[] = {"f32", "f64", NULL};
    uint64_t seed;
    const char *text;
    switch (key) {
    case H_NAME: return field_name(p, "model name", &m->name);
    case H_DTYPE: return field_choice(p, "dtype", dtypes, &m->is_f64);
    case H_BATCH: return field_count(p, "batch", 1, COUNT_MAX, &m->batch);
    case H_ITERS: return field_count(p, "iters", 0, COUNT_MAX, &m->iters);
    case H_LOG_EVERY: return field_count(p, "log_every", 0, COUNT_MAX, &m->log_every);
    case H_SAMPLE_EVERY: return field_count(p, "sample_every", 0, COUNT_MAX, &m->sample_every);
    case H_FID_EVERY: return field_count(p, "fid_every", 0, COUNT_MAX, &m->fid_every);
    default: /* H_SEED */
        if (field_name(p, "seed", &text) != 0 || parse_count(text, &seed) != 0 || seed > MAX_EXACT_SEED)
            return parse_error(p, "the seed must be a whole number below 2^53");
        m->seed = seed;
        return 0;
    }
}

static int parse_header(Parser *p, Model *m, int key, int *seen)
{
    for (;;) {
        if (seen[key]++)
            return parse_error(p, "'%s' given twice", header_keys[key]);
        if (parse_header_value(p, m, key) != 0)
            return -1;
        const char *word = next_field(p);
        if (!word)
            return 0;
        if ((key = header_index(word)) < 0)
            return parse_error(p, "unknown header field '%s'", word);
    }
}

/* One line; *done is set by `end`. */
static int parse_line(Parser *p, Model *m, int *seen, int *done)
{
    const char *word = next_field(p);
    int key;
    if (!word)
        return 0; /* blank */
    if (strcmp(word, "leaf") == 0)
        return parse_leaf(p, m);
    if (strcmp(word, "graph") == 0)
        return parse_graph(p, m); /* it moves on to the graph's last out line */
    if (strcmp(word, "log") == 0)
        return parse_log(p, m);
    if (strcmp(word, "sample") == 0)
        return parse_sample(p, m);
    if (strcmp(word, "end") == 0) {
        *done = 1;
        return end_of_line(p);
    }
    if ((key = header_index(word)) >= 0)
        return parse_header(p, m, key, seen);
    return parse_error(p, "unknown record '%s'", word);
}

/* Splits m->text into lines (in place) and sizes the record arrays. */
static void split_lines(Parser *p, Model *m)
{
    int n = 1;
    for (const char *c = m->text; *c; c++)
        n += *c == '\n';
    p->lines = xcalloc((size_t)n, sizeof(char *));
    int leaves = 0, graphs = 0, logs = 0, samples = 0;
    for (char *line = m->text; line; p->nlines++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        p->lines[p->nlines] = line;
        leaves += strncmp(line, "leaf ", 5) == 0;
        graphs += strncmp(line, "graph ", 6) == 0;
        logs += strncmp(line, "log ", 4) == 0;
        samples += strncmp(line, "sample ", 7) == 0;
        line = nl ? nl + 1 : NULL;
    }
    m->leaves = xcalloc((size_t)leaves, sizeof(Leaf));
    m->graphs = xcalloc((size_t)graphs, sizeof(Graph));
    m->logs = xcalloc((size_t)logs, sizeof(LogRecord));
    m->samples = xcalloc((size_t)samples, sizeof(SampleRecord));
}

static int parse_lines(Parser *p, Model *m)
{
    if (enter_line(p, 0, "the first line") != 0 || strcmp(p->lines[0], "ganc-model 1") != 0)
        return parse_error(p, "expected 'ganc-model 1' (a description from another ganc version?)");
    int seen[H_COUNT] = {0}, done = 0;
    while (!done && p->at + 1 < p->nlines) {
        enter_line(p, p->at + 1, "");
        if (parse_line(p, m, seen, &done) != 0)
            return -1;
    }
    if (!done)
        return parse_error(p, "the description has no 'end' line");
    while (p->at + 1 < p->nlines) {
        enter_line(p, p->at + 1, "");
        if (*p->rest)
            return parse_error(p, "text after 'end'");
    }
    for (int k = 0; k < H_COUNT; k++)
        if (!seen[k] && k != H_BATCH && k != H_FID_EVERY)
            return parse_error(p, "the header has no '%s'", header_keys[k]);
    return 0;
}

static void model_free(Model *m)
{
    for (int i = 0; i < m->ngraphs; i++) {
        free(m->graphs[i].use);
        free(m->graphs[i].out);
        free(m->graphs[i].leaf_args);
        free(m->graphs[i].out_args);
    }
    free(m->leaves);
    free(m->graphs);
    free(m->logs);
    free(m->samples);
    free(m->text);
    memset(m, 0, sizeof *m);
}

/* 0, or -1 with "line N: reason" in err. */
static int model_parse(Model *m, const char *desc, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->eval = m->sample = m->fid = -1;
    m->text = strdup(desc);
    if (!m->text) {
        fprintf(stderr, "ganrt: out of memory\n");
        exit(1);
    }
    Parser p = {0};
    split_lines(&p, m);
    int rc = parse_lines(&p, m);
    if (rc != 0)
        snprintf(err, errlen, "%s", p.err);
    free(p.lines);
    return rc;
}

/* ----- tensors ------------------------------------------------------------------------------ */

static size_t element_size(const Model *m) { return m->is_f64 ? sizeof(double) : sizeof(float); }

/* Zeroed, TENSOR_ALIGN-aligned storage (aligned_alloc wants a multiple of the alignment). */
static void *alloc_aligned(size_t bytes)
{
    bytes = (bytes + TENSOR_ALIGN - 1) / TENSOR_ALIGN * TENSOR_ALIGN;
    void *p = aligned_alloc(TENSOR_ALIGN, bytes ? bytes : TENSOR_ALIGN);
    if (!p) {
        fprintf(stderr, "ganrt: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return memset(p, 0, bytes);
}

static void *alloc_tensor(const Model *m, long n) { return alloc_aligned((size_t)n * element_size(m)); }

static void from_double(int is_f64, void *dst, const double *src, long n)
{
    if (is_f64)
        memcpy(dst, src, sizeof(double) * (size_t)n);
    else
        for (long i = 0; i < n; i++)
            ((float *)dst)[i] = (float)src[i];
}

static double value_at(int is_f64, const void *p, long i)
{
    return is_f64 ? ((const double *)p)[i] : ((const float *)p)[i];
}

static void to_double(int is_f64, const void *src, double *dst, long n)
{
    for (long i = 0; i < n; i++)
        dst[i] = value_at(is_f64, src, i);
}

/* Whether any of n elements is a NaN or an infinity (all exponent bits set). This runs over
 * every updated tensor after every step, so it tests the bits in fixed-size blocks, a loop
 * compilers vectorise (about twice as fast as isfinite element by element). */
#define DEFINE_ANY_NONFINITE(name, T, UINT, EXPONENT)                                          \
    static int name(const T *x, long n)                                                        \
    {                                                                                          \
        UINT bad = 0, bits[16];                                                                \
        long i = 0;                                                                            \
        for (; i + 16 <= n; i += 16) {                                                         \
            memcpy(bits, x + i, sizeof bits);                                                  \
            for (int j = 0; j < 16; j++)                                                       \
                bad |= (bits[j] & EXPONENT) == EXPONENT;                                       \
        }                                                                                      \
        for (; i < n; i++) {                                                                   \
            memcpy(bits, x + i, sizeof(UINT));                                                 \
            bad |= (bits[0] & EXPONENT) == EXPONENT;                                           \
        }                                                                                      \
        return bad != 0;                                                                       \
    }
DEFINE_ANY_NONFINITE(any_nonfinite_f32, float, uint32_t, 0x7f800000u)
DEFINE_ANY_NONFINITE(any_nonfinite_f64, double, uint64_t, 0x7ff0000000000000u)

/* The index of the first NaN or infinity, or -1. */
static long first_nonfinite(int is_f64, const void *p, long n)
{
    if (!(is_f64 ? any_nonfinite_f64(p, n) : any_nonfinite_f32(p, n)))
        return -1;
    for (long i = 0; i < n; i++)
        if (!isfinite(value_at(is_f64, p, i)))
            return i;
    return -1;
}

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
} Runtime;

__attribute__((format(printf, 2, 3)))
static int rt_error(Runtime *rt, const char *fmt, ...)
{
    if (rt->progress.shown)
        fputc('\n', stderr);
    rt->progress.shown = 0;
    fprintf(stderr, "%s: error: ", rt->exe);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Storage for every leaf and value output, the shared arena, and the argument arrays of each
 * graph function, which never change afterwards. */
static void allocate(Runtime *rt, GanGraphFn const *fns)
{
    Model *m = &rt->m;
    long largest = 1, arena = 0;
    for (int i = 0; i < m->nleaves; i++) {
        long n = dims_count(&m->leaves[i].dims);
        m->leaves[i].data = alloc_tensor(m, n);
        largest = n > largest ? n : largest;
    }
    for (int i = 0; i < m->ngraphs; i++) {
        Graph *g = &m->graphs[i];
        g->fn = fns[i];
        g->leaf_args = xcalloc((size_t)g->nuse, sizeof(void *));
        g->out_args = xcalloc((size_t)g->nout, sizeof(void *));
        for (int k = 0; k < g->nuse; k++)
            g->leaf_args[k] = m->leaves[g->use[k]].data;
        for (int k = 0; k < g->nout; k++) {
            Output *o = &g->out[k];
            long n = dims_count(&o->dims);
            o->data = o->is_update ? m->leaves[o->leaf].data : alloc_tensor(m, n);
            g->out_args[k] = o->data;
            largest = n > largest ? n : largest;
        }
        arena = g->arena_bytes > arena ? g->arena_bytes : arena;
    }
    rt->arena = alloc_aligned((size_t)arena);
    rt->scratch = xcalloc((size_t)largest, sizeof(double));
}

static void runtime_free(Runtime *rt)
{
    Model *m = &rt->m;
    for (int i = 0; i < m->nleaves; i++)
        free(m->leaves[i].data);
    for (int i = 0; i < m->ngraphs; i++)
        for (int k = 0; k < m->graphs[i].nout; k++)
            if (!m->graphs[i].out[k].is_update)
                free(m->graphs[i].out[k].data);
    free(rt->arena);
    free(rt->scratch);
    for (int i = 0; rt->sample_stems && i < m->nsamples; i++)
        free(rt->sample_stems[i]);
    free(rt->sample_stems);
    free(rt->out_dir);
    free(rt->path);
    if (rt->log)
        fclose(rt->log);
    st_free(&rt->ckpt);
    model_free(m);
}

/* ----- the command line -------------------------------------------------------------------- */

static void print_usage(const Runtime *rt, FILE *to)
{
    const Model *m = &rt->m;
    fprintf(to,
            "usage: %s [options]\n"
            "Trains %s, a GAN experiment compiled by ganc (%s): %ld iterations, seed %llu.\n"
            "\n"
            "  --steps N            train until iteration N (default %ld)\n"
            "  --seed S             seed of initial values and draws (default %llu)\n"
            "  --out DIR            where log.jsonl, samples/ and ckpt/ go (default runs/%s)\n"
            "  --resume CKPT        continue from a checkpoint (e.g. DIR/ckpt/last.safetensors)\n"
            "  --threads T          BLAS threads (default: OpenBLAS's own choice)\n"
            "  --quiet              no progress line and no summary\n"
            "  --set NAME=VALUE     override `hyper NAME` of the experiment (repeatable)\n"
            "  --eval -o OUT        evaluate every loss and gradient once (inputs at draw 0) and\n"
            "                       write them to OUT (safetensors), as `ganc eval` does\n"
            "  --eval-values IN -o OUT\n"
            "                       the same, with the tensors in IN (safetensors) replacing the\n"
            "                       seeded values of the parameters, state or inputs they name\n"
            "  --help               this text\n",
            rt->exe, m->name, m->is_f64 ? "f64" : "f32", m->iters, (unsigned long long)m->seed,
            m->iters, (unsigned long long)m->seed, m->name);
}

__attribute__((format(printf, 2, 3)))
static int usage_error(Runtime *rt, const char *fmt, ...)
{
    fprintf(stderr, "%s: error: ", rt->exe);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry '%s --help' for the options\n", rt->exe);
    return 1;
}

enum { O_STEPS, O_SEED, O_OUT, O_RESUME, O_THREADS, O_EVAL_VALUES, O_OUTPUT, O_QUIET, O_EVAL, O_SET, O_HELP, O_H };
static const struct {
    const char *name;
    int takes_value;
} option_table[] = {
    [O_STEPS] = {"--steps", 1}, [O_SEED] = {"--seed", 1}, [O_OUT] = {"--out", 1},
    [O_RESUME] = {"--resume", 1}, [O_THREADS] = {"--threads", 1},
    [O_EVAL_VALUES] = {"--eval-values", 1}, [O_OUTPUT] = {"-o", 1}, [O_QUIET] = {"--quiet", 0},
    [O_EVAL] = {"--eval", 0}, [O_SET] = {"--set", 1}, [O_HELP] = {"--help", 0}, [O_H] = {"-h", 0},
};
enum { OPTION_COUNT = sizeof option_table / sizeof option_table[0] };

/* A whole number in [min, max] for option `name`. */
static int option_count(Runtime *rt, const char *name, const char *text, uint64_t min, uint64_t max,
                        uint64_t *out)
{
    if (parse_count(text, out) != 0 || *out < min)
        return usage_error(rt, "%s needs a %s, not '%s'", name,
                           min > 0 ? "positive whole number" : "whole number", text);
    if (*out > max)
        return usage_error(rt, "%s must be at most %llu, not '%s'", name, (unsigned long long)max, text);
    return 0;
}

static int set_hyperparameter(Runtime *rt, const char *assignment);

static int apply_option(Runtime *rt, int which, const char *value)
{
    Options *o = &rt->opt;
    uint64_t v;
    const char *name = option_table[which].name;
    switch (which) {
    case O_STEPS:
        if (option_count(rt, name, value, 1, (uint64_t)1 << 40, &v) != 0)
            return 1;
        o->steps = (long)v, o->has_steps = 1;
        return 0;
    case O_SEED:
        if (option_count(rt, name, value, 0, MAX_EXACT_SEED, &v) != 0)
            return 1;
        o->seed = v, o->has_seed = 1;
        return 0;
    case O_THREADS:
        if (option_count(rt, name, value, 1, 4096, &v) != 0)
            return 1;
        o->threads = (int)v, o->has_threads = 1;
        return 0;
    case O_OUT: o->out_dir = value; return 0;
    case O_RESUME: o->resume = value; return 0;
    case O_EVAL_VALUES: o->eval_in = value; return 0;
    case O_OUTPUT: o->eval_out = value; return 0;
    case O_QUIET: o->quiet = 1; return 0;
    case O_EVAL: o->eval = 1; return 0;
    case O_SET: return set_hyperparameter(rt, value);
    default: o->help = 1; return 0; /* O_HELP, O_H */
    }
}

/* Which option arg names ("--steps" or "--steps=N"); *inline_value points after '='. */
static int lookup_option(const char *arg, const char **inline_value)
{
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    *inline_value = eq ? eq + 1 : NULL;
    for (int i = 0; i < OPTION_COUNT; i++)
        if (strlen(option_table[i].name) == len && strncmp(arg, option_table[i].name, len) == 0)
            return i;
    return -1;
}

static int check_option_combinations(Runtime *rt)
{
    const Options *o = &rt->opt;
    if (o->eval && o->eval_in)
        return usage_error(rt, "--eval and --eval-values are alternatives; give one");
    if ((o->eval || o->eval_in) && !o->eval_out)
        return usage_error(rt, "%s needs -o OUT.safetensors", o->eval ? "--eval" : "--eval-values");
    if (o->eval_out && !o->eval && !o->eval_in)
        return usage_error(rt, "-o is the output of --eval or --eval-values");
    return 0;
}

static int parse_options(Runtime *rt, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *value;
        int which = lookup_option(argv[i], &value);
        if (which < 0)
            return usage_error(rt, argv[i][0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'",
                               argv[i]);
        if (!option_table[which].takes_value && value)
            return usage_error(rt, "%s takes no value", option_table[which].name);
        if (option_table[which].takes_value && !value) {
            if (i + 1 >= argc)
                return usage_error(rt, "%s needs a value", argv[i]);
            value = argv[++i];
        }
        if (value && !*value)
            return usage_error(rt, "%s needs a non-empty value", option_table[which].name);
        if (apply_option(rt, which, value) != 0)
            return 1;
    }
    return check_option_combinations(rt);
}

/* ----- draws and graph execution ----------------------------------------------------------- */

static void fill_leaf(Runtime *rt, Leaf *l, uint64_t key, uint64_t draw)
{
    long n = dims_count(&l->dims), rows = l->dims.ndim ? l->dims.dim[0] : 1;
    double *values = rt->m.is_f64 ? l->data : rt->scratch;
    fill_values(&l->fill, key, l->name, draw, values, n, rows);
    if (!rt->m.is_f64)
        from_double(0, l->data, values, n);
}

/* Parameters and state at their initial values (draw 0 of the seed), as the interpreter does;
 * parameters first, since a state may start as a copy of one (the running average of `ema`). */
static void init_leaves(Runtime *rt)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < rt->m.nleaves; i++) {
            Leaf *l = &rt->m.leaves[i];
            if (l->role != (pass == 0 ? ROLE_PARAM : ROLE_STATE))
                continue;
            int source = l->fill.kind == FILL_COPY ? find_leaf(&rt->m, l->fill.source) : -1;
            if (source >= 0)
                memcpy(l->data, rt->m.leaves[source].data, (size_t)dims_count(&l->dims) * (rt->m.is_f64 ? 8 : 4));
            else
                fill_leaf(rt, l, rt->seed, 0);
        }
}

/* --set NAME=VALUE: the default of `hyper NAME` replaced, for every draw of the run. */
static int set_hyperparameter(Runtime *rt, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    char name[256], *end;
    if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof name - 8)
        return usage_error(rt, "--set needs NAME=VALUE, not '%s'", assignment);
    snprintf(name, sizeof name, "hyper.%.*s", (int)(eq - assignment), assignment);
    int i = find_leaf(&rt->m, name);
    if (i < 0) {
        char known[512] = "";
        for (int k = 0; k < rt->m.nleaves; k++)
            if (!strncmp(rt->m.leaves[k].name, "hyper.", 6) && strlen(known) + strlen(rt->m.leaves[k].name) < sizeof known - 4)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", *known ? ", " : "", rt->m.leaves[k].name + 6);
        return usage_error(rt, "--set: '%.*s' is not a hyperparameter of this experiment (it has: %s)", (int)(eq - assignment),
                           assignment, *known ? known : "none");
    }
    errno = 0;
    double v = strtod(eq + 1, &end);
    if (errno || end == eq + 1 || *end || !isfinite(v))
        return usage_error(rt, "--set %.*s needs a finite number, not '%s'", (int)(eq - assignment), assignment, eq + 1);
    rt->m.leaves[i].fill.a = v;
    return 0;
}

/* Every input leaf of g at one draw: one execution's inputs share a draw number. */
static void draw_inputs(Runtime *rt, const Graph *g, uint64_t key, uint64_t draw)
{
    for (int k = 0; k < g->nuse; k++) {
        Leaf *l = &rt->m.leaves[g->use[k]];
        if (l->role != ROLE_INPUT)
            continue;
        if (l->fill.kind == FILL_PROGRESS) { /* (iteration - 1) / iterations, for learning-rate decay */
            double progress = rt->steps > 0 && rt->iter > 0 ? (double)(rt->iter - 1) / (double)rt->steps : 0;
            from_double(rt->m.is_f64, l->data, &progress, 1);
        } else
            fill_leaf(rt, l, key, draw);
    }
}

static void call_graph(Runtime *rt, const Graph *g) { g->fn(g->leaf_args, g->out_args, rt->arena); }

/* After a step: every value output, then every updated leaf, must be finite. */
static int check_finite(Runtime *rt, const Graph *g, long iter)
{
    for (int pass = 0; pass <= 1; pass++)
        for (int k = 0; k < g->nout; k++) {
            const Output *o = &g->out[k];
            if (o->is_update != pass)
                continue;
            long bad = first_nonfinite(rt->m.is_f64, o->data, dims_count(&o->dims));
            if (bad < 0)
                continue;
            double v = value_at(rt->m.is_f64, o->data, bad);
            return rt_error(rt, "step %ld: %s is not finite (%s)", iter, o->name,
                            isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        }
    return 0;
}

/* One step graph's TIMES executions in iteration iter, each at the next training draw. */
static int run_step(Runtime *rt, const Graph *g, long iter)
{
    for (int k = 0; k < g->times; k++) {
        draw_inputs(rt, g, rt->seed, rt->draw++);
        call_graph(rt, g);
        if (check_finite(rt, g, iter) != 0)
            return 1;
    }
    return 0;
}

static uint64_t derived_key(const Runtime *rt, const char *salt) { return rt->seed ^ rng_stream_id(salt); }

/* ----- files and directories --------------------------------------------------------------- */

/* mkdir -p; 0, or -1 with errno set. */
static int make_dirs(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;
    for (char *s = copy + 1; rc == 0; s++) {
        if (*s && *s != '/')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST)
            rc = -1;
        *s = saved;
        if (!saved)
            break;
    }
    struct stat st;
    if (rc == 0 && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        errno = ENOTDIR;
        rc = -1;
    }
    free(copy);
    return rc;
}

/* rt->path = OUT/<formatted>; the buffer is sized at setup, so this never allocates. */
__attribute__((format(printf, 2, 3)))
static const char *out_path(Runtime *rt, const char *fmt, ...)
{
    int used = snprintf(rt->path, rt->path_cap, "%s/", rt->out_dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt->path + used, rt->path_cap - (size_t)used, fmt, ap);
    va_end(ap);
    return rt->path;
}

/* ----- the log and the progress line ------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static double log_value(const Runtime *rt, const LogRecord *r)
{
    return value_at(rt->m.is_f64, rt->m.graphs[r->graph].out[r->output].data, 0);
}

static int is_log_point(const Runtime *rt, long iter)
{
    long every = rt->m.log_every > 0 ? rt->m.log_every : 100; /* as `ganc run` */
    return iter == 1 || iter % every == 0 || iter == rt->steps;
}

/* {"step": N, "LABEL": v, ...}: a step graph's values from its latest execution; the eval graph
 * runs now, on inputs drawn under the eval key at draw number N. */
static void write_log_line(Runtime *rt, long iter)
{
    if (rt->log_needs_eval) {
        const Graph *eval = &rt->m.graphs[rt->m.eval];
        draw_inputs(rt, eval, derived_key(rt, EVAL_KEY_SALT), (uint64_t)iter);
        call_graph(rt, eval);
    }
    fprintf(rt->log, "{\"step\": %ld", iter);
    for (int i = 0; i < rt->m.nlogs; i++) {
        double v = log_value(rt, &rt->m.logs[i]);
        fputs(", ", rt->log);
        json_string(rt->log, rt->m.logs[i].label);
        if (isfinite(v))
            fprintf(rt->log, ": %.9g", v);
        else
            fputs(": null", rt->log);
    }
    fputs("}\n", rt->log);
    fflush(rt->log);
}

/* Drops the log lines of steps >= first_iter: a run that stopped after its last checkpoint
 * logged steps that a resumed run logs again. A log that cannot be rewritten stays as it is. */
static void trim_log(const char *path, long first_iter)
{
    FILE *old = fopen(path, "r"), *kept = NULL;
    char *tmp_path = NULL, *line = NULL;
    size_t cap = 0;
    long step;
    if (old && asprintf(&tmp_path, "%s.tmp", path) > 0 && (kept = fopen(tmp_path, "w"))) {
        while (getline(&line, &cap, old) > 0)
            if (sscanf(line, "{\"step\": %ld", &step) != 1 || step < first_iter)
                fputs(line, kept);
        if (fclose(kept) == 0)
            rename(tmp_path, path);
    }
    if (old)
        fclose(old);
    free(line);
    free(tmp_path);
}

/* A fresh run starts the log; a resumed one continues it. */
static int open_log(Runtime *rt)
{
    const char *path = out_path(rt, "log.jsonl");
    if (rt->first_iter > 1)
        trim_log(path, rt->first_iter);
    rt->log = fopen(path, rt->first_iter > 1 ? "a" : "w");
    return rt->log ? 0 : rt_error(rt, "cannot write %s: %s", path, strerror(errno));
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "1:02:03" or "2:03" */
static const char *duration_text(char *buf, size_t len, double seconds)
{
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

/* The \r-updated line on a terminal: step, speed, ETA and the step graphs' logged values;
 * redrawn at most five times a second. */
static void progress_update(Runtime *rt, long iter)
{
    Progress *p = &rt->progress;
    double now = now_seconds();
    if (!p->enabled || (iter != rt->steps && now - p->last < 0.2))
        return;
    p->last = now;
    double rate = (double)(iter - rt->first_iter + 1) / fmax(now - p->start, 1e-9);
    char eta[32];
    fprintf(stderr, "\rstep %ld/%ld  %.1f it/s  ETA %s", iter, rt->steps, rate,
            duration_text(eta, sizeof eta, (double)(rt->steps - iter) / rate));
    for (int i = 0; i < rt->m.nlogs; i++)
        if (rt->m.graphs[rt->m.logs[i].graph].kind == GRAPH_STEP)
            fprintf(stderr, "  %s %.4g", rt->m.logs[i].label, log_value(rt, &rt->m.logs[i]));
    fputs("\033[K", stderr);
    p->shown = 1;
}

static void progress_end(Runtime *rt)
{
    if (rt->progress.shown)
        fputc('\n', stderr);
    rt->progress.shown = 0;
}

/* ----- samples ----------------------------------------------------------------------------- */

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* NPY v1.0: magic, version, header length (LE u16), a Python dict literal padded with spaces
 * and ended by '\n' so the data starts at a multiple of 64 bytes, then the C-order data. */
static int write_npy(const char *path, int is_f64, const Dims *d, const void *data)
{
    char shape[MAXDIM * 24] = "", dict[sizeof shape + 128];
    size_t used = 0;
    for (int k = 0; k < d->ndim; k++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, k ? ", %ld" : "%ld", d->dim[k]);
    if (d->ndim == 1)
        snprintf(shape + used, sizeof shape - used, ",");
    int len = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (%s), }",
                       host_is_little_endian() ? '<' : '>', is_f64 ? "f8" : "f4", shape);
    int header_len = len + 1 + (64 - (10 + len + 1) % 64) % 64;
    unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                (unsigned char)(header_len & 0xff), (unsigned char)(header_len >> 8)};
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(prefix, 1, sizeof prefix, f);
    fputs(dict, f);
    for (int i = len; i < header_len - 1; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(data, is_f64 ? 8 : 4, (size_t)dims_count(d), f);
    int failed = ferror(f);
    return fclose(f) == 0 && !failed ? 0 : -1;
}

/* One row per sample (the leading axis), its values %.9g, comma-separated. */
static int write_csv(const char *path, int is_f64, const Dims *d, const void *data)
{
    long rows = d->ndim ? d->dim[0] : 1, cols = rows ? dims_count(d) / rows : 0;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < cols; c++)
            fprintf(f, "%.9g%c", value_at(is_f64, data, r * cols + c), c + 1 < cols ? ',' : '\n');
    return fclose(f) == 0 ? 0 : -1;
}

/* A label as the stem of a file name: letters, digits, '-' and '_' kept, anything else '_'. */
static char *file_stem(const char *label)
{
    char *stem = strdup(label);
    for (char *c = stem; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            *c = '_';
    return stem;
}

/* The data distribution that a sampled tensor of that many features imitates: the first data
 * leaf whose sampler has modes and draws rows of `dim` values. */
static const Leaf *modal_data(const Runtime *rt, int dim)
{
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role != ROLE_INPUT || l->fill.kind != FILL_DATA || l->dims.ndim != 2 || l->dims.dim[1] != dim)
            continue;
        double centre[2];
        if (sampler_modes(sampler_find(l->fill.sampler), l->fill.args, centre, 1) > 0)
            return l;
    }
    return NULL;
}

/* The toy metrics of a batch of samples (runtime/metrics.h), a line of the log like the losses:
 * {"step": N, "modes fake": 8, "modes of fake": 8, "high_quality fake": 0.9, "kl fake": 0.01}. */
static void log_toy_metrics(Runtime *rt, long iter, const char *label, const Output *o)
{
    if (o->dims.ndim != 2 || !rt->log)
        return;
    const Leaf *data = modal_data(rt, (int)o->dims.dim[1]);
    if (!data)
        return;
    const SamplerInfo *s = sampler_find(data->fill.sampler);
    int modes = sampler_modes(s, data->fill.args, NULL, 0);
    double *centres = xcalloc((size_t)modes * (size_t)o->dims.dim[1], sizeof(double));
    sampler_modes(s, data->fill.args, centres, modes);
    to_double(rt->m.is_f64, o->data, rt->scratch, dims_count(&o->dims));
    ToyMetrics t;
    if (toy_metrics(rt->scratch, o->dims.dim[0], (int)o->dims.dim[1], centres, modes, sampler_mode_std(s, data->fill.args), &t)) {
        fprintf(rt->log, "{\"step\": %ld, \"modes %s\": %d, \"modes total\": %d, \"high_quality %s\": %.6g, \"kl %s\": %.6g",
                iter, label, t.covered, t.modes, label, t.quality, label, t.kl);
        if (modes == 2)
            fprintf(rt->log, ", \"count0 %s\": %.0f, \"count1 %s\": %.0f", label, t.count[0], label, t.count[1]);
        fputs("}\n", rt->log);
        fflush(rt->log);
    }
    free(centres);
}

/* An image-shaped sample, [N, C, H, W] with C = 1 (grey) or 3 (RGB), also as a PNG grid. */
static int write_sample_grid(Runtime *rt, const Output *o, const char *stem, long iter)
{
    const Dims *d = &o->dims;
    if (d->ndim != 4 || (d->dim[1] != 1 && d->dim[1] != 3))
        return 0;
    to_double(rt->m.is_f64, o->data, rt->scratch, dims_count(d));
    char err[512];
    const char *path = out_path(rt, "samples/%s_%ld.png", stem, iter);
    if (png_write_grid(path, rt->scratch, (int)d->dim[0], (int)d->dim[1], (int)d->dim[2], (int)d->dim[3], err,
                       sizeof err) != 0)
        return rt_error(rt, "%s", err);
    return 0;
}

/* FID and KID (runtime/fid.h) of the fid graph's two feature batches, fid/fake and fid/real,
 * over FID_SAMPLES rows each: batches drawn at fixed draws 0, 1, ... of their own key, the same
 * at every FID point so the numbers are comparable along a run. Logged like a loss. */
enum { FID_SAMPLES = 2048 };

static int log_fid(Runtime *rt, long iter)
{
    const Graph *g = &rt->m.graphs[rt->m.fid];
    int fake = -1, real = -1;
    for (int k = 0; k < g->nout; k++) {
        if (!strcmp(g->out[k].name, "fid/fake")) fake = k;
        if (!strcmp(g->out[k].name, "fid/real")) real = k;
    }
    long rows = g->out[fake].dims.dim[0], dim = g->out[fake].dims.dim[1];
    long batches = (FID_SAMPLES + rows - 1) / rows, n = batches * rows;
    double *features[2] = {xcalloc((size_t)(n * dim), sizeof(double)), xcalloc((size_t)(n * dim), sizeof(double))};
    for (long b = 0; b < batches; b++) {
        draw_inputs(rt, g, derived_key(rt, "ganrt/fid"), (uint64_t)b);
        call_graph(rt, g);
        to_double(rt->m.is_f64, g->out[fake].data, features[0] + b * rows * dim, rows * dim);
        to_double(rt->m.is_f64, g->out[real].data, features[1] + b * rows * dim, rows * dim);
    }
    FeatureStats stats[2] = {{0}, {0}};
    double fid = NAN, kid = NAN;
    char err[256];
    int rc = fid_stats(features[0], n, (int)dim, &stats[0], err, sizeof err) != 0 ||
             fid_stats(features[1], n, (int)dim, &stats[1], err, sizeof err) != 0 ||
             fid_distance(&stats[0], &stats[1], &fid, err, sizeof err) != 0 ||
             kid_distance(features[0], n, features[1], n, (int)dim, &kid, err, sizeof err) != 0;
    if (!rc && rt->log) {
        fprintf(rt->log, "{\"step\": %ld, \"fid\": %.6g, \"kid\": %.6g, \"fid samples\": %ld}\n", iter, fid, kid, n);
        fflush(rt->log);
    }
    fid_stats_free(&stats[0]);
    fid_stats_free(&stats[1]);
    free(features[0]);
    free(features[1]);
    return rc ? rt_error(rt, "step %ld: FID: %s", iter, err) : 0;
}

/* The sample graph on inputs drawn at one fixed draw (the same grid every time), each sampled
 * tensor to samples/<label>_<iter>.npy and .csv, and image-shaped ones to .png. */
static int write_samples(Runtime *rt, long iter)
{
    if (rt->m.sample < 0)
        return 0;
    const Graph *g = &rt->m.graphs[rt->m.sample];
    draw_inputs(rt, g, derived_key(rt, SAMPLE_KEY_SALT), 0);
    call_graph(rt, g);
    for (int i = 0; i < rt->m.nsamples; i++) {
        const Output *o = &g->out[rt->m.samples[i].output];
        log_toy_metrics(rt, iter, rt->m.samples[i].label, o);
        const char *path = out_path(rt, "samples/%s_%ld.npy", rt->sample_stems[i], iter);
        if (write_npy(path, rt->m.is_f64, &o->dims, o->data) != 0)
            return rt_error(rt, "cannot write %s: %s", path, strerror(errno));
        path = out_path(rt, "samples/%s_%ld.csv", rt->sample_stems[i], iter);
        if (write_csv(path, rt->m.is_f64, &o->dims, o->data) != 0)
            return rt_error(rt, "cannot write %s: %s", path, strerror(errno));
        if (write_sample_grid(rt, o, rt->sample_stems[i], iter) != 0)
            return 1;
    }
    return 0;
}

/* ----- checkpoints ------------------------------------------------------------------------- */

static const char *const counter_names[] = {"__iteration", "__draw", "__seed"};
enum { COUNTERS = 3 };

/* The checkpoint's tensors, in leaf order, then the counters; their data is refreshed before
 * each write, so writing allocates nothing of ours. */
static void prepare_checkpoint(Runtime *rt)
{
    const double zero = 0;
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role == ROLE_INPUT)
            continue;
        memset(rt->scratch, 0, sizeof(double) * (size_t)dims_count(&l->dims));
        st_add(&rt->ckpt, l->name, l->dims.ndim, l->dims.dim, rt->scratch);
    }
    for (int c = 0; c < COUNTERS; c++)
        st_add(&rt->ckpt, counter_names[c], 0, NULL, &zero);
}

static int exact_in_float(uint64_t v) { return (uint64_t)(float)v == v; }

/* ckpt/step_<iter>.safetensors and ckpt/last.safetensors, each written atomically. */
static int write_checkpoint(Runtime *rt, long iter)
{
    StTensor *t = rt->ckpt.tensors;
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role != ROLE_INPUT)
            to_double(rt->m.is_f64, l->data, (t++)->data, dims_count(&l->dims));
    }
    const uint64_t counters[COUNTERS] = {(uint64_t)iter, rt->draw, rt->seed};
    int as_f64 = rt->m.is_f64;
    for (int c = 0; c < COUNTERS; c++) {
        t[c].data[0] = (double)counters[c];
        as_f64 |= !exact_in_float(counters[c]); /* an F32 file could not hold it exactly */
    }
    char err[512];
    if (st_write(out_path(rt, "ckpt/step_%ld.safetensors", iter), &rt->ckpt, as_f64, err, sizeof err) != 0 ||
        st_write(out_path(rt, "ckpt/last.safetensors"), &rt->ckpt, as_f64, err, sizeof err) != 0)
        return rt_error(rt, "%s", err);
    return 0;
}

/* A counter: a scalar holding a whole number in [0, 2^53]. */
static int read_counter(Runtime *rt, const StFile *f, const char *path, const char *name, uint64_t *out)
{
    const StTensor *t = st_find(f, name);
    double v = t && t->ndim == 0 ? t->data[0] : -1;
    if (!(v >= 0 && v <= (double)MAX_EXACT_SEED && v == floor(v)))
        return rt_error(rt, "%s: '%s' is missing or is not a count (not a checkpoint of this runtime?)",
                        path, name);
    *out = (uint64_t)v;
    return 0;
}

static Dims tensor_dims(const StTensor *t)
{
    Dims d = {t->ndim, {0}};
    for (int k = 0; k < t->ndim; k++)
        d.dim[k] = t->shape[k];
    return d;
}

/* Every param and state leaf must be in the file with its shape. */
static int check_checkpoint_leaves(Runtime *rt, const StFile *f, const char *path)
{
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role == ROLE_INPUT)
            continue;
        const StTensor *t = st_find(f, l->name);
        if (!t)
            return rt_error(rt, "%s: no tensor '%s' (a %s of this model)", path, l->name,
                            l->role == ROLE_PARAM ? "parameter" : "state tensor");
        Dims d = tensor_dims(t);
        char have[96], want[96];
        if (!dims_equal(&d, &l->dims))
            return rt_error(rt, "%s: '%s' has shape %s, but the model's is %s", path, l->name,
                            dims_text(have, sizeof have, &d), dims_text(want, sizeof want, &l->dims));
    }
    return 0;
}

/* --resume: parameters, state and counters from the file; the run continues at the iteration
 * after the checkpoint's with its draw counter and seed. */
static int load_checkpoint(Runtime *rt, const char *path)
{
    StFile f = {0};
    char err[512];
    uint64_t iteration, draw, seed;
    int rc = 1;
    if (st_read(path, &f, err, sizeof err) != 0)
        rc = rt_error(rt, "%s", err);
    else if (check_checkpoint_leaves(rt, &f, path) == 0 &&
             read_counter(rt, &f, path, "__iteration", &iteration) == 0 &&
             read_counter(rt, &f, path, "__draw", &draw) == 0 &&
             read_counter(rt, &f, path, "__seed", &seed) == 0) {
        if (rt->opt.has_seed && rt->opt.seed != seed) {
            rc = rt_error(rt, "%s: the run used seed %llu, but --seed %llu was given", path,
                          (unsigned long long)seed, (unsigned long long)rt->opt.seed);
        } else {
            for (int i = 0; i < rt->m.nleaves; i++) {
                Leaf *l = &rt->m.leaves[i];
                if (l->role != ROLE_INPUT)
                    from_double(rt->m.is_f64, l->data, st_find(&f, l->name)->data, dims_count(&l->dims));
            }
            rt->first_iter = (long)iteration + 1;
            rt->draw = draw;
            rt->seed = seed;
            rc = 0;
        }
    }
    st_free(&f);
    return rc;
}

/* ----- evaluation (--eval, --eval-values) -------------------------------------------------- */

/* The tensors of `path` replace the values of the eval graph's leaves they name. */
static int overlay_values(Runtime *rt, const Graph *g, const char *path)
{
    StFile f = {0};
    char err[512], have[96], want[96];
    int rc = 0;
    if (st_read(path, &f, err, sizeof err) != 0)
        rc = rt_error(rt, "%s", err);
    for (int i = 0; rc == 0 && i < f.count; i++) {
        const StTensor *t = &f.tensors[i];
        int leaf = find_leaf(&rt->m, t->name), used = 0;
        for (int k = 0; k < g->nuse && leaf >= 0; k++)
            used |= g->use[k] == leaf;
        if (leaf < 0) {
            rc = rt_error(rt, "%s: '%s' is not a parameter, state or input of this experiment", path,
                          t->name);
            break;
        }
        if (!used) {
            rc = rt_error(rt, "%s: the evaluation does not use '%s' (to evaluate a checkpoint, use "
                          "--resume CKPT --eval)", path, t->name);
            break;
        }
        Leaf *l = &rt->m.leaves[leaf];
        Dims d = tensor_dims(t);
        if (!dims_equal(&d, &l->dims))
            rc = rt_error(rt, "%s: '%s' has shape %s, but the model's is %s", path, t->name,
                          dims_text(have, sizeof have, &d), dims_text(want, sizeof want, &l->dims));
        else
            from_double(rt->m.is_f64, l->data, t->data, dims_count(&l->dims));
    }
    st_free(&f);
    return rc;
}

/* One run of the eval graph on the seeded values at draw 0 (as `ganc eval`), overridden by the
 * --eval-values file; every output, under its own name, to the -o file in the model's dtype. */
static int evaluate(Runtime *rt)
{
    if (rt->m.eval < 0)
        return rt_error(rt, "this model has no eval graph");
    const Graph *g = &rt->m.graphs[rt->m.eval];
    draw_inputs(rt, g, rt->seed, 0);
    if (rt->opt.eval_in && overlay_values(rt, g, rt->opt.eval_in) != 0)
        return 1;
    call_graph(rt, g);
    StFile out = {0};
    for (int k = 0; k < g->nout; k++) {
        const Output *o = &g->out[k];
        to_double(rt->m.is_f64, o->data, rt->scratch, dims_count(&o->dims));
        st_add(&out, o->name, o->dims.ndim, o->dims.dim, rt->scratch);
    }
    char err[512];
    int rc = st_write(rt->opt.eval_out, &out, rt->m.is_f64, err, sizeof err) != 0 ? rt_error(rt, "%s", err) : 0;
    st_free(&out);
    return rc;
}

/* ----- training ---------------------------------------------------------------------------- */

static int is_snapshot_point(const Runtime *rt, long iter)
{
    return iter == rt->steps || (rt->m.sample_every > 0 && iter % rt->m.sample_every == 0);
}

/* The output directory and everything written into it, prepared before the first step. */
static int prepare_outputs(Runtime *rt)
{
    if (rt->opt.out_dir)
        rt->out_dir = strdup(rt->opt.out_dir);
    else if (asprintf(&rt->out_dir, "runs/%s", rt->m.name) < 0)
        rt->out_dir = NULL;
    size_t longest_stem = 0;
    rt->sample_stems = xcalloc((size_t)rt->m.nsamples, sizeof(char *));
    for (int i = 0; i < rt->m.nsamples; i++) {
        rt->sample_stems[i] = file_stem(rt->m.samples[i].label);
        size_t len = strlen(rt->sample_stems[i]);
        longest_stem = len > longest_stem ? len : longest_stem;
    }
    rt->path_cap = strlen(rt->out_dir) + longest_stem + 96;
    rt->path = xcalloc(rt->path_cap, 1);
    static const char *const subdirs[] = {"", "samples", "ckpt"};
    for (int i = 0; i < 3; i++) {
        const char *dir = out_path(rt, "%s", subdirs[i]);
        if (make_dirs(dir) != 0)
            return rt_error(rt, "cannot create directory %s: %s", dir, strerror(errno));
    }
    for (int i = 0; i < rt->m.nlogs; i++)
        rt->log_needs_eval |= rt->m.graphs[rt->m.logs[i].graph].kind == GRAPH_EVAL;
    prepare_checkpoint(rt);
    return open_log(rt);
}

/* Iterations first_iter .. steps of the schedule: each step graph in order, TIMES times. */
static int train(Runtime *rt)
{
    rt->progress.enabled = !rt->opt.quiet && isatty(STDERR_FILENO);
    rt->progress.start = now_seconds();
    for (long iter = rt->first_iter; iter <= rt->steps; iter++) {
        rt->iter = iter;
        for (int i = 0; i < rt->m.ngraphs; i++)
            if (rt->m.graphs[i].kind == GRAPH_STEP && run_step(rt, &rt->m.graphs[i], iter) != 0)
                return 1;
        if (is_log_point(rt, iter))
            write_log_line(rt, iter);
        progress_update(rt, iter);
        if (is_snapshot_point(rt, iter) && (write_samples(rt, iter) != 0 || write_checkpoint(rt, iter) != 0))
            return 1;
        if (rt->m.fid >= 0 && rt->m.fid_every > 0 && (iter % rt->m.fid_every == 0 || iter == rt->steps) &&
            log_fid(rt, iter) != 0)
            return 1;
    }
    progress_end(rt);
    return 0;
}

static void print_summary(const Runtime *rt)
{
    printf("log:         %s/log.jsonl\n", rt->out_dir);
    if (rt->m.sample >= 0)
        printf("samples:     %s/samples/\n", rt->out_dir);
    printf("checkpoints: %s/ckpt/ (latest: %s/ckpt/last.safetensors)\n", rt->out_dir, rt->out_dir);
}

/* ----- the driver -------------------------------------------------------------------------- */

static const char *program_name(const char *argv0)
{
    if (!argv0 || !*argv0)
        return "ganrt";
    const char *slash = strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

/* Every data set a leaf draws from, loaded and checked against the leaf's shape once, so the
 * draws never fail (fill_values assumes fill_check passed). */
static int check_data_sets(Runtime *rt)
{
    char err[512];
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        long rows = l->dims.ndim ? l->dims.dim[0] : 1;
        if (fill_check(&l->fill, l->name, rows, dims_count(&l->dims) / rows, err, sizeof err) != 0)
            return rt_error(rt, "%s", err);
    }
    return 0;
}

/* After the options: data sets, storage, initial values or a checkpoint, then evaluate or
 * train. */
static int run(Runtime *rt, GanGraphFn const *fns)
{
    if (check_data_sets(rt) != 0)
        return 1;
    if (rt->opt.has_threads)
        openblas_set_num_threads(rt->opt.threads);
    allocate(rt, fns);
    rt->seed = rt->opt.has_seed ? rt->opt.seed : rt->m.seed;
    rt->steps = rt->opt.has_steps ? rt->opt.steps : rt->m.iters;
    rt->first_iter = 1;
    init_leaves(rt);
    if (rt->opt.resume && load_checkpoint(rt, rt->opt.resume) != 0)
        return 1;
    if (rt->opt.eval || rt->opt.eval_in)
        return evaluate(rt);
    if (rt->first_iter > rt->steps) {
        if (!rt->opt.quiet)
            fprintf(stderr, "%s: nothing to train: the run is at iteration %ld and --steps is %ld\n",
                    rt->exe, rt->first_iter - 1, rt->steps);
        return 0;
    }
    if (prepare_outputs(rt) != 0 || train(rt) != 0)
        return 1;
    if (!rt->opt.quiet)
        print_summary(rt);
    return 0;
}

int ganrt_main(const char *desc, GanGraphFn const *fns, int argc, char **argv)
{
    Runtime rt;
    memset(&rt, 0, sizeof rt);
    rt.exe = program_name(argc > 0 ? argv[0] : NULL);
    char err[300];
    int rc;
    if (model_parse(&rt.m, desc, err, sizeof err) != 0) {
        fprintf(stderr, "%s: internal error: the model description is malformed: %s\n", rt.exe, err);
        rc = 1;
    } else if ((rc = parse_options(&rt, argc, argv)) == 0) {
        if (rt.opt.help)
            print_usage(&rt, stdout);
        else
            rc = run(&rt, fns);
    }
    runtime_free(&rt);
    return rc;
}
