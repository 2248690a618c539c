/* emit.h: the last stage of codegen: the LLVM module optimised and written as object files,
 * its functions spread over several threads (see emit.c). */
#ifndef GANC_EMIT_H
#define GANC_EMIT_H
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include "codegen.h"

/* The target machine for opt's CPU (the host's, with its features, when opt->target_cpu is
 * NULL) at opt's optimisation level. An unknown CPU is an error (target.h). */
LLVMTargetMachineRef emit_target_machine(const CodegenOptions *opt);

/* LLVM's optimisation pipeline at opt->opt_level (none at 0); lanes > 1 when the fused loops are
 * vector code already, which turns LLVM's vectorisers off. */
void emit_optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, const CodegenOptions *opt, int lanes);

/* Optimises mod and writes it as nparts (at most CODEGEN_MAX_OBJECTS) objects paths[0..nparts-1],
 * side by side on nparts threads: the movable functions (the fused loops, which nothing calls but
 * through a pointer) are shared out among the parts; mod becomes part 0, with everything else.
 * 0, or 1 after an error message. */
int emit_objects(LLVMModuleRef mod, LLVMTargetMachineRef tm, const CodegenOptions *opt, int lanes,
                 LLVMValueRef *movable, int nmovable, const char *const *paths, int nparts);

#endif
