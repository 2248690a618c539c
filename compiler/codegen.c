/* codegen.c: native code for a model through the LLVM C API (LLVM 19).
 *
 * The last stage of the pipeline: each graph of the model (the step graphs, eval, sample)
 * becomes one function `void graph(void **leaves, void **outputs, char *arena)` that follows
 * the graph's plan (plan.c): every LOOP node is a loop over its elements that computes the node
 * and the nodes fused into it in registers, every CALL node is a call to a libganrt kernel
 * (cblas for matmul; im2col + GEMM for convolutions; shape ops), and the outputs are copied out
 * at the end, after every read, so the runtime can let an update overwrite its parameter in
 * place. The module also holds the model as constant data (runtime/contract.h, emitted by
 * modeldata.c) and a main() that hands it to libganrt. LLVM's O1-O3 pipelines vectorise the loops for the target CPU. */
#include "codegen.h"
#include "target.h"
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "modeldata.h"
#include "plan.h"

typedef struct Codegen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef T, ptr, i32, i64, graph_fn, loop_fn;
    LLVMTargetDataRef layout;
    DType dtype;
    const char *suffix;  /* kernel name suffix: f32 or f64 */
} Codegen;

/* The function being generated for one graph. */
typedef struct FnGen {
    Codegen *cg;
    const GraphPlan *plan;
    const IrGraph *g;
    LLVMValueRef fn, leaves, arena;
    LLVMValueRef *leaf_ptr;  /* per node id, for leaves: loaded in the function being emitted */
    int root;                /* the LOOP node whose loop is being emitted */
    LLVMValueRef index;      /* its loop index */
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

static LLVMValueRef intrinsic(Codegen *cg, const char *name, LLVMValueRef *args, int n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(cg->mod, id, &cg->T, 1);
    return LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, &cg->T, 1), f, args, (unsigned)n, "");
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
    LLVMValueRef offset = LLVMConstInt(f->cg->i64, (unsigned long long)np->offset, 0);
    return LLVMBuildGEP2(f->cg->b, LLVMInt8TypeInContext(f->cg->ctx), f->arena, &offset, 1, "");
}

static long node_bytes(FnGen *f, int id) { return ir_shape_size(f->g->nodes[id].shape) * elem_bytes(f->cg); }

/* ---- elementwise loops ----------------------------------------------------------------- */

static LLVMValueRef element(FnGen *f, int id);

static LLVMValueRef load_element(FnGen *f, int id) {
    LLVMValueRef p = LLVMBuildGEP2(f->cg->b, f->cg->T, buffer(f, id), &f->index, 1, "");
    return LLVMBuildLoad2(f->cg->b, f->cg->T, p, "");
}

static LLVMValueRef mask_to_real(Codegen *cg, LLVMRealPredicate pred, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildUIToFP(cg->b, LLVMBuildFCmp(cg->b, pred, a, b, ""), cg->T, "");
}

/* sigmoid without overflow: e = exp(-|x|); x >= 0 ? 1/(1+e) : e/(1+e) */
static LLVMValueRef sigmoid(Codegen *cg, LLVMValueRef x) {
    LLVMValueRef ax = intrinsic(cg, "llvm.fabs", &x, 1);
    LLVMValueRef negx = LLVMBuildFNeg(cg->b, ax, "");
    LLVMValueRef e = intrinsic(cg, "llvm.exp", &negx, 1);
    LLVMValueRef denom = LLVMBuildFAdd(cg->b, const_real(cg, 1), e, "");
    LLVMValueRef pos = LLVMBuildFDiv(cg->b, const_real(cg, 1), denom, "");
    LLVMValueRef neg = LLVMBuildFDiv(cg->b, e, denom, "");
    LLVMValueRef nonneg = LLVMBuildFCmp(cg->b, LLVMRealOGE, x, const_real(cg, 0), "");
    return LLVMBuildSelect(cg->b, nonneg, pos, neg, "");
}

static LLVMValueRef power(Codegen *cg, LLVMValueRef x, double exponent) {
    if (exponent == 2) return LLVMBuildFMul(cg->b, x, x, "");
    LLVMValueRef args[2] = {x, const_real(cg, exponent)};
    return intrinsic(cg, "llvm.pow", args, 2);
}

static LLVMValueRef libm(Codegen *cg, const char *f64_name, LLVMValueRef x) {
    char name[32];
    snprintf(name, sizeof name, "%s%s", f64_name, cg->dtype == DT_F64 ? "" : "f");
    return call(cg, name, cg->T, &x, 1);
}

/* The value of node id at the current loop index: computed if fused, else loaded. */
static LLVMValueRef element(FnGen *f, int id) {
    Codegen *cg = f->cg;
    const IrNode *n = &f->g->nodes[id];
    if (n->op == OP_CONST) return const_real(cg, n->value);
    if (id != f->root && f->plan->nodes[id].kind != PLAN_FUSED) return load_element(f, id);
    LLVMValueRef a = element(f, n->in[0]), b = n->nin > 1 ? element(f, n->in[1]) : NULL;
    LLVMBuilderRef bd = cg->b;
    switch (n->op) {
    case OP_ADD: return LLVMBuildFAdd(bd, a, b, "");
    case OP_SUB: return LLVMBuildFSub(bd, a, b, "");
    case OP_MUL: return LLVMBuildFMul(bd, a, b, "");
    case OP_DIV: return LLVMBuildFDiv(bd, a, b, "");
    case OP_NEG: return LLVMBuildFNeg(bd, a, "");
    case OP_EXP: return intrinsic(cg, "llvm.exp", &a, 1);
    case OP_LOG: return intrinsic(cg, "llvm.log", &a, 1);
    case OP_SQRT: return intrinsic(cg, "llvm.sqrt", &a, 1);
    case OP_TANH: return libm(cg, "tanh", a);
    case OP_LOG1P: return libm(cg, "log1p", a);
    case OP_EXPM1: return libm(cg, "expm1", a);
    case OP_SIGMOID: return sigmoid(cg, a);
    case OP_POW: return power(cg, a, n->value);
    case OP_GT: return mask_to_real(cg, LLVMRealOGT, a, b);
    case OP_GE: return mask_to_real(cg, LLVMRealOGE, a, b);
    case OP_EQ: return mask_to_real(cg, LLVMRealOEQ, a, b);
    case OP_SELECT: {
        LLVMValueRef m = LLVMBuildFCmp(bd, LLVMRealUNE, a, const_real(cg, 0), "");
        return LLVMBuildSelect(bd, m, b, element(f, n->in[2]), "");
    }
    case OP_STOP_GRAD: return a;
    default: diag_fatal("internal error: %s is not elementwise", ir_op_name(n->op));
    }
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

static void load_leaves(FnGen *f, LLVMValueRef leaves);

/* A LOOP node and the nodes fused into it: one function loop(leaves, arena, lo, hi) that
 * computes elements [lo, hi), which the graph function hands to ganrt_parallel_loop (runtime/
 * pool.c) to split across the --threads workers. Each element is computed the same way whatever
 * the split, so results do not depend on the thread count. */
static void emit_loop(FnGen *f, int id) {
    Codegen *cg = f->cg;
    FnGen outer = *f;
    LLVMBasicBlockRef caller_block = LLVMGetInsertBlock(cg->b);
    f->fn = LLVMAddFunction(cg->mod, "loop", cg->loop_fn);
    LLVMSetLinkage(f->fn, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "entry"));
    f->arena = LLVMGetParam(f->fn, 1);
    f->leaf_ptr = calloc((size_t)f->g->nnodes + 1, sizeof(LLVMValueRef));
    load_leaves(f, LLVMGetParam(f->fn, 0));
    LLVMValueRef lo = LLVMGetParam(f->fn, 2), hi = LLVMGetParam(f->fn, 3);
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "loop");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, f->fn, "done");
    LLVMBuildBr(cg->b, body);
    LLVMPositionBuilderAtEnd(cg->b, body);
    LLVMValueRef i = LLVMBuildPhi(cg->b, cg->i64, "i");
    f->root = id;
    f->index = i;
    LLVMValueRef v = element(f, id);
    LLVMValueRef dst = LLVMBuildGEP2(cg->b, cg->T, buffer(f, id), &i, 1, "");
    LLVMBuildStore(cg->b, v, dst);
    LLVMValueRef next = LLVMBuildAdd(cg->b, i, LLVMConstInt(cg->i64, 1, 0), "");
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, next, hi, ""), body, done);
    LLVMBasicBlockRef from_body = LLVMGetInsertBlock(cg->b);
    LLVMAddIncoming(i, &lo, &pre, 1);
    LLVMAddIncoming(i, &next, &from_body, 1);
    LLVMPositionBuilderAtEnd(cg->b, done);
    LLVMBuildRetVoid(cg->b);
    free(f->leaf_ptr);
    LLVMValueRef loop_fn = f->fn;
    long cost = loop_cost(f, id);
    *f = outer;
    LLVMPositionBuilderAtEnd(cg->b, caller_block);
    LLVMValueRef args[] = {loop_fn, f->leaves, f->arena,
                           LLVMConstInt(cg->i64, (unsigned long long)ir_shape_size(f->g->nodes[id].shape), 0),
                           LLVMConstInt(cg->i64, (unsigned long long)cost, 0)};
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

static void emit_call(FnGen *f, int id) {
    Codegen *cg = f->cg;
    const IrNode *n = &f->g->nodes[id];
    LLVMValueRef out = buffer(f, id), a = buffer(f, n->in[0]), b = n->nin > 1 ? buffer(f, n->in[1]) : NULL;
    Shape sa = ir_shape_of(f->g, n->in[0]), sb = n->nin > 1 ? ir_shape_of(f->g, n->in[1]) : sa;
    LLVMValueRef ndim = const_int(cg, sa.ndim);
    switch (n->op) {
    case OP_MATMUL: {
        LLVMValueRef args[] = {const_int(cg, n->ta), const_int(cg, n->tb), const_int(cg, n->shape.dim[0]),
                               const_int(cg, n->shape.dim[1]), const_int(cg, sa.dim[n->ta ? 0 : 1]), a, b, out};
        kernel(f, "matmul", args, 8);
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

/* ---- graph functions ------------------------------------------------------------------- */

static LLVMValueRef pointer_at(Codegen *cg, LLVMValueRef array, int k) {
    LLVMValueRef idx = LLVMConstInt(cg->i64, (unsigned long long)k, 0);
    return LLVMBuildLoad2(cg->b, cg->ptr, LLVMBuildGEP2(cg->b, cg->ptr, array, &idx, 1, ""), "");
}

/* The leaf pointers of the graph, loaded from the function's leaves array at its entry. */
static void load_leaves(FnGen *f, LLVMValueRef leaves) {
    int nleaves = 0;
    for (int id = 0; id < f->g->nnodes; id++)
        if (f->plan->nodes[id].kind == PLAN_LEAF) f->leaf_ptr[id] = pointer_at(f->cg, leaves, nleaves++);
}

static LLVMValueRef emit_graph(Codegen *cg, const IrGraph *g, const GraphPlan *plan, const char *symbol) {
    FnGen f = {cg, plan, g, NULL, NULL, NULL, NULL, -1, NULL};
    f.fn = LLVMAddFunction(cg->mod, symbol, cg->graph_fn);
    LLVMSetLinkage(f.fn, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, f.fn, "entry"));
    f.leaves = LLVMGetParam(f.fn, 0);
    LLVMValueRef outputs = LLVMGetParam(f.fn, 1);
    f.arena = LLVMGetParam(f.fn, 2);
    f.leaf_ptr = calloc((size_t)g->nnodes + 1, sizeof(LLVMValueRef));
    load_leaves(&f, f.leaves);
    for (int id = 0; id < g->nnodes; id++) {
        if (plan->nodes[id].kind == PLAN_LOOP) emit_loop(&f, id);
        else if (plan->nodes[id].kind == PLAN_CALL) emit_call(&f, id);
    }
    for (int k = 0; k < g->noutputs; k++) {
        int node = g->outputs[k].node;
        LLVMValueRef bytes = LLVMConstInt(cg->i64, (unsigned long long)node_bytes(&f, node), 0);
        LLVMBuildMemMove(cg->b, pointer_at(cg, outputs, k), 4, buffer(&f, node), 4, bytes);
    }
    LLVMBuildRetVoid(cg->b);
    free(f.leaf_ptr);
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

static LLVMTargetMachineRef target_machine(const CodegenOptions *opt) {
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

static void optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, int level) {
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", level);
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(options, level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(options, level >= 2);
    LLVMErrorRef err = LLVMRunPasses(mod, pipeline, tm, options);
    LLVMDisposePassBuilderOptions(options);
    if (err) {
        char *msg = LLVMGetErrorMessage(err);
        diag_fatal("LLVM optimisation failed: %s", msg);
    }
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

    LLVMTargetMachineRef tm = target_machine(opt);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(cg.mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(cg.mod, layout);
    cg.layout = layout;
    build_module(&cg, m, plan);
    emit_source(&cg, opt);

    char *err = NULL;
    if (LLVMVerifyModule(cg.mod, LLVMReturnStatusAction, &err)) diag_fatal("internal error: invalid LLVM IR: %s", err);
    LLVMDisposeMessage(err);
    if (opt->opt_level > 0) optimise(cg.mod, tm, opt->opt_level);
    int rc = 0;
    if (opt->print_llvm) {
        char *text = LLVMPrintModuleToString(cg.mod);
        fputs(text, opt->print_llvm);
        LLVMDisposeMessage(text);
    }
    if (opt->print_asm || opt->object_path) {
        err = NULL;
        if (opt->print_asm) {
            LLVMMemoryBufferRef buf;
            if (LLVMTargetMachineEmitToMemoryBuffer(tm, cg.mod, LLVMAssemblyFile, &err, &buf))
                diag_fatal("LLVM: %s", err);
            fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), opt->print_asm);
            LLVMDisposeMemoryBuffer(buf);
        }
        if (opt->object_path && LLVMTargetMachineEmitToFile(tm, cg.mod, (char *)opt->object_path, LLVMObjectFile, &err)) {
            fprintf(stderr, "ganc: error: cannot write %s: %s\n", opt->object_path, err);
            LLVMDisposeMessage(err);
            rc = 1;
        }
    }
    LLVMDisposeTargetData(layout);
    LLVMDisposeBuilder(cg.b);
    LLVMDisposeModule(cg.mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(cg.ctx);
    return rc;
}
