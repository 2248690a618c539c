/* test_data.c: data set files, the leaves drawn from them and PNG sample grids (runtime/
 * dataset.c, fill.c, png.c). The IDX loader on the installed Fashion-MNIST files and on corrupt
 * files written to a temporary directory (every message must name the file); NPY round trips;
 * file/labels leaves (an image's drawn label is its label in the file, across two epochs, each
 * a permutation; determinism; fill_check's messages); drawn rows bit-identical to the
 * load-time conversion the loader used to do, for IDX gz and NPY u1/f4/f8; a PNG grid read back pixel by pixel; and
 * truncations and byte flips of small files, which must give a data set or a message, never a
 * crash (build with -fsanitize=address to make that check strict).
 * Prints `ok - NAME` / `not ok - NAME: why` lines and `N passed, M failed`; exits 1 on failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "fill.h"
#include "png.h"
#include "check.h"

#define FASHION "/usr/share/datasets/fashion-mnist/"
#define TRAIN_IMAGES FASHION "train-images-idx3-ubyte.gz"
#define TRAIN_LABELS FASHION "train-labels-idx1-ubyte.gz"
#define TEST_IMAGES FASHION "t10k-images-idx3-ubyte.gz"
#define TEST_LABELS FASHION "t10k-labels-idx1-ubyte.gz"

static char tmpdir[64];

/* ----- files -------------------------------------------------------------------------------- */

static const char *tmp_file(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
    return buf;
}

static void write_file(const char *path, const void *data, size_t len, int gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, data, (unsigned)len);
        gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

/* The raw bytes of a file (not inflated), malloc'ed. */
static unsigned char *read_raw(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *data = malloc(*len);
    *len = fread(data, 1, *len, f);
    fclose(f);
    return data;
}

/* An IDX file of unsigned bytes: header for `ndim` dims, then `len` data bytes. */
static size_t idx_bytes(unsigned char *out, int type, int ndim, const unsigned *dims, const unsigned char *data, size_t len)
{
    unsigned char *p = out;
    *p++ = 0, *p++ = 0, *p++ = (unsigned char)type, *p++ = (unsigned char)ndim;
    for (int k = 0; k < ndim; k++) {
        *p++ = (unsigned char)(dims[k] >> 24), *p++ = (unsigned char)(dims[k] >> 16);
        *p++ = (unsigned char)(dims[k] >> 8), *p++ = (unsigned char)dims[k];
    }
    memcpy(p, data, len);
    return (size_t)(p - out) + len;
}

/* An NPY file: version major.0, the dict text padded to a multiple of 64, then the data. */
static size_t npy_bytes(unsigned char *out, int major, const char *dict, const void *data, size_t len)
{
    size_t prefix = major == 1 ? 10 : 12, text = strlen(dict);
    size_t header = text + 1 + (64 - (prefix + text + 1) % 64) % 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major, out[7] = 0;
    for (size_t k = 0; k < prefix - 8; k++)
        out[8 + k] = (unsigned char)(header >> (8 * k));
    memcpy(out + prefix, dict, text);
    memset(out + prefix + text, ' ', header - text - 1);
    out[prefix + header - 1] = '\n';
    memcpy(out + prefix + header, data, len);
    return prefix + header + len;
}

/* ----- the Fashion-MNIST files ------------------------------------------------------------- */

/* Images: n items of 28 x 28, every value k/127.5 - 1 for a whole k in 0..255, both ends seen. */
static void check_images(const char *path, long n)
{
    char err[512], name[128];
    const Dataset *d = dataset_load(path, err, sizeof err);
    snprintf(name, sizeof name, "%s: %ld images of 28x28", path + strlen(FASHION), n);
    if (!d) {
        check(0, name, "%s", err);
        return;
    }
    check(d->count == n && d->ndim == 2 && d->dims[0] == 28 && d->dims[1] == 28 && d->item_size == 784, name,
          "count %ld, ndim %d, item size %ld", d->count, d->ndim, d->item_size);
    double lo = 2, hi = -2, item[784];
    long off_grid = 0;
    for (long i = 0; i < d->count * d->item_size; i++) {
        if (i % 784 == 0)
            dataset_item(d, i / 784, item);
        double v = item[i % 784], k = (v + 1) * 127.5;
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        off_grid += fabs(k - floor(k + 0.5)) > 1e-9 || k < -1e-9 || k > 255 + 1e-9;
    }
    snprintf(name, sizeof name, "%s: values in [-1, 1], from the bytes' 256 levels", path + strlen(FASHION));
    check(lo == -1 && hi == 1 && off_grid == 0, name, "min %g, max %g, %ld off the levels", lo, hi, off_grid);
}

/* Labels: n whole numbers in 0..9, each class n/10 times (both sets are balanced). */
static void check_labels_file(const char *path, long n)
{
    char err[512], name[128];
    const Dataset *d = dataset_load(path, err, sizeof err);
    snprintf(name, sizeof name, "%s: %ld labels 0..9, %ld of each", path + strlen(FASHION), n, n / 10);
    if (!d) {
        check(0, name, "%s", err);
        return;
    }
    long per_class[10] = {0}, bad = 0;
    for (long i = 0; i < d->count; i++) {
        double v = dataset_value(d, i);
        if (v >= 0 && v <= 9 && v == (double)(long)v)
            per_class[(long)v]++;
        else
            bad++;
    }
    int balanced = 1;
    for (int c = 0; c < 10; c++)
        balanced &= per_class[c] == n / 10;
    check(d->count == n && d->ndim == 0 && d->item_size == 1 && bad == 0 && balanced, name,
          "count %ld, ndim %d, %ld not in 0..9, class 0 seen %ld times", d->count, d->ndim, bad, per_class[0]);
}

static void test_fashion_mnist(void)
{
    check_images(TRAIN_IMAGES, 60000);
    check_labels_file(TRAIN_LABELS, 60000);
    check_images(TEST_IMAGES, 10000);
    check_labels_file(TEST_LABELS, 10000);
    char err[512];
    const Dataset *a = dataset_load(TRAIN_IMAGES, err, sizeof err), *b = dataset_load(TRAIN_IMAGES, err, sizeof err);
    check(a && a == b, "dataset_load caches a data set by path", "%p then %p", (const void *)a, (const void *)b);
}

/* ----- corrupt files ----------------------------------------------------------------------- */

/* Loading `path` fails with a message that names it and contains `needle`, and so does reading
 * its header alone (these files are small enough to be read whole either way). */
static void expect_error(const char *name, const char *path, const char *needle)
{
    char err[512] = "";
    Dataset *d = dataset_read(path, err, sizeof err);
    check(!d && strstr(err, path) && strstr(err, needle), name, "%s (wanted the path and '%s')",
          d ? "loaded" : err, needle);
    dataset_free(d);
    err[0] = '\0';
    const Dataset *h = dataset_header(path, err, sizeof err);
    char header_name[256];
    snprintf(header_name, sizeof header_name, "%s (header only)", name);
    check(!h && strstr(err, path) && strstr(err, needle), header_name,
          "%s (wanted the path and '%s')", h ? "accepted" : err, needle);
}

/* The file's bytes, written (gzipped or not) to the temporary directory, must fail to load. */
static void expect_bad_file(const char *name, const char *file, const void *data, size_t len, int gzip,
                            const char *needle)
{
    char path[128];
    write_file(tmp_file(path, sizeof path, file), data, len, gzip);
    expect_error(name, path, needle);
}

static void test_corrupt_idx(void)
{
    unsigned char buf[256], data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (unsigned char)(i * 7);
    char path[128];
    expect_error("IDX: a missing file is named with strerror's reason", tmp_file(path, sizeof path, "missing.idx"),
                 "No such file");
    expect_error("IDX: a directory is not a data set", tmpdir, "directory");
    expect_bad_file("IDX: an empty file", "empty.idx", "", 0, 0, "empty");
    expect_bad_file("IDX: bad magic bytes", "magic.idx", "hello, world", 12, 0, "bad magic");
    expect_bad_file("IDX: bad magic bytes inside gzip", "magic.idx.gz", "hello, world", 12, 1, "bad magic");
    size_t n = idx_bytes(buf, 0x0D, 2, (const unsigned[]){2, 2}, data, 32);
    expect_bad_file("IDX: a float type byte (0x0d) is unsupported", "float.idx", buf, n, 0, "type 0x0d");
    n = idx_bytes(buf, 0x08, 9, (const unsigned[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, data, 1);
    expect_bad_file("IDX: nine axes", "axes.idx", buf, n, 0, "9 axes");
    n = idx_bytes(buf, 0x08, 3, (const unsigned[]){3, 2, 2}, data, 10);
    expect_bad_file("IDX: truncated data (3 items of 4 bytes, 10 bytes)", "short.idx", buf, n, 0,
                    "truncated: the header says 3 items of 4 bytes");
    expect_bad_file("IDX: truncated data inside gzip", "short.idx.gz", buf, n, 1, "truncated");
    expect_bad_file("IDX: truncated header", "header.idx", buf, 9, 0, "truncated");
    n = idx_bytes(buf, 0x08, 1, (const unsigned[]){4}, data, 6);
    expect_bad_file("IDX: bytes after the data", "long.idx", buf, n, 0, "2 bytes after");
    n = idx_bytes(buf, 0x08, 2, (const unsigned[]){0xFFFFFFFFu, 0xFFFFFFFFu}, data, 4);
    expect_bad_file("IDX: dimensions far beyond the file", "huge.idx", buf, n, 0, "truncated");
}

static void test_corrupt_gzip(void)
{
    unsigned char garbage[200] = {0x1f, 0x8b, 0x08, 0x00};
    for (int i = 4; i < 200; i++)
        garbage[i] = (unsigned char)(i * 131 + 17);
    expect_bad_file("gzip: garbage after the gzip magic", "garbage.gz", garbage, sizeof garbage, 0, "gzip");
    size_t len;
    unsigned char *real = read_raw(TEST_LABELS, &len);
    expect_bad_file("gzip: the real labels file cut in half", "half.gz", real, len / 2, 0, "gzip stream ends early");
    real[len / 2] ^= 0xFF;
    expect_bad_file("gzip: the real labels file with a flipped byte", "flipped.gz", real, len, 0, "gzip");
    free(real);
}

/* dataset_header on the big gzipped training images: the shape without the values, and a
 * truncated copy caught by its gzip trailer without inflating it. */
static void test_header_only(void)
{
    char err[512] = "", path[128];
    const Dataset *h = dataset_header(TRAIN_IMAGES, err, sizeof err);
    check(h && h->count == 60000 && h->ndim == 2 && h->dims[0] == 28 && h->dims[1] == 28 && h->item_size == 784,
          "dataset_header: the training images are 60000 items of [28,28]", "%s", h ? "wrong shape" : err);
    size_t len;
    unsigned char *real = read_raw(TRAIN_IMAGES, &len);
    write_file(tmp_file(path, sizeof path, "train_half.gz"), real, len / 2, 0);
    free(real);
    h = dataset_header(path, err, sizeof err);
    check(!h && strstr(err, path) && strstr(err, "truncated or corrupt"),
          "dataset_header: the training images cut in half are truncated", "%s", h ? "accepted" : err);
}

static void test_corrupt_npy(void)
{
    unsigned char buf[512];
    float f[6] = {0};
    static const struct { const char *name, *dict, *needle; } cases[] = {
        {"NPY: an integer dtype is unsupported", "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", "unsupported NPY dtype '<i4'"},
        {"NPY: big-endian floats are unsupported", "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", "unsupported NPY dtype"},
        {"NPY: Fortran order is unsupported", "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", "Fortran"},
        {"NPY: a header that is not a dict", "descr <f4", "malformed NPY header"},
        {"NPY: a header without shape", "{'descr': '<f4', 'fortran_order': False}", "malformed NPY header"},
        {"NPY: a shape that is not a tuple", "{'descr': '<f4', 'fortran_order': False, 'shape': 6}", "malformed NPY header"},
        {"NPY: a repeated key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", "repeated key"},
        {"NPY: an unterminated string", "{'descr: '<f4'", "malformed NPY header"},
        {"NPY: a scalar is not a set of items", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "scalar"},
        {"NPY: truncated data", "{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", "truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = npy_bytes(buf, 1, cases[i].dict, f, sizeof f);
        expect_bad_file(cases[i].name, "bad.npy", buf, n, 0, cases[i].needle);
    }
    size_t n = npy_bytes(buf, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f, sizeof f);
    expect_bad_file("NPY: version 3.0 is unsupported", "v3.npy", buf, n, 0, "version 3.0");
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f, sizeof f);
    expect_bad_file("NPY: a header longer than the file", "cut.npy", buf, 40, 0, "truncated");
}

/* ----- NPY round trips --------------------------------------------------------------------- */

/* The values of the NPY written from dict and data; NULL with the test failed if it fails. */
static const Dataset *npy_round_trip(const char *name, const char *file, int major, const char *dict,
                                     const void *data, size_t len, int gzip)
{
    unsigned char buf[1024];
    char path[128], err[512];
    size_t n = npy_bytes(buf, major, dict, data, len);
    write_file(tmp_file(path, sizeof path, file), buf, n, gzip);
    const Dataset *d = dataset_load(path, err, sizeof err);
    check(d != NULL, name, "%s", err);
    return d;
}

static void test_npy(void)
{
    const float f4[6] = {0.5f, -1.25f, 3, 1e-3f, -0.0f, 65504};
    const Dataset *d = npy_round_trip("NPY v1.0 <f4 (3, 2) loads", "f4.npy", 1,
                                      "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", f4, sizeof f4, 0);
    int same = d && d->count == 3 && d->ndim == 1 && d->dims[0] == 2 && d->item_size == 2;
    for (int i = 0; same && i < 6; i++)
        same = dataset_value(d, i) == (double)f4[i];
    check(same, "NPY <f4: shape and values as written", "count %ld", d ? d->count : -1);

    const double f8[4] = {1.0 / 3, -2.5e300, 7, 0.1};
    d = npy_round_trip("NPY v2.0 <f8 (4,), gzipped, keys in another order", "f8.npy.gz", 2,
                       "{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<f8\"}", f8, sizeof f8, 1);
    same = d && d->count == 4 && d->ndim == 0 && d->item_size == 1;
    for (int i = 0; same && i < 4; i++)
        same = dataset_value(d, i) == f8[i];
    check(same, "NPY <f8: values exact", "count %ld", d ? d->count : -1);

    const unsigned char u1[8] = {0, 255, 51, 204, 1, 2, 3, 4};
    d = npy_round_trip("NPY |u1 (2, 2, 2) loads", "u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
                       u1, sizeof u1, 0);
    same = d && d->count == 2 && d->ndim == 2 && d->item_size == 4;
    for (int i = 0; same && i < 8; i++)
        same = dataset_value(d, i) == u1[i] / 127.5 - 1;
    check(same, "NPY |u1 images: scaled to [-1, 1]", "first %g", d ? dataset_value(d, 0) : 0);

    d = npy_round_trip("NPY |u1 (8,) loads", "labels.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (8,), }", u1,
                       sizeof u1, 0);
    same = d && d->count == 8 && d->item_size == 1;
    for (int i = 0; same && i < 8; i++)
        same = dataset_value(d, i) == u1[i];
    check(same, "NPY |u1 labels: kept as integers", "second %g", d ? dataset_value(d, 1) : 0);
}

/* ----- file and labels leaves -------------------------------------------------------------- */

static LeafInit file_spec(const char *file, const char *order)
{
    LeafInit s;
    memset(&s, 0, sizeof s);
    s.kind = INIT_FILE;
    s.file = file;
    s.order = order;
    return s;
}

static LeafInit labels_spec(const char *file, const char *order, int classes)
{
    LeafInit s = file_spec(file, order);
    s.kind = INIT_LABELS;
    s.classes = classes;
    return s;
}

/* Where each image of a data set is: a hash table from an image's values to its indices. */
typedef struct ImageIndex {
    const Dataset *set;
    double *values; /* every item converted (dataset_item), item after item */
    long *slot;     /* index + 1, 0 when empty */
    size_t cap;
} ImageIndex;

static size_t image_hash(const double *v, long n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)v;
    for (size_t i = 0; i < (size_t)n * sizeof(double); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return (size_t)h;
}

static ImageIndex index_images(const Dataset *d)
{
    ImageIndex ix = {d, malloc(sizeof(double) * (size_t)(d->count * d->item_size)), NULL, 1};
    while (ix.cap < 2 * (size_t)d->count)
        ix.cap *= 2;
    ix.slot = calloc(ix.cap, sizeof(long));
    for (long i = 0; i < d->count; i++) {
        dataset_item(d, i, ix.values + i * d->item_size);
        size_t s = image_hash(ix.values + i * d->item_size, d->item_size) & (ix.cap - 1);
        while (ix.slot[s])
            s = (s + 1) & (ix.cap - 1);
        ix.slot[s] = i + 1;
    }
    return ix;
}

/* The next index holding `image`, probing on from *slot (start it at the image's hash), or -1. */
static long next_match(const ImageIndex *ix, const double *image, size_t *slot)
{
    long n = ix->set->item_size;
    for (; ix->slot[*slot]; *slot = (*slot + 1) & (ix->cap - 1)) {
        long i = ix->slot[*slot] - 1;
        if (memcmp(ix->values + i * n, image, sizeof(double) * (size_t)n) == 0) {
            *slot = (*slot + 1) & (ix->cap - 1);
            return i;
        }
    }
    return -1;
}

static size_t first_slot(const ImageIndex *ix, const double *image)
{
    return image_hash(image, ix->set->item_size) & (ix->cap - 1);
}

/* The first index holding `image` whose label is `label` and that this epoch has not visited
 * (duplicate images are told apart by label and visits), or -1. */
static long find_image(const ImageIndex *ix, const double *image, const Dataset *labels, long label,
                       const unsigned char *visited)
{
    size_t slot = first_slot(ix, image);
    for (long i; (i = next_match(ix, image, &slot)) >= 0;)
        if (!visited[i] && (long)dataset_value(labels, i) == label)
            return i;
    return -1;
}

/* The lowest index holding `image`, or -1. */
static long lowest_index(const ImageIndex *ix, const double *image)
{
    size_t slot = first_slot(ix, image);
    long lowest = -1;
    for (long i; (i = next_match(ix, image, &slot)) >= 0;)
        lowest = lowest < 0 || i < lowest ? i : lowest;
    return lowest;
}

/* The class a one-hot row names, or -1 when it is not one-hot. */
static long one_hot_class(const double *row, int classes)
{
    long found = -1, ones = 0;
    for (int c = 0; c < classes; c++) {
        if (row[c] == 1)
            found = c, ones++;
        else if (row[c] != 0)
            return -1;
    }
    return ones == 1 ? found : -1;
}

typedef struct PairingStats {
    long rows, unpaired, revisited, epochs_complete;
} PairingStats;

/* Draws images and labels leaves of `rows` rows for two epochs and more: each drawn image must
 * be an image of the file whose label is the drawn one, and each epoch must visit every item
 * once. */
static PairingStats draw_two_epochs(const char *images, const char *labels, long rows, uint64_t seed)
{
    char err[512];
    const Dataset *im = dataset_load(images, err, sizeof err), *lb = dataset_load(labels, err, sizeof err);
    LeafInit fs = file_spec(images, NULL), ls = labels_spec(labels, images, 10);
    ImageIndex ix = index_images(im);
    double *x = malloc(sizeof(double) * (size_t)(rows * im->item_size)), *y = malloc(sizeof(double) * (size_t)rows * 10);
    unsigned char *visited = calloc((size_t)im->count, 1);
    PairingStats st = {0};
    long seen_in_epoch = 0;
    for (uint64_t draw = 0; st.rows < 2 * im->count; draw++) {
        fill_values(&fs, seed, "x", draw, x, rows * im->item_size, rows);
        fill_values(&ls, seed, "y", draw, y, rows * 10, rows);
        for (long r = 0; r < rows && st.rows < 2 * im->count; r++, st.rows++) {
            long label = one_hot_class(y + r * 10, 10);
            long i = label < 0 ? -1 : find_image(&ix, x + r * im->item_size, lb, label, visited);
            st.unpaired += i < 0;
            if (i >= 0)
                visited[i] = 1, seen_in_epoch++;
            if ((st.rows + 1) % im->count == 0) { /* an epoch ends: all seen, start afresh */
                st.epochs_complete += seen_in_epoch == im->count;
                seen_in_epoch = 0;
                memset(visited, 0, (size_t)im->count);
            }
        }
    }
    free(ix.slot), free(ix.values), free(x), free(y), free(visited);
    return st;
}

static void test_pairing(void)
{
    char err[512];
    LeafInit fs = file_spec(TEST_IMAGES, NULL), ls = labels_spec(TEST_LABELS, TEST_IMAGES, 10);
    int ok = fill_check(&fs, "x", 64, 784, err, sizeof err) == 0 && fill_check(&ls, "y", 64, 10, err, sizeof err) == 0;
    if (!check(ok, "fill_check passes t10k images [64,1,28,28] and labels [64,10]", "%s", err))
        return;
    PairingStats st = draw_two_epochs(TEST_IMAGES, TEST_LABELS, 64, 42);
    check(st.unpaired == 0, "file+labels: every drawn label is its image's label, over two epochs (64 rows)",
          "%ld of %ld rows unpaired", st.unpaired, st.rows);
    check(st.epochs_complete == 2, "file: each epoch visits every item exactly once", "%ld of 2 epochs complete",
          st.epochs_complete);
    PairingStats odd = draw_two_epochs(TEST_IMAGES, TEST_LABELS, 37, 7);
    check(odd.unpaired == 0 && odd.epochs_complete == 2, "file+labels: paired with 37 rows and another seed",
          "%ld unpaired, %ld epochs complete", odd.unpaired, odd.epochs_complete);
}

/* Labels in their own order are not paired: the order key is what pairs them. */
static void test_own_order(void)
{
    LeafInit fs = file_spec(TEST_IMAGES, NULL), own = labels_spec(TEST_LABELS, NULL, 10);
    LeafInit paired = labels_spec(TEST_LABELS, TEST_IMAGES, 10);
    double *x = malloc(sizeof(double) * 64 * 784), y[640], z[640];
    fill_values(&fs, 1, "x", 3, x, 64 * 784, 64);
    fill_values(&own, 1, "y", 3, y, 640, 64);
    fill_values(&paired, 1, "y", 3, z, 640, 64);
    check(memcmp(y, z, sizeof y) != 0, "labels without an order file follow their own shuffle", "same as paired");
    free(x);
}

/* fill_values twice gives the same; the leaf's name does not matter, the seed and draw do. */
static void test_determinism(void)
{
    LeafInit fs = file_spec(TEST_IMAGES, NULL);
    long n = 16 * 784;
    double *a = malloc(sizeof(double) * (size_t)n * 4), *b = a + n, *c = b + n, *e = c + n;
    fill_values(&fs, 9, "x", 5, a, n, 16);
    fill_values(&fs, 9, "another", 5, b, n, 16);
    check(memcmp(a, b, sizeof(double) * (size_t)n) == 0, "file: a draw depends on seed and draw, not the leaf's name", "differ");
    fill_values(&fs, 10, "x", 5, c, n, 16);
    fill_values(&fs, 9, "x", 6, e, n, 16);
    check(memcmp(a, c, sizeof(double) * (size_t)n) != 0 && memcmp(a, e, sizeof(double) * (size_t)n) != 0,
          "file: another seed or draw gives another batch", "the same batch");
    fs.fixed = 1;
    fill_values(&fs, 9, "x", 0, c, n, 16);
    fill_values(&fs, 9, "x", 77, e, n, 16);
    check(memcmp(c, e, sizeof(double) * (size_t)n) == 0, "file: fixed draws one batch", "draw 77 differs from draw 0");
    free(a);
}

/* points: only the file's first items are drawn. */
static void test_points(void)
{
    char err[512];
    const Dataset *d = dataset_load(TEST_IMAGES, err, sizeof err);
    LeafInit fs = file_spec(TEST_IMAGES, NULL);
    fs.points = 100;
    ImageIndex ix = index_images(d);
    double x[10 * 784];
    long outside = 0;
    for (uint64_t draw = 0; draw < 30; draw++) {
        fill_values(&fs, 3, "x", draw, x, 10 * 784, 10);
        for (int r = 0; r < 10; r++) {
            long i = lowest_index(&ix, x + r * 784);
            outside += i < 0 || i >= 100;
        }
    }
    check(outside == 0, "file: points 100 draws only the first 100 items", "%ld rows from later items", outside);
    free(ix.slot), free(ix.values);
}

/* fill_check fails with a message naming the file and holding `needle`. */
static void expect_check_error(const char *name, const LeafInit *spec, long per_row, const char *file, const char *needle)
{
    char err[512] = "";
    int rc = fill_check(spec, "leaf", 8, per_row, err, sizeof err);
    check(rc != 0 && strstr(err, file) && strstr(err, needle), name, "%s (wanted '%s' and '%s')",
          rc ? err : "passed", file, needle);
}

static void test_fill_check(void)
{
    char path[128];
    LeafInit fs = file_spec(TEST_IMAGES, NULL);
    expect_check_error("fill_check: items of 784 values in rows of 100", &fs, 100, TEST_IMAGES, "784 values (shape [28,28])");
    LeafInit ls = labels_spec(TEST_LABELS, TEST_IMAGES, 5);
    expect_check_error("fill_check: a label outside 0..classes-1", &ls, 5, TEST_LABELS, "outside 0..4");
    ls.classes = 10;
    expect_check_error("fill_check: one-hot rows wider than the leaf", &ls, 12, TEST_LABELS, "10 classes");
    LeafInit as_labels = labels_spec(TEST_IMAGES, NULL, 10);
    expect_check_error("fill_check: images are not labels", &as_labels, 10, TEST_IMAGES, "not one class label");
    LeafInit mismatch = labels_spec(TEST_LABELS, TRAIN_IMAGES, 10);
    expect_check_error("fill_check: labels following a file of another size", &mismatch, 10, TRAIN_IMAGES, "whose order it follows");
    fs.points = 20000;
    expect_check_error("fill_check: more points than items", &fs, 784, TEST_IMAGES, "20000 points");
    LeafInit missing = file_spec(tmp_file(path, sizeof path, "nowhere.idx"), NULL);
    expect_check_error("fill_check: a missing file", &missing, 784, path, "No such file");
    unsigned char buf[16];
    write_file(tmp_file(path, sizeof path, "none.idx"), buf, idx_bytes(buf, 0x08, 2, (const unsigned[]){0, 4}, buf, 0), 0);
    LeafInit empty = file_spec(path, NULL);
    expect_check_error("fill_check: a file with no items", &empty, 4, path, "no items");
    LeafInit normal;
    memset(&normal, 0, sizeof normal);
    normal.kind = INIT_NORMAL;
    check(fill_check(&normal, "z", 8, 3, NULL, 0) == 0, "fill_check: other kinds pass", "failed");
}

/* ----- drawn rows: the conversion the loader used to do, bit for bit ------------------------- */

/* Items first, middle and last (dataset_item), and every row of three draws of a FILE leaf of
 * `rows` rows, must be, bit for bit, items of `want`: the old load-time conversion of the whole
 * file (v / 127.5 - 1 for image bytes, floats widened), computed here from the raw values. */
static void check_drawn(const char *name, const char *path, const double *want, long count, long item_size, long rows)
{
    char err[512];
    const Dataset *d = dataset_load(path, err, sizeof err);
    if (!check(d && d->count == count && d->item_size == item_size, name, "%s", d ? "another shape" : err))
        return;
    size_t bytes = sizeof(double) * (size_t)item_size;
    double *row = malloc(bytes * (size_t)rows);
    long wrong = 0, drawn = 0;
    for (long i = 0; i < 3; i++) {
        long at = i * (count - 1) / 2;
        dataset_item(d, at, row);
        wrong += memcmp(row, want + at * item_size, bytes) != 0;
    }
    LeafInit fs = file_spec(path, NULL);
    for (uint64_t draw = 0; draw < 3; draw++) {
        fill_values(&fs, 5, "x", draw, row, rows * item_size, rows);
        for (long r = 0; r < rows; r++, drawn++) {
            long k = 0;
            while (k < count && memcmp(row + r * item_size, want + k * item_size, bytes) != 0)
                k++;
            wrong += k == count;
        }
    }
    check(wrong == 0, name, "%ld of %ld items and rows differ from the old conversion", wrong, drawn + 3);
    free(row);
}

/* A 64-bit LCG step: the test's reproducible "random" bits. */
static uint64_t next_bits(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state ^ *state >> 29;
}

static void test_drawn_rows(void)
{
    /* IDX, gzipped: the t10k images, inflated here from the file */
    gzFile gz = gzopen(TEST_IMAGES, "rb");
    size_t len = 16 + 10000 * 784;
    unsigned char *raw = malloc(len);
    int got = gz ? gzread(gz, raw, (unsigned)len) : -1;
    if (gz)
        gzclose(gz);
    double *want = malloc(sizeof(double) * 10000 * 784);
    for (long i = 0; got == (int)len && i < 10000 * 784; i++) {
        double v = raw[16 + i];
        want[i] = v / 127.5 - 1;
    }
    if (check(got == (int)len, "drawn rows: the t10k images inflate", "gzread gave %d", got))
        check_drawn("drawn rows: IDX gz images are the old v/127.5 - 1, bit for bit", TEST_IMAGES, want, 10000, 784, 16);
    free(raw);

    /* NPY |u1 images: every byte value, 64 items of [2,2] */
    unsigned char u1[256], *buf = malloc(4096);
    char path[128];
    for (int i = 0; i < 256; i++) {
        u1[i] = (unsigned char)(i * 167 % 256);
        double v = u1[i];
        want[i] = v / 127.5 - 1;
    }
    size_t n = npy_bytes(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (64, 2, 2), }", u1, sizeof u1);
    write_file(tmp_file(path, sizeof path, "drawn_u1.npy"), buf, n, 0);
    check_drawn("drawn rows: NPY |u1 images are the old v/127.5 - 1, bit for bit", path, want, 64, 4, 8);

    /* NPY <f4 and <f8: 40 items of 3 finite values from random bits (subnormals, -0, extremes) */
    float f4[120];
    double f8[120];
    uint64_t state = 12345;
    for (int i = 0; i < 120; i++) {
        uint64_t bits = next_bits(&state);
        uint32_t b32 = (uint32_t)bits;
        if ((b32 >> 23 & 0xff) == 0xff)
            b32 ^= 1u << 30; /* not inf or nan */
        if ((bits >> 52 & 0x7ff) == 0x7ff)
            bits ^= 1ull << 62;
        memcpy(&f4[i], &b32, 4), memcpy(&f8[i], &bits, 8);
        want[i] = f4[i];
    }
    f4[0] = -0.0f, want[0] = -0.0;
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (40, 3), }", f4, sizeof f4);
    write_file(tmp_file(path, sizeof path, "drawn_f4.npy"), buf, n, 0);
    check_drawn("drawn rows: NPY <f4 values are the floats widened, bit for bit", path, want, 40, 3, 8);
    n = npy_bytes(buf, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (40, 3), }", f8, sizeof f8);
    write_file(tmp_file(path, sizeof path, "drawn_f8.npy.gz"), buf, n, 1);
    check_drawn("drawn rows: NPY <f8 (v2.0, gzipped) values are the doubles, bit for bit", path, f8, 40, 3, 8);
    free(buf);
    free(want);
}

/* ----- PNG grids --------------------------------------------------------------------------- */

/* Writes n images of c x h x w whose values are k/127.5 - 1 for k running from -20 (so some
 * clamp at both ends), reads the PNG back, and compares every pixel: tiles hold clamp(k), the
 * rest is the gap level. */
static void check_grid(const char *name, int n, int c, int h, int w)
{
    char path[128], err[512];
    long count = (long)n * c * h * w;
    double *v = malloc(sizeof(double) * (size_t)count);
    for (long i = 0; i < count; i++)
        v[i] = (double)(i * 7 % 300 - 20) / 127.5 - 1;
    tmp_file(path, sizeof path, "grid.png");
    int rc = png_write_grid(path, v, n, c, h, w, err, sizeof err);
    int width = 0, height = 0, channels = 0, cols, want_w, want_h;
    unsigned char *px = rc == 0 ? png_read_gray_or_rgb(path, &width, &height, &channels, err, sizeof err) : NULL;
    png_grid_size(n, h, w, &cols, &want_w, &want_h);
    long wrong = 0;
    for (int y = 0; px && y < height; y++)
        for (int x = 0; x < width; x++)
            for (int ch = 0; ch < c; ch++) {
                int tx = (x - PNG_GRID_GAP) % (w + PNG_GRID_GAP), ty = (y - PNG_GRID_GAP) % (h + PNG_GRID_GAP);
                int tile = (y - PNG_GRID_GAP) / (h + PNG_GRID_GAP) * cols + (x - PNG_GRID_GAP) / (w + PNG_GRID_GAP);
                int inside = x >= PNG_GRID_GAP && y >= PNG_GRID_GAP && tx < w && ty < h && tile < n;
                long k = inside ? ((((long)tile * c + ch) * h + ty) * w + tx) * 7 % 300 - 20 : PNG_GRID_GAP_LEVEL;
                long want = k < 0 ? 0 : k > 255 ? 255 : k;
                wrong += px[((size_t)y * (size_t)width + (size_t)x) * (size_t)c + (size_t)ch] != want;
            }
    check(px && width == want_w && height == want_h && channels == c && wrong == 0, name,
          "%s; %dx%dx%d (want %dx%dx%d), %ld pixels wrong", px ? "read" : err, width, height, channels, want_w,
          want_h, c, wrong);
    free(px);
    free(v);
}

static void test_png(void)
{
    check_grid("PNG: 5 grey 3x4 images, 3 columns, read back pixel for pixel", 5, 1, 3, 4);
    check_grid("PNG: 4 RGB 2x5 images, 2 columns", 4, 3, 2, 5);
    check_grid("PNG: 64 grey 28x28 images (8 x 8)", 64, 1, 28, 28);
    check_grid("PNG: one image", 1, 1, 1, 1);
    char err[512];
    double v[4] = {0};
    const char *path = "/nonexistent-dir/grid.png";
    check(png_write_grid(path, v, 1, 1, 2, 2, err, sizeof err) != 0 && strstr(err, path), "PNG: an unwritable path is named",
          "%s", err);
    check(png_write_grid(path, v, 1, 2, 2, 1, err, sizeof err) != 0, "PNG: 2 channels are refused", "accepted");
}

/* ----- fuzzing ----------------------------------------------------------------------------- */

/* Loads bytes as a file: either a data set or a message naming the file, never a crash (ASan
 * turns an out-of-bounds read into one). */
static int survives(const char *path, const unsigned char *data, size_t len)
{
    char err[512] = "";
    write_file(path, data, len, 0);
    Dataset *d = dataset_read(path, err, sizeof err);
    int ok = d ? d->count >= 0 && d->item_size >= 0 : strstr(err, path) != NULL;
    dataset_free(d);
    return ok;
}

/* Every truncation, and 600 random single-byte changes, of `good`. */
static void fuzz(const char *name, const unsigned char *good, size_t len)
{
    char path[128];
    unsigned char *mutant = malloc(len);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    long bad = 0;
    tmp_file(path, sizeof path, "fuzz.bin");
    for (size_t cut = 0; cut < len; cut++)
        bad += !survives(path, good, cut);
    for (int trial = 0; trial < 600; trial++) {
        memcpy(mutant, good, len);
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        mutant[(state >> 33) % len] = (unsigned char)(state >> 17);
        bad += !survives(path, mutant, len);
    }
    check(bad == 0, name, "%ld inputs gave no data set and no message naming the file", bad);
    free(mutant);
}

/* The gzipped form of data, in memory. */
static unsigned char *gzip_bytes(const unsigned char *data, size_t len, size_t *out_len)
{
    char path[128];
    write_file(tmp_file(path, sizeof path, "fuzz-src.gz"), data, len, 1);
    return read_raw(path, out_len);
}

static void test_fuzz(void)
{
    unsigned char idx[128], npy[256], data[48];
    for (int i = 0; i < 48; i++)
        data[i] = (unsigned char)(i * 37);
    size_t n = idx_bytes(idx, 0x08, 3, (const unsigned[]){3, 4, 4}, data, 48);
    fuzz("fuzz: truncations and byte flips of an IDX file", idx, n);
    size_t gz_len;
    unsigned char *gz = gzip_bytes(idx, n, &gz_len);
    fuzz("fuzz: truncations and byte flips of a gzipped IDX file", gz, gz_len);
    free(gz);
    n = npy_bytes(npy, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data, 48);
    fuzz("fuzz: truncations and byte flips of an NPY file", npy, n);
    n = npy_bytes(npy, 2, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 16), }", data, 48);
    fuzz("fuzz: truncations and byte flips of an NPY v2.0 file", npy, n);
}

/* Issue 9: what the readers used to let through. */
static void test_strict_files(void)
{
    unsigned char buf[512];
    float f[6] = {0};
    size_t n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } junk", f, sizeof f);
    expect_bad_file("NPY: text after the header's dict", "junk.npy", buf, n, 0, "text after the dict");
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", f, sizeof f);
    expect_bad_file("NPY: a newline inside the padding", "newline.npy", buf, n, 0, "text after the dict");

    /* one gzip member, then bytes: garbage or a second member */
    unsigned char idx[64], data[16] = {1, 2, 3, 4};
    size_t m = idx_bytes(idx, 0x08, 1, (const unsigned[]){16}, data, 16), gz_len;
    unsigned char *gz = gzip_bytes(idx, m, &gz_len), twice[512];
    memcpy(twice, gz, gz_len);
    memcpy(twice + gz_len, "junk", 4);
    expect_bad_file("gzip: bytes after the gzip member", "trailing.gz", twice, gz_len + 4, 0, "after the end of its gzip stream");
    memcpy(twice + gz_len, gz, gz_len);
    expect_bad_file("gzip: a second gzip member", "two.gz", twice, 2 * gz_len, 0, "after the end of its gzip stream");
    free(gz);

    /* non-finite values: the file and the first bad index, item first */
    float bad[6] = {0, 1, 2, 3, NAN, 5};
    char path[128], err[512] = "";
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", bad, sizeof bad);
    write_file(tmp_file(path, sizeof path, "nan.npy"), buf, n, 0);
    Dataset *d = dataset_read(path, err, sizeof err);
    check(!d && strstr(err, path) && strstr(err, "nan at index [2,0]"), "NPY: a NaN value is named by its index",
          "%s", d ? "loaded" : err);
    dataset_free(d);
    double inf[2] = {1, -INFINITY};
    n = npy_bytes(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", inf, sizeof inf);
    write_file(tmp_file(path, sizeof path, "inf.npy"), buf, n, 0);
    d = dataset_read(path, err, sizeof err);
    check(!d && strstr(err, path) && strstr(err, "-inf at index [1]"), "NPY: an infinite value is named by its index",
          "%s", d ? "loaded" : err);
    dataset_free(d);

    /* item shapes: what the leaf was compiled for against what the file holds now */
    float ok[16] = {0};
    n = npy_bytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 4), }", ok, sizeof ok);
    write_file(tmp_file(path, sizeof path, "items.npy"), buf, n, 0);
    const Dataset *items = dataset_load(path, err, sizeof err);
    int same = items && dataset_check_items(items, 3, (const long[]){1, 2, 4}, err, sizeof err) == 0;
    check(same, "dataset_check_items: [2,4] images fill a [1,2,4] leaf", "%s", err);
    int other = items && dataset_check_items(items, 3, (const long[]){1, 4, 2}, err, sizeof err) != 0 &&
                strstr(err, path) && strstr(err, "items of shape [2,4]") && strstr(err, "[1,4,2]");
    check(other, "dataset_check_items: [2,4] images do not fill a [1,4,2] leaf of the same size", "%s", err);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_data.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_fashion_mnist();
    test_corrupt_idx();
    test_corrupt_gzip();
    test_corrupt_npy();
    test_header_only();
    test_npy();
    test_pairing();
    test_own_order();
    test_determinism();
    test_points();
    test_fill_check();
    test_drawn_rows();
    test_png();
    test_fuzz();
    test_strict_files();
    if (check_failed == 0) {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        printf("# files kept in %s\n", tmpdir);
    }
    return check_summary();
}
