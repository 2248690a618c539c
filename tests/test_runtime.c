/* test_runtime.c: tests of the runtime pieces shared by the compiler and libganrt: the Philox
 * generator (against Random123's known answers), the data samplers, and safetensors reading and
 * writing, including every kind of corrupt file the reader must reject.
 *
 * A standalone program (no compiler objects needed); prints `ok - ...` / `not ok - ...: detail`
 * per check, then `N passed, M failed`, and exits 1 if any failed. Build:
 *   cc -std=c11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -Icompiler -Iruntime tests/test_runtime.c \
 *      runtime/rng.c runtime/samplers.c runtime/safetensors.c -lm -o build/test_runtime */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fill.h"
#include "rng.h"
#include "safetensors.h"
#include "samplers.h"
#include "check.h"


/* ----- rng -------------------------------------------------------------------------------- */

/* Random123's kat_vectors for philox4x32-10: counter words, key words, expected output. */
static void test_philox_known_answers(void)
{
    static const struct {
        uint32_t counter[4], key[2], expected[4];
    } vectors[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        const uint32_t *c = vectors[v].counter, *k = vectors[v].key, *e = vectors[v].expected;
        uint64_t seed = (uint64_t)k[1] << 32 | k[0];
        uint64_t stream = (uint64_t)c[1] << 32 | c[0];
        uint64_t index = (uint64_t)c[3] << 32 | c[2];
        uint32_t out[4];
        rng_philox(seed, stream, index, out);
        char description[96];
        snprintf(description, sizeof description, "philox4x32-10 known-answer vector %zu", v);
        check(memcmp(out, e, sizeof out) == 0, description,
              "got %08x %08x %08x %08x, want %08x %08x %08x %08x", out[0], out[1], out[2], out[3],
              e[0], e[1], e[2], e[3]);
    }
}

static void test_stream_id(void)
{
    check(rng_stream_id("") == 0xcbf29ce484222325ULL && rng_stream_id("a") == 0xaf63dc4c8601ec8cULL,
          "rng_stream_id is FNV-1a 64", "got %016llx and %016llx",
          (unsigned long long)rng_stream_id(""), (unsigned long long)rng_stream_id("a"));
}

typedef void (*DrawFn)(uint64_t seed, uint64_t stream, uint64_t index0, double *out, long n);

/* Same (seed, stream, index) gives the same value whatever batch it was drawn in; another
 * stream or seed gives different values. */
static void test_rng_determinism(const char *what, DrawFn draw)
{
    enum { N = 64 };
    double batch[N], again[N], single, other_stream[N], other_seed[N];
    draw(42, 7, 1000, batch, N);
    draw(42, 7, 1000, again, N);
    draw(42, 7, 1000 + 17, &single, 1);
    draw(42, 8, 1000, other_stream, N);
    draw(43, 7, 1000, other_seed, N);
    int stream_differs = 0, seed_differs = 0;
    for (int i = 0; i < N; i++) {
        stream_differs += batch[i] != other_stream[i];
        seed_differs += batch[i] != other_seed[i];
    }
    char description[96];
    snprintf(description, sizeof description, "%s: same counter, same value", what);
    check(memcmp(batch, again, sizeof batch) == 0 && single == batch[17], description,
          "batch[17] = %.17g, alone %.17g", batch[17], single);
    snprintf(description, sizeof description, "%s: other streams and seeds differ", what);
    check(stream_differs == N && seed_differs == N, description,
          "%d of %d differ across streams, %d across seeds", stream_differs, N, seed_differs);
}

static void test_rng_distributions(void)
{
    enum { N = 100000 };
    double *u = malloc(sizeof(double) * N), *z = malloc(sizeof(double) * N);
    rng_uniform(1, rng_stream_id("test/uniform"), 0, u, N);
    rng_normal(1, rng_stream_id("test/normal"), 0, z, N);
    int in_range = 1;
    double u_sum = 0, z_sum = 0, z_sq = 0;
    for (int i = 0; i < N; i++) {
        in_range &= u[i] >= 0 && u[i] < 1;
        u_sum += u[i];
        z_sum += z[i];
        z_sq += z[i] * z[i];
    }
    double u_mean = u_sum / N, z_mean = z_sum / N, z_var = z_sq / N - z_mean * z_mean;
    check(in_range, "uniform draws lie in [0, 1)", "a draw fell outside");
    check(fabs(u_mean - 0.5) < 0.005, "uniform mean is 1/2", "mean %g", u_mean);
    check(fabs(z_mean) < 0.015, "normal mean is 0 (100k draws)", "mean %g", z_mean);
    check(fabs(z_var - 1) < 0.02, "normal variance is 1 (100k draws)", "variance %g", z_var);
    free(u);
    free(z);
}

/* ----- samplers --------------------------------------------------------------------------- */

static double distance_to_nearest(const double *point, int dim, const double *centres, int count)
{
    double best = INFINITY;
    for (int k = 0; k < count; k++) {
        double d2 = 0;
        for (int j = 0; j < dim; j++)
            d2 += (point[j] - centres[k * dim + j]) * (point[j] - centres[k * dim + j]);
        best = fmin(best, sqrt(d2));
    }
    return best;
}

static void test_sampler_basics(const SamplerInfo *s)
{
    enum { N = 2000 };
    double *big = malloc(sizeof(double) * N * s->dim), *again = malloc(sizeof(double) * N * s->dim);
    double part[5 * 2];
    s->draw(s->defaults, 9, 123, 0, big, N);
    s->draw(s->defaults, 9, 123, 0, again, N);
    s->draw(s->defaults, 9, 123, 100, part, 5);
    int finite = 1;
    for (long i = 0; i < (long)N * s->dim; i++)
        finite &= isfinite(big[i]);
    char description[128];
    snprintf(description, sizeof description, "%s: %d samples of dim %d, all finite", s->name, N,
             s->dim);
    check(finite && (s->dim == 1 || s->dim == 2), description, "dim %d, finite %d", s->dim, finite);
    snprintf(description, sizeof description, "%s: sample i depends only on index0+i", s->name);
    check(memcmp(big, again, sizeof(double) * N * s->dim) == 0 &&
              memcmp(part, big + 100 * s->dim, sizeof(double) * 5 * s->dim) == 0,
          description, "a redraw or an offset batch differs");
    snprintf(description, sizeof description, "%s: found by name", s->name);
    check(sampler_find(s->name) == s, description, "sampler_find returned another entry");
    free(big);
    free(again);
}

/* Every sample within `tolerance` of a mode, and every mode hit. */
static void test_sampler_near_modes(const char *name, int want_modes, double tolerance)
{
    enum { N = 4000, MAXMODES = 32 };
    const SamplerInfo *s = sampler_find(name);
    double centres[MAXMODES * 2];
    int modes = sampler_modes(s, s->defaults, centres, MAXMODES);
    double *x = malloc(sizeof(double) * N * s->dim);
    s->draw(s->defaults, 5, rng_stream_id(name), 0, x, N);
    double worst = 0;
    int hits[MAXMODES] = {0};
    for (int i = 0; i < N; i++) {
        double *point = x + i * s->dim;
        worst = fmax(worst, distance_to_nearest(point, s->dim, centres, modes));
        for (int k = 0; k < modes && k < MAXMODES; k++)
            hits[k] += distance_to_nearest(point, s->dim, centres + k * s->dim, 1) <= tolerance;
    }
    int all_hit = 1;
    for (int k = 0; k < modes && k < MAXMODES; k++)
        all_hit &= hits[k] > 0;
    char description[128];
    snprintf(description, sizeof description, "%s: %d modes, samples within %.3g of one, all hit",
             name, want_modes, tolerance);
    check(modes == want_modes && worst <= tolerance && all_hit, description,
          "%d modes, farthest sample %.4g away, all hit %d", modes, worst, all_hit);
    free(x);
}

static void test_samplers(void)
{
    int count;
    const SamplerInfo *table = sampler_table(&count);
    check(count == 6 && sampler_find("no_such_sampler") == NULL, "sampler table has 6 entries",
          "%d entries", count);
    for (int i = 0; i < count; i++)
        test_sampler_basics(&table[i]);
    /* 5 std of the noise, in output coordinates */
    test_sampler_near_modes("gaussians8", 8, 5 * 0.02 / 1.414);
    test_sampler_near_modes("gaussians25", 25, 5 * 0.05 / 2.828);
    test_sampler_near_modes("ring", 5, 5 * 0.0447);
    test_sampler_near_modes("two_clusters", 2, 0.3 / 2);
    const SamplerInfo *roll = sampler_find("swissroll");
    check(sampler_modes(roll, roll->defaults, NULL, 0) == 0, "swissroll has no modes",
          "it reports some");
    const SamplerInfo *g8 = sampler_find("gaussians8");
    check(g8->nparams == 3 && strcmp(g8->param_names[0], "radius") == 0 && g8->defaults[2] == 1.414,
          "gaussians8 parameters are radius, std, scale = 2, 0.02, 1.414", "the table differs");
}

/* ----- safetensors ------------------------------------------------------------------------ */

static int contains(const char *text, const char *part) { return strstr(text, part) != NULL; }

static void fill_example(StFile *f)
{
    double matrix[6] = {1, -2.5, 3.25, 1e-3, 1.0 / 3.0, -0.0};
    double scalar = 3.14159265358979;
    long shape[2] = {2, 3};
    st_add(f, "D.dense0.w", 2, shape, matrix);
    st_add(f, "step", 0, NULL, &scalar);
    st_add(f, "odd \"name\"\\", 1, (long[]){1}, &scalar);
}

/* Every tensor of b equals a's, with each value passed through `narrow` (identity or float). */
static int same_tensors(const StFile *a, const StFile *b, int as_float)
{
    if (a->count != b->count)
        return 0;
    for (int i = 0; i < a->count; i++) {
        const StTensor *x = &a->tensors[i], *y = st_find(b, x->name);
        if (!y || y != &b->tensors[i] || x->ndim != y->ndim)
            return 0;
        long n = 1;
        for (int k = 0; k < x->ndim; k++) {
            if (x->shape[k] != y->shape[k])
                return 0;
            n *= x->shape[k];
        }
        for (long j = 0; j < n; j++) {
            double want = as_float ? (double)(float)x->data[j] : x->data[j];
            if (memcmp(&want, &y->data[j], sizeof want) != 0)
                return 0;
        }
    }
    return 1;
}

static void test_round_trip(int as_f64)
{
    const char *path = as_f64 ? "/tmp/ganc_test_f64.safetensors" : "/tmp/ganc_test_f32.safetensors";
    StFile written = {0}, read = {0};
    char err[256] = "";
    fill_example(&written);
    int write_status = st_write(path, &written, as_f64, err, sizeof err);
    int read_status = write_status == 0 ? st_read(path, &read, err, sizeof err) : -1;
    char description[96];
    snprintf(description, sizeof description,
             "safetensors round trip as %s (2-d, 0-d scalar, escaped name)", as_f64 ? "F64" : "F32");
    check(read_status == 0 && same_tensors(&written, &read, !as_f64), description, "%s", err);
    st_free(&written);
    st_free(&read);
}

/* Writes an 8-byte length (header_len, or the real length if negative), header, data. */
static void write_raw(const char *path, long header_len, const char *header, const void *data,
                      size_t data_len)
{
    FILE *f = fopen(path, "wb");
    uint64_t len = header_len >= 0 ? (uint64_t)header_len : strlen(header);
    unsigned char prefix[8];
    for (int k = 0; k < 8; k++)
        prefix[k] = (unsigned char)(len >> (8 * k));
    fwrite(prefix, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
}

/* st_read must fail with a message naming the file and containing `reason`. */
static void expect_rejected(const char *description, const char *path, const char *reason)
{
    StFile f = {0};
    char err[512] = "";
    int status = st_read(path, &f, err, sizeof err);
    check(status == -1 && contains(err, path) && contains(err, reason) && f.count == 0, description,
          "status %d, message \"%s\"", status, err);
    st_free(&f);
}

static void test_reader_accepts_metadata_and_f32(void)
{
    const char *path = "/tmp/ganc_test_meta.safetensors";
    float values[2] = {1.5f, -2.0f};
    unsigned char data[8];
    memcpy(data, values, 8); /* the test host is little-endian, like every file */
    write_raw(path, -1,
              "{\"__metadata__\":{\"format\":\"pt\"},\"a\\u0062\\/c\":{\"dtype\":\"F32\","
              "\"shape\":[2],\"data_offsets\":[0,8]}}   ",
              data, 8);
    StFile f = {0};
    char err[256] = "";
    int status = st_read(path, &f, err, sizeof err);
    const StTensor *t = status == 0 ? st_find(&f, "ab/c") : NULL;
    check(t && f.count == 1 && t->ndim == 1 && t->shape[0] == 2 && t->data[0] == 1.5 &&
              t->data[1] == -2.0,
          "safetensors reader skips __metadata__ and decodes escapes", "status %d: %s", status, err);
    st_free(&f);
}

static void test_reader_rejects_corrupt_files(void)
{
    const char *path = "/tmp/ganc_test_bad.safetensors";
    double zeros[4] = {0};
    unlink("/tmp/ganc_test_missing.safetensors");
    expect_rejected("reject a missing file", "/tmp/ganc_test_missing.safetensors",
                    "No such file");

    FILE *f = fopen(path, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    expect_rejected("reject a file shorter than 8 bytes", path, "truncated");

    write_raw(path, 412, "{}", NULL, 0);
    expect_rejected("reject a header length larger than the file", path,
                    "header says 412 bytes but the file has 10");

    write_raw(path, -1, "{\"x\" {\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject malformed JSON, naming what was expected where", path,
                    "expected ':' at byte 5");

    write_raw(path, -1, "{\"x\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]", zeros, 8);
    expect_rejected("reject a header that ends early", path, "expected");

    write_raw(path, -1, "{\"x\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject an unknown dtype", path, "unknown dtype \"Q7\"");

    write_raw(path, -1, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", zeros,
              8);
    expect_rejected("reject BF16 as unsupported", path, "unsupported dtype \"BF16\"");

    write_raw(path, -1, "{\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", zeros,
              8);
    expect_rejected("reject data_offsets beyond the data", path, "out of range");

    write_raw(path, -1, "{\"x\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,16]}}", zeros,
              32);
    expect_rejected("reject data_offsets that do not match shape * dtype", path,
                    "span 16 bytes but its shape and dtype need 24");

    write_raw(path, -1,
              "{\"x\":{\"dtype\":\"F64\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,8]}}",
              zeros, 8);
    expect_rejected("reject more than 8 dims", path, "more than 8");

    write_raw(path, -1,
              "{\"x\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],"
              "\"data_offsets\":[0,8]}}",
              zeros, 8);
    expect_rejected("reject a shape too large for the file (no overflow)", path, "needs more");

    write_raw(path, -1, "{\"x\":{\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a tensor without a dtype", path, "missing \"dtype\"");
}

/* The format's own rules (issue 9): ranges sorted, contiguous and covering the data buffer,
 * the JSON fully valid, metadata values strings, a sane header length. */
static void test_reader_enforces_the_format(void)
{
    const char *path = "/tmp/ganc_test_strict.safetensors";
    double zeros[4] = {0};
    write_raw(path, -1,
              "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
              zeros, 16);
    expect_rejected("reject overlapping data_offsets, naming both tensors", path, "\"b\" [0, 8] overlaps tensor \"a\"");
    write_raw(path, -1,
              "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]}}",
              zeros, 24);
    expect_rejected("reject a hole between tensors", path, "tensor \"b\" starts at byte 16, leaving a hole of 8 bytes after tensor \"a\"");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 16);
    expect_rejected("reject a data buffer the tensors do not cover", path, "8 bytes after the end of tensor \"a\"");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", zeros, 16);
    expect_rejected("reject a first tensor that does not start at byte 0", path, "tensor \"a\" starts at byte 8");
    write_raw(path, -1, "{}", zeros, 8);
    expect_rejected("reject data when there is no tensor", path, "8 bytes of data but no tensor");
    /* a valid padded header given one byte short: the data would shift by a byte */
    const char *padded = "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}    ";
    write_raw(path, (long)strlen(padded) - 1, padded, zeros, 8);
    expect_rejected("reject a header length one byte short", path, "1 bytes after the end of tensor \"a\"");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}x", zeros, 8);
    expect_rejected("reject text after the header's closing brace", path, "only spaces after the header");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}\n", zeros, 8);
    expect_rejected("reject a newline as padding (only spaces are)", path, "only spaces after the header");
    write_raw(path, -1, " {\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a header not starting with '{'", path, "'{' opening the header at byte 0");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a duplicate key in a tensor's description", path, "tensor \"a\": key \"dtype\" appears twice");
    write_raw(path, -1, "{\"__metadata__\":{},\"__metadata__\":{},\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a duplicate __metadata__", path, "\"__metadata__\" appears twice");
    write_raw(path, -1, "{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"},\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a duplicate metadata key", path, "__metadata__: key \"k\" appears twice");
    write_raw(path, -1, "{\"__metadata__\":{\"epoch\":3},\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a metadata value that is not a string", path, "__metadata__: the value of \"epoch\" must be a string");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8],\"extra\":1}}", zeros, 8);
    expect_rejected("reject an unknown key in a tensor's description", path, "tensor \"a\": unknown key \"extra\"");
    write_raw(path, -1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[01],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a JSON number with a leading zero", path, "leading zero");
    write_raw(path, -1, "{\"a\xff\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_rejected("reject a name that is not UTF-8", path, "not valid UTF-8");
    write_raw(path, 200000000, "{}", NULL, 0);
    expect_rejected("reject an insane header length before reading on", path, "more than the format's limit");
    /* zero-size tensors may share an offset; tensors may be listed in any order */
    write_raw(path, -1,
              "{\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
              "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
              "\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
              zeros, 16);
    StFile f = {0};
    char err[512] = "";
    int status = st_read(path, &f, err, sizeof err);
    check(status == 0 && f.count == 3, "accept tensors listed out of order and an empty tensor", "%s", err);
    st_free(&f);
}

/* st_read_finite names the file, the tensor and the first index that is NaN or infinite. */
static void test_reader_rejects_non_finite(void)
{
    const char *path = "/tmp/ganc_test_nan.safetensors";
    double values[4] = {1, 2, NAN, INFINITY};
    write_raw(path, -1, "{\"w\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,32]}}", values, 32);
    StFile f = {0};
    char err[512] = "";
    int status = st_read_finite(path, &f, err, sizeof err);
    check(status == -1 && contains(err, path) && contains(err, "tensor \"w\": nan at index [1,0]") && f.count == 0,
          "st_read_finite rejects NaN, naming the file, the tensor and the first bad index", "status %d: %s", status, err);
    st_free(&f);
    status = st_read(path, &f, err, sizeof err);
    check(status == 0 && f.count == 1, "st_read itself keeps non-finite values (ganc compare reads them)", "%s", err);
    st_free(&f);
    char shapes_err[512] = "";
    status = st_read_shapes(path, &f, shapes_err, sizeof shapes_err);
    check(status == -1 && !strcmp(shapes_err, err) && f.count == 0,
          "st_read_shapes rejects NaN with st_read_finite's message", "status %d: %s", status, shapes_err);
    float f32[3] = {1, 2, 3};   /* float32 values, checked where they lie in the file */
    write_raw(path, -1, "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", f32, 12);
    status = st_read_shapes(path, &f, err, sizeof err);
    check(status == 0 && f.count == 1 && f.tensors[0].ndim == 1 && f.tensors[0].shape[0] == 3 && !f.tensors[0].data,
          "st_read_shapes gives names and shapes without the values", "status %d: %s", status, err);
    st_free(&f);
    f32[2] = -INFINITY;
    write_raw(path, -1, "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", f32, 12);
    status = st_read_shapes(path, &f, err, sizeof err);
    check(status == -1 && contains(err, "tensor \"b\": -inf at index [2]"),
          "st_read_shapes finds a float32 -inf where it lies", "status %d: %s", status, err);
    f32[0] = NAN, f32[2] = 1;
    write_raw(path, -1, "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", f32, 12);
    status = st_read_shapes(path, &f, err, sizeof err);
    check(status == -1 && contains(err, "tensor \"b\": nan at index [0]"), "st_read_shapes finds a float32 NaN",
          "status %d: %s", status, err);
    /* the exponent test's edges: the largest finite values and the smallest subnormal pass */
    float big32[3] = {FLT_MAX, -FLT_MAX, 1e-45f};
    double big64[3] = {DBL_MAX, -DBL_MAX, 5e-324};
    write_raw(path, -1, "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", big32, 12);
    status = st_read_shapes(path, &f, err, sizeof err);
    st_free(&f);
    write_raw(path, -1, "{\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}", big64, 24);
    int status64 = st_read_shapes(path, &f, err, sizeof err);
    st_free(&f);
    check(status == 0 && status64 == 0, "st_read_shapes accepts the largest finite float32 and float64 values",
          "status %d %d: %s", status, status64, err);
    big64[1] = INFINITY;
    write_raw(path, -1, "{\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}", big64, 24);
    status = st_read_shapes(path, &f, err, sizeof err);
    check(status == -1 && contains(err, "tensor \"d\": inf at index [1]"), "st_read_shapes finds a float64 inf",
          "status %d: %s", status, err);
}

static void test_atomic_write(void)
{
    StFile f = {0};
    char err[256] = "";
    fill_example(&f);
    int status = st_write("/tmp/ganc_no_such_dir/x.safetensors", &f, 0, err, sizeof err);
    check(status == -1 && contains(err, "/tmp/ganc_no_such_dir/x.safetensors"),
          "st_write into a missing directory fails with a message", "status %d: %s", status, err);

    const char *path = "/tmp/ganc_test_atomic.safetensors";
    st_write(path, &f, 1, err, sizeof err);
    status = st_write(path, &f, 0, err, sizeof err); /* replaces the F64 file */
    char tmp_path[128];
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp.%ld", path, (long)getpid());
    StFile back = {0};
    int read_status = st_read(path, &back, err, sizeof err);
    check(status == 0 && read_status == 0 && access(tmp_path, F_OK) != 0 &&
              same_tensors(&f, &back, 1),
          "st_write replaces an existing file and leaves no temporary file", "%s", err);

    FILE *raw = fopen(path, "rb");
    unsigned char prefix[8] = {0};
    size_t got = raw ? fread(prefix, 1, 8, raw) : 0;
    if (raw)
        fclose(raw);
    check(got == 8 && prefix[0] % 8 == 0, "the written header length is a multiple of 8",
          "length byte %u", prefix[0]);
    st_free(&f);
    st_free(&back);
}

/* A batch split across processes (shard.h, dist.h): each draws its rows with fill_rows, and the
 * shards' rows joined must be exactly the whole draw, for every kind of random leaf. */
static void test_fill_rows_join_to_the_whole_draw(void)
{
    enum { ROWS = 16, PER_ROW = 2, SIZE = ROWS * PER_ROW };
    LeafInit specs[] = {
        {.kind = INIT_UNIFORM, .a = -1, .b = 2},
        {.kind = INIT_NORMAL, .a = 0, .b = 3},
        {.kind = INIT_DATA, .sampler = "gaussians8", .args = {2, 0.02, 1.414}, .nargs = 3},
        {.kind = INIT_DATA, .sampler = "gaussians8", .args = {2, 0.02, 1.414}, .nargs = 3, .points = 40},
    };
    const char *kinds[] = {"uniform", "normal", "a sampler", "a fixed set of points"};
    for (int k = 0; k < 4; k++)
        for (int shards = 2; shards <= 8; shards *= 2) {
            double whole[SIZE], joined[SIZE];
            fill_values(&specs[k], 7, "x", 5, whole, SIZE, ROWS);
            int rows = ROWS / shards;
            for (int r = 0; r < shards; r++)
                fill_rows(&specs[k], 7, "x", 5, joined + r * rows * PER_ROW, SIZE, ROWS, r * rows, rows);
            char description[128];
            snprintf(description, sizeof description, "fill_rows: %d shards' rows of %s join to the whole draw",
                     shards, kinds[k]);
            check(memcmp(whole, joined, sizeof whole) == 0, description, "the rows differ");
        }
}

int main(void)
{
    test_philox_known_answers();
    test_stream_id();
    test_rng_determinism("rng_uniform", rng_uniform);
    test_rng_determinism("rng_normal", rng_normal);
    test_rng_distributions();
    test_samplers();
    test_round_trip(0);
    test_round_trip(1);
    test_reader_accepts_metadata_and_f32();
    test_reader_rejects_corrupt_files();
    test_reader_enforces_the_format();
    test_reader_rejects_non_finite();
    test_atomic_write();
    test_fill_rows_join_to_the_whole_draw();
    return check_summary();
}
