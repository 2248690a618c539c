/* target.h: checks on the LLVM target before code generation. */
#ifndef GANC_TARGET_H
#define GANC_TARGET_H
#include <llvm-c/TargetMachine.h>

/* cpu must be a CPU that LLVM knows for target (triple); otherwise an error listing the known
 * CPUs closest to it, and exit 1 (LLVM itself would abort on some names). "help" passes: LLVM
 * then prints the list. */
void target_check_cpu(LLVMTargetRef target, const char *triple, const char *cpu);

#endif
