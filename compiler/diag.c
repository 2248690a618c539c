/* diag.c: error reporting with a source line and caret (see diag.h). */
#include "diag.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jmp_buf *diag_recover;
FILE *diag_stream;

enum { MAX_CLEANUPS = 8 };
static struct { void (*release)(void *); void *arg; } cleanups[MAX_CLEANUPS];
static int ncleanups;

void diag_push_cleanup(void (*release)(void *), void *arg) {
    if (ncleanups < MAX_CLEANUPS) cleanups[ncleanups].release = release, cleanups[ncleanups].arg = arg;
    ncleanups++;
}

void diag_pop_cleanup(void) { ncleanups--; }

static FILE *out(void) { return diag_stream ? diag_stream : stderr; }

/* After an error: back to the harness (diag_recover), or exit 1 as the compiler does. */
static _Noreturn void give_up(void) {
    if (!diag_recover) exit(1);
    while (ncleanups > 0) {
        ncleanups--;
        if (ncleanups < MAX_CLEANUPS) cleanups[ncleanups].release(cleanups[ncleanups].arg);
    }
    longjmp(*diag_recover, 1);
}

static void show_line(SrcLoc loc) {
    const char *p = loc.file->text;
    for (int line = 1; line < loc.line && *p; p++)
        if (*p == '\n') line++;
    const char *end = strchr(p, '\n');
    int len = end ? (int)(end - p) : (int)strlen(p);
    fprintf(out(), "%.*s\n", len, p);
    for (int i = 1; i < loc.col && i <= len; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', out());
    fputs("^\n", out());
}

static void report(SrcLoc loc, const char *kind, const char *fmt, va_list ap) {
    fflush(stdout);
    if (loc.file && loc.line > 0)
        fprintf(out(), "%s:%d:%d: %s: ", loc.file->name, loc.line, loc.col, kind);
    else
        fprintf(out(), "ganc: %s: ", kind);
    vfprintf(out(), fmt, ap);
    fputc('\n', out());
    if (loc.file && loc.line > 0) show_line(loc);
}

void diag_error(SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(loc, "error", fmt, ap);
    va_end(ap);
    give_up();
}

void diag_note(SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(loc, "note", fmt, ap);
    va_end(ap);
}

void diag_warning(SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(loc, "warning", fmt, ap);
    va_end(ap);
}

/* The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbouring characters cost 1 each. Names are short, so three rows of 64 suffice. */
static int edit_distance(const char *a, const char *b) {
    enum { N = 64 };
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la >= N || lb >= N) return N;
    int rows[3][N], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int d = prev[j - 1] + cost;
            if (prev[j] + 1 < d) d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d) d = prev2[j - 2] + 1;
            cur[j] = d;
        }
        int *t = prev2;
        prev2 = prev, prev = cur, cur = t;
    }
    return prev[lb];
}

const char *diag_closest(const char *name, const char *const *candidates, int n) {
    int len = (int)strlen(name), limit = len <= 4 ? 1 : len <= 8 ? 2 : 3, best = limit + 1;
    const char *found = NULL;
    for (int i = 0; i < n; i++) {
        if (!candidates[i] || strcmp(candidates[i], name) == 0) continue;
        int d = edit_distance(name, candidates[i]);
        if (d < best && d < len) best = d, found = candidates[i];
    }
    return found;
}

void diag_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("ganc: error: ", out());
    vfprintf(out(), fmt, ap);
    fputc('\n', out());
    va_end(ap);
    give_up();
}
