/* tests/check.h: the one assertion helper of the C test programs.
 *
 * Every check prints `ok - NAME` or `not ok - NAME: WHY`, the lines tests/run.sh gathers, and
 * check_summary() ends a program with `N passed, M failed` and its exit status. A program may
 * set check_prefix to start every name ("eval ", "fid "). Header-only: each test is one file.
 * slurp() reads a whole file, which many tests compare. */
#ifndef GANC_TESTS_CHECK_H
#define GANC_TESTS_CHECK_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;
static const char *check_prefix = "";

/* Records one check; why (printf-style) is printed only when it fails. Returns ok. */
__attribute__((format(printf, 3, 4), unused))
static int check(int ok, const char *name, const char *why, ...)
{
    if (ok) {
        printf("ok - %s%s\n", check_prefix, name);
        check_passed++;
        return 1;
    }
    printf("not ok - %s%s: ", check_prefix, name);
    va_list ap;
    va_start(ap, why);
    vprintf(why, ap);
    va_end(ap);
    putchar('\n');
    check_failed++;
    return 0;
}

/* CHECK(cond, name): a failure quotes the condition. */
#define CHECK(cond, name) check((cond) != 0, (name), "%s is false", #cond)

/* |got - want| <= tolerance; NaN fails. */
__attribute__((unused))
static int check_near(double got, double want, double tolerance, const char *name)
{
    return check(fabs(got - want) <= tolerance, name, "got %.17g, want %.17g, tolerance %g", got, want, tolerance);
}
#define CHECK_NEAR(got, want, tolerance, name) check_near((got), (want), (tolerance), (name))

/* A check whose failure shows the two numbers compared. */
__attribute__((unused))
static int check_got(int ok, const char *name, double got, double want)
{
    return check(ok, name, "got %.17g, want %.17g", got, want);
}

/* The whole file, NUL-terminated (malloc'd), and its length if len is not NULL; NULL if it
 * cannot be opened. */
__attribute__((unused))
static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *data = malloc((size_t)(n > 0 ? n : 0) + 1);
    long got = n > 0 ? (long)fread(data, 1, (size_t)n, f) : 0;
    fclose(f);
    data[got] = '\0';
    if (len)
        *len = got;
    return data;
}

/* `N passed, M failed`; the program's exit status. */
__attribute__((unused))
static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
