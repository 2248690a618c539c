/* dataset.c: see dataset.h. A file is read whole through a Stream (plain bytes, or a gzip
 * member inflated by zlib, which must end exactly at the end of the file), its format is told
 * by its magic bytes, its header becomes a Layout (element type, shape, where the data starts),
 * and one routine checks the data's length against the layout and, for floats, that every value
 * is finite, for both formats. The file's bytes are kept as read, the data in its stored type:
 * an item becomes doubles when it is drawn (dataset_item). dataset_header stops after the
 * header, taking the data's length from the file's size or gzip trailer, which is all the
 * compiler needs of a data set. Nothing in a file is trusted: every length is checked before it
 * is used, so any input gives a data set or a message, never a crash. */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ----- errors ------------------------------------------------------------------------------ */

/* "PATH: what"; always -1, so a failure is `return fail(...)`. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, int errlen, const char *path, const char *fmt, ...)
{
    if (!err || errlen <= 0)
        return -1;
    int used = snprintf(err, (size_t)errlen, "%s: ", path);
    if (used >= 0 && used < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + used, (size_t)(errlen - used), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ----- reading the file ---------------------------------------------------------------------- */

typedef struct Bytes {
    unsigned char *data;
    size_t len;
    int gzipped;
} Bytes;

/* A file is read through a Stream: plain bytes, or inflated ones when it starts with the gzip
 * magic (1f 8b). zlib's inflate is driven directly, not through gzread, because gzread accepts
 * what a data file must not have: bytes after the gzip member (garbage or a second member) are
 * silently read past or appended. Here the one member must end exactly at the end of the file. */
typedef struct Stream {
    const char *path;
    FILE *f;
    int gzipped, ended; /* ended: the gzip member's end was reached */
    z_stream zs;
    unsigned char in[1 << 16];
} Stream;

static int stream_open(Stream *s, const char *path, char *err, int errlen)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    errno = 0;
    if (!(s->f = fopen(path, "rb")))
        return fail(err, errlen, path, "cannot open: %s", errno ? strerror(errno) : "out of memory");
    int c0 = getc(s->f), c1 = c0 == EOF ? EOF : getc(s->f);
    if (ferror(s->f) || fseek(s->f, 0, SEEK_SET) != 0) {
        int saved = errno;
        fclose(s->f);
        return fail(err, errlen, path, "cannot read: %s", strerror(saved));
    }
    s->gzipped = c0 == 0x1f && c1 == 0x8b;
    if (s->gzipped && inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK) { /* 16: the gzip wrapper only */
        fclose(s->f);
        return fail(err, errlen, path, "out of memory");
    }
    return 0;
}

static void stream_close(Stream *s)
{
    if (s->gzipped)
        inflateEnd(&s->zs);
    fclose(s->f);
}

/* The member has ended: nothing may follow it, neither in the buffer nor in the file. */
static int stream_check_end(Stream *s, char *err, int errlen)
{
    s->ended = 1;
    if (s->zs.avail_in == 0 && getc(s->f) == EOF && !ferror(s->f))
        return 0;
    return fail(err, errlen, s->path, "bytes after the end of its gzip stream (a data file is one gzip member, nothing after it)");
}

/* Inflates up to n bytes into out; the count (short only at the member's end), or -1. */
static long inflate_some(Stream *s, unsigned char *out, size_t n, char *err, int errlen)
{
    s->zs.next_out = out;
    s->zs.avail_out = (uInt)n;
    while (s->zs.avail_out > 0 && !s->ended) {
        if (s->zs.avail_in == 0) {
            size_t got = fread(s->in, 1, sizeof s->in, s->f);
            if (ferror(s->f))
                return fail(err, errlen, s->path, "cannot read: %s", strerror(errno));
            if (got == 0)
                return fail(err, errlen, s->path, "truncated: the gzip stream ends early");
            s->zs.next_in = s->in;
            s->zs.avail_in = (uInt)got;
        }
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && stream_check_end(s, err, errlen) != 0)
            return -1;
        if (rc == Z_MEM_ERROR)
            return fail(err, errlen, s->path, "out of memory inflating it");
        if (rc != Z_OK && rc != Z_STREAM_END)
            return fail(err, errlen, s->path, "corrupt gzip data (%s)", s->zs.msg ? s->zs.msg : "invalid stream");
    }
    return (long)(n - s->zs.avail_out);
}

/* Up to n (at most 2^30) bytes of the file's contents into out; the count, short only at the
 * end, or -1 with the reason in err. */
static long stream_read(Stream *s, unsigned char *out, size_t n, char *err, int errlen)
{
    if (s->gzipped)
        return inflate_some(s, out, n, err, errlen);
    size_t got = fread(out, 1, n, s->f);
    if (ferror(s->f))
        return fail(err, errlen, s->path, "cannot read: %s", strerror(errno));
    return (long)got;
}

/* Doubles b's capacity; -1 when memory runs out. */
static int grow(Bytes *b, size_t *cap)
{
    size_t bigger = *cap * 2;
    unsigned char *p = bigger > *cap ? realloc(b->data, bigger) : NULL;
    if (!p)
        return -1;
    b->data = p;
    *cap = bigger;
    return 0;
}

/* The whole file, inflated if it is gzipped. */
static int read_all(const char *path, Bytes *b, char *err, int errlen)
{
    Stream *s = malloc(sizeof *s);
    if (!s)
        return fail(err, errlen, path, "out of memory");
    if (stream_open(s, path, err, errlen) != 0) {
        free(s);
        return -1;
    }
    size_t cap = 1 << 16;
    int rc = 0;
    b->data = malloc(cap);
    b->len = 0;
    while (rc == 0) {
        if (!b->data || (b->len == cap && grow(b, &cap) != 0)) {
            rc = fail(err, errlen, path, "out of memory after reading %zu bytes", b->len);
            break;
        }
        size_t want = cap - b->len < (1u << 30) ? cap - b->len : (1u << 30);
        long got = stream_read(s, b->data + b->len, want, err, errlen);
        if (got < 0)
            rc = -1;
        else
            b->len += (size_t)got;
        if (got < (long)want)
            break;
    }
    b->gzipped = s->gzipped;
    stream_close(s);
    free(s);
    unsigned char *fit = rc == 0 && b->len < cap ? realloc(b->data, b->len ? b->len : 1) : NULL;
    if (fit) /* the data set keeps these bytes: give back the doubling's spare room */
        b->data = fit;
    return rc;
}

/* ----- layouts: what a header says ------------------------------------------------------- */

static const size_t elem_bytes[] = {[DATASET_U8] = 1, [DATASET_F4] = 4, [DATASET_F8] = 8};

typedef struct Layout {
    DatasetType type;
    int ndim;
    uint64_t dims[DATASET_MAXDIM];
    size_t offset; /* where the data starts */
} Layout;

#define MAX_ITEM_VALUES (1ull << 40) /* so that an item's size fits a long, with room to spare */

/* a * b, or UINT64_MAX when that overflows: a size that large is never in a file. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t item_elements(const Layout *l)
{
    uint64_t n = 1;
    for (int k = 1; k < l->ndim; k++)
        n = mul_sat(n, l->dims[k]);
    return n;
}

/* ----- IDX --------------------------------------------------------------------------------- */

static const char *idx_type_name(int type)
{
    switch (type) {
    case 0x09: return "signed bytes";
    case 0x0B: return "16-bit integers";
    case 0x0C: return "32-bit integers";
    case 0x0D: return "floats";
    case 0x0E: return "doubles";
    default: return "an unknown type";
    }
}

/* 0 0 TYPE NDIM, then NDIM big-endian u32 dimensions. */
static int parse_idx(const char *path, const Bytes *b, Layout *l, char *err, int errlen)
{
    int type = b->data[2], ndim = b->data[3];
    if (type != 0x08)
        return fail(err, errlen, path, "unsupported IDX element type 0x%02x (%s); only 0x08 (unsigned bytes) is supported",
                    type, idx_type_name(type));
    if (ndim < 1 || ndim > DATASET_MAXDIM)
        return fail(err, errlen, path, "the IDX header gives %d axes (1 to %d are supported)", ndim, DATASET_MAXDIM);
    l->type = DATASET_U8;
    l->ndim = ndim;
    l->offset = 4 + 4 * (size_t)ndim;
    if (b->len < l->offset)
        return fail(err, errlen, path, "truncated: the file ends inside its IDX header");
    for (int k = 0; k < ndim; k++) {
        const unsigned char *p = b->data + 4 + 4 * k;
        l->dims[k] = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    }
    return 0;
}

/* ----- NPY: the header is a Python dict literal -------------------------------------------- */

typedef struct Cursor {
    const char *at, *end;
} Cursor;

static void skip_space(Cursor *c)
{
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t' || *c->at == '\n'))
        c->at++;
}

/* Skips spaces, then consumes ch if it comes next. */
static int take(Cursor *c, char ch)
{
    skip_space(c);
    if (c->at < c->end && *c->at == ch) {
        c->at++;
        return 1;
    }
    return 0;
}

/* 'text' or "text", at most cap - 1 characters. */
static int py_string(Cursor *c, char *out, size_t cap)
{
    char quote = take(c, '\'') ? '\'' : take(c, '"') ? '"' : 0;
    size_t n = 0;
    if (!quote)
        return -1;
    for (; c->at < c->end && *c->at != quote; c->at++)
        if (n + 1 < cap)
            out[n++] = *c->at;
        else
            return -1;
    out[n] = '\0';
    return c->at < c->end ? (c->at++, 0) : -1;
}

static int py_word(Cursor *c, const char *word)
{
    size_t n = strlen(word);
    skip_space(c);
    if ((size_t)(c->end - c->at) < n || memcmp(c->at, word, n) != 0)
        return 0;
    c->at += n;
    return 1;
}

/* (), (5,) or (60000, 28, 28); dimensions up to 2^40. */
static int py_shape(Cursor *c, Layout *l)
{
    if (!take(c, '('))
        return -1;
    for (l->ndim = 0; !take(c, ')');) {
        if (l->ndim == DATASET_MAXDIM || c->at >= c->end || *c->at < '0' || *c->at > '9')
            return -1;
        uint64_t v = 0;
        for (; c->at < c->end && *c->at >= '0' && *c->at <= '9'; c->at++)
            if ((v = v * 10 + (uint64_t)(*c->at - '0')) > (1ull << 40))
                return -1;
        l->dims[l->ndim++] = v;
        if (!take(c, ',') && !(c->at < c->end && *c->at == ')'))
            return -1;
    }
    return 0;
}

static int npy_dtype(const char *path, const char *descr, Layout *l, char *err, int errlen)
{
    static const struct { const char *descr; DatasetType type; } known[] = {
        {"|u1", DATASET_U8}, {"<f4", DATASET_F4}, {"<f8", DATASET_F8}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(descr, known[i].descr) == 0) {
            l->type = known[i].type;
            return 0;
        }
    return fail(err, errlen, path, "unsupported NPY dtype '%s' (only '<f4', '<f8' and '|u1')", descr);
}

/* One "'key': value" of the dict; *seen gains the key's bit. */
static int npy_entry(const char *path, Cursor *c, Layout *l, unsigned *seen, char *err, int errlen)
{
    char key[32], descr[32];
    if (py_string(c, key, sizeof key) != 0 || !take(c, ':'))
        return fail(err, errlen, path, "malformed NPY header (expected 'key': value)");
    if (strcmp(key, "descr") == 0 && !(*seen & 1)) {
        *seen |= 1;
        if (py_string(c, descr, sizeof descr) != 0)
            return fail(err, errlen, path, "malformed NPY header (descr is not a dtype string)");
        return npy_dtype(path, descr, l, err, errlen);
    }
    if (strcmp(key, "fortran_order") == 0 && !(*seen & 2)) {
        *seen |= 2;
        if (py_word(c, "False"))
            return 0;
        return fail(err, errlen, path, py_word(c, "True") ? "Fortran-order arrays are not supported (save it in C order)"
                                                            : "malformed NPY header (fortran_order is not True or False)");
    }
    if (strcmp(key, "shape") == 0 && !(*seen & 4)) {
        *seen |= 4;
        return py_shape(c, l) == 0 ? 0 : fail(err, errlen, path, "malformed NPY header (bad shape tuple)");
    }
    return fail(err, errlen, path, "malformed NPY header (unexpected or repeated key '%s')", key);
}

/* {'descr': ..., 'fortran_order': ..., 'shape': (...), } in any order. */
static int npy_dict(const char *path, Cursor *c, Layout *l, char *err, int errlen)
{
    unsigned seen = 0;
    if (!take(c, '{'))
        return fail(err, errlen, path, "malformed NPY header (no '{')");
    while (!take(c, '}')) {
        if (npy_entry(path, c, l, &seen, err, errlen) != 0)
            return -1;
        if (!take(c, ',') && !(c->at < c->end && *c->at == '}'))
            return fail(err, errlen, path, "malformed NPY header (expected ',' or '}')");
    }
    if (seen != 7)
        return fail(err, errlen, path, "malformed NPY header (it needs descr, fortran_order and shape)");
    /* numpy pads the dict with spaces and ends the header with one newline; nothing else */
    while (c->at < c->end && *c->at == ' ')
        c->at++;
    if (c->at < c->end && *c->at == '\n' && c->at + 1 == c->end)
        c->at++;
    if (c->at < c->end)
        return fail(err, errlen, path, "malformed NPY header (text after the dict: only spaces and a final newline may follow it)");
    return 0;
}

/* \x93NUMPY, major, minor, header length (u16 in v1, u32 in v2, little-endian), header. */
static int parse_npy(const char *path, const Bytes *b, Layout *l, char *err, int errlen)
{
    const unsigned char *p = b->data;
    if (b->len < 8)
        return fail(err, errlen, path, "truncated: the file ends inside its NPY header");
    if (p[6] != 1 && p[6] != 2)
        return fail(err, errlen, path, "unsupported NPY version %d.%d (1.0 and 2.0 are supported)", p[6], p[7]);
    size_t prefix = p[6] == 1 ? 10 : 12;
    if (b->len < prefix)
        return fail(err, errlen, path, "truncated: the file ends inside its NPY header");
    size_t hlen = p[6] == 1 ? (size_t)p[8] | (size_t)p[9] << 8
                             : (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
    if (hlen > b->len - prefix)
        return fail(err, errlen, path, "truncated: the NPY header is %zu bytes, but the file ends after %zu", hlen,
                    b->len - prefix);
    Cursor c = {(const char *)p + prefix, (const char *)p + prefix + hlen};
    l->offset = prefix + hlen;
    return npy_dict(path, &c, l, err, errlen);
}

/* ----- the data -------------------------------------------------------------------------- */

/* One stored value as a double (exact: a float or a byte widens without rounding). */
static double element(DatasetType type, const unsigned char *p)
{
    if (type == DATASET_U8)
        return p[0];
    uint64_t bits = 0; /* little-endian, whatever the host's order */
    for (size_t k = elem_bytes[type]; k-- > 0;)
        bits = bits << 8 | p[k];
    if (type == DATASET_F8) {
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    uint32_t bits32 = (uint32_t)bits;
    float f;
    memcpy(&f, &bits32, sizeof f);
    return f;
}

/* The data's length must be what the layout says: short is truncated, long is not this file. */
static int check_length(const char *path, const Bytes *b, const Layout *l, char *err, int errlen)
{
    uint64_t item_bytes = mul_sat(item_elements(l), elem_bytes[l->type]);
    uint64_t need = mul_sat(l->dims[0], item_bytes), have = b->len - l->offset;
    const char *gz = b->gzipped ? " once inflated" : "", *unit = item_bytes == 1 ? "byte" : "bytes";
    if (have < need)
        return fail(err, errlen, path, "truncated: the header says %llu items of %llu %s, but the file%s has %llu bytes of data",
                    (unsigned long long)l->dims[0], (unsigned long long)item_bytes, unit, gz, (unsigned long long)have);
    if (have > need)
        return fail(err, errlen, path, "%llu bytes after the %llu items of %llu %s that its header describes",
                    (unsigned long long)(have - need), (unsigned long long)l->dims[0], (unsigned long long)item_bytes, unit);
    return 0;
}

/* The Dataset's shape from the layout, once the data's length (b->len) is checked. */
static int shape_of(const char *path, const Bytes *b, const Layout *l, Dataset *d, char *err, int errlen)
{
    if (l->ndim < 1)
        return fail(err, errlen, path, "a scalar, not an array of items");
    if (item_elements(l) > MAX_ITEM_VALUES)
        return fail(err, errlen, path, "items of more than 2^40 values");
    if (check_length(path, b, l, err, errlen) != 0)
        return -1;
    d->count = (long)l->dims[0];
    d->ndim = l->ndim - 1;
    for (int k = 1; k < l->ndim; k++)
        d->dims[k - 1] = (long)l->dims[k];
    d->item_size = (long)item_elements(l);
    d->type = l->type;
    return 0;
}

/* "[i,j,...]": the index of flat position `flat` in the array's shape, the item first. */
static void format_index(char *buf, size_t cap, const uint64_t *dims, int ndim, uint64_t flat)
{
    uint64_t index[DATASET_MAXDIM];
    for (int k = ndim - 1; k >= 0; k--) {
        index[k] = dims[k] ? flat % dims[k] : 0;
        flat = dims[k] ? flat / dims[k] : 0;
    }
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < ndim && used < cap; k++)
        used += (size_t)snprintf(buf + used, cap - used, k ? ",%llu" : "%llu", (unsigned long long)index[k]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

/* A value that is NaN or infinite: a data set must be finite, or a run fails steps later. */
static int not_finite(const char *path, const Layout *l, size_t flat, double v, char *err, int errlen)
{
    char index[DATASET_MAXDIM * 21 + 3];
    format_index(index, sizeof index, l->dims, l->ndim, flat);
    return fail(err, errlen, path, "%s at index %s (values must be finite)", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf",
                index);
}

/* Checks the data against the layout (floats: each one finite) and keeps it as stored: d takes
 * b's bytes, the data from the layout's offset on. */
static int build(const char *path, Bytes *b, const Layout *l, Dataset *d, char *err, int errlen)
{
    if (shape_of(path, b, l, d, err, errlen) != 0)
        return -1;
    size_t n = (size_t)d->count * (size_t)d->item_size;
    const unsigned char *p = b->data + l->offset;
    for (size_t i = 0; l->type != DATASET_U8 && i < n; i++, p += elem_bytes[l->type]) {
        double v = element(l->type, p);
        if (!isfinite(v))
            return not_finite(path, l, i, v, err, errlen);
    }
    d->bytes = b->data;
    d->data = b->data + l->offset;
    b->data = NULL;
    return 0;
}

/* The layout of b's header, told by its magic bytes. */
static int parse_layout(const char *path, const Bytes *b, Layout *l, char *err, int errlen)
{
    if (b->len >= 6 && memcmp(b->data, "\x93NUMPY", 6) == 0)
        return parse_npy(path, b, l, err, errlen);
    if (b->len >= 4 && b->data[0] == 0 && b->data[1] == 0)
        return parse_idx(path, b, l, err, errlen);
    if (b->len == 0)
        return fail(err, errlen, path, "the file is empty%s", b->gzipped ? " once inflated" : "");
    return fail(err, errlen, path, "not an IDX or NPY file (bad magic bytes %02x %02x%s)", b->data[0],
                b->len > 1 ? b->data[1] : 0, b->gzipped ? ", once inflated" : "");
}

static int parse(const char *path, Bytes *b, Dataset *d, char *err, int errlen)
{
    Layout l;
    memset(&l, 0, sizeof l);
    return parse_layout(path, b, &l, err, errlen) == 0 ? build(path, b, &l, d, err, errlen) : -1;
}

/* ----- public: reading ------------------------------------------------------------------------ */

void dataset_free(Dataset *d)
{
    if (!d)
        return;
    free(d->path);
    free(d->bytes);
    free(d);
}

Dataset *dataset_read(const char *path, char *err, int errlen)
{
    Bytes b = {0};
    Dataset *d = calloc(1, sizeof *d);
    int rc = !d ? fail(err, errlen, path, "out of memory") : read_all(path, &b, err, errlen);
    if (rc == 0)
        rc = parse(path, &b, d, err, errlen);
    if (rc == 0 && !(d->path = strdup(path)))
        rc = fail(err, errlen, path, "out of memory");
    free(b.data);
    if (rc != 0) {
        dataset_free(d);
        return NULL;
    }
    return d;
}

/* ----- public: converting drawn items -------------------------------------------------------- */

/* Bytes of items with axes (not one-axis labels) are images, scaled (dataset.h). */
static int is_image(const Dataset *d)
{
    return d->type == DATASET_U8 && d->ndim >= 1;
}

double dataset_value(const Dataset *d, long i)
{
    double v = element(d->type, d->data + (size_t)i * elem_bytes[d->type]);
    return is_image(d) ? v / 127.5 - 1 : v;
}

void dataset_item(const Dataset *d, long index, double *out)
{
    size_t n = (size_t)d->item_size;
    if (is_image(d)) { /* the one in a hot path: a row of every batch, each step */
        const unsigned char *p = d->data + (size_t)index * n;
        for (size_t k = 0; k < n; k++)
            out[k] = p[k] / 127.5 - 1;
        return;
    }
    for (size_t k = 0; k < n; k++)
        out[k] = dataset_value(d, (long)(index * n + k));
}

/* ----- the header alone -------------------------------------------------------------------- */

/* The file's first bytes (inflated), enough for any header we accept. */
enum { HEADER_BYTES = 1 << 16 };

/* The data's full length without inflating it: a plain file's size, or a gzip stream's ISIZE
 * trailer (the inflated length mod 2^32; zlib checks it against the data when reading). */
static int stored_length(const char *path, int gzipped, uint64_t *len, char *err, int errlen)
{
    FILE *f = fopen(path, "rb");
    unsigned char t[4];
    if (!f)
        return fail(err, errlen, path, "cannot open: %s", strerror(errno));
    int ok = fseek(f, gzipped ? -4 : 0, SEEK_END) == 0;
    long at = ok ? ftell(f) : -1;
    ok = at >= 0 && (!gzipped || fread(t, 1, 4, f) == 4);
    fclose(f);
    if (!ok)
        return fail(err, errlen, path, "truncated: too short for a gzip stream");
    *len = gzipped ? (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24 : (uint64_t)at;
    return 0;
}

/* A Dataset with every field but the data, from the header and the stored length. */
static int read_header(const char *path, Dataset *d, char *err, int errlen)
{
    Stream *s = malloc(sizeof *s);
    if (!s || stream_open(s, path, err, errlen) != 0) {
        int rc = s ? -1 : fail(err, errlen, path, "out of memory");
        free(s);
        return rc;
    }
    Bytes b = {malloc(HEADER_BYTES), 0, s->gzipped};
    long got = b.data ? stream_read(s, b.data, HEADER_BYTES, err, errlen) : -1;
    /* short of HEADER_BYTES: the whole stream is in hand, and it ended cleanly */
    int rc = !b.data ? fail(err, errlen, path, "out of memory") : got < 0 ? -1 : 0;
    stream_close(s);
    free(s);
    b.len = got > 0 ? (size_t)got : 0;
    Layout l;
    memset(&l, 0, sizeof l);
    uint64_t total = 0;
    if (rc == 0)
        rc = parse_layout(path, &b, &l, err, errlen);
    if (rc == 0 && b.len == HEADER_BYTES)
        rc = stored_length(path, b.gzipped, &total, err, errlen);
    if (rc == 0 && b.len < HEADER_BYTES)
        total = b.len; /* the whole file is in hand */
    if (rc == 0 && b.gzipped && b.len == HEADER_BYTES) {
        /* only the length mod 2^32 is known: when it matches, judge the header's own length */
        uint64_t data = mul_sat(l.dims[0], mul_sat(item_elements(&l), elem_bytes[l.type]));
        if (data > UINT64_MAX - l.offset || ((data + l.offset) & 0xffffffffu) != total)
            rc = fail(err, errlen, path, "truncated or corrupt: its gzip trailer gives %llu bytes once inflated, "
                      "not the %llu items its header describes", (unsigned long long)total,
                      (unsigned long long)l.dims[0]);
        total = data + l.offset;
    }
    if (rc == 0) {
        b.len = (size_t)total; /* the data's length, which is all check_length reads */
        rc = shape_of(path, &b, &l, d, err, errlen);
    }
    free(b.data);
    return rc;
}

/* ----- public: the cache --------------------------------------------------------------------- */

/* Cached entries start as headers (data NULL) when dataset_header came first; dataset_load
 * reads the data into the same Dataset, so a pointer handed out earlier stays valid. */
typedef struct Cached {
    Dataset *set;
    struct Cached *next;
} Cached;
static Cached *cache;

void dataset_free_all(void)
{
    while (cache) {
        Cached *next = cache->next;
        dataset_free(cache->set);
        free(cache);
        cache = next;
    }
}

static Dataset *cached(const char *path)
{
    for (const Cached *c = cache; c; c = c->next)
        if (strcmp(c->set->path, path) == 0)
            return c->set;
    return NULL;
}

static const Dataset *remember(Dataset *d, const char *path, char *err, int errlen)
{
    static int registered;
    Cached *c = d ? malloc(sizeof *c) : NULL;
    if (!c) {
        if (d)
            fail(err, errlen, path, "out of memory");
        dataset_free(d);
        return NULL;
    }
    if (!registered)
        registered = atexit(dataset_free_all) == 0;
    *c = (Cached){d, cache};
    cache = c;
    return d;
}

const Dataset *dataset_load(const char *path, char *err, int errlen)
{
    Dataset *old = cached(path);
    if (old && old->data)
        return old;
    Dataset *d = dataset_read(path, err, errlen);
    if (!old || !d)
        return old && !d ? NULL : remember(d, path, err, errlen);
    free(old->path);
    *old = *d; /* the header entry gains its data */
    free(d);
    return old;
}

const Dataset *dataset_header(const char *path, char *err, int errlen)
{
    Dataset *d = cached(path);
    if (d)
        return d;
    d = calloc(1, sizeof *d);
    int rc = !d ? fail(err, errlen, path, "out of memory") : read_header(path, d, err, errlen);
    if (rc == 0 && !(d->path = strdup(path)))
        rc = fail(err, errlen, path, "out of memory");
    if (rc != 0) {
        dataset_free(d);
        return NULL;
    }
    return remember(d, path, err, errlen);
}

/* ----- public: item shapes ------------------------------------------------------------------ */

static void format_dims(char *buf, size_t cap, int ndim, const long *dims)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < ndim && used < cap; k++)
        used += (size_t)snprintf(buf + used, cap - used, k ? ",%ld" : "%ld", dims[k]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

int dataset_check_items(const Dataset *d, int ndim, const long *dims, char *err, int errlen)
{
    int image = d->ndim == 2; /* [H, W] items fill [1, H, W] leaves: a channel axis */
    int same = ndim == d->ndim + image && (!image || dims[0] == 1);
    for (int k = 0; same && k < d->ndim; k++)
        same = dims[k + image] == d->dims[k];
    if (same)
        return 0;
    char file_shape[DATASET_MAXDIM * 21 + 3], leaf_shape[DATASET_MAXDIM * 21 + 3];
    format_dims(file_shape, sizeof file_shape, d->ndim, d->dims);
    format_dims(leaf_shape, sizeof leaf_shape, ndim < DATASET_MAXDIM ? ndim : DATASET_MAXDIM, dims);
    return fail(err, errlen, d->path, "items of shape %s, but the program was compiled for items of shape %s (the file changed since?)",
                file_shape, leaf_shape);
}
