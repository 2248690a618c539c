/* target.h: checks on the LLVM target before code generation, and what its vectors hold. */
#ifndef GANC_TARGET_H
#define GANC_TARGET_H
#include <llvm-c/TargetMachine.h>

/* cpu must be a CPU that LLVM knows for target (triple); otherwise an error listing the known
 * CPUs closest to it, and exit 1 (LLVM itself would abort on some names). "help" passes: LLVM
 * then prints the list. */
void target_check_cpu(LLVMTargetRef target, const char *triple, const char *cpu);

/* The width in bits of the vectors that SLEEF's functions take on this target machine (its CPU
 * and features): 512 with AVX-512 (Sleef_expf16_u10, Sleef_expd8_u10), 256 with AVX
 * (Sleef_expf8_u10), 128 on other x86-64 CPUs (SSE2: Sleef_expf4_u10), 0 where ganc does not
 * call SLEEF (other architectures). */
int target_vector_bits(LLVMTargetMachineRef tm);

#endif
