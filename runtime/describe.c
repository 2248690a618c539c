/* describe.c: libganrt reads the model description the compiler wrote (runtime/ganrt.h) into
 * the driver's Model (rt.h), checking every record. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "samplers.h"

/* ----- parsing ------------------------------------------------------------------------------ */

/* Numbers as text: a count is decimal digits only (no sign, no space, no junk), which is what
 * both the description and the command line must hold. */
int parse_count(const char *s, uint64_t *out)
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

void model_free(Model *m)
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
int model_parse(Model *m, const char *desc, char *err, size_t errlen)
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

