/* stdlib.c: the stdlib modules (the stdlib folder), embedded into the compiler at build time by
 * tests/embed.sh so that `use std` works wherever ganc runs. */
#include <string.h>
#include "sema.h"

extern const char *const ganc_stdlib_files[][2];

const SourceFile *stdlib_source(Arena *arena, const char *module) {
    for (int i = 0; ganc_stdlib_files[i][0]; i++) {
        if (strcmp(ganc_stdlib_files[i][0], module) != 0) continue;
        SourceFile *f = ARENA_NEW(arena, SourceFile);
        f->name = arena_printf(arena, "stdlib/%s.gan", module);
        f->text = ganc_stdlib_files[i][1];
        return f;
    }
    return NULL;
}
