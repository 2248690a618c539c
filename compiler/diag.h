/* diag.h: source locations and error reports.
 *
 * Every error the user can cause is reported as `file:line:col: error: message`, then the source
 * line and a caret under the column, and the compiler exits with status 1. Source files (the
 * user's and the embedded stdlib) are registered here so a location can always show its line. */
#ifndef GANC_DIAG_H
#define GANC_DIAG_H
#include <setjmp.h>
#include <stdio.h>

typedef struct SourceFile {
    const char *name;   /* as the user wrote it, or "std.gan" for the embedded stdlib */
    const char *text;   /* whole file, NUL-terminated */
} SourceFile;

typedef struct SrcLoc {
    const SourceFile *file;
    int line, col;      /* 1-based; line 0 means "no location" */
} SrcLoc;

/* Print "file:line:col: error: ..." with the source line and caret, then exit(1). */
void diag_error(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* The same report without exiting (for notes that follow an error). */
void diag_note(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning: the same report with "warning:", and compilation goes on. */
void diag_warning(SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The candidate closest to a misspelt name (edit distance, a swap of neighbours counting once),
 * or NULL when none is close enough to be what was meant: at most 1 edit for a name of up to 4
 * characters, 2 up to 8, 3 beyond. */
const char *diag_closest(const char *name, const char *const *candidates, int n);
/* An error with no source location: "ganc: error: ...", exit(1). */
void diag_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* For harnesses that run many programs in one process (tests/fuzz/): while diag_recover is set,
 * an error runs the registered cleanups (newest first) and longjmps there instead of exiting;
 * reports go to diag_stream when it is set (NULL: stderr). A stage that holds memory outside
 * the arena across calls that may fail registers its release with diag_push_cleanup. */
extern jmp_buf *diag_recover;
extern FILE *diag_stream;
void diag_push_cleanup(void (*release)(void *), void *arg);
void diag_pop_cleanup(void);

#endif
