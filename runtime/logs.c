/* logs.c: what a run writes besides checkpoints: the output directory, log.jsonl (logged
 * values, toy metrics, FID and KID), the progress line on a terminal, and the samples
 * (samples/LABEL_ITER.npy and .csv, and .png grids for image-shaped ones). */
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

#include "dist.h"
#include "guard.h"
#include "rt.h"
#include "fid.h"
#include "metrics.h"
#include "plot.h"
#include "png.h"
#include "policy.h"
#include "samplers.h"

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
const char *out_path(Runtime *rt, const char *fmt, ...)
{
    int used = snprintf(rt->path, rt->path_cap, "%s/", rt->out_dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt->path + used, rt->path_cap - (size_t)used, fmt, ap);
    va_end(ap);
    return rt->path;
}

/* ----- the log and the progress line ------------------------------------------------------- */

/* ", \"PREFIXLABEL\": ": a key of a log line, the label escaped as JSON wants (labels are any
 * source text: quotes, backslashes, newlines). */
static void json_key(FILE *f, const char *prefix, const char *s)
{
    char *key = NULL;
    if (asprintf(&key, "%s%s", prefix, s) < 0)
        key = NULL;
    fputs(", ", f);
    record_json_string(f, key ? key : s); /* the run record's escaping: one JSON string writer */
    fputs(": ", f);
    free(key);
}

static double log_value(const Runtime *rt, const GanLog *r)
{
    return value_at(rt->m.is_f64, rt->m.graphs[r->graph].out[r->output].data, 0);
}

/* Every log line starts {"step": N, "time": T: T in seconds of training since the run began,
 * the earlier sessions' included (a resumed run's clock starts at its log's last time). */
static void log_line_start(Runtime *rt, long iter)
{
    fprintf(rt->log, "{\"step\": %ld, \"time\": %.6f", iter, now_seconds() - rt->clock_start);
}

int is_log_point(const Runtime *rt, long iter)
{
    return policy_is_log_point(iter, rt->m.log_every, rt->steps);
}

/* {"step": N, "LABEL": v, ...}: a step graph's values from its latest execution; the eval graph
 * runs now, on inputs drawn under the eval key at draw number N. */
void write_log_line(Runtime *rt, long iter)
{
    if (rt->log_needs_eval) {
        const Graph *eval = &rt->m.graphs[rt->m.eval];
        draw_inputs(rt, eval, derived_key(rt, EVAL_KEY_SALT), (uint64_t)iter);
        call_graph(rt, eval);
    }
    log_line_start(rt, iter);
    if (dist_size() > 1) /* a data-parallel run: how many processes shared each batch */
        fprintf(rt->log, ", \"ranks\": %d", dist_size());
    for (int i = 0; i < rt->m.nlogs; i++) {
        double v = log_value(rt, &rt->m.logs[i]);
        json_key(rt->log, "", rt->m.logs[i].label);
        if (isfinite(v))
            fprintf(rt->log, "%.9g", v);
        else
            fputs("null", rt->log);
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

double now_seconds(void)
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
void progress_update(Runtime *rt, long iter)
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

void progress_end(Runtime *rt)
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
        if (l->role != ROLE_INPUT || l->fill.kind != INIT_DATA || l->dims.ndim != 2 || l->dims.dim[1] != dim)
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
        FILE *f = rt->log;
        log_line_start(rt, iter);
        json_key(f, "modes ", label), fprintf(f, "%d, \"modes total\": %d", t.covered, t.modes);
        json_key(f, "high_quality ", label), fprintf(f, "%.6g", t.quality);
        json_key(f, "kl ", label), fprintf(f, "%.6g", t.kl);
        if (modes == 2) {
            json_key(f, "count0 ", label), fprintf(f, "%.0f", t.count[0]);
            json_key(f, "count1 ", label), fprintf(f, "%.0f", t.count[1]);
        }
        fputs("}\n", f);
        fflush(rt->log);
    }
    free(centres);
}

/* The first data input whose rows have `dim` values: what a sample of that width imitates. */
static const Leaf *data_leaf(const Runtime *rt, int dim)
{
    for (int i = 0; i < rt->m.nleaves; i++) {
        const Leaf *l = &rt->m.leaves[i];
        if (l->role == ROLE_INPUT && l->fill.kind == INIT_DATA && l->dims.ndim == 2 && l->dims.dim[1] == dim)
            return l;
    }
    return NULL;
}

/* A batch of 2-D points as a scatter plot, of 1-D values as a histogram (plot.h), beside a batch
 * of the real data when a data input has that width. The real batch is drawn under the sample
 * key at draw 0, the same at every sample step, so the axes it fixes stay put from frame to
 * frame (without data, the axes follow the samples). */
static int write_sample_plot(Runtime *rt, const Output *o, const char *stem, long iter)
{
    const Dims *d = &o->dims;
    int dim = d->ndim == 1 ? 1 : d->ndim == 2 && d->dim[1] <= 2 ? (int)d->dim[1] : 0;
    if (!dim)
        return 0;
    long n = d->dim[0];
    const Leaf *data = data_leaf(rt, dim);
    long nreal = data ? data->dims.dim[0] : 0;
    const SamplerInfo *s = data ? sampler_find(data->fill.sampler) : NULL;
    int k = s ? sampler_modes(s, data->fill.args, NULL, 0) : 0;
    double *real = xcalloc((size_t)(nreal * dim + 1), sizeof(double));
    double *centres = xcalloc((size_t)(k * dim + 1), sizeof(double));
    if (data)
        fill_values(&data->fill, derived_key(rt, SAMPLE_KEY_SALT), data->name, 0, real, nreal * dim, nreal);
    if (k)
        sampler_modes(s, data->fill.args, centres, k);
    to_double(rt->m.is_f64, o->data, rt->scratch, n * dim);
    double xr[2], yr[2];
    plot_range(data ? real : rt->scratch, data ? nreal : n, centres, k, dim, 0, xr);
    plot_range(data ? real : rt->scratch, data ? nreal : n, centres, k, dim, dim - 1, yr);
    char err[512];
    const char *path = out_path(rt, "samples/%s_%ld.png", stem, iter);
    int rc = dim == 2 ? plot_scatter(path, rt->scratch, n, real, nreal, centres, k, xr, yr, err, sizeof err)
                      : plot_histogram(path, rt->scratch, n, real, nreal, xr, err, sizeof err);
    free(real);
    free(centres);
    return rc != 0 ? rt_error(rt, "%s", err) : 0;
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

int log_fid(Runtime *rt, long iter)
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
        log_line_start(rt, iter);
        fprintf(rt->log, ", \"fid\": %.6g, \"kid\": %.6g, \"fid samples\": %ld}\n", fid, kid, n);
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
int write_samples(Runtime *rt, long iter)
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
        if (write_sample_grid(rt, o, rt->sample_stems[i], iter) != 0 ||
            write_sample_plot(rt, o, rt->sample_stems[i], iter) != 0)
            return 1;
    }
    return 0;
}

/* The run record (record.h): this session's settings, appended to OUT/run.json and carried by
 * every checkpoint's metadata. Called once the output directory exists. */
static int start_record(Runtime *rt)
{
    RunRecord *r = &rt->record;
    record_text(r, "experiment", rt->m.name);
    record_text(r, "dtype", rt->m.is_f64 ? "f64" : "f32");
    record_number(r, "seed", (double)rt->seed);
    record_number(r, "batch", (double)rt->m.batch);
    record_number(r, "first_step", (double)rt->first_iter);
    record_number(r, "steps", (double)rt->steps);
    record_text(r, "resumed_from", rt->opt.resume);
    record_number(r, "threads", (double)openblas_get_num_threads());
    for (int i = 0; i < rt->m.nleaves; i++)
        if (!strncmp(rt->m.leaves[i].name, "hyper.", 6))
            record_number(r, rt->m.leaves[i].name, rt->m.leaves[i].fill.a);
    record_environment(r, rt->out_dir, rt->argc, rt->argv);
    rt->metadata = record_metadata(r);
    rt->ckpt.metadata = rt->metadata;
    char err[600];
    return record_write(r, rt->out_dir, err, sizeof err) != 0 ? rt_error(rt, "%s", err) : 0;
}

/* The output directory and everything written into it, prepared before the first step. */
int prepare_outputs(Runtime *rt)
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
    char err[600];
    if (guard_lock(rt->out_dir, err, sizeof err) != 0) /* before anything in it is touched */
        return rt_error(rt, "%s", err);
    for (int i = 0; i < 3; i++)
        guard_clear_stale(out_path(rt, "%s", subdirs[i]));
    for (int i = 0; i < rt->m.nlogs; i++)
        rt->log_needs_eval |= rt->m.graphs[rt->m.logs[i].graph].kind == GRAPH_EVAL;
    prepare_checkpoint(rt);
    if (start_record(rt) != 0 || open_log(rt) != 0)
        return 1;
    rt->clock_start = now_seconds() - (rt->first_iter > 1 ? record_last_time(out_path(rt, "log.jsonl")) : 0);
    return 0;
}
