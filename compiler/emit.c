/* emit.c: the LLVM module optimised and written as object files on several threads (emit.h).
 *
 * Optimisation and instruction selection are most of a compilation (mmd_gp at -O2: 0.10 s of
 * passes and 0.16 s of emission in 0.48 s), and they work function by function. The fused
 * loops are functions that only ganrt_parallel_loop calls, through a pointer, so no pass looks
 * across them: the module can be cut between them. Each part is a copy of the module (through
 * bitcode, in its own LLVMContext: LLVM's unit of thread safety) that keeps the bodies of its own
 * loop functions only; part 0 keeps the rest (the graph functions, main, the model's data) and
 * declares the loops it gave away. The parts are optimised and compiled side by side and the
 * linker joins their objects: the same functions, compiled alone as before, in other files. */
#include "emit.h"
#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "diag.h"
#include "target.h"
#include "timing.h"

LLVMTargetMachineRef emit_target_machine(const CodegenOptions *opt) {
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple(), *err = NULL;
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) diag_fatal("LLVM: %s", err);
    if (opt->target_cpu) target_check_cpu(target, triple, opt->target_cpu);
    char *cpu = opt->target_cpu ? LLVMCreateMessage(opt->target_cpu) : LLVMGetHostCPUName();
    char *features = opt->target_cpu ? LLVMCreateMessage("") : LLVMGetHostCPUFeatures();
    LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess, LLVMCodeGenLevelDefault,
                                    LLVMCodeGenLevelAggressive};
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, levels[opt->opt_level],
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

static void run_passes(LLVMModuleRef mod, LLVMTargetMachineRef tm, const char *pipeline, int vectorise) {
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(options, vectorise);
    LLVMPassBuilderOptionsSetSLPVectorization(options, vectorise);
    LLVMErrorRef err = LLVMRunPasses(mod, pipeline, tm, options);
    LLVMDisposePassBuilderOptions(options);
    if (err) diag_fatal("LLVM optimisation failed: %s", LLVMGetErrorMessage(err));
}

/* LLVM's default pipeline for the level, without its loop and SLP vectorisers when the loops are
 * vector code already (codegen.c's emit_loop_function): they would only look for work there is
 * none of. */
void emit_optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, const CodegenOptions *opt, int lanes) {
    if (opt->opt_level == 0) return;
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", opt->opt_level);
    run_passes(mod, tm, pipeline, opt->opt_level >= 2 && lanes == 1);
}

int codegen_objects(void) {
    const char *env = getenv("GANC_EMIT_THREADS");
    if (env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end || n < 1 || n > CODEGEN_MAX_OBJECTS)
            diag_fatal("GANC_EMIT_THREADS must be a number from 1 to %d, not '%s'", CODEGEN_MAX_OBJECTS, env);
        return (int)n;
    }
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    return n < 1 ? 1 : n > CODEGEN_MAX_OBJECTS ? CODEGEN_MAX_OBJECTS : n;
}

/* ---- cutting the module ------------------------------------------------------------------ */

static long instructions(LLVMValueRef fn) {
    long n = 0;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) n++;
    return n;
}

/* The graph functions are optnone (codegen.c): no passes, the fast instruction selector. Per
 * instruction they cost about an eighth of an optimised loop's: with that weight the two parts'
 * thread CPU times (GANC_TIME=1) came out within 10% of each other on mmd_gp, wgan_gp_fmnist,
 * dcgan_fmnist, lgan_sqrt and cramer_gan (with 4, part 1 took 35-45% more than part 0). */
enum { OPTNONE_SHARE = 8 };

/* part[k]: the part that compiles movable function k. The largest loops are dealt first, each to
 * the part with the least work so far (part 0 starts with everything that is not movable); ties go
 * to the lower part, so the cut is the same every time. */
static void share_out(LLVMModuleRef mod, LLVMValueRef *movable, int n, int nparts, int *part) {
    long load[CODEGEN_MAX_OBJECTS] = {0}, *cost = calloc((size_t)n + 1, sizeof *cost);
    int *order = calloc((size_t)n + 1, sizeof *order);
    if (!cost || !order) diag_fatal("out of memory");
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn)) load[0] += instructions(fn);
    for (int k = 0; k < n; k++) load[0] -= cost[k] = instructions(movable[k]);
    load[0] /= OPTNONE_SHARE;
    for (int k = 0; k < n; k++) {
        int j = k;   /* insertion sort by falling cost, stable: n is at most a few hundred */
        for (; j > 0 && cost[order[j - 1]] < cost[k]; j--) order[j] = order[j - 1];
        order[j] = k;
    }
    for (int r = 0; r < n; r++) {
        int best = 0;
        for (int p = 1; p < nparts; p++)
            if (load[p] < load[best]) best = p;
        part[order[r]] = best;
        load[best] += cost[order[r]];
    }
    free(cost);
    free(order);
}

/* fn becomes a declaration of the same name and type: calls and pointers to it now reach the
 * definition in another object. (The C API deletes a whole function, not a body: the old one's
 * uses move to the new declaration first.) */
static void to_declaration(LLVMModuleRef mod, LLVMValueRef fn) {
    size_t len;
    char *name = strdup(LLVMGetValueName2(fn, &len));
    if (!name) diag_fatal("out of memory");
    LLVMValueRef decl = LLVMAddFunction(mod, "", LLVMGlobalGetValueType(fn));
    LLVMReplaceAllUsesWith(fn, decl);
    LLVMDeleteFunction(fn);
    LLVMSetValueName2(decl, name, len);
    LLVMSetVisibility(decl, LLVMHiddenVisibility);
    free(name);
}

static int listed(LLVMValueRef fn, const char *const *names, int n) {
    size_t len;
    const char *name = LLVMGetValueName2(fn, &len);
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], name)) return 1;
    return 0;
}

/* A part's copy of the module: its loops' bodies and what they use. Every other function becomes
 * a declaration and every constant local to the copy; then LLVM's globaldce drops what nothing
 * kept uses (the model's data, the graph functions, main), dead constant users included. */
static void keep_only(LLVMModuleRef mod, LLVMTargetMachineRef tm, const char *const *names, int n) {
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod), next; fn; fn = next) {
        next = LLVMGetNextFunction(fn);
        if (!LLVMIsDeclaration(fn) && !listed(fn, names, n)) to_declaration(mod, fn);
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(mod); g; g = LLVMGetNextGlobal(g)) {
        /* a copy of a constant is as good as the original; a variable's would not be */
        if (!LLVMIsGlobalConstant(g)) diag_fatal("internal error: cannot cut a module with the variable '%s'",
                                                 LLVMGetValueName(g));
        LLVMSetLinkage(g, LLVMInternalLinkage);
    }
    run_passes(mod, tm, "globaldce", 0);
}

/* ---- the parts, side by side ------------------------------------------------------------- */

typedef struct Part {
    int index;
    LLVMMemoryBufferRef bitcode;   /* the whole module, for parts other than 0 */
    LLVMModuleRef mod;             /* part 0: the module itself; others: read from bitcode */
    LLVMTargetMachineRef tm;       /* one per thread */
    const CodegenOptions *opt;
    int lanes;
    const char *path;
    const char **names;            /* the loop functions this part compiles (parts other than 0) */
    int nnames;
    char *error;                   /* LLVM's message if the object could not be written */
    double cpu;                    /* this thread's CPU seconds, for GANC_TIME */
} Part;

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *compile_part(void *arg) {
    Part *p = arg;
    double start = thread_cpu();
    LLVMContextRef ctx = NULL;
    if (p->index > 0) {
        ctx = LLVMContextCreate();
        if (LLVMParseBitcodeInContext2(ctx, p->bitcode, &p->mod)) diag_fatal("internal error: bitcode of part %d", p->index);
        keep_only(p->mod, p->tm, p->names, p->nnames);
    }
    emit_optimise(p->mod, p->tm, p->opt, p->lanes);
    if (LLVMTargetMachineEmitToFile(p->tm, p->mod, (char *)p->path, LLVMObjectFile, &p->error) == 0) p->error = NULL;
    if (ctx) {
        LLVMDisposeModule(p->mod);
        LLVMContextDispose(ctx);
    }
    p->cpu = thread_cpu() - start;
    return NULL;
}

/* Part 0 keeps the loops no other part took, and declares the others. */
static void give_away(LLVMModuleRef mod, LLVMValueRef *movable, int n, const int *part) {
    for (int k = 0; k < n; k++)
        if (part[k] != 0) to_declaration(mod, movable[k]);
}

int emit_objects(LLVMModuleRef mod, LLVMTargetMachineRef tm, const CodegenOptions *opt, int lanes,
                 LLVMValueRef *movable, int nmovable, const char *const *paths, int nparts) {
    Part parts[CODEGEN_MAX_OBJECTS] = {{0}};
    pthread_t threads[CODEGEN_MAX_OBJECTS];
    int *part = calloc((size_t)nmovable + 1, sizeof *part);
    const char **names = calloc((size_t)nmovable + 1, sizeof *names);
    char (*name)[24] = calloc((size_t)nmovable + 1, sizeof *name);
    if (!part || !names || !name) diag_fatal("out of memory");
    /* the loops become visible to the other objects, under names no library uses */
    for (int k = 0; k < nmovable; k++) {
        snprintf(name[k], sizeof name[k], "ganc_loop_%d", k);
        LLVMSetValueName2(movable[k], name[k], strlen(name[k]));
        LLVMSetLinkage(movable[k], LLVMExternalLinkage);
        LLVMSetVisibility(movable[k], LLVMHiddenVisibility);
    }
    share_out(mod, movable, nmovable, nparts, part);
    LLVMMemoryBufferRef bitcode = nparts > 1 ? LLVMWriteBitcodeToMemoryBuffer(mod) : NULL;
    int nnames = 0;
    for (int p = 0; p < nparts; p++) {
        parts[p] = (Part){p, bitcode, p ? NULL : mod, p ? emit_target_machine(opt) : tm, opt, lanes, paths[p],
                          names + nnames, 0, NULL, 0};
        for (int k = 0; k < nmovable; k++)
            if (part[k] == p && p > 0) names[nnames++] = name[k], parts[p].nnames++;
    }
    for (int p = 1; p < nparts; p++)
        if (pthread_create(&threads[p], NULL, compile_part, &parts[p])) diag_fatal("cannot start a compiler thread");
    give_away(mod, movable, nmovable, part);
    compile_part(&parts[0]);
    int rc = 0;
    for (int p = 0; p < nparts; p++) {
        if (p > 0) pthread_join(threads[p], NULL);
        if (parts[p].error) {
            fprintf(stderr, "ganc: error: cannot write %s: %s\n", parts[p].path, parts[p].error);
            LLVMDisposeMessage(parts[p].error);
            rc = 1;
        }
        if (p > 0) LLVMDisposeTargetMachine(parts[p].tm);
        timing_detail("part %d: %d loop functions, thread CPU %.3f s", p, p ? parts[p].nnames : nmovable - nnames,
                      parts[p].cpu);
    }
    if (bitcode) LLVMDisposeMemoryBuffer(bitcode);
    free(part);
    free(names);
    free(name);
    return rc;
}
