/* fill.c: see fill.h. A tensor's values come from the counter-based generator at (seed, the
 * hash of its name, draw * size + element), so any draw of any tensor is reproducible alone.
 * Fixed sets (a sampler's first points, or a data set file) are visited epoch by epoch, each
 * epoch a permutation that is a pure function of (seed, stream, epoch) too. */
#include "fill.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dataset.h"
#include "rng.h"
#include "safetensors.h"
#include "samplers.h"

/* A random permutation of 0..n-1 per epoch, as a function: a 4-round Feistel network on the
 * smallest square power of two that holds n, walking cycles until the value falls below n. */
static uint64_t shuffled_index(uint64_t i, uint64_t n, uint64_t seed, uint64_t stream, uint64_t epoch) {
    int half = 1;
    while ((1ull << (2 * half)) < n) half++;
    uint64_t mask = (1ull << half) - 1;
    do {
        uint64_t left = i >> half, right = i & mask;
        for (uint64_t round = 0; round < 4; round++) {
            uint32_t w[4];
            rng_philox(seed, stream ^ 0x5851F42D4C957F2Dull, ((epoch * 4 + round) << 32) | right, w);
            uint64_t mixed = left ^ (w[0] & mask);
            left = right;
            right = mixed;
        }
        i = (left << half) | right;
    } while (i >= n);
    return i;
}

/* The item of a set of n at `position` of the sequence of epochs, each a new permutation. */
static uint64_t epoch_index(uint64_t position, uint64_t n, uint64_t seed, uint64_t stream) {
    return shuffled_index(position % n, n, seed, stream, position / n);
}

/* The rows of a draw: rows row0 .. row0 + nrows - 1 of a draw of `rows` rows (a shard's part of
 * the whole batch, or all of it), of per_row values each. Row r of draw d is at position
 * d * rows + r of the leaf's sequence, whoever draws it. */
typedef struct RowRange {
    long rows, row0, nrows, per_row;
} RowRange;

static uint64_t row_position(uint64_t draw, const RowRange *rr, long r) {
    return draw * (uint64_t)rr->rows + (uint64_t)(rr->row0 + r);
}

/* samples of a fixed set of `points`, at the rows' positions of the sequence of epochs */
static void draw_from_set(const LeafInit *spec, uint64_t seed, uint64_t stream, uint64_t draw, double *out,
                          const RowRange *rr) {
    const SamplerInfo *s = sampler_find(spec->sampler);
    for (long r = 0; r < rr->nrows; r++) {
        uint64_t index = epoch_index(row_position(draw, rr, r), (uint64_t)spec->points, seed, stream);
        s->draw(spec->args, seed, stream, index, out + r * rr->per_row, 1);
    }
}

/* ----- data set files (FILE, LABELS) ----- */

static long file_items(const LeafInit *spec, const Dataset *d) { return spec->points ? spec->points : d->count; }

/* The shuffle key: the order file's, so that leaves sharing it stay paired (fill.h). */
static uint64_t file_stream(const LeafInit *spec) { return rng_stream_id(spec->order ? spec->order : spec->file); }

/* The data set of a leaf, read on its first draw when only fill_check_shape ran (the
 * interpreter's case): a file that turns out corrupt past its header ends the program with a
 * message naming it. */
static const Dataset *checked_dataset(const LeafInit *spec) {
    char err[512];
    const Dataset *d = dataset_load(spec->file, err, sizeof err);
    if (!d) {
        fprintf(stderr, "error: %s\n", err);
        exit(1);
    }
    return d;
}

/* One row: item `index`'s values, converted as they are drawn, or the one-hot row of its label. */
static void write_row(const LeafInit *spec, const Dataset *d, uint64_t index, double *row, long per_row) {
    if (spec->kind == INIT_FILE) {
        dataset_item(d, (long)index, row); /* fill_check: its item_size is per_row */
        return;
    }
    memset(row, 0, sizeof(double) * (size_t)per_row);
    row[(long)dataset_value(d, (long)index)] = 1;
}

static void draw_from_file(const LeafInit *spec, uint64_t seed, uint64_t draw, double *out, const RowRange *rr) {
    const Dataset *d = checked_dataset(spec);
    uint64_t n = (uint64_t)file_items(spec, d), stream = file_stream(spec);
    for (long r = 0; r < rr->nrows; r++) {
        uint64_t index = epoch_index(row_position(draw, rr, r), n, seed, stream);
        write_row(spec, d, index, out + r * rr->per_row, rr->per_row);
    }
}

/* ----- fill_check ----- */

__attribute__((format(printf, 3, 4)))
static int check_fail(char *err, int errlen, const char *fmt, ...) {
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, (size_t)errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* "[28,28]": an item's shape, for messages. */
static const char *item_shape(const Dataset *d, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < d->ndim && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, k ? ",%ld" : "%ld", d->dims[k]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

/* The order file decides the permutation over n items: it must have as many (fill.h). */
static int check_order(const LeafInit *spec, const Dataset *d, char *err, int errlen) {
    if (!spec->order || strcmp(spec->order, spec->file) == 0)
        return 0;
    const Dataset *o = dataset_header(spec->order, err, errlen);
    if (!o)
        return -1;
    if (spec->points ? spec->points > o->count : o->count != d->count)
        return check_fail(err, errlen, "%s: it has %ld items, but %s, whose order it follows, has %ld", spec->file,
                          file_items(spec, d), spec->order, o->count);
    return 0;
}

static int check_items(const LeafInit *spec, const Dataset *d, long per_row, char *err, int errlen) {
    char shape[128];
    if (d->item_size != per_row)
        return check_fail(err, errlen, "%s: its items have %ld values (shape %s), but the leaf's rows have %ld",
                          spec->file, d->item_size, item_shape(d, shape, sizeof shape), per_row);
    return 0;
}

/* One whole number per item, in 0..classes-1, for the one-hot rows of `classes` values. */
static int check_labels(const LeafInit *spec, const Dataset *d, long per_row, char *err, int errlen) {
    if (spec->classes < 1)
        return check_fail(err, errlen, "%s: a labels leaf needs the number of classes", spec->file);
    if (per_row != spec->classes)
        return check_fail(err, errlen, "%s: one-hot rows of %d classes, but the leaf's rows have %ld values",
                          spec->file, spec->classes, per_row);
    if (d->item_size != 1)
        return check_fail(err, errlen, "%s: its items have %ld values, not one class label each", spec->file,
                          d->item_size);
    for (long i = 0; i < file_items(spec, d); i++) {
        double v = dataset_value(d, i);
        if (!(v >= 0 && v < spec->classes && v == floor(v)))
            return check_fail(err, errlen, "%s: item %ld has label %g, outside 0..%d", spec->file, i, v,
                              spec->classes - 1);
    }
    return 0;
}

/* The safetensors file of TENSOR leaves, read once: every parameter of a pretrained network
 * comes from the same file, so the last one read is kept (freed at exit). */
static StFile tensor_cache;
static char *tensor_cache_path;

static void free_tensor_cache(void) {
    st_free(&tensor_cache);
    free(tensor_cache_path);
    tensor_cache_path = NULL;
}

static const StFile *tensor_file(const char *path, char *err, int errlen) {
    static int registered;
    if (tensor_cache_path && strcmp(tensor_cache_path, path) == 0) return &tensor_cache;
    free_tensor_cache();
    memset(&tensor_cache, 0, sizeof tensor_cache);
    if (st_read_finite(path, &tensor_cache, err, errlen) != 0) return NULL;
    tensor_cache_path = strdup(path);
    if (!registered) registered = atexit(free_tensor_cache) == 0;
    return &tensor_cache;
}

/* A pretrained tensor: `name` in the safetensors file, with rows * per_row values. */
static int check_tensor(const LeafInit *spec, const char *name, long size, char *err, int errlen) {
    const StFile *f = tensor_file(spec->file, err, errlen);
    if (!f) return -1;
    const StTensor *t = st_find(f, name);
    long n = 1;
    for (int i = 0; t && i < t->ndim; i++) n *= t->shape[i];
    return t && n == size ? 0 : check_fail(err, errlen, "%s: no tensor '%s' of %ld values", spec->file, name, size);
}

static void copy_tensor(const LeafInit *spec, const char *name, double *out, long size) {
    char err[256];
    const StFile *f = tensor_file(spec->file, err, sizeof err);
    const StTensor *t = f ? st_find(f, name) : NULL;
    if (t) memcpy(out, t->data, sizeof(double) * (size_t)size);
}

/* Both checks; `read`: the data of a FILE leaf is read too (labels always are: they are checked
 * one by one). */
static int check_leaf(const LeafInit *spec, const char *name, long rows, long per_row, int read, char *err,
                      int errlen) {
    if (spec->kind == INIT_TENSOR)
        return check_tensor(spec, name, rows * per_row, err, errlen);
    if (spec->kind != INIT_FILE && spec->kind != INIT_LABELS)
        return 0;
    if (!spec->file)
        return check_fail(err, errlen, "a %s leaf without a file", init_kind_name(spec->kind));
    const Dataset *d = read || spec->kind == INIT_LABELS ? dataset_load(spec->file, err, errlen)
                                                          : dataset_header(spec->file, err, errlen);
    if (!d)
        return -1;
    if (rows < 1 || d->count < 1)
        return check_fail(err, errlen, "%s: %s", spec->file, rows < 1 ? "drawn into a leaf with no rows" : "it has no items");
    if (spec->points < 0 || spec->points > d->count)
        return check_fail(err, errlen, "%s: %ld points asked for, but it has %ld items", spec->file, spec->points,
                          d->count);
    if (check_order(spec, d, err, errlen) != 0)
        return -1;
    return spec->kind == INIT_FILE ? check_items(spec, d, per_row, err, errlen)
                                   : check_labels(spec, d, per_row, err, errlen);
}

int fill_check(const LeafInit *spec, const char *name, long rows, long per_row, char *err, int errlen) {
    return check_leaf(spec, name, rows, per_row, 1, err, errlen);
}

int fill_check_shape(const LeafInit *spec, const char *name, long rows, long per_row, char *err, int errlen) {
    return check_leaf(spec, name, rows, per_row, 0, err, errlen);
}

const char *init_kind_name(InitKind kind) {
    static const char *const names[] = {
#define X(kind, text) text,
        INIT_KIND_LIST(X)
#undef X
    };
    return (unsigned)kind < INIT_KIND_COUNT ? names[kind] : "?";
}

/* ----- fill_values ----- */

void fill_rows(const LeafInit *spec, uint64_t seed, const char *name, uint64_t draw, double *out, long size,
               long rows, long row0, long nrows) {
    if (spec->fixed) draw = 0;
    RowRange rr = {rows, row0, nrows, size / rows};
    long n = nrows * rr.per_row; /* the values written */
    uint64_t stream = rng_stream_id(name), index0 = draw * (uint64_t)size + (uint64_t)(row0 * rr.per_row);
    switch (spec->kind) {
    case INIT_ZEROS: memset(out, 0, sizeof(double) * (size_t)n); break;
    case INIT_CONSTANT:
        for (long i = 0; i < n; i++) out[i] = spec->a;
        break;
    case INIT_UNIFORM:
        rng_uniform(seed, stream, index0, out, n);
        for (long i = 0; i < n; i++) out[i] = spec->a + (spec->b - spec->a) * out[i];
        break;
    case INIT_NORMAL:
        rng_normal(seed, stream, index0, out, n);
        for (long i = 0; i < n; i++) out[i] = spec->a + spec->b * out[i];
        break;
    case INIT_DATA:
        if (spec->points)
            draw_from_set(spec, seed, stream, draw, out, &rr);
        else
            sampler_find(spec->sampler)->draw(spec->args, seed, stream, row_position(draw, &rr, 0), out, (int)nrows);
        break;
    case INIT_FILE: case INIT_LABELS:
        draw_from_file(spec, seed, draw, out, &rr);
        break;
    case INIT_TENSOR:
        copy_tensor(spec, name, out, size); /* fill_check saw it there; a parameter, never split */
        break;
    case INIT_COPY: case INIT_PROGRESS: case INIT_KIND_COUNT:
        break; /* the caller's (see fill.h) */
    }
}

void fill_values(const LeafInit *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows) {
    fill_rows(spec, seed, name, draw, out, size, rows, 0, rows);
}
