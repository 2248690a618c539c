/* modeldata.h: a GanModel (runtime/contract.h) as constant data of an LLVM module (see
 * modeldata.c). */
#ifndef GANC_MODELDATA_H
#define GANC_MODELDATA_H
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>

#include "contract.h"

/* Emits `model` into mod as a private constant GanModel laid out for the module's data layout
 * (which must be the host's: the layout is checked field by field against contract.h's structs)
 * and returns that global. Graph k's function pointer is fns[k]; model->graphs[k].fn is not read.
 * A layout that disagrees with the C structs is an internal error. */
LLVMValueRef modeldata_emit(LLVMModuleRef mod, LLVMTargetDataRef layout, const GanModel *model,
                            LLVMValueRef const *fns);

#endif
