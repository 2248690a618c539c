/* mutants.c: tests/robustness.sh's engine. No mutant of a program may crash or hang ganc's
 * front end.
 *
 *   mutants [-j JOBS] [-o SAVE_DIR] FILE.gan...
 *
 * Each file is mutated deterministically: truncation at every TRUNC_STRIDE-th byte, single-byte
 * replacements at every REPLACE_STRIDE-th byte (position k tries bytes k, k+7, ... of the set
 * below, BYTES_PER_POS of them), deletion of each line and duplication of each line. Each
 * mutant runs through the front end as `ganc --emit=ir-grad` runs it (frontend.c), in a child
 * forked from this process (no exec, no dynamic loading of LLVM: several times cheaper than
 * starting ganc), with 10 s of CPU at most and its stderr kept.
 *   pass: exit 0, or exit 1 whose stderr starts with a "...: error: " line
 *   fail: a signal, a timeout, an internal error, exit 1 without an error line, any other status
 * Failing mutants are saved in SAVE_DIR. Prints `ok - robustness: N mutants` or `not ok -
 * robustness: ...` naming the first failures, then `N passed, M failed`; exit 1 if any failed.
 * The strides come from the environment (TRUNC_STRIDE, REPLACE_STRIDE, BYTES_PER_POS). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "fuzz.h"
#include "../check.h" /* slurp */

/* { } ( ) [ ] , : = - > ^ 0 9 e . " # newline NUL 0xff */
static const unsigned char replacement_bytes[] = {'{', '}', '(', ')', '[', ']', ',', ':', '=', '-', '>',
                                                  '^', '0', '9', 'e', '.', '"', '#', '\n', 0, 0xff};
enum { NBYTES = sizeof replacement_bytes, MAX_JOBS = 16, MAX_SHOWN = 10 };

typedef struct Mutant {
    char *text;
    size_t len;
    char desc[64]; /* trunc41, rep53-075, del3, dup3 (the shell version's names) */
} Mutant;

typedef struct Child {
    pid_t pid;
    int err_fd;
    Mutant m;
} Child;

static const char *base_name, *source_path, *save_dir = "/tmp/ganc-robustness";
static long total, failures;
static char shown[MAX_SHOWN][4700];

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

/* ----- running one mutant ----------------------------------------------------------------- */

static void run_child(const Mutant *m)
{
    /* 10 s of CPU, not of the clock: a loaded machine must not turn slow runs into failures;
     * the alarm catches a child that blocks without computing */
    struct rlimit cpu = {10, 11};
    setrlimit(RLIMIT_CPU, &cpu);
    alarm(300);
    if (memchr(m->text, 0, m->len)) { /* read_source's check in main.c */
        fprintf(stderr, "ganc: error: '%s' contains a NUL byte: is it a text file?\n", source_path);
        exit(1);
    }
    FILE *sink = fopen("/dev/null", "w");
    fuzz_front_end(source_path, m->text, sink, 0);
    exit(0);
}

static void start(Child *c, Mutant m)
{
    c->m = m;
    c->err_fd = memfd_create("stderr", 0);
    fflush(stdout);
    c->pid = fork();
    if (c->pid == 0) {
        dup2(c->err_fd, STDERR_FILENO);
        run_child(&c->m);
    }
}

/* Why the child's outcome is a failure, or NULL. */
static const char *judge(const Child *c, int status, char *why, size_t cap)
{
    if (WIFSIGNALED(status)) {
        if (WTERMSIG(status) == SIGXCPU)
            return "timeout (10 s of CPU)";
        if (WTERMSIG(status) == SIGALRM)
            return "hung (300 s)";
        snprintf(why, cap, "killed by signal %d", WTERMSIG(status));
        return why;
    }
    int rc = WEXITSTATUS(status);
    if (rc == 0)
        return NULL;
    if (rc != 1) {
        snprintf(why, cap, "exit status %d", rc);
        return why;
    }
    char first[512] = "";
    ssize_t n = pread(c->err_fd, first, sizeof first - 1, 0);
    first[n > 0 ? n : 0] = '\0';
    first[strcspn(first, "\n")] = '\0';
    if (strstr(first, ": error: internal error")) {
        snprintf(why, cap, "internal error: %.400s", first);
        return why;
    }
    return strstr(first, ": error: ") ? NULL : "exit 1 without an error line";
}

static void save(const Mutant *m, const char *why)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s.gan", save_dir, base_name, m->desc);
    mkdir(save_dir, 0777);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(m->text, 1, m->len, f);
        fclose(f);
    }
    if (failures < MAX_SHOWN)
        snprintf(shown[failures], sizeof shown[0], "%s (%s)", path, why);
    failures++;
}

static void finish(Child *c, int status)
{
    char why[512];
    const char *failed = judge(c, status, why, sizeof why);
    if (failed)
        save(&c->m, failed);
    close(c->err_fd);
    free(c->m.text);
    c->pid = 0;
}

/* ----- the pool of children --------------------------------------------------------------- */

static Child pool[MAX_JOBS];
static int jobs = 2;

static void wait_one(void)
{
    int status;
    pid_t pid = wait(&status);
    for (int i = 0; i < jobs; i++)
        if (pool[i].pid == pid && pid > 0)
            finish(&pool[i], status);
}

static void submit(Mutant m)
{
    total++;
    for (;;) {
        for (int i = 0; i < jobs; i++)
            if (!pool[i].pid) {
                start(&pool[i], m);
                return;
            }
        wait_one();
    }
}

static void drain(void)
{
    for (int i = 0; i < jobs; i++)
        while (pool[i].pid)
            wait_one();
}

/* ----- the mutants ------------------------------------------------------------------------- */

/* text[0..a) + insert + text[b..len) */
static Mutant splice(const char *text, size_t len, size_t a, const char *insert, size_t n, size_t b)
{
    Mutant m = {malloc(a + n + (len - b) + 1), a + n + (len - b), ""};
    memcpy(m.text, text, a);
    memcpy(m.text + a, insert, n);
    memcpy(m.text + a + n, text + b, len - b);
    m.text[m.len] = '\0';
    return m;
}

static void mutate(const char *text, size_t len)
{
    long trunc = env_long("TRUNC_STRIDE", 41), replace = env_long("REPLACE_STRIDE", 53);
    long per_pos = env_long("BYTES_PER_POS", 2);
    for (size_t p = 0; p < len; p += (size_t)trunc) {
        Mutant m = splice(text, len, p, "", 0, len);
        snprintf(m.desc, sizeof m.desc, "trunc%zu", p);
        submit(m);
    }
    long k = 0;
    for (size_t p = 0; p < len; p += (size_t)replace, k++)
        for (long j = 0; j < per_pos; j++) {
            unsigned char byte = replacement_bytes[(k + j * 7) % NBYTES];
            Mutant m = splice(text, len, p, (const char *)&byte, 1, p + 1);
            snprintf(m.desc, sizeof m.desc, "rep%zu-%03o", p, byte);
            submit(m);
        }
    /* lines as `wc -l` and sed count them: each ends with a newline */
    long line = 1;
    for (size_t start = 0; start < len; line++) {
        const char *newline = memchr(text + start, '\n', len - start);
        if (!newline)
            break;
        size_t end = (size_t)(newline - text) + 1;
        Mutant del = splice(text, len, start, "", 0, end);
        snprintf(del.desc, sizeof del.desc, "del%ld", line);
        submit(del);
        Mutant dup = splice(text, len, start, text + start, end - start, start);
        snprintf(dup.desc, sizeof dup.desc, "dup%ld", line);
        submit(dup);
        start = end;
    }
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-j") == 0)
            jobs = atoi(argv[i + 1]) < 1 ? 1 : atoi(argv[i + 1]) > MAX_JOBS ? MAX_JOBS : atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-o") == 0)
            save_dir = argv[i + 1];
    }
    for (; i < argc; i++) {
        long len;
        char *text = slurp(argv[i], &len);
        if (!text) {
            printf("not ok - robustness: cannot read %s: %s\n0 passed, 1 failed\n", argv[i], strerror(errno));
            return 1;
        }
        source_path = argv[i];
        base_name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        char *dot = strrchr(base_name, '.');
        char base[256];
        snprintf(base, sizeof base, "%.*s", dot ? (int)(dot - base_name) : (int)strlen(base_name), base_name);
        base_name = base;
        mutate(text, len);
        drain(); /* the children of this file still refer to its names */
        free(text);
    }
    if (failures == 0) {
        printf("ok - robustness: %ld mutants\n", total);
    } else {
        printf("not ok - robustness: %ld of %ld mutants failed (saved in %s): %s%s%s\n", failures, total, save_dir,
               shown[0], failures > 1 ? "; " : "", failures > 1 ? shown[1] : "");
        for (long f = 0; f < failures && f < MAX_SHOWN; f++)
            printf("#   %s\n", shown[f]);
    }
    printf("%ld passed, %ld failed\n", total - failures, failures);
    return failures != 0;
}
