/* target.c: --target-cpu validated against LLVM's own CPU table, and the target's vector width
 * (target.h).
 *
 * LLVM's C API has no call that lists a target's CPUs, but every target prints its table when
 * a target machine is made for the CPU "help". So the table is captured once from that output
 * (stderr redirected to a temporary file for the call) and the name is looked up in it; an
 * unknown name gets the closest known ones by edit distance, so `skylak` suggests `skylake`. */
#include "target.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <llvm-c/Core.h>
#include "diag.h"

enum { MAX_CPUS = 512, NAME_LEN = 64, SUGGESTIONS = 4 };

typedef struct CpuTable {
    char names[MAX_CPUS][NAME_LEN];
    int count;
} CpuTable;

/* What LLVM prints for the CPU "help", into a temporary file; NULL if it cannot be captured. */
static FILE *capture_help(LLVMTargetRef target, const char *triple) {
    FILE *out = tmpfile();
    int saved = out ? dup(STDERR_FILENO) : -1;
    if (saved < 0) {
        if (out) fclose(out);
        return NULL;
    }
    fflush(stderr);
    dup2(fileno(out), STDERR_FILENO);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, "help", "", LLVMCodeGenLevelNone,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    if (tm) LLVMDisposeTargetMachine(tm);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(out);
    return out;
}

/* The names in the "Available CPUs for this target:" section, lines "  name  - Select ...". */
static void read_table(FILE *help, CpuTable *t) {
    char line[512];
    int in_cpus = 0;
    t->count = 0;
    while (fgets(line, sizeof line, help)) {
        if (strstr(line, "Available CPUs")) in_cpus = 1;
        else if (strstr(line, "Available features")) in_cpus = 0;
        else if (in_cpus && t->count < MAX_CPUS && sscanf(line, " %63s -", t->names[t->count]) == 1)
            t->count++;
    }
}

/* Levenshtein distance, for names under NAME_LEN characters. */
static int edit_distance(const char *a, const char *b) {
    int n = (int)strlen(b), row[NAME_LEN + 1];
    for (int j = 0; j <= n; j++) row[j] = j;
    for (int i = 1; a[i - 1]; i++) {
        int diagonal = row[0];
        row[0] = i;
        for (int j = 1; j <= n; j++) {
            int above = row[j], best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best) best = above + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[n];
}

/* ", closest: a, b, c" for the SUGGESTIONS nearest names within a third of the name's length. */
static void suggestions(const CpuTable *t, const char *cpu, char *out, size_t cap) {
    int used[MAX_CPUS] = {0}, limit = (int)strlen(cpu) / 3 + 1;
    size_t len = 0;
    out[0] = 0;
    for (int k = 0; k < SUGGESTIONS; k++) {
        int best = -1, best_d = limit + 1;
        for (int i = 0; i < t->count; i++) {
            int d = used[i] ? best_d : edit_distance(cpu, t->names[i]);
            if (d < best_d) best = i, best_d = d;
        }
        if (best < 0) break;
        used[best] = 1;
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", k ? ", " : "; did you mean ",
                                t->names[best]);
    }
    if (len > 0 && len + 2 < cap) strcat(out, "?");
}

void target_check_cpu(LLVMTargetRef target, const char *triple, const char *cpu) {
    if (strcmp(cpu, "help") == 0) return;
    if (strlen(cpu) >= NAME_LEN) diag_fatal("--target-cpu: '%.40s...' is not a CPU name", cpu);
    FILE *help = capture_help(target, triple);
    if (!help) return; /* no table to check against: LLVM's own warning will do */
    CpuTable *t = malloc(sizeof *t);
    if (!t) diag_fatal("out of memory");
    read_table(help, t);
    fclose(help);
    int known = t->count == 0;
    for (int i = 0; !known && i < t->count; i++) known = strcmp(t->names[i], cpu) == 0;
    char close[NAME_LEN * SUGGESTIONS + 32];
    if (!known) suggestions(t, cpu, close, sizeof close);
    free(t);
    if (!known)
        diag_fatal("--target-cpu: '%s' is not a CPU that LLVM knows for %s%s (--target-cpu help lists them)", cpu,
                   triple, close);
}

/* The register names in the assembly of one 512-bit vector addition: zmm where the target
 * machine's CPU has AVX-512, ymm where it has AVX (two halves), xmm otherwise. The C API tells
 * neither a CPU's features (only the host's) nor its registers, but the code generator knows
 * them. Some milliseconds, once per compilation. */
int target_vector_bits(LLVMTargetMachineRef tm) {
    char *triple = LLVMGetTargetMachineTriple(tm);
    int x86 = !strncmp(triple, "x86_64", 6);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("probe", ctx);
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    if (!x86) return LLVMDisposeModule(mod), LLVMContextDispose(ctx), 0;
    LLVMTypeRef v16 = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16), params[] = {v16, v16};
    LLVMValueRef fn = LLVMAddFunction(mod, "probe", LLVMFunctionType(v16, params, 2, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMBuildRet(b, LLVMBuildFAdd(b, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), ""));
    LLVMDisposeBuilder(b);
    char *err = NULL;
    LLVMMemoryBufferRef buf = NULL;
    int bits = 128;
    if (!LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMAssemblyFile, &err, &buf)) {
        const char *text = LLVMGetBufferStart(buf);
        size_t n = LLVMGetBufferSize(buf);
        for (size_t i = 0; i + 3 <= n; i++) {
            if (!memcmp(text + i, "zmm", 3)) bits = 512;
            else if (!memcmp(text + i, "ymm", 3) && bits < 256) bits = 256;
        }
        LLVMDisposeMemoryBuffer(buf);
    } else {
        LLVMDisposeMessage(err);
    }
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return bits;
}
