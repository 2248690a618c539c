/* test_record.c: the run record's pieces (runtime/sha256.h, runtime/record.h) and the sample
 * plots (runtime/plot.h), without a compiled model: SHA-256 against the FIPS 180-4 / NIST test
 * vectors, run.json's sessions appended and never rewritten, the checkpoints' metadata, the log
 * clock's restart point, and the scatter and histogram PNGs (size, colours where the points are).
 * tests/record.sh covers the same through a compiled executable. Prints `ok - ...` / `not ok -
 * ...: detail` per check, then `N passed, M failed`; exits 1 if any failed. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"
#include "png.h"
#include "record.h"
#include "sha256.h"
#include "check.h"

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* FIPS 180-4 examples and NIST's long-message vector, hashed whole and fed in odd pieces. */
static void test_sha256(void)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char hex[65];
        sha256_hex(v[i].msg, strlen(v[i].msg), hex);
        check(!strcmp(hex, v[i].hex), "sha256 of a FIPS 180-4 message", "'%s': %s, expected %s", v[i].msg, hex, v[i].hex);
    }
    /* a million 'a', in pieces of 997 bytes: blocks split across updates */
    Sha256 s;
    unsigned char d[32], piece[997];
    memset(piece, 'a', sizeof piece);
    sha256_init(&s);
    for (long left = 1000000; left > 0; left -= (long)sizeof piece)
        sha256_update(&s, piece, left < (long)sizeof piece ? (size_t)left : sizeof piece);
    sha256_final(&s, d);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    check(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "sha256 of a million 'a' fed in 997-byte pieces", "%s", hex);
}

static void test_run_json(const char *dir)
{
    RunRecord a = {0}, b = {0};
    record_text(&a, "experiment", "toy \"quoted\"\n");
    record_number(&a, "seed", 7);
    record_number(&a, "hyper.lr", 0.001);
    record_text(&a, "resumed_from", NULL);
    char err[512], path[600];
    snprintf(path, sizeof path, "%s/run.json", dir);
    int rc = record_write(&a, dir, err, sizeof err);
    char *first = slurp(path, NULL);
    check(rc == 0 && first && !strcmp(first, "{\"sessions\": [\n{\"experiment\": \"toy \\\"quoted\\\"\\u000a\", \"seed\": 7, "
                                             "\"hyper.lr\": 0.001, \"resumed_from\": null}\n]}\n"),
          "run.json: one session a line, strings escaped, null for an absent value", "rc %d: '%s' %s", rc, first, err);
    record_number(&b, "seed", 7);
    record_text(&b, "resumed_from", "ckpt/last.safetensors");
    rc = record_write(&b, dir, err, sizeof err);
    char *second = slurp(path, NULL);
    size_t keep = first ? strlen(first) - strlen("\n]}\n") : 0;
    check(rc == 0 && second && !strncmp(second, first, keep) &&
              !strcmp(second + keep, ",\n{\"seed\": 7, \"resumed_from\": \"ckpt/last.safetensors\"}\n]}\n"),
          "run.json: a second session is appended, the first kept byte for byte", "rc %d: '%s'", rc, second);
    char *meta = record_metadata(&a);
    check(!strcmp(meta, "{\"experiment\":\"toy \\\"quoted\\\"\\u000a\",\"seed\":\"7\",\"hyper.lr\":\"0.001\"}"),
          "metadata: every value a string, absent values left out", "'%s'", meta);
    spit(path, "{\"mine\": 1}\n");
    rc = record_write(&b, dir, err, sizeof err);
    char *foreign = slurp(path, NULL);
    check(rc != 0 && strstr(err, "run.json") && !strcmp(foreign, "{\"mine\": 1}\n"),
          "run.json that is not ganc's is refused, not overwritten", "rc %d, '%s'", rc, err);
    free(first), free(second), free(meta), free(foreign);
    record_free(&a), record_free(&b);

    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    spit(path, "{\"step\": 1, \"time\": 0.5, \"loss D\": 1}\n{\"step\": 2, \"time\": 2.25, \"fid\": 3}\n");
    double t = record_last_time(path);
    snprintf(path, sizeof path, "%s/none.jsonl", dir);
    check(t == 2.25 && record_last_time(path) == 0, "a resumed run's clock starts at its log's last time",
          "%g", t);
}

/* Pixels of one colour (within 60 of it per channel) in a w x h RGB image region. */
static long count_near(const unsigned char *px, int w, int x0, int y0, int x1, int y1, int r, int g, int b)
{
    long n = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            const unsigned char *p = px + 3 * ((size_t)y * (size_t)w + (size_t)x);
            n += abs(p[0] - r) < 60 && abs(p[1] - g) < 60 && abs(p[2] - b) < 60;
        }
    return n;
}

static unsigned char *read_rgb(const char *path, int *w, int *h)
{
    int c;
    char err[512];
    unsigned char *px = png_read_gray_or_rgb(path, w, h, &c, err, sizeof err);
    if (px && c != 3)
        free(px), px = NULL;
    return px;
}

/* Fake points in the left half, real ones in the right half, a mode at the middle: the
 * colours where the points are, nothing of theirs where they are not, a black cross. */
static void test_scatter(const char *dir)
{
    enum { N = 200 };
    double fake[2 * N], real[2 * N], centre[2] = {0, 0}, xr[2], yr[2];
    for (int i = 0; i < N; i++) {
        fake[2 * i] = -1 + 0.8 * i / N, fake[2 * i + 1] = sin(i);
        real[2 * i] = 0.2 + 0.8 * i / N, real[2 * i + 1] = cos(i);
    }
    fake[0] = NAN, fake[2] = 1e9; /* NaN and far away: drawn on the border, not a crash */
    plot_range(real, N, centre, 1, 2, 0, xr);
    plot_range(real, N, centre, 1, 2, 1, yr);
    double hi = 0.2 + 0.8 * (N - 1) / N; /* the centre 0 is the low end */
    check(fabs(xr[0] + hi / 10) < 1e-12 && fabs(xr[1] - hi * 1.1) < 1e-12, "plot_range: the data and the centres, a tenth wider",
          "[%g, %g]", xr[0], xr[1]);
    xr[0] = -1.2, xr[1] = 1.2, yr[0] = -1.2, yr[1] = 1.2;
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/scatter.png", dir);
    int rc = plot_scatter(path, fake, N, real, N, centre, 1, xr, yr, err, sizeof err);
    int w = 0, h = 0;
    unsigned char *px = rc == 0 ? read_rgb(path, &w, &h) : NULL;
    check(px && w == PLOT_SIZE && h == PLOT_SIZE, "scatter: an RGB PNG of PLOT_SIZE pixels square", "rc %d %s, %dx%d", rc, err, w, h);
    if (!px)
        return;
    int mid = PLOT_SIZE / 2;
    /* the colours at half opacity on white; the borders (where NaN and 1e9 land) left out */
    long fake_left = count_near(px, w, 16, 16, mid - 20, h - 16, 242, 182, 137);
    long fake_right = count_near(px, w, mid + 20, 16, w - 16, h - 16, 242, 182, 137);
    long real_right = count_near(px, w, mid + 20, 16, w - 16, h - 16, 147, 177, 227);
    long real_left = count_near(px, w, 16, 16, mid - 20, h - 16, 147, 177, 227);
    check(fake_left > 300 && fake_right == 0 && real_right > 300 && real_left == 0,
          "scatter: fake points orange where they are, real points blue where they are",
          "orange %ld left, %ld right; blue %ld right, %ld left", fake_left, fake_right, real_right, real_left);
    check(count_near(px, w, mid - 8, mid - 8, mid + 8, mid + 8, 0, 0, 0) >= 20, "scatter: the mode is a black cross",
          "%ld dark pixels", count_near(px, w, mid - 8, mid - 8, mid + 8, mid + 8, 0, 0, 0));
    free(px);
}

/* Fake values all in the lowest bin, real ones all in the highest: one bar each. */
static void test_histogram(const char *dir)
{
    double fake[100], real[50], range[2] = {0, 1};
    for (int i = 0; i < 100; i++)
        fake[i] = -5; /* below the range: the first bin */
    for (int i = 0; i < 50; i++)
        real[i] = 0.999;
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/hist.png", dir);
    int rc = plot_histogram(path, fake, 100, real, 50, range, err, sizeof err);
    int w = 0, h = 0;
    unsigned char *px = rc == 0 ? read_rgb(path, &w, &h) : NULL;
    check(px && w == PLOT_SIZE && h == PLOT_SIZE, "histogram: an RGB PNG of PLOT_SIZE pixels square", "rc %d %s", rc, err);
    if (!px)
        return;
    long fake_low = count_near(px, w, 0, 0, 30, h - 1, 240, 160, 100), real_high = count_near(px, w, w - 30, 0, w - 1, h - 1, 80, 130, 210);
    long fake_mid = count_near(px, w, 40, 0, w - 40, h - 1, 240, 160, 100), real_mid = count_near(px, w, 40, 0, w - 40, h - 1, 80, 130, 210);
    check(fake_low > 500 && real_high > 250 && fake_mid == 0 && real_mid == 0,
          "histogram: one orange bar at the low end, one half as tall blue bar at the high end",
          "orange %ld low, %ld mid; blue %ld high, %ld mid", fake_low, fake_mid, real_high, real_mid);
    free(px);
}

int main(void)
{
    char dir[] = "/tmp/test_record.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_sha256();
    test_run_json(dir);
    test_scatter(dir);
    test_histogram(dir);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return check_summary();
}
