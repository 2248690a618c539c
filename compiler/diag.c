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
