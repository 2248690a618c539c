/* frontend.c: the fuzz target for the compiler's front end (lexer, parser, sema, autodiff, IR
 * printing: main.c's stages up to --emit=ir-grad). An input is a .gan program; a source error is the expected outcome for most, so
 * diag's errors longjmp back here (diag_recover) instead of exiting, and the arena is reset
 * after each input (its blocks kept for the next: freeing and re-faulting them was a third of
 * the time): thousands of programs run in one process with no state carried over.
 * mutants.c runs the same function in a child per program, letting errors exit as ganc's do. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "files.h"
#include "fuzz.h"
#include "ir.h"
#include "model.h"
#include "sema.h"

void fuzz_front_end(const char *name, const char *text, FILE *ir_out, int recover)
{
    static Arena arena; /* static: its value survives the longjmp */
    SourceFile src = {name, text};
    jmp_buf here;
    if (!recover || setjmp(here) == 0) {
        if (recover)
            diag_recover = &here;
        const Program *prog = parse_program(&arena, &src);
        Model *m = ARENA_NEW(&arena, Model);
        model_lower(m, sema_check(&arena, prog, DT_F32, m), &arena);
        model_autodiff(m);
        model_update(m);
        model_optimise(m);
        files_check(m, &arena);
        for (int i = 0; i < m->nschedule; i++)
            ir_print(ir_out, m->schedule[i].graph);
    }
    diag_recover = NULL;
    if (recover)
        arena_reset(&arena);
    else
        arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (memchr(data, 0, size))
        return 0; /* ganc refuses a NUL byte before parsing (main.c) */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    diag_stream = sink;
    fuzz_front_end("fuzz.gan", text, sink, 1);
    free(text);
    return 0;
}
