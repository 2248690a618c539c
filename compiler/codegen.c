/* codegen.c: native code for a model through the LLVM C API (LLVM 19).
 *
 * The last stage of the pipeline: each graph of the model (the step graphs, eval, sample)
 * becomes one function `void graph(void **leaves, void **outputs, char *arena)` that follows
 * the graph's plan (plan.c): every LOOP node is a loop over its elements that computes the node
 * and the nodes fused into it in registers, every CALL node is a call to a libganrt kernel
 * (cblas for matmul; im2col + GEMM for convolutions; shape ops), and the outputs the plan did
 * not compute in place (plan.h) are copied out at the end, after every read, so an update may
 * overwrite its parameter. The module also holds the model as constant data (runtime/contract.h, emitted by
 * modeldata.c) and a main() that hands it to libganrt. The fused loops are vector code for the
 * target CPU, with SLEEF's exp, log and tanh; LLVM's O1-O3 pipelines optimise the rest. */
#include "codegen.h"
#include "emit.h"
#include "target.h"
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "modeldata.h"
#include "plan.h"
#include "timing.h"

typedef struct Codegen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef T, ptr, i32, i64, graph_fn, loop_fn;
    LLVMTargetDataRef layout;
    DType dtype;
    const char *suffix;  /* kernel name suffix: f32 or f64 */
    int lanes;           /* elements per vector in fused loops (target.c); 1: scalar code */
    Arena arena;         /* loop signatures */
    struct LoopFn *loops;/* the loop functions emitted so far */
    int nloops, cap_loops;
} Codegen;

/* The function being generated for one graph. */
typedef struct FnGen {
    Codegen *cg;
    const GraphPlan *plan;
    const IrGraph *g;
    LLVMValueRef fn, leaves, arena;
    LLVMValueRef *leaf_ptr;  /* per node id, for leaves: loaded at the function's entry */
    LLVMValueRef *out_ptr;   /* per node id, for outputs computed in place: their memory */
    LLVMValueRef slots;      /* the array of buffer addresses handed to loop functions */
} FnGen;

static long elem_bytes(const Codegen *cg) { return cg->dtype == DT_F64 ? 8 : 4; }

/* ---- declarations ---------------------------------------------------------------------- */

static LLVMValueRef declare(Codegen *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n) {
    LLVMValueRef f = LLVMGetNamedFunction(cg->mod, name);
    if (f) return f;
    return LLVMAddFunction(cg->mod, name, LLVMFunctionType(ret, params, (unsigned)n, 0));
}

static LLVMValueRef call(Codegen *cg, const char *name, LLVMTypeRef ret, LLVMValueRef *args, int n) {
    LLVMTypeRef types[12];
    for (int i = 0; i < n; i++) types[i] = LLVMTypeOf(args[i]);
    LLVMValueRef f = declare(cg, name, ret, types, n);
    return LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(f), f, args, (unsigned)n, "");
}

/* A call of an overloaded LLVM intrinsic, for the overload types. */
static LLVMValueRef intrinsic(Codegen *cg, const char *name, LLVMTypeRef *types, int ntypes, LLVMValueRef *args,
                              int n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(cg->mod, id, types, (size_t)ntypes);
    return LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, types, (size_t)ntypes), f, args, (unsigned)n, "");
}

static LLVMValueRef pointer_at(Codegen *cg, LLVMValueRef array, int k) {
    LLVMValueRef idx = LLVMConstInt(cg->i64, (unsigned long long)k, 0);
    return LLVMBuildLoad2(cg->b, cg->ptr, LLVMBuildGEP2(cg->b, cg->ptr, array, &idx, 1, ""), "");
}

static LLVMValueRef const_int(Codegen *cg, long v) { return LLVMConstInt(cg->i32, (unsigned long long)v, 1); }
static LLVMValueRef const_real(Codegen *cg, double v) { return LLVMConstReal(cg->T, v); }

/* A private constant, for the arrays kernels take. */
static LLVMValueRef private_constant(Codegen *cg, LLVMValueRef init, const char *name) {
    LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    return g;
}

/* A private constant int array, for the dims, masks and offsets kernels take. */
static LLVMValueRef const_ints(Codegen *cg, const int *v, int n) {
    LLVMValueRef items[IR_MAXDIM + 1];
    for (int i = 0; i < n; i++) items[i] = const_int(cg, v[i]);
    if (n == 0) items[n++] = const_int(cg, 0);
    return private_constant(cg, LLVMConstArray2(cg->i32, items, (uint64_t)n), "dims");
}

static LLVMValueRef dims_of(Codegen *cg, Shape s) { return const_ints(cg, s.dim, s.ndim); }

/* ---- buffers --------------------------------------------------------------------------- */

static LLVMValueRef buffer(FnGen *f, int id) {
    const NodePlan *np = &f->plan->nodes[id];
    if (np->kind == PLAN_LEAF) return f->leaf_ptr[id];
    if (np->output >= 0) return f->out_ptr[id];
    LLVMValueRef base = np->home >= 0 ? buffer(f, np->home) : f->arena; /* a view, a concat's rows */
    LLVMValueRef offset = LLVMConstInt(f->cg->i64, (unsigned long long)np->offset, 0);
    return LLVMBuildGEP2(f->cg->b, LLVMInt8TypeInContext(f->cg->ctx), base, &offset, 1, "");
}

static long node_bytes(FnGen *f, int id) { return ir_shape_size(f->g->nodes[id].shape) * elem_bytes(f->cg); }

/* ---- elementwise loops ----------------------------------------------------------------- */

/* Many fused loops of a model have the same structure and differ only in the buffers they read
 * and write and in their length: Adam's update of each parameter, one activation on several
 * layers. So a loop is emitted as a function of its structure alone, loop(slots, arena, lo, hi),
 * that reads its buffers' addresses from the array `slots` (slot 0: the output); the graph
 * function fills the array and passes the length to ganrt_parallel_loop. The structure is the
 * loop's signature, a text that the emitted code is a function of: the fused expression in
 * post-order, each buffer as its slot, each value computed before as its visit number. Loops
 * with equal signatures share one function, which saves LLVM most of its work. */
typedef struct LoopSig {
    char *key;
    size_t len, cap;
    unsigned long hash;
    int *slots, nslots;    /* node ids of the buffers, in slot order (slot 0: the root) */
} LoopSig;

typedef struct LoopFn {  /* a loop function emitted in this module, by signature */
    const LoopSig *sig;
    LLVMValueRef fn;
} LoopFn;

static void sig_printf(Arena *a, LoopSig *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sig_printf(Arena *a, LoopSig *s, const char *fmt, ...) {
    char piece[64];
    va_list ap;
    va_start(ap, fmt);
    size_t n = (size_t)vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    if (s->len + n + 1 > s->cap) {
        size_t cap = 2 * (s->len + n + 1) + 64;
        s->key = arena_grow(a, s->key, s->cap, cap);
        s->cap = cap;
    }
    memcpy(s->key + s->len, piece, n + 1);
    s->len += n;
}

typedef struct SigWalk { /* per node id, while a signature is built */
    const IrGraph *g;
    const GraphPlan *plan;
    int root;
    int *visit;           /* 1 + the order in which the walk reached the node; 0: not yet */
    int visits;
} SigWalk;

/* The same walk as element() below: inputs first, each node once. */
static void describe(Arena *a, SigWalk *w, LoopSig *s, int id) {
    const IrNode *n = &w->g->nodes[id];
    if (n->op == OP_CONST) return sig_printf(a, s, "%a,", n->value);
    if (w->visit[id]) return sig_printf(a, s, "#%d,", w->visit[id]);
    if (id != w->root && w->plan->nodes[id].kind != PLAN_FUSED) {
        s->slots[s->nslots++] = id;
        w->visit[id] = ++w->visits;
        return sig_printf(a, s, "in%d,", s->nslots - 1);
    }
    if (plan_is_scalar_broadcast(w->g, id)) { /* its one element, splat: element() */
        describe(a, w, s, n->in[0]);
        w->visit[id] = ++w->visits;
        return sig_printf(a, s, "splat,");
    }
    for (int k = 0; k < n->nin; k++) describe(a, w, s, n->in[k]);
    w->visit[id] = ++w->visits;
    sig_printf(a, s, "%s%a,", ir_op_name(n->op), n->op == OP_POW ? n->value : 0.0);
}

static LoopSig *loop_signature(Codegen *cg, const IrGraph *g, const GraphPlan *plan, int root) {
    LoopSig *s = ARENA_NEW(&cg->arena, LoopSig);
    s->slots = ARENA_ARRAY(&cg->arena, int, g->nnodes + 1);
    s->slots[s->nslots++] = root;
    SigWalk w = {g, plan, root, calloc((size_t)g->nnodes, sizeof(int)), 0};
    if (!w.visit) diag_fatal("out of memory");
    describe(&cg->arena, &w, s, root);
    free(w.visit);
    for (size_t i = 0; i < s->len; i++) s->hash = s->hash * 131 + (unsigned char)s->key[i];
    return s;
}

/* The code of one loop function being emitted: vt is the type of a lane group, a vector of
 * cg->lanes T (T where the target has no SLEEF). */
typedef struct LoopGen {
    Codegen *cg;
    const IrGraph *g;
    const GraphPlan *plan;
    int root;
    LLVMTypeRef vt;
    LLVMValueRef *ptr;    /* per node id: the address of its buffer (the loop's slots) */
    LLVMValueRef *value;  /* per node id: its value at the current index, once computed */
    LLVMValueRef index;
    LLVMValueRef mask;    /* in the vector loop's last, partial group: the lanes below hi */
} LoopGen;

static LLVMValueRef splat(LoopGen *l, LLVMValueRef scalar) {
    unsigned lanes = LLVMGetTypeKind(l->vt) == LLVMVectorTypeKind ? LLVMGetVectorSize(l->vt) : 1;
    if (lanes == 1) return scalar;
    LLVMValueRef items[64];
    for (unsigned i = 0; i < lanes; i++) items[i] = scalar;
    return LLVMConstVector(items, lanes);
}

static LLVMValueRef real(LoopGen *l, double v) { return splat(l, const_real(l->cg, v)); }

static LLVMValueRef lane_address(LoopGen *l, int id) {
    return LLVMBuildGEP2(l->cg->b, l->cg->T, l->ptr[id], &l->index, 1, "");
}

/* A load of this group's lanes; in the partial group only the lanes under the mask (the others
 * hold 1, which no function below traps or overflows on, and are never stored). */
static LLVMValueRef load_lanes(LoopGen *l, int id) {
    Codegen *cg = l->cg;
    LLVMValueRef p = lane_address(l, id);
    if (!l->mask) {
        LLVMValueRef v = LLVMBuildLoad2(cg->b, l->vt, p, "");
        LLVMSetAlignment(v, (unsigned)elem_bytes(cg));
        return v;
    }
    LLVMValueRef args[] = {p, LLVMConstInt(cg->i32, (unsigned long long)elem_bytes(cg), 0), l->mask, real(l, 1)};
    return intrinsic(cg, "llvm.masked.load", (LLVMTypeRef[]){l->vt, cg->ptr}, 2, args, 4);
}

static void store_lanes(LoopGen *l, int id, LLVMValueRef v) {
    Codegen *cg = l->cg;
    LLVMValueRef p = lane_address(l, id);
    if (!l->mask) {
        LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), (unsigned)elem_bytes(cg));
        return;
    }
    LLVMValueRef args[] = {v, p, LLVMConstInt(cg->i32, (unsigned long long)elem_bytes(cg), 0), l->mask};
    intrinsic(cg, "llvm.masked.store", (LLVMTypeRef[]){l->vt, cg->ptr}, 2, args, 4);
}

static LLVMValueRef mask_to_real(LoopGen *l, LLVMRealPredicate pred, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildUIToFP(l->cg->b, LLVMBuildFCmp(l->cg->b, pred, a, b, ""), l->vt, "");
}

/* exp, log, tanh, log1p, expm1 (x) and pow (x, y): SLEEF's vector functions with a 1.0-ulp
 * bound (Sleef_expf8_u10, Sleef_logd4_u10, ...) on vectors; on scalars the LLVM intrinsic or
 * libm. */
static LLVMValueRef math(LoopGen *l, const char *f64_name, LLVMValueRef *args, int n) {
    Codegen *cg = l->cg;
    char name[48];
    if (l->vt != cg->T) {
        snprintf(name, sizeof name, "Sleef_%s%s%u_u10", f64_name, cg->dtype == DT_F64 ? "d" : "f",
                 LLVMGetVectorSize(l->vt));
        return call(cg, name, l->vt, args, n);
    }
    if (!strcmp(f64_name, "exp") || !strcmp(f64_name, "log") || !strcmp(f64_name, "pow")) {
        snprintf(name, sizeof name, "llvm.%s", f64_name);
        return intrinsic(cg, name, &cg->T, 1, args, n);
    }
    snprintf(name, sizeof name, "%s%s", f64_name, cg->dtype == DT_F64 ? "" : "f");
    return call(cg, name, cg->T, args, n);
}

/* sigmoid without overflow: e = exp(-|x|); x >= 0 ? 1/(1+e) : e/(1+e) */
static LLVMValueRef sigmoid(LoopGen *l, LLVMValueRef x) {
    LLVMBuilderRef b = l->cg->b;
    LLVMValueRef negx = LLVMBuildFNeg(b, intrinsic(l->cg, "llvm.fabs", &l->vt, 1, &x, 1), "");
    LLVMValueRef e = math(l, "exp", &negx, 1);
    LLVMValueRef denom = LLVMBuildFAdd(b, real(l, 1), e, "");
    LLVMValueRef pos = LLVMBuildFDiv(b, real(l, 1), denom, "");
    LLVMValueRef neg = LLVMBuildFDiv(b, e, denom, "");
    LLVMValueRef nonneg = LLVMBuildFCmp(b, LLVMRealOGE, x, real(l, 0), "");
    return LLVMBuildSelect(b, nonneg, pos, neg, "");
}

static LLVMValueRef power(LoopGen *l, LLVMValueRef x, double exponent) {
    if (exponent == 2) return LLVMBuildFMul(l->cg->b, x, x, "");
    LLVMValueRef args[2] = {x, real(l, exponent)};
    return math(l, "pow", args, 2);
}

static LLVMValueRef compute(LoopGen *l, const IrNode *n);

/* A scalar broadcast's value in every lane: its input's one element. */
static LLVMValueRef splat_element(LoopGen *l, int scalar) {
    Codegen *cg = l->cg;
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->T, l->ptr[scalar], "");
    if (LLVMGetTypeKind(l->vt) != LLVMVectorTypeKind) return v;
    LLVMValueRef zero = LLVMConstInt(cg->i32, 0, 0);
    LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetPoison(l->vt), v, zero, "");
    LLVMTypeRef mask = LLVMVectorType(cg->i32, LLVMGetVectorSize(l->vt));
    return LLVMBuildShuffleVector(cg->b, one, LLVMGetPoison(l->vt), LLVMConstNull(mask), "");
}

/* The value of node id at the current index: computed if fused (once: later uses reuse it),
 * else loaded. */
static LLVMValueRef element(LoopGen *l, int id) {
    const IrNode *n = &l->g->nodes[id];
    if (n->op == OP_CONST) return real(l, n->value);
    if (!l->value[id]) {
        if (id != l->root && l->plan->nodes[id].kind != PLAN_FUSED) l->value[id] = load_lanes(l, id);
        else if (plan_is_scalar_broadcast(l->g, id)) l->value[id] = splat_element(l, n->in[0]);
        else l->value[id] = compute(l, n);
    }
    return l->value[id];
}

static LLVMValueRef compute(LoopGen *l, const IrNode *n) {
    LLVMValueRef a = element(l, n->in[0]), b = n->nin > 1 ? element(l, n->in[1]) : NULL;
    LLVMBuilderRef bd = l->cg->b;
    switch (n->op) {
    case OP_ADD: return LLVMBuildFAdd(bd, a, b, "");
    case OP_SUB: return LLVMBuildFSub(bd, a, b, "");
    case OP_MUL: return LLVMBuildFMul(bd, a, b, "");
    case OP_DIV: return LLVMBuildFDiv(bd, a, b, "");
    case OP_NEG: return LLVMBuildFNeg(bd, a, "");
    case OP_EXP: return math(l, "exp", &a, 1);
    case OP_LOG: return math(l, "log", &a, 1);
    case OP_SQRT: return intrinsic(l->cg, "llvm.sqrt", &l->vt, 1, &a, 1);
    case OP_TANH: return math(l, "tanh", &a, 1);
    case OP_LOG1P: return math(l, "log1p", &a, 1);
    case OP_EXPM1: return math(l, "expm1", &a, 1);
    case OP_SIGMOID: return sigmoid(l, a);
    case OP_POW: return power(l, a, n->value);
    case OP_GT: return mask_to_real(l, LLVMRealOGT, a, b);
    case OP_GE: return mask_to_real(l, LLVMRealOGE, a, b);
    case OP_EQ: return mask_to_real(l, LLVMRealOEQ, a, b);
    case OP_SELECT: {
        LLVMValueRef m = LLVMBuildFCmp(bd, LLVMRealUNE, a, real(l, 0), "");
        return LLVMBuildSelect(bd, m, b, element(l, n->in[2]), "");
    }
    case OP_STOP_GRAD: return a;
    default: diag_fatal("internal error: %s is not elementwise", ir_op_name(n->op));
    }
}

/* Computes and stores the lane group at index i (the values of the previous group forgotten). */
static void emit_group(LoopGen *l, LLVMValueRef i, LLVMValueRef mask) {
    memset(l->value, 0, sizeof(LLVMValueRef) * (size_t)l->g->nnodes);
    l->index = i;
    l->mask = mask;
    store_lanes(l, l->root, element(l, l->root));
}

/* for (i = lo; i + step <= hi; i += step) group(i): the loop's blocks, ending in `exit`, where
 * the builder is left with the first index not done. */
static LLVMValueRef emit_counted(LoopGen *l, LLVMValueRef fn, LLVMValueRef lo, LLVMValueRef hi, long step) {
    Codegen *cg = l->cg;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cg->ctx, fn, "head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, fn, "body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, fn, "exit");
    LLVMValueRef stride = LLVMConstInt(cg->i64, (unsigned long long)step, 0);
    LLVMBuildBr(cg->b, head);
    LLVMPositionBuilderAtEnd(cg->b, head);
    LLVMValueRef i = LLVMBuildPhi(cg->b, cg->i64, "i");
    LLVMValueRef next = LLVMBuildAdd(cg->b, i, stride, "");
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLE, next, hi, ""), body, exit);
    LLVMPositionBuilderAtEnd(cg->b, body);
    emit_group(l, i, NULL);
    LLVMBasicBlockRef from_body = LLVMGetInsertBlock(cg->b);
    LLVMBuildBr(cg->b, head);
    LLVMAddIncoming(i, &lo, &pre, 1);
    LLVMAddIncoming(i, &next, &from_body, 1);
    LLVMPositionBuilderAtEnd(cg->b, exit);
    return i;
}

/* The last partial group of a vector loop, [i, hi) with hi - i < lanes, through the same vector
 * code under a mask, so every element goes through the same SLEEF function whatever the split
 * ganrt_parallel_loop makes: results do not depend on the thread count. */
static void emit_tail(LoopGen *l, LLVMValueRef fn, LLVMValueRef i, LLVMValueRef hi) {
    Codegen *cg = l->cg;
    unsigned lanes = LLVMGetVectorSize(l->vt);
    LLVMBasicBlockRef tail = LLVMAppendBasicBlockInContext(cg->ctx, fn, "tail");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, fn, "done");
    LLVMValueRef left = LLVMBuildSub(cg->b, hi, i, "");
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, left, LLVMConstInt(cg->i64, 0, 0), ""), tail, done);
    LLVMPositionBuilderAtEnd(cg->b, tail);
    LLVMValueRef lane[64];
    for (unsigned k = 0; k < lanes; k++) lane[k] = LLVMConstInt(cg->i64, k, 0);
    LLVMTypeRef lanes_i64 = LLVMVectorType(cg->i64, lanes);
    LLVMValueRef first = LLVMBuildInsertElement(cg->b, LLVMGetPoison(lanes_i64), left, const_int(cg, 0), "");
    LLVMValueRef left_v = LLVMBuildShuffleVector(cg->b, first, LLVMGetPoison(lanes_i64),
                                                 LLVMConstNull(LLVMVectorType(cg->i32, lanes)), "");
    emit_group(l, i, LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMConstVector(lane, lanes), left_v, ""));
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, done);
}

/* The function loop(slots, arena, lo, hi) that computes elements [lo, hi) of a loop with
 * signature s, which ganrt_parallel_loop (runtime/pool.c) splits across the --threads workers:
 * groups of cg->lanes elements, one vector each, and a masked last group. The loops are
 * vectorised here rather than by LLVM's loop vectoriser so that exp, log and tanh are SLEEF's
 * vector functions and every element, wherever a split falls, goes through the same code; and
 * so that LLVM has no alias checks, interleaved copies and scalar epilogues to optimise and
 * compile (docs/performance.md: compile time). */
static LLVMValueRef emit_loop_function(Codegen *cg, const IrGraph *g, const GraphPlan *plan, const LoopSig *s) {
    LLVMValueRef fn = LLVMAddFunction(cg->mod, "loop", cg->loop_fn);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
    int lanes = cg->lanes;
    LoopGen l = {cg, g, plan, s->slots[0], lanes > 1 ? LLVMVectorType(cg->T, (unsigned)lanes) : cg->T,
                 calloc((size_t)g->nnodes, sizeof(LLVMValueRef)), calloc((size_t)g->nnodes, sizeof(LLVMValueRef)),
                 NULL, NULL};
    if (!l.ptr || !l.value) diag_fatal("out of memory");
    for (int k = 0; k < s->nslots; k++) l.ptr[s->slots[k]] = pointer_at(cg, LLVMGetParam(fn, 0), k);
    LLVMValueRef hi = LLVMGetParam(fn, 3);
    LLVMValueRef i = emit_counted(&l, fn, LLVMGetParam(fn, 2), hi, lanes);
    if (lanes > 1) emit_tail(&l, fn, i, hi);
    LLVMBuildRetVoid(cg->b);
    free(l.ptr);
    free(l.value);
    return fn;
}

/* The function for signature s: the one emitted before for an equal signature, or a new one. */
static LLVMValueRef loop_function(Codegen *cg, const IrGraph *g, const GraphPlan *plan, const LoopSig *s) {
    for (int k = 0; k < cg->nloops; k++) {
        const LoopSig *t = cg->loops[k].sig;
        if (t->hash == s->hash && t->len == s->len && !memcmp(t->key, s->key, s->len)) return cg->loops[k].fn;
    }
    LoopFn made = {s, emit_loop_function(cg, g, plan, s)};
    ARENA_PUSH(&cg->arena, cg->loops, cg->nloops, cg->cap_loops, made);
    return made.fn;
}

/* Operations per element of the loop rooted at id (a transcendental function counts as 8):
 * ganrt_parallel_loop runs cheap loops on one thread. */
static long loop_cost(FnGen *f, int id) {
    long cost = 0;
    for (int k = 0; k <= id; k++) {
        if (k != id && (f->plan->nodes[k].kind != PLAN_FUSED || f->plan->nodes[k].root != id)) continue;
        IrOp op = f->g->nodes[k].op;
        cost += op == OP_EXP || op == OP_LOG || op == OP_TANH || op == OP_SIGMOID || op == OP_POW ? 8 : 1;
    }
    return cost;
}

/* A LOOP node and the nodes fused into it: its buffers' addresses into the graph function's
 * slots array, then ganrt_parallel_loop(loop function, slots, arena, n, cost). */
static void emit_loop(FnGen *f, int id, const LoopSig *s) {
    Codegen *cg = f->cg;
    LLVMBasicBlockRef caller = LLVMGetInsertBlock(cg->b);
    LLVMValueRef fn = loop_function(cg, f->g, f->plan, s);
    LLVMPositionBuilderAtEnd(cg->b, caller);
    for (int k = 0; k < s->nslots; k++) {
        LLVMValueRef idx = LLVMConstInt(cg->i64, (unsigned long long)k, 0);
        LLVMBuildStore(cg->b, buffer(f, s->slots[k]), LLVMBuildGEP2(cg->b, cg->ptr, f->slots, &idx, 1, ""));
    }
    LLVMValueRef args[] = {fn, f->slots, f->arena,
                           LLVMConstInt(cg->i64, (unsigned long long)ir_shape_size(f->g->nodes[id].shape), 0),
                           LLVMConstInt(cg->i64, (unsigned long long)loop_cost(f, id), 0)};
    call(cg, "ganrt_parallel_loop", LLVMVoidTypeInContext(cg->ctx), args, 5);
}

/* ---- kernel calls ---------------------------------------------------------------------- */

static void kernel(FnGen *f, const char *op, LLVMValueRef *args, int n) {
    char name[64];
    snprintf(name, sizeof name, "ganrt_%s_%s", op, f->cg->suffix);
    call(f->cg, name, LLVMVoidTypeInContext(f->cg->ctx), args, n);
}

static int in_group(const IrGraph *g, int id, int group) {
    return id >= 0 && id < g->nnodes && g->nodes[id].op == OP_ALLREDUCE_SUM && g->nodes[id].axis == group;
}

/* A group of allreduce_sums (compiler/shard.c), consecutive nodes: the first one sums them all
 * in one collective, from arrays of their inputs, outputs and lengths; the others are done. */
static void emit_allreduce_group(FnGen *f, int id) {
    Codegen *cg = f->cg;
    int group = f->g->nodes[id].axis, count = 0;
    if (in_group(f->g, id - 1, group)) return;
    while (in_group(f->g, id + count, group)) count++;
    LLVMTypeRef pointers = LLVMArrayType2(cg->ptr, (uint64_t)count);
    LLVMValueRef in = LLVMBuildAlloca(cg->b, pointers, "in"), out = LLVMBuildAlloca(cg->b, pointers, "out");
    LLVMValueRef *lengths = calloc((size_t)count, sizeof *lengths);
    for (int k = 0; k < count; k++) {
        LLVMValueRef at = LLVMConstInt(cg->i64, (unsigned long long)k, 0);
        LLVMBuildStore(cg->b, buffer(f, f->g->nodes[id + k].in[0]), LLVMBuildGEP2(cg->b, cg->ptr, in, &at, 1, ""));
        LLVMBuildStore(cg->b, buffer(f, id + k), LLVMBuildGEP2(cg->b, cg->ptr, out, &at, 1, ""));
        lengths[k] = LLVMConstInt(cg->i64, (unsigned long long)ir_shape_size(f->g->nodes[id + k].shape), 0);
    }
    LLVMValueRef args[] = {in, out, private_constant(cg, LLVMConstArray2(cg->i64, lengths, (uint64_t)count), "lengths"),
                           const_int(cg, count)};
    free(lengths);
    kernel(f, "allreduce_group", args, 4);
}

/* Node id's kernel writing to out (its own buffer, or the buffer of the add it is computed into:
 * plan.h's INTO); accumulate: a matmul adds its product to what out holds (GEMM with beta = 1). */
static void emit_kernel(FnGen *f, int id, LLVMValueRef out, int accumulate) {
    Codegen *cg = f->cg;
    const IrNode *n = &f->g->nodes[id];
    LLVMValueRef a = buffer(f, n->in[0]), b = n->nin > 1 ? buffer(f, n->in[1]) : NULL;
    Shape sa = ir_shape_of(f->g, n->in[0]), sb = n->nin > 1 ? ir_shape_of(f->g, n->in[1]) : sa;
    LLVMValueRef ndim = const_int(cg, sa.ndim);
    switch (n->op) {
    case OP_MATMUL: {
        LLVMValueRef args[] = {const_int(cg, n->ta), const_int(cg, n->tb), const_int(cg, n->shape.dim[0]),
                               const_int(cg, n->shape.dim[1]), const_int(cg, sa.dim[n->ta ? 0 : 1]), a, b, out};
        kernel(f, accumulate ? "matmul_acc" : "matmul", args, 8);
        break;
    }
    case OP_CONV: {
        LLVMValueRef args[] = {a, b, out, dims_of(cg, sa), dims_of(cg, sb), const_int(cg, n->stride), const_int(cg, n->pad)};
        kernel(f, "conv", args, 7);
        break;
    }
    case OP_CONV_BD: { /* a = w, b = y, out = x */
        LLVMValueRef args[] = {a, b, out, dims_of(cg, n->shape), dims_of(cg, sa), const_int(cg, n->stride), const_int(cg, n->pad)};
        kernel(f, "conv_bd", args, 7);
        break;
    }
    case OP_CONV_BF: { /* a = x, b = y, out = w */
        LLVMValueRef args[] = {a, b, out, dims_of(cg, sa), dims_of(cg, n->shape), const_int(cg, n->stride), const_int(cg, n->pad)};
        kernel(f, "conv_bf", args, 7);
        break;
    }
    case OP_BROADCAST: {
        LLVMValueRef args[] = {a, out, dims_of(cg, n->shape), const_int(cg, n->shape.ndim), const_int(cg, n->axes)};
        kernel(f, "broadcast", args, 5);
        break;
    }
    case OP_SUM: case OP_MAX: {
        LLVMValueRef args[] = {a, out, dims_of(cg, sa), ndim, const_int(cg, n->axes), const_int(cg, n->op == OP_MAX)};
        kernel(f, "reduce", args, 6);
        break;
    }
    case OP_PERMUTE: {
        LLVMValueRef args[] = {a, out, dims_of(cg, sa), ndim, const_ints(cg, n->perm, sa.ndim)};
        kernel(f, "permute", args, 5);
        break;
    }
    case OP_SLICE: case OP_PAD: {
        LLVMValueRef args[] = {a, out, dims_of(cg, sa), dims_of(cg, n->shape), ndim, const_ints(cg, n->start, sa.ndim)};
        kernel(f, n->op == OP_SLICE ? "slice" : "pad", args, 6);
        break;
    }
    case OP_CONCAT: {
        LLVMValueRef args[] = {a, b, out, dims_of(cg, sa), dims_of(cg, sb), ndim, const_int(cg, n->axis)};
        kernel(f, "concat", args, 7);
        break;
    }
    case OP_ALLREDUCE_SUM: case OP_ALLREDUCE_MAX: { /* runtime/dist.h */
        if (n->axis) {
            emit_allreduce_group(f, id);
            break;
        }
        LLVMValueRef args[] = {a, out, LLVMConstInt(cg->i64, (unsigned long long)ir_shape_size(n->shape), 0),
                               const_int(cg, n->op == OP_ALLREDUCE_MAX)};
        kernel(f, "allreduce", args, 4);
        break;
    }
    case OP_BLOCK_SUM: case OP_BLOCK_MAX: { /* a blocked graph's rank-order sum, one step (runtime/dist.h) */
        LLVMValueRef args[] = {a, b, out, LLVMConstInt(cg->i64, (unsigned long long)ir_shape_size(n->shape), 0),
                               const_int(cg, n->op == OP_BLOCK_MAX)};
        kernel(f, "block_combine", args, 5);
        break;
    }
    case OP_ALLGATHER: case OP_SHARD_SLICE: {
        LLVMValueRef args[] = {a, out, dims_of(cg, sa), ndim, const_int(cg, n->axis)};
        kernel(f, n->op == OP_ALLGATHER ? "allgather" : "shard_slice", args, 5);
        break;
    }
    case OP_RESHAPE:
        LLVMBuildMemCpy(cg->b, out, 4, a, 4, LLVMConstInt(cg->i64, (unsigned long long)node_bytes(f, id), 0));
        break;
    default: diag_fatal("internal error: no kernel for %s", ir_op_name(n->op));
    }
}

/* An add the plan turned into a call (plan.h, INTO): its bias broadcast or first product is
 * written into its buffer, then its (other) product accumulated onto it. */
static void emit_accumulated(FnGen *f, int id) {
    const IrNode *n = &f->g->nodes[id];
    int first = f->g->nodes[n->in[0]].op == OP_MATMUL && f->g->nodes[n->in[1]].op != OP_MATMUL;
    LLVMValueRef out = buffer(f, id);
    emit_kernel(f, n->in[first], out, 0);
    emit_kernel(f, n->in[1 - first], out, 1);
}

/* An axis-0 concat some of whose inputs were computed into its rows (plan.h): the others copied
 * there, one dense block each. */
static int emit_concat_rest(FnGen *f, int id) {
    const IrNode *n = &f->g->nodes[id];
    int placed[2], any = 0;
    for (int k = 0; k < 2; k++) any |= placed[k] = f->plan->nodes[n->in[k]].home == id;
    if (n->op != OP_CONCAT || !any) return 0;
    long at = 0;
    for (int k = 0; k < 2; k++) {
        LLVMValueRef offset = LLVMConstInt(f->cg->i64, (unsigned long long)at, 0), bytes =
            LLVMConstInt(f->cg->i64, (unsigned long long)node_bytes(f, n->in[k]), 0);
        if (!placed[k])
            LLVMBuildMemCpy(f->cg->b, LLVMBuildGEP2(f->cg->b, LLVMInt8TypeInContext(f->cg->ctx), buffer(f, id), &offset, 1, ""),
                            4, buffer(f, n->in[k]), 4, bytes);
        at += node_bytes(f, n->in[k]);
    }
    return 1;
}

static void emit_call(FnGen *f, int id) {
    if (emit_concat_rest(f, id)) return;
    if (f->g->nodes[id].op == OP_ADD) emit_accumulated(f, id);
    else emit_kernel(f, id, buffer(f, id), 0);
}

/* ---- graph functions ------------------------------------------------------------------- */

/* The leaf pointers of the graph, loaded from the function's leaves array at its entry. */
static void load_leaves(FnGen *f, LLVMValueRef leaves, LLVMValueRef outputs) {
    int nleaves = 0;
    for (int id = 0; id < f->g->nnodes; id++) {
        const NodePlan *np = &f->plan->nodes[id];
        if (np->kind == PLAN_LEAF) f->leaf_ptr[id] = pointer_at(f->cg, leaves, nleaves++);
        if (np->kind != PLAN_LEAF && np->output >= 0) f->out_ptr[id] = pointer_at(f->cg, outputs, np->output);
    }
}

/* A graph function is a straight run of kernel and loop calls whose time is all in its callees:
 * LLVM's passes and its SelectionDAG instruction selector, which takes the function's one
 * block as one DAG, spent more time on the step graphs than on all the loops (dcgan_fmnist:
 * 0.2 s of 0.37 s of object emission). optnone makes the passes skip it and the back end use
 * its fast instruction selector, as at -O0. */
static void not_optimised(Codegen *cg, LLVMValueRef fn) {
    const char *names[] = {"optnone", "noinline"}; /* optnone requires noinline */
    for (int i = 0; i < 2; i++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(names[i], strlen(names[i]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
    }
}

static LLVMValueRef emit_graph(Codegen *cg, const IrGraph *g, const GraphPlan *plan, const char *symbol) {
    FnGen f = {cg, plan, g, NULL, NULL, NULL, NULL, NULL, NULL};
    f.fn = LLVMAddFunction(cg->mod, symbol, cg->graph_fn);
    LLVMSetLinkage(f.fn, LLVMInternalLinkage);
    not_optimised(cg, f.fn);
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "entry"));
    f.leaves = LLVMGetParam(f.fn, 0);
    LLVMValueRef outputs = LLVMGetParam(f.fn, 1);
    f.arena = LLVMGetParam(f.fn, 2);
    f.leaf_ptr = calloc((size_t)g->nnodes + 1, sizeof(LLVMValueRef));
    f.out_ptr = calloc((size_t)g->nnodes + 1, sizeof(LLVMValueRef));
    if (!f.leaf_ptr || !f.out_ptr) diag_fatal("out of memory");
    load_leaves(&f, f.leaves, outputs);
    LoopSig **sig = calloc((size_t)g->nnodes + 1, sizeof *sig);
    if (!sig) diag_fatal("out of memory");
    int most = 1;
    for (int id = 0; id < g->nnodes; id++)
        if (plan->nodes[id].kind == PLAN_LOOP) {
            sig[id] = loop_signature(cg, g, plan, id);
            if (sig[id]->nslots > most) most = sig[id]->nslots;
        }
    f.slots = LLVMBuildAlloca(cg->b, LLVMArrayType2(cg->ptr, (uint64_t)most), "slots");
    for (int id = 0; id < g->nnodes; id++) {
        if (plan->nodes[id].kind == PLAN_LOOP) emit_loop(&f, id, sig[id]);
        else if (plan->nodes[id].kind == PLAN_CALL) emit_call(&f, id);
    }
    for (int k = 0; k < g->noutputs; k++) {
        int node = g->outputs[k].node;
        if (plan->nodes[node].output == k) continue; /* computed there */
        LLVMValueRef bytes = LLVMConstInt(cg->i64, (unsigned long long)node_bytes(&f, node), 0);
        LLVMBuildMemMove(cg->b, pointer_at(cg, outputs, k), 4, buffer(&f, node), 4, bytes);
    }
    LLVMBuildRetVoid(cg->b);
    free(sig);
    free(f.leaf_ptr);
    free(f.out_ptr);
    return f.fn;
}

/* ---- the model handed to libganrt (runtime/contract.h) ----------------------------------- */

/* The contract's records of one model, in an arena until modeldata.c has emitted them. */
typedef struct Contract {
    Arena *arena;
    GanModel model;
    GanLeaf *leaves;
    GanGraph *graphs;
    GanLog *logs;
    GanSample *samples;
} Contract;

static GanDims gan_dims(Shape s) {
    GanDims d = {s.ndim, {0}};
    for (int i = 0; i < s.ndim; i++) d.dim[i] = s.dim[i];
    return d;
}

static int leaf_index(const Contract *c, const char *name) {
    for (int i = 0; i < c->model.nleaves; i++)
        if (strcmp(c->leaves[i].name, name) == 0) return i;
    return -1;
}

/* Every leaf once, in the order graphs first mention them. */
static void contract_leaves(Contract *c, const IrGraph *const *graphs, int ngraphs) {
    int cap = 0;
    for (int k = 0; k < ngraphs; k++) cap += graphs[k]->nnodes;
    c->leaves = ARENA_ARRAY(c->arena, GanLeaf, cap);
    for (int k = 0; k < ngraphs; k++)
        for (int id = 0; id < graphs[k]->nnodes; id++) {
            const IrNode *n = &graphs[k]->nodes[id];
            if (!n->name || leaf_index(c, n->name) >= 0) continue;
            LeafRole role = n->op == OP_PARAM ? ROLE_PARAM : n->op == OP_STATE ? ROLE_STATE : ROLE_INPUT;
            c->leaves[c->model.nleaves++] = (GanLeaf){n->name, role, gan_dims(n->shape), n->init};
        }
}

/* Graph k: its leaves in argument order (the plan's leaves) and its outputs. */
static void contract_graph(Contract *c, int k, const IrGraph *g, const GraphPlan *plan, GraphRole role,
                           const char *net, int times, int ranks) {
    int32_t *use = ARENA_ARRAY(c->arena, int32_t, g->nnodes), *split = ARENA_ARRAY(c->arena, int32_t, g->nnodes);
    GanOutput *out = ARENA_ARRAY(c->arena, GanOutput, g->noutputs);
    int nuse = 0;
    for (int id = 0; id < g->nnodes; id++)
        if (plan->nodes[id].kind == PLAN_LEAF) {
            split[nuse] = g->nodes[id].op == OP_INPUT && g->nodes[id].shards > 1; /* this rank's rows */
            use[nuse++] = leaf_index(c, g->nodes[id].name);
        }
    for (int i = 0; i < g->noutputs; i++) {
        const IrOutput *o = &g->outputs[i];
        int update = o->kind == OUT_UPDATE;
        out[i] = (GanOutput){o->name, update, update ? leaf_index(c, o->name) : -1, gan_dims(g->nodes[o->node].shape)};
    }
    c->graphs[k] = (GanGraph){g->name, net, role, times, nuse, g->noutputs, plan->arena_bytes, ranks, use, split, out, NULL};
}

/* The index of output `name` in graph k of the contract. */
static int output_index(const Contract *c, int k, const char *name) {
    for (int i = 0; i < c->graphs[k].nout; i++)
        if (strcmp(c->graphs[k].out[i].name, name) == 0) return i;
    diag_fatal("internal error: graph %s has no output %s", c->graphs[k].name, name);
}

/* A loss is logged from the step graph that computes it; any other value from the eval graph. */
static void contract_logs(Contract *c, const Model *m, int eval, int sample) {
    c->logs = ARENA_ARRAY(c->arena, GanLog, m->nlogs);
    for (int i = 0; i < m->nlogs; i++) {
        int graph = eval;
        for (int k = 0; k < m->nschedule && m->logs[i].is_loss; k++)
            if (ir_find_output(m->schedule[k].graph, m->logs[i].output) >= 0) graph = k;
        c->logs[i] = (GanLog){m->logs[i].label, graph, output_index(c, graph, m->logs[i].output)};
    }
    c->samples = ARENA_ARRAY(c->arena, GanSample, m->nsample_labels);
    for (int i = 0; i < m->nsample_labels && sample >= 0; i++) {
        const char *output = arena_printf(c->arena, "sample/%s", m->sample_labels[i]);
        c->samples[i] = (GanSample){m->sample_labels[i], output_index(c, sample, output)};
    }
}

static void contract_build(Contract *c, const Model *m, const IrGraph *const *graphs, const GraphPlan *const *plans,
                           int n) {
    contract_leaves(c, graphs, n);
    c->graphs = ARENA_ARRAY(c->arena, GanGraph, n);
    int eval = -1, sample = -1;
    int first_ranked = n - m->nranked; /* the split step graphs come last (model_graphs) */
    for (int k = 0; k < n; k++) {
        const ScheduleStep *entry = k < m->nschedule ? &m->schedule[k]
                                  : k >= first_ranked ? &m->ranked[k - first_ranked] : NULL;
        GraphRole role = entry ? GRAPH_STEP : graphs[k] == m->eval ? GRAPH_EVAL : graphs[k] == m->fid ? GRAPH_FID : GRAPH_SAMPLE;
        if (role == GRAPH_EVAL) eval = k;
        if (role == GRAPH_SAMPLE) sample = k;
        const char *net = entry ? m->schedule[(k < m->nschedule ? k : k - first_ranked) % m->nschedule].graph->name : NULL;
        contract_graph(c, k, graphs[k], plans[k], role, net ? net + strlen("step_") : NULL, entry ? entry->times : 1,
                       entry && entry->ranks > 1 ? entry->ranks : 1);
    }
    contract_logs(c, m, eval, sample);
    c->model = (GanModel){GANC_MODEL_FORMAT_VERSION, m->name, m->dtype == DT_F64, m->batch, m->seed,
                          m->train_iters, m->log_every, m->sample_every, m->fid ? m->fid_every : 0,
                          c->model.nleaves, n, m->nlogs, sample >= 0 ? m->nsample_labels : 0,
                          c->leaves, c->graphs, c->logs, c->samples};
}

/* ---- the module ------------------------------------------------------------------------ */

static void emit_main(Codegen *cg, LLVMValueRef model) {
    LLVMTypeRef params[] = {cg->i32, cg->ptr};
    LLVMValueRef main_fn = LLVMAddFunction(cg->mod, "main", LLVMFunctionType(cg->i32, params, 2, 0));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, main_fn, "entry"));
    LLVMValueRef args[] = {model, LLVMGetParam(main_fn, 0), LLVMGetParam(main_fn, 1)};
    LLVMBuildRet(cg->b, call(cg, "ganrt_main", cg->i32, args, 3));
}

/* The .gan file's path and text as global strings the runtime finds by name (weak references
 * in runtime/record.c), for the run record: ganrt.h describes them. */
static void emit_source(Codegen *cg, const CodegenOptions *opt) {
    const char *names[] = {"ganc_source_path", "ganc_source_text"}, *texts[] = {opt->source_path, opt->source_text};
    for (int i = 0; i < 2 && opt->source_path && opt->source_text; i++) {
        LLVMValueRef init = LLVMConstStringInContext(cg->ctx, texts[i], (unsigned)strlen(texts[i]), 0);
        LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), names[i]);
        LLVMSetInitializer(g, init);
        LLVMSetGlobalConstant(g, 1);
    }
}

static void build_module(Codegen *cg, const Model *m, const ModelPlan *plan) {
    const IrGraph *const *graphs = plan->graphs;
    const GraphPlan *const *plans = plan->plans;
    int n = plan->ngraphs;
    LLVMValueRef fns[PLAN_MAX_GRAPHS];
    for (int k = 0; k < n; k++) {
        char symbol[128];
        snprintf(symbol, sizeof symbol, "ganc_%s", graphs[k]->name);
        fns[k] = emit_graph(cg, graphs[k], plans[k], symbol);
    }
    Arena arena = {0};
    Contract contract = {.arena = &arena};
    contract_build(&contract, m, graphs, plans, n);
    emit_main(cg, modeldata_emit(cg->mod, cg->layout, &contract.model, fns));
    arena_free(&arena);
}

/* The optimised module as --emit=llvm or --emit=asm prints it, or as one object file. */
static int emit_printouts(Codegen *cg, LLVMTargetMachineRef tm, const CodegenOptions *opt) {
    char *err = NULL;
    if (opt->print_llvm) {
        char *text = LLVMPrintModuleToString(cg->mod);
        fputs(text, opt->print_llvm);
        LLVMDisposeMessage(text);
    }
    if (opt->print_asm) {
        LLVMMemoryBufferRef buf;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, cg->mod, LLVMAssemblyFile, &err, &buf)) diag_fatal("LLVM: %s", err);
        fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), opt->print_asm);
        LLVMDisposeMemoryBuffer(buf);
    }
    if (opt->nobjects && LLVMTargetMachineEmitToFile(tm, cg->mod, (char *)opt->object_paths[0], LLVMObjectFile, &err)) {
        fprintf(stderr, "ganc: error: cannot write %s: %s\n", opt->object_paths[0], err);
        LLVMDisposeMessage(err);
        return 1;
    }
    return 0;
}

int codegen_model(const Model *m, const ModelPlan *plan, const CodegenOptions *opt) {
    Codegen cg = {0};
    cg.ctx = LLVMContextCreate();
    cg.mod = LLVMModuleCreateWithNameInContext(m->name, cg.ctx);
    cg.b = LLVMCreateBuilderInContext(cg.ctx);
    cg.dtype = m->dtype;
    cg.suffix = m->dtype == DT_F64 ? "f64" : "f32";
    cg.T = m->dtype == DT_F64 ? LLVMDoubleTypeInContext(cg.ctx) : LLVMFloatTypeInContext(cg.ctx);
    cg.ptr = LLVMPointerTypeInContext(cg.ctx, 0);
    cg.i32 = LLVMInt32TypeInContext(cg.ctx);
    cg.i64 = LLVMInt64TypeInContext(cg.ctx);
    LLVMTypeRef params[] = {cg.ptr, cg.ptr, cg.ptr};
    cg.graph_fn = LLVMFunctionType(LLVMVoidTypeInContext(cg.ctx), params, 3, 0);
    LLVMTypeRef loop_params[] = {cg.ptr, cg.ptr, cg.i64, cg.i64};
    cg.loop_fn = LLVMFunctionType(LLVMVoidTypeInContext(cg.ctx), loop_params, 4, 0);

    LLVMTargetMachineRef tm = emit_target_machine(opt);
    cg.lanes = target_vector_bits(tm) / (int)(8 * elem_bytes(&cg));
    if (cg.lanes < 1) cg.lanes = 1;
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(cg.mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(cg.mod, layout);
    cg.layout = layout;
    build_module(&cg, m, plan);
    emit_source(&cg, opt);
    timing_mark("codegen.build");

    char *err = NULL;
    if (LLVMVerifyModule(cg.mod, LLVMReturnStatusAction, &err)) diag_fatal("internal error: invalid LLVM IR: %s", err);
    LLVMDisposeMessage(err);
    timing_mark("codegen.verify");
    int rc = 0;
    if (opt->nobjects > 1 && !opt->print_llvm && !opt->print_asm) {
        LLVMValueRef *loops = calloc((size_t)cg.nloops + 1, sizeof *loops);
        if (!loops) diag_fatal("out of memory");
        for (int k = 0; k < cg.nloops; k++) loops[k] = cg.loops[k].fn;
        rc = emit_objects(cg.mod, tm, opt, cg.lanes, loops, cg.nloops, opt->object_paths, opt->nobjects);
        free(loops);
        timing_mark("codegen.objects");
    } else {
        emit_optimise(cg.mod, tm, opt, cg.lanes);
        timing_mark("codegen.passes");
        rc = emit_printouts(&cg, tm, opt);
        timing_mark("codegen.emit");
    }
    arena_free(&cg.arena);
    LLVMDisposeTargetData(layout);
    LLVMDisposeBuilder(cg.b);
    LLVMDisposeModule(cg.mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(cg.ctx);
    return rc;
}
