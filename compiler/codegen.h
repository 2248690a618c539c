/* codegen.h: native code generation with LLVM (see codegen.c). Codegen sees the model's graphs
 * and their plans, never the AST: this header and codegen.c include neither sema.h nor ast.h
 * (`make walls` checks it). */
#ifndef GANC_CODEGEN_H
#define GANC_CODEGEN_H
#include <stdio.h>
#include "plan.h"

enum { CODEGEN_MAX_OBJECTS = 4 };

typedef struct CodegenOptions {
    int opt_level;           /* 0-3 */
    const char *target_cpu;  /* NULL: the host CPU with its features */
    int nobjects;            /* 0: no object file; more than 1: the module cut in parts (emit.c) */
    const char *object_paths[CODEGEN_MAX_OBJECTS];
    FILE *print_llvm;        /* --emit=llvm */
    FILE *print_asm;         /* --emit=asm */
    const char *source_path; /* the .gan file and its text, embedded for the run record, or NULL */
    const char *source_text;
} CodegenOptions;

int codegen_model(const Model *m, const ModelPlan *plan, const CodegenOptions *opt);

/* How many objects a compilation to an executable writes, side by side on as many threads: one
 * per CPU this process may run on, at most CODEGEN_MAX_OBJECTS; GANC_EMIT_THREADS=N sets it
 * (1: the whole module on one thread). */
int codegen_objects(void);

#endif
