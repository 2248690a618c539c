/* test_ganrt.c: tests of libganrt's driver (runtime/ganrt.c and the files it lists) through tests/fake_model.c, a
 * hand-written model that stands in for generated code, built twice (dtype f32 and f64).
 *
 * For each build it runs the executable and checks: flag errors (unknown option, bad or missing
 * values) exit 1 with a message and a usage hint; the JSON log has the expected lines and keys;
 * the samples are valid NPY files matching their CSV twins; checkpoints hold every parameter,
 * state tensor and counter in the model's dtype; N straight iterations and N/2 + --resume + N/2
 * give bit-identical checkpoints, samples and logs; a corrupt, truncated or mismatched
 * checkpoint is rejected with its file name; a NaN or infinity stops training with the step and
 * the tensor's name and leaves the previous checkpoint intact; --eval-values computes what it
 * should on given values and rejects unknown or misshapen tensors. In-process, it also hands
 * ganrt_main a model of another format version, which must stop with both versions named, and
 * inconsistent models (contract.h), which must be rejected as internal errors.
 *
 * Prints `ok - ...` / `not ok - ...: detail`, then `N passed, M failed`; exits 1 on failure.
 * Usage: test_ganrt [FAKE_F32_EXE FAKE_F64_EXE] (default: fake_model_f32 and fake_model_f64 next
 * to test_ganrt). Build: `make build/test_ganrt` (it builds both fakes, each linked with
 * build/libganrt.a). */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ganrt.h"
#include "safetensors.h"
#include "check.h"

static char scratch[64] = "/tmp/test_ganrt.XXXXXX";
static char out_text[1 << 16], err_text[1 << 16]; /* the last command's stdout and stderr */

/* A path, held by value so any number can be live at once. */
typedef struct Path {
    char s[512];
} Path;

__attribute__((format(printf, 1, 2)))
static Path pathf(const char *format, ...)
{
    Path p;
    va_list ap;
    va_start(ap, format);
    vsnprintf(p.s, sizeof p.s, format, ap);
    va_end(ap);
    return p;
}

/* A short-lived formatted string (a message, a path used at once); eight rotating buffers. */
__attribute__((format(printf, 1, 2)))
static const char *fmt(const char *format, ...)
{
    static char buffers[8][512];
    static int next;
    char *buf = buffers[next++ % 8];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buffers[0], format, ap);
    va_end(ap);
    return buf;
}

static void slurp_into(const char *path, char *buf, size_t cap)
{
    char *text = slurp(path, NULL);
    snprintf(buf, cap, "%s", text ? text : "");
    free(text);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int files_equal(const char *a, const char *b)
{
    long na, nb;
    char *da = slurp(a, &na), *db = slurp(b, &nb);
    int same = da && db && na == nb && memcmp(da, db, (size_t)na) == 0;
    free(da);
    free(db);
    return same;
}

/* A log's text without its "time": T fields (seconds, never the same in two runs). */
static char *untimed_log(const char *path)
{
    char *text = slurp(path, NULL), *out = text;
    for (char *p = text; p && *p;) {
        if (!strncmp(p, "\"time\": ", 8)) {
            p += strcspn(p, ",}");
            p += strspn(p, ", ");
        } else
            *out++ = *p++;
    }
    if (out)
        *out = '\0';
    return text;
}

/* Two logs are equal but for their times. */
static int logs_equal(const char *a, const char *b)
{
    char *la = untimed_log(a), *lb = untimed_log(b);
    int same = la && lb && !strcmp(la, lb);
    free(la);
    free(lb);
    return same;
}

/* Runs `exe args` with stdout and stderr captured into out_text and err_text; the exit status. */
__attribute__((format(printf, 2, 3)))
static int run(const char *exe, const char *args, ...)
{
    char arguments[1024], command[2048];
    va_list ap;
    va_start(ap, args);
    vsnprintf(arguments, sizeof arguments, args, ap);
    va_end(ap);
    snprintf(command, sizeof command, "'%s' %s >%s/stdout 2>%s/stderr </dev/null", exe, arguments,
             scratch, scratch);
    int status = system(command);
    slurp_into(fmt("%s/stdout", scratch), out_text, sizeof out_text);
    slurp_into(fmt("%s/stderr", scratch), err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ----- safetensors helpers ----------------------------------------------------------------- */

static long tensor_size(const StTensor *t)
{
    long n = 1;
    for (int k = 0; k < t->ndim; k++)
        n *= t->shape[k];
    return n;
}

/* Same names, shapes and bits, tensor by tensor; a reason in why otherwise. */
static int checkpoints_equal(const char *a, const char *b, char *why, size_t len)
{
    StFile fa = {0}, fb = {0};
    char err[512];
    int same = 0;
    if (st_read(a, &fa, err, sizeof err) != 0 || st_read(b, &fb, err, sizeof err) != 0) {
        snprintf(why, len, "%.200s", err);
    } else if (fa.count != fb.count) {
        snprintf(why, len, "%d tensors vs %d", fa.count, fb.count);
    } else {
        same = 1;
        for (int i = 0; same && i < fa.count; i++) {
            const StTensor *ta = &fa.tensors[i], *tb = st_find(&fb, ta->name);
            same = tb && ta->ndim == tb->ndim && tensor_size(ta) == tensor_size(tb) &&
                   memcmp(ta->shape, tb->shape, sizeof(long) * (size_t)ta->ndim) == 0 &&
                   memcmp(ta->data, tb->data, sizeof(double) * (size_t)tensor_size(ta)) == 0;
            if (!same)
                snprintf(why, len, "tensor '%s' differs", ta->name);
        }
    }
    st_free(&fa);
    st_free(&fb);
    return same;
}

static double scalar_in(const char *path, const char *name)
{
    StFile f = {0};
    char err[512];
    double v = NAN;
    if (st_read(path, &f, err, sizeof err) == 0) {
        const StTensor *t = st_find(&f, name);
        v = t ? t->data[0] : NAN;
    }
    st_free(&f);
    return v;
}

/* Whether the file's header names dtype (e.g. "F32") for its tensors. */
static int header_has_dtype(const char *path, const char *dtype)
{
    char *data = slurp(path, NULL);
    int has = data && strstr(data + 8, fmt("\"dtype\":\"%s\"", dtype)) != NULL;
    free(data);
    return has;
}

/* A copy of src with tensor `name` changed by `edit`, written to dst. */
typedef enum { EDIT_SET_VALUE, EDIT_DROP, EDIT_RESHAPE } Edit;

static void edit_checkpoint(const char *src, const char *dst, const char *name, Edit edit, double value,
                            int as_f64)
{
    StFile in = {0}, out = {0};
    char err[512];
    if (st_read(src, &in, err, sizeof err) != 0) {
        fprintf(stderr, "test_ganrt: %s\n", err);
        return;
    }
    for (int i = 0; i < in.count; i++) {
        StTensor *t = &in.tensors[i];
        if (strcmp(t->name, name) != 0) {
            st_add(&out, t->name, t->ndim, t->shape, t->data);
        } else if (edit == EDIT_SET_VALUE) {
            t->data[0] = value;
            st_add(&out, t->name, t->ndim, t->shape, t->data);
        } else if (edit == EDIT_RESHAPE) {
            long flat[1] = {tensor_size(t)};
            st_add(&out, t->name, 1, flat, t->data);
        }
    }
    if (st_write(dst, &out, as_f64, err, sizeof err) != 0)
        fprintf(stderr, "test_ganrt: %s\n", err);
    st_free(&in);
    st_free(&out);
}

/* ----- one build of the fake model --------------------------------------------------------- */

typedef struct Build {
    const char *exe, *tag, *dtype; /* dtype: "F32" or "F64" */
    int is_f64;
    size_t element;
} Build;

static Path dir_of(const Build *b, const char *name) { return pathf("%s/%s_%s", scratch, b->tag, name); }

static void test_flags(const Build *b)
{
    int rc = run(b->exe, "--help");
    check(rc == 0 && strstr(out_text, "usage:") && strstr(out_text, "--resume"),
          fmt("%s: --help prints the usage and exits 0", b->tag), "rc %d, stdout '%s'", rc, out_text);
    rc = run(b->exe, "--bogus");
    check(rc == 1 && strstr(err_text, "error: unknown option '--bogus'") && strstr(err_text, "--help"),
          fmt("%s: an unknown option is an error with a usage hint", b->tag), "rc %d, stderr '%s'", rc,
          err_text);
    static const char *const bad[] = {"--steps abc", "--steps -3", "--steps 5x", "--steps ''",
                                      "--steps 0", "--steps", "--seed 1.5", "--threads 0",
                                      "--steps=12q", "--quiet=1", "stray", "-o x.safetensors",
                                      "--eval", "--eval --eval-values a -o b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = run(b->exe, "%s", bad[i]);
        check(rc == 1 && strstr(err_text, ": error: ") && strstr(err_text, "--help"),
              fmt("%s: '%s' is rejected", b->tag, bad[i]), "rc %d, stderr '%s'", rc, err_text);
    }
    rc = run(b->exe, "--steps 5x");
    check(strstr(err_text, "--steps") && strstr(err_text, "5x"),
          fmt("%s: the message names the option and the value", b->tag), "stderr '%s'", err_text);
}

/* log.jsonl: loss lines at steps 1, 5, 10, 15, 20, each with the three logged values as numbers,
 * and at the sample steps 10 and 20 a line of toy metrics (the data are 8 Gaussians). */
static void test_log(const Build *b, const char *dir)
{
    char *log = slurp(fmt("%s/log.jsonl", dir), NULL);
    static const long loss_steps[] = {1, 5, 10, 15, 20}, metric_steps[] = {10, 20};
    static const char *const keys[] = {"\"loss D\": ", "\"loss G\": ", "\"eval loss D\": "};
    int losses = 0, metrics = 0, good = 1;
    char why[256] = "";
    for (char *line = log; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        long step = -1;
        sscanf(line, "{\"step\": %ld,", &step);
        if (line[strlen(line) - 1] != '}')
            good = 0, snprintf(why, sizeof why, "'%s' is not one JSON object", line);
        if (strstr(line, "\"modes fake\": ")) {
            if (metrics >= 2 || step != metric_steps[metrics] || !strstr(line, "\"modes total\": 8"))
                good = 0, snprintf(why, sizeof why, "metrics line %d: '%s'", metrics + 1, line);
            metrics++;
        } else {
            if (losses >= 5 || step != loss_steps[losses])
                good = 0, snprintf(why, sizeof why, "loss line %d: '%s'", losses + 1, line);
            for (int k = 0; k < 3; k++) {
                char *at = strstr(line, keys[k]), *end = NULL;
                if (at)
                    strtod(at + strlen(keys[k]), &end);
                if (!at || end == at + strlen(keys[k]))
                    good = 0, snprintf(why, sizeof why, "loss line %d lacks a number for %s", losses + 1, keys[k]);
            }
            losses++;
        }
        line = nl ? nl + 1 : NULL;
    }
    check(log && good && losses == 5 && metrics == 2,
          fmt("%s: log.jsonl has losses at steps 1,5,10,15,20 and toy metrics at 10,20", b->tag),
          "%d loss lines, %d metrics lines; %s", losses, metrics, why);
    free(log);
}

/* An NPY v1.0 file of shape (8, 2) in the model's dtype, and its CSV twin with the same values. */
static void test_sample(const Build *b, const char *dir, long step)
{
    const char *npy = fmt("%s/samples/fake_%ld.npy", dir, step);
    long len = 0;
    unsigned char *data = (unsigned char *)slurp(npy, &len);
    int header_len = data && len > 10 ? data[8] | data[9] << 8 : 0;
    const char *descr = b->is_f64 ? "'descr': '<f8'" : "'descr': '<f4'";
    int ok = data && len > 10 && memcmp(data, "\x93NUMPY\x01\x00", 8) == 0 && (10 + header_len) % 64 == 0 &&
             data[10 + header_len - 1] == '\n' && strstr((char *)data + 10, descr) &&
             strstr((char *)data + 10, "'fortran_order': False") && strstr((char *)data + 10, "'shape': (8, 2)") &&
             len == 10 + header_len + 16 * (long)b->element;
    check(ok, fmt("%s: %s is a valid NPY v1.0 file", b->tag, npy), "header length %d, size %ld", header_len, len);
    char *csv = slurp(fmt("%s/samples/fake_%ld.csv", dir, step), NULL);
    int rows = 0, same = ok && csv;
    for (char *p = csv; same && p && *p; rows++) {
        for (int c = 0; c < 2; c++) {
            double v = strtod(p, &p), want;
            if (b->is_f64)
                memcpy(&want, data + 10 + header_len + 8 * (2 * rows + c), 8);
            else {
                float f;
                memcpy(&f, data + 10 + header_len + 4 * (2 * rows + c), 4);
                want = f;
            }
            same &= fabs(v - want) <= 1e-8 * fabs(want) && *p == (c ? '\n' : ',');
            p++;
        }
    }
    check(same && rows == 8, fmt("%s: the CSV twin holds the same 8 rows", b->tag), "%d rows", rows);
    free(data);
    free(csv);
}

/* Sample i of step `step`: the latent z = fake W^-1 that produced it, W from that step's
 * checkpoint. Returns 0 if a file is unreadable. */
static int sample_latents(const Build *b, const char *dir, long step, double z[8][2])
{
    StFile f = {0};
    char err[512];
    long len;
    unsigned char *npy = (unsigned char *)slurp(fmt("%s/samples/fake_%ld.npy", dir, step), &len);
    int ok = npy && len >= 128 + 16 * (long)b->element &&
             st_read(fmt("%s/ckpt/step_%ld.safetensors", dir, step), &f, err, sizeof err) == 0 &&
             st_find(&f, "G.w");
    if (ok) {
        const double *w = st_find(&f, "G.w")->data, det = w[0] * w[3] - w[1] * w[2];
        for (int r = 0; r < 8; r++) {
            double v[2];
            for (int c = 0; c < 2; c++) {
                float g;
                if (b->is_f64)
                    memcpy(&v[c], npy + 128 + 8 * (2 * r + c), 8);
                else
                    memcpy(&g, npy + 128 + 4 * (2 * r + c), 4), v[c] = g;
            }
            z[r][0] = (v[0] * w[3] - v[1] * w[2]) / det;
            z[r][1] = (v[1] * w[0] - v[0] * w[1]) / det;
        }
    }
    free(npy);
    st_free(&f);
    return ok;
}

/* Samples are drawn from the same inputs at every sample point, so grids are comparable. */
static void test_sample_inputs_fixed(const Build *b, const char *dir)
{
    double z10[8][2], z20[8][2], worst = 0;
    int ok = sample_latents(b, dir, 10, z10) && sample_latents(b, dir, 20, z20);
    for (int r = 0; ok && r < 8; r++)
        for (int c = 0; c < 2; c++)
            worst = fmax(worst, fabs(z10[r][c] - z20[r][c]) / fmax(fabs(z20[r][c]), 1e-2));
    check(ok && worst < (b->is_f64 ? 1e-9 : 1e-3), fmt("%s: step 10 and step 20 sample the same latents", b->tag),
          "relative difference %g", worst);
}

static void test_checkpoint_contents(const Build *b, const char *dir)
{
    const char *last = fmt("%s/ckpt/last.safetensors", dir);
    StFile f = {0};
    char err[512];
    int read = st_read(last, &f, err, sizeof err) == 0;
    const StTensor *w = st_find(&f, "G.w"), *a = st_find(&f, "D.a"), *m = st_find(&f, "D.a/m");
    check(read && w && a && m && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 2 && a->shape[1] == 1 &&
              m->shape[0] == 2 && f.count == 6,
          fmt("%s: the checkpoint holds G.w, D.a, D.a/m and three counters", b->tag), "%s", read ? "" : err);
    st_free(&f);
    check(scalar_in(last, "__iteration") == 20 && scalar_in(last, "__draw") == 60 && scalar_in(last, "__seed") == 7,
          fmt("%s: __iteration 20, __draw 60 (3 draws an iteration), __seed 7", b->tag), "%g %g %g",
          scalar_in(last, "__iteration"), scalar_in(last, "__draw"), scalar_in(last, "__seed"));
    check(header_has_dtype(last, b->dtype) && files_equal(last, fmt("%s/ckpt/step_20.safetensors", dir)) &&
              file_exists(fmt("%s/ckpt/step_10.safetensors", dir)),
          fmt("%s: step_10, step_20 = last, in %s", b->tag, b->dtype), "a file is missing, differs or has another dtype");
}

/* The straight 20-iteration run the other tests compare against. */
static void test_training(const Build *b)
{
    Path straight = dir_of(b, "straight");
    const char *dir = straight.s;
    int rc = run(b->exe, "--steps 20 --out %s --quiet", dir);
    check(rc == 0 && !out_text[0] && !err_text[0], fmt("%s: a quiet 20-step run succeeds silently", b->tag),
          "rc %d, stderr '%s'", rc, err_text);
    test_log(b, dir);
    test_sample(b, dir, 10);
    test_sample(b, dir, 20);
    test_sample_inputs_fixed(b, dir);
    test_checkpoint_contents(b, dir);

    rc = run(b->exe, "--steps 2 --threads 1 --out %s/deep/er/dir", dir);
    check(rc == 0 && strstr(out_text, "log.jsonl") && strstr(out_text, "last.safetensors") &&
              file_exists(fmt("%s/deep/er/dir/ckpt/step_2.safetensors", dir)),
          fmt("%s: a nested --out is created; the summary says where things are", b->tag), "rc %d, stdout '%s'",
          rc, out_text);
    Path seed8 = dir_of(b, "seed8");
    rc = run(b->exe, "--steps 20 --seed 8 --out %s --quiet", seed8.s);
    char why[256] = "";
    check(rc == 0 && !checkpoints_equal(fmt("%s/ckpt/last.safetensors", dir),
                                        fmt("%s/ckpt/last.safetensors", seed8.s), why, sizeof why),
          fmt("%s: --seed changes the run", b->tag), "rc %d", rc);
}

static void expect_same_run(const Build *b, const char *dir, const char *what)
{
    Path straight = dir_of(b, "straight");
    char why[256] = "";
    int same = checkpoints_equal(fmt("%s/ckpt/last.safetensors", dir), fmt("%s/ckpt/last.safetensors", straight.s),
                                 why, sizeof why);
    check(same, fmt("%s: %s: the final checkpoint is bit-identical to the straight run's", b->tag, what), "%s", why);
    check(files_equal(fmt("%s/samples/fake_20.npy", dir), fmt("%s/samples/fake_20.npy", straight.s)),
          fmt("%s: %s: so are the final samples", b->tag, what), "the NPY files differ");
}

static void test_resume(const Build *b)
{
    Path resumed = dir_of(b, "resumed"), straight_dir = dir_of(b, "straight");
    const char *dir = resumed.s, *straight = straight_dir.s;
    int rc1 = run(b->exe, "--steps 10 --out %s --quiet", dir);
    int rc2 = run(b->exe, "--resume %s/ckpt/last.safetensors --steps 20 --out %s --quiet", dir, dir);
    check(rc1 == 0 && rc2 == 0, fmt("%s: 10 steps, then --resume to 20", b->tag), "rc %d %d: %s", rc1, rc2, err_text);
    expect_same_run(b, dir, "10 + resume + 10");
    check(logs_equal(fmt("%s/log.jsonl", dir), fmt("%s/log.jsonl", straight)),
          fmt("%s: the resumed log equals the straight log", b->tag), "the logs differ");

    /* from the straight run's step 10 into the same directory: the log is trimmed, not doubled */
    Path again_dir = dir_of(b, "again");
    const char *again = again_dir.s;
    run(b->exe, "--steps 20 --out %s --quiet", again);
    int rc = run(b->exe, "--resume %s/ckpt/step_10.safetensors --out %s --quiet", again, again);
    check(rc == 0 && logs_equal(fmt("%s/log.jsonl", again), fmt("%s/log.jsonl", straight)),
          fmt("%s: resuming over logged steps rewrites them once", b->tag), "rc %d", rc);
    expect_same_run(b, again, "resume from step_10 (default --steps)");

    rc = run(b->exe, "--resume %s/ckpt/last.safetensors --out %s", straight, dir_of(b, "nothing").s);
    check(rc == 0 && strstr(err_text, "nothing to train"), fmt("%s: resuming a finished run has nothing to do", b->tag),
          "rc %d, stderr '%s'", rc, err_text);
    rc = run(b->exe, "--resume %s/ckpt/step_10.safetensors --seed 9 --out %s", straight, dir_of(b, "seed9").s);
    check(rc == 1 && strstr(err_text, "seed"), fmt("%s: --resume with another --seed is an error", b->tag),
          "rc %d, stderr '%s'", rc, err_text);
}

/* Resuming from a damaged checkpoint fails with the file's name and the reason. */
static void expect_bad_checkpoint(const Build *b, const char *ckpt, const char *reason, const char *what)
{
    int rc = run(b->exe, "--resume %s --out %s --quiet", ckpt, dir_of(b, "never").s);
    check(rc == 1 && strstr(err_text, fmt(": error: %s", ckpt)) && strstr(err_text, reason),
          fmt("%s: %s is rejected", b->tag, what), "rc %d, stderr '%s'", rc, err_text);
}

static void test_bad_checkpoints(const Build *b)
{
    Path last = pathf("%s/ckpt/last.safetensors", dir_of(b, "straight").s);
    long len;
    char *bytes = slurp(last.s, &len);
    Path truncated = pathf("%s/%s_truncated.safetensors", scratch, b->tag);
    FILE *f = fopen(truncated.s, "wb");
    fwrite(bytes, 1, (size_t)len / 2, f);
    fclose(f);
    free(bytes);
    expect_bad_checkpoint(b, truncated.s, "truncated", "a truncated checkpoint");
    expect_bad_checkpoint(b, pathf("%s/missing.safetensors", scratch).s, "No such file",
                          "a missing checkpoint file");

    Path dropped = pathf("%s/%s_dropped.safetensors", scratch, b->tag);
    edit_checkpoint(last.s, dropped.s, "D.a/m", EDIT_DROP, 0, b->is_f64);
    expect_bad_checkpoint(b, dropped.s, "no tensor 'D.a/m'", "a checkpoint without a state tensor");
    Path reshaped = pathf("%s/%s_reshaped.safetensors", scratch, b->tag);
    edit_checkpoint(last.s, reshaped.s, "G.w", EDIT_RESHAPE, 0, b->is_f64);
    expect_bad_checkpoint(b, reshaped.s, "'G.w' has shape [4]", "a checkpoint with a misshapen parameter");
    Path no_draw = pathf("%s/%s_nodraw.safetensors", scratch, b->tag);
    edit_checkpoint(last.s, no_draw.s, "__draw", EDIT_DROP, 0, b->is_f64);
    expect_bad_checkpoint(b, no_draw.s, "'__draw'", "a checkpoint without its draw counter");
}

/* A checkpoint at step 10 with one value poisoned: the resumed run must stop at step 11 naming
 * the first non-finite tensor, and leave the run's last checkpoint as it was. */
static void expect_stop(const Build *b, const char *case_dir, const char *name, double poison,
                        const char *message)
{
    Path dir_path = dir_of(b, case_dir), bad = pathf("%s/poisoned.safetensors", dir_path.s);
    const char *dir = dir_path.s;
    run(b->exe, "--steps 10 --out %s --quiet", dir);
    edit_checkpoint(fmt("%s/ckpt/last.safetensors", dir), bad.s, name, EDIT_SET_VALUE, poison, b->is_f64);
    int rc = run(b->exe, "--resume %s --steps 20 --out %s --quiet", bad.s, dir);
    check(rc == 1 && strstr(err_text, fmt("error: step 11: %s", message)),
          fmt("%s: %s = %g stops training: '%s'", b->tag, name, poison, message), "rc %d, stderr '%s'", rc, err_text);
    check(files_equal(fmt("%s/ckpt/last.safetensors", dir), fmt("%s/ckpt/step_10.safetensors", dir)) &&
              !file_exists(fmt("%s/ckpt/step_20.safetensors", dir)),
          fmt("%s: ... and the last checkpoint is still step 10's", b->tag), "it changed");
}

/* A checkpoint holding NaN or infinity is refused when it is read (issue 9), naming the file,
 * the tensor and the index, before a step runs. */
static void expect_refused(const Build *b, const char *case_dir, const char *name, double poison, const char *message)
{
    Path dir_path = dir_of(b, case_dir), bad = pathf("%s/poisoned.safetensors", dir_path.s);
    const char *dir = dir_path.s;
    run(b->exe, "--steps 10 --out %s --quiet", dir);
    edit_checkpoint(fmt("%s/ckpt/last.safetensors", dir), bad.s, name, EDIT_SET_VALUE, poison, b->is_f64);
    int rc = run(b->exe, "--resume %s --steps 20 --out %s --quiet", bad.s, dir);
    check(rc == 1 && strstr(err_text, fmt("poisoned.safetensors: tensor \"%s\": %s at index [0,0]", name, message)),
          fmt("%s: a checkpoint with %s = %g is refused on reading", b->tag, name, poison), "rc %d, stderr '%s'", rc, err_text);
}

static void test_nonfinite(const Build *b)
{
    expect_refused(b, "nan_a", "D.a", NAN, "nan");
    expect_refused(b, "inf_m", "D.a/m", INFINITY, "inf");
    /* a finite value that overflows in the step: training stops naming the first non-finite
     * output (a poisoned checkpoint can no longer reach the updates' check, which runs after) */
    expect_stop(b, "big_a", "D.a", b->is_f64 ? 1e308 : 3e38,
                b->is_f64 ? "loss/D is not finite (-inf)" : "loss/D is not finite (nan)");
}

/* Known values in, the model's math (in double) out. */
static void test_eval_values(const Build *b)
{
    enum { B = 8 };
    double x[B * 2], z[B * 2], w[4] = {0.5, -0.25, 1, 0.125}, a[2] = {0.75, -0.5};
    for (int i = 0; i < B * 2; i++) {
        x[i] = (i % 5 - 2) * 0.25 + (i % 2) * 0.5;
        z[i] = ((3 * i) % 7 - 3) * 0.5;
    }
    StFile in = {0};
    st_add(&in, "x", 2, (long[]){B, 2}, x);
    st_add(&in, "z", 2, (long[]){B, 2}, z);
    st_add(&in, "G.w", 2, (long[]){2, 2}, w);
    st_add(&in, "D.a", 2, (long[]){2, 1}, a);
    Path in_file = pathf("%s/%s_in.safetensors", scratch, b->tag);
    Path out_file = pathf("%s/%s_out.safetensors", scratch, b->tag);
    const char *in_path = in_file.s, *out_path = out_file.s;
    char err[512];
    st_write(in_path, &in, b->is_f64, err, sizeof err);
    st_free(&in);

    double dfake = 0, dreal = 0, grad_a[2] = {0, 0}, mean_z[2] = {0, 0};
    for (int r = 0; r < B; r++)
        for (int j = 0; j < 2; j++) {
            double fake = z[2 * r] * w[j] + z[2 * r + 1] * w[2 + j];
            dfake += fake * a[j] / B;
            dreal += x[2 * r + j] * a[j] / B;
            grad_a[j] += (fake - x[2 * r + j]) / B;
            mean_z[j] += z[2 * r + j] / B;
        }
    double want[] = {dfake - dreal, -dfake, grad_a[0], grad_a[1], -mean_z[0] * a[0], -mean_z[0] * a[1],
                     -mean_z[1] * a[0], -mean_z[1] * a[1]};
    static const char *const names[] = {"loss/D", "loss/G", "grad/D/D.a", "grad/G/G.w"};
    int rc = run(b->exe, "--eval-values %s -o %s", in_path, out_path);
    StFile out = {0};
    int read = rc == 0 && st_read(out_path, &out, err, sizeof err) == 0, k = 0;
    double worst = read ? 0 : INFINITY;
    for (int i = 0; read && i < 4; i++) {
        const StTensor *t = st_find(&out, names[i]);
        for (long e = 0; t && e < tensor_size(t); e++, k++)
            worst = fmax(worst, fabs(t->data[e] - want[k]) / fmax(fabs(want[k]), 1e-3));
        if (!t)
            worst = INFINITY;
    }
    st_free(&out);
    check(worst < (b->is_f64 ? 1e-12 : 1e-6) && header_has_dtype(out_path, b->dtype),
          fmt("%s: --eval-values computes every output from the given values", b->tag),
          "rc %d, max error %g, stderr '%s'", rc, worst, err_text);

    /* the parameters of a checkpoint given as values = the checkpoint resumed */
    Path step10_file = pathf("%s/ckpt/step_10.safetensors", dir_of(b, "straight").s);
    Path params_file = pathf("%s/%s_params.safetensors", scratch, b->tag);
    const char *step10 = step10_file.s, *params = params_file.s;
    edit_checkpoint(step10, params, "__iteration", EDIT_DROP, 0, b->is_f64);
    edit_checkpoint(params, params, "__draw", EDIT_DROP, 0, b->is_f64);
    edit_checkpoint(params, params, "__seed", EDIT_DROP, 0, b->is_f64);
    int rc0 = run(b->exe, "--eval-values %s -o %s", params, out_path);
    check(rc0 == 1 && strstr(err_text, "does not use 'D.a/m'") && strstr(err_text, "--resume"),
          fmt("%s: --eval-values rejects state the evaluation does not use, with a hint", b->tag),
          "rc %d, stderr '%s'", rc0, err_text);
    edit_checkpoint(params, params, "D.a/m", EDIT_DROP, 0, b->is_f64);
    Path e1_file = pathf("%s/%s_e1.safetensors", scratch, b->tag), e2_file = pathf("%s/%s_e2.safetensors", scratch, b->tag);
    const char *e1 = e1_file.s, *e2 = e2_file.s;
    int rc1 = run(b->exe, "--resume %s --eval -o %s", step10, e1);
    int rc2 = run(b->exe, "--eval-values %s -o %s", params, e2);
    check(rc1 == 0 && rc2 == 0 && files_equal(e1, e2),
          fmt("%s: --eval after --resume = --eval-values with the checkpoint's tensors", b->tag), "rc %d %d", rc1, rc2);

    StFile odd = {0};
    st_add(&odd, "nope", 1, (long[]){2}, w);
    st_write(in_path, &odd, b->is_f64, err, sizeof err);
    rc = run(b->exe, "--eval-values %s -o %s", in_path, out_path);
    check(rc == 1 && strstr(err_text, in_path) && strstr(err_text, "'nope'"),
          fmt("%s: --eval-values rejects an unknown tensor, naming the file and it", b->tag), "stderr '%s'", err_text);
    st_free(&odd);
    st_add(&odd, "x", 2, (long[]){4, 4}, x);
    st_write(in_path, &odd, b->is_f64, err, sizeof err);
    rc = run(b->exe, "--eval-values %s -o %s", in_path, out_path);
    check(rc == 1 && strstr(err_text, in_path) && strstr(err_text, "'x' has the wrong shape [4,4]"),
          fmt("%s: --eval-values rejects a misshapen tensor", b->tag), "stderr '%s'", err_text);
    st_free(&odd);
}

static void test_build(const Build *b)
{
    test_flags(b);
    test_training(b);
    test_resume(b);
    test_bad_checkpoints(b);
    test_nonfinite(b);
    test_eval_values(b);
}

/* ----- the model's version and consistency, in process ------------------------------------- */

static void no_graph(void **leaves, void **outputs, char *arena) { (void)leaves, (void)outputs, (void)arena; }

/* A small model (one step graph, a param w and an input z) whose records a test may change. */
typedef struct Base {
    GanLeaf leaves[2];
    int32_t use[2], use_split[2];
    GanOutput out[2];
    GanGraph graphs[1];
    GanLog logs[1];
    GanModel model;
} Base;

static void base_model(Base *b)
{
    *b = (Base){
        .leaves = {{"w", ROLE_PARAM, {1, {2}}, {.kind = INIT_ZEROS}},
                   {"z", ROLE_INPUT, {2, {4, 2}}, {.kind = INIT_NORMAL, .a = 0, .b = 1}}},
        .use = {1, 0},
        .out = {{"loss/G", 0, -1, {0, {0}}}, {"w", 1, 0, {1, {2}}}},
        .logs = {{"loss G", 0, 0}},
        .model = {.version = GANC_MODEL_FORMAT_VERSION, .name = "t", .seed = 1, .iters = 2, .log_every = 1,
                  .nleaves = 2, .ngraphs = 1, .nlogs = 1},
    };
    b->graphs[0] = (GanGraph){"step_G", "G", GRAPH_STEP, 1, 2, 2, 0, 1, b->use, b->use_split, b->out, no_graph};
    b->model.leaves = b->leaves, b->model.graphs = b->graphs, b->model.logs = b->logs;
}

/* ganrt_main(model, --help) with stderr and stdout captured; its return value. */
static int main_on(const GanModel *model)
{
    char *argv[] = {"t", "--help", NULL};
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int out = open(fmt("%s/stdout", scratch), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(fmt("%s/stderr", scratch), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1), dup2(err, 2), close(out), close(err);
    int rc = ganrt_main(model, 2, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1), dup2(saved_err, 2), close(saved_out), close(saved_err);
    slurp_into(fmt("%s/stderr", scratch), err_text, sizeof err_text);
    return rc;
}

/* The base model after `change` must be rejected, the message containing `reason`. */
#define EXPECT_MALFORMED(change, reason)                                                       \
    do {                                                                                       \
        Base b;                                                                                \
        base_model(&b);                                                                        \
        change;                                                                                \
        int rc = main_on(&b.model);                                                            \
        check(rc == 1 && strstr(err_text, "t: internal error: the model is malformed: ") &&    \
                  strstr(err_text, reason),                                                    \
              "malformed model rejected: " reason, "rc %d, stderr '%s'", rc, err_text);       \
    } while (0)

static void test_models(void)
{
    Base b;
    base_model(&b);
    check(main_on(&b.model) == 0, "the base model loads", "stderr '%s'", err_text);
    b.graphs[0].ranks = 2, b.use_split[0] = 1; /* z's 4 rows split on 2 ranks */
    check(main_on(&b.model) == 0, "a step graph for 2 ranks that splits an input's rows loads", "stderr '%s'", err_text);
    base_model(&b);
    b.model.version = GANC_MODEL_FORMAT_VERSION + 1;
    int rc = main_on(&b.model);
    check(rc == 1 && strstr(err_text, fmt("t: error: the model was compiled with model format version %d, but this "
                                          "libganrt reads version %d", GANC_MODEL_FORMAT_VERSION + 1,
                                          GANC_MODEL_FORMAT_VERSION)),
          "a model of another format version is an error naming both versions", "rc %d, stderr '%s'", rc, err_text);
    EXPECT_MALFORMED(b.model.is_f64 = 2, "is_f64 is 2");
    EXPECT_MALFORMED(b.model.seed = (1ull << 53) + 1, "above 2^53");
    EXPECT_MALFORMED(b.model.name = NULL, "the model has no name");
    EXPECT_MALFORMED(b.use[0] = 2, "graph step_G uses leaf 2 of 2");
    EXPECT_MALFORMED(b.leaves[0].dims.dim[0] = 0, "'w' has dimension 0 on axis 0");
    EXPECT_MALFORMED(b.leaves[0].dims.ndim = 5, "'w' has 5 axes");
    EXPECT_MALFORMED(b.leaves[0].init.kind = INIT_KIND_COUNT, "initialiser kind");
    EXPECT_MALFORMED(b.leaves[0].init.kind = INIT_LABELS, "'w' is a labels leaf but names no file");
    EXPECT_MALFORMED((b.leaves[1].init.kind = INIT_DATA, b.leaves[1].init.sampler = "gaussians8",
                      b.leaves[1].dims.dim[1] = 3), "does not fit z's shape");
    EXPECT_MALFORMED((b.leaves[1].init.kind = INIT_DATA, b.leaves[1].init.sampler = "moons"), "unknown sampler 'moons'");
    EXPECT_MALFORMED((b.leaves[0].init.kind = INIT_COPY, b.leaves[0].init.source = "q"), "'w' copies 'q'");
    EXPECT_MALFORMED((b.out[1].leaf = 1, b.out[1].name = "z"), "'z' is updated but is not a param or state");
    EXPECT_MALFORMED(b.out[1].dims.dim[0] = 3, "the update of 'w' does not have its shape");
    EXPECT_MALFORMED(b.graphs[0].times = 0, "graph step_G: times 0");
    EXPECT_MALFORMED(b.graphs[0].fn = NULL, "no function");
    EXPECT_MALFORMED(b.graphs[0].ranks = 0, "graph step_G is for 0 ranks");
    EXPECT_MALFORMED(b.graphs[0].use_split = NULL, "graph step_G says of no use whether it is split");
    EXPECT_MALFORMED(b.use_split[0] = 1, "graph step_G (1 ranks) splits 'z'");
    EXPECT_MALFORMED((b.graphs[0].ranks = 2, b.use_split[1] = 1), "graph step_G (2 ranks) splits 'w'");
    EXPECT_MALFORMED((b.graphs[0].ranks = 3, b.use_split[0] = 1), "graph step_G (3 ranks) splits 'z'");
    EXPECT_MALFORMED(b.logs[0].output = 1, "'loss G' names w of graph step_G, which is not a scalar value");
    EXPECT_MALFORMED(b.logs[0].graph = 3, "'loss G' names output 0 of graph 3");
    EXPECT_MALFORMED(b.leaves[1].name = "w", "leaf 'w' declared twice");
    EXPECT_MALFORMED(b.graphs[0].role = GRAPH_SAMPLE, "graph step_G is not a step but updates 'w'");
}

int main(int argc, char **argv)
{
    if (!mkdtemp(scratch)) {
        perror("test_ganrt: mkdtemp");
        return 1;
    }
    char dir[512] = ".";
    const char *slash = strrchr(argv[0], '/');
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - argv[0]), argv[0]);
    char f32_exe[600], f64_exe[600];
    snprintf(f32_exe, sizeof f32_exe, "%s", argc > 2 ? argv[1] : fmt("%s/fake_model_f32", dir));
    snprintf(f64_exe, sizeof f64_exe, "%s", argc > 2 ? argv[2] : fmt("%s/fake_model_f64", dir));
    const Build builds[] = {{f32_exe, "f32", "F32", 0, sizeof(float)}, {f64_exe, "f64", "F64", 1, sizeof(double)}};

    test_models();
    for (int i = 0; i < 2; i++)
        test_build(&builds[i]);

    if (!check_failed)
        system(fmt("rm -rf '%s'", scratch));
    else
        printf("# files kept in %s\n", scratch);
    return check_summary();
}
