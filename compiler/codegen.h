/* codegen.h: native code generation with LLVM (see codegen.c). Codegen sees the model's graphs
 * and their plans, never the AST: this header and codegen.c include neither sema.h nor ast.h
 * (`make walls` checks it). */
#ifndef GANC_CODEGEN_H
#define GANC_CODEGEN_H
#include <stdio.h>
#include "plan.h"

typedef struct CodegenOptions {
    int opt_level;           /* 0-3 */
    const char *target_cpu;  /* NULL: the host CPU with its features */
    const char *object_path; /* where to write the object file, or NULL */
    FILE *print_llvm;        /* --emit=llvm */
    FILE *print_asm;         /* --emit=asm */
    const char *source_path; /* the .gan file and its text, embedded for the run record, or NULL */
    const char *source_text;
} CodegenOptions;

int codegen_model(const Model *m, const ModelPlan *plan, const CodegenOptions *opt);

#endif
