/* modeldata.c: the model as constant data in the executable, laid out exactly as the C structs
 * of runtime/contract.h, which libganrt reads as they are.
 *
 * Each struct of the contract is described once below, as a table of its fields: the kind of
 * each and its offsetof in the C struct. From that one table come both the LLVM struct type
 * (whose offsets and size are then checked against offsetof and sizeof, so a field added to the
 * header but not here, or reordered, is an internal error at the first compile, not a corrupt
 * model at run time) and the constant: every value is read from the compiler's own GanModel at
 * the same offsets. Strings and arrays become private constant globals that the structs point
 * to; a NULL string or an empty array is a null pointer. */
#include "modeldata.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

typedef enum { S_DIMS, S_INIT, S_LEAF, S_OUTPUT, S_GRAPH, S_LOG, S_SAMPLE, S_MODEL, S_COUNT } StructId;

typedef enum {
    F_I32,       /* int32_t (enums included)                                           */
    F_I64,       /* int64_t, uint64_t                                                  */
    F_F64,       /* double                                                             */
    F_STRING,    /* const char *                                                       */
    F_STRUCT,    /* a nested struct `sub`                                              */
    F_I32_ARRAY, /* const int32_t *, count: the int32_t at offset count_at              */
    F_ARRAY,     /* const <sub> *, count: the int32_t at offset count_at                */
    F_FUNCTION,  /* GanGraphFn: the native function of the graph being emitted          */
} FieldKind;

typedef struct Field {
    FieldKind kind;
    size_t offset;
    int n;           /* inline array length; 1 for a single value */
    StructId sub;
    size_t count_at;
} Field;

#define ONE(kind, T, member) {kind, offsetof(T, member), 1, 0, 0}
#define INLINE(kind, T, member, n) {kind, offsetof(T, member), n, 0, 0}
#define NESTED(T, member, sub) {F_STRUCT, offsetof(T, member), 1, sub, 0}
#define ARRAY(kind, T, member, sub, count) {kind, offsetof(T, member), 1, sub, offsetof(T, count)}

static const Field dims_fields[] = {ONE(F_I64, GanDims, ndim), INLINE(F_I64, GanDims, dim, GAN_MAXDIM)};
static const Field init_fields[] = {
    ONE(F_I32, LeafInit, kind), ONE(F_I32, LeafInit, nargs), ONE(F_I32, LeafInit, fixed),
    ONE(F_I32, LeafInit, classes), ONE(F_F64, LeafInit, a), ONE(F_F64, LeafInit, b),
    INLINE(F_F64, LeafInit, args, 8), ONE(F_I64, LeafInit, points), ONE(F_STRING, LeafInit, sampler),
    ONE(F_STRING, LeafInit, source), ONE(F_STRING, LeafInit, file), ONE(F_STRING, LeafInit, order),
};
static const Field leaf_fields[] = {ONE(F_STRING, GanLeaf, name), ONE(F_I64, GanLeaf, role),
                                    NESTED(GanLeaf, dims, S_DIMS), NESTED(GanLeaf, init, S_INIT)};
static const Field output_fields[] = {ONE(F_STRING, GanOutput, name), ONE(F_I32, GanOutput, is_update),
                                      ONE(F_I32, GanOutput, leaf), NESTED(GanOutput, dims, S_DIMS)};
static const Field graph_fields[] = {
    ONE(F_STRING, GanGraph, name), ONE(F_STRING, GanGraph, net), ONE(F_I32, GanGraph, role),
    ONE(F_I32, GanGraph, times), ONE(F_I32, GanGraph, nuse), ONE(F_I32, GanGraph, nout),
    ONE(F_I64, GanGraph, arena_bytes), ONE(F_I64, GanGraph, ranks), ARRAY(F_I32_ARRAY, GanGraph, use, 0, nuse),
    ARRAY(F_I32_ARRAY, GanGraph, use_split, 0, nuse),
    ARRAY(F_ARRAY, GanGraph, out, S_OUTPUT, nout), ONE(F_FUNCTION, GanGraph, fn),
};
static const Field log_fields[] = {ONE(F_STRING, GanLog, label), ONE(F_I32, GanLog, graph), ONE(F_I32, GanLog, output)};
static const Field sample_fields[] = {ONE(F_STRING, GanSample, label), ONE(F_I64, GanSample, output)};
static const Field model_fields[] = {
    ONE(F_I64, GanModel, version), ONE(F_STRING, GanModel, name), ONE(F_I32, GanModel, is_f64),
    ONE(F_I32, GanModel, batch), ONE(F_I64, GanModel, seed), ONE(F_I64, GanModel, iters),
    ONE(F_I64, GanModel, log_every), ONE(F_I64, GanModel, sample_every), ONE(F_I64, GanModel, fid_every),
    ONE(F_I32, GanModel, nleaves), ONE(F_I32, GanModel, ngraphs), ONE(F_I32, GanModel, nlogs),
    ONE(F_I32, GanModel, nsamples), ARRAY(F_ARRAY, GanModel, leaves, S_LEAF, nleaves),
    ARRAY(F_ARRAY, GanModel, graphs, S_GRAPH, ngraphs), ARRAY(F_ARRAY, GanModel, logs, S_LOG, nlogs),
    ARRAY(F_ARRAY, GanModel, samples, S_SAMPLE, nsamples),
};

#define STRUCT(name, T, fields) {name, sizeof(T), fields, sizeof fields / sizeof fields[0]}
static const struct {
    const char *name;
    size_t size;
    const Field *fields;
    int nfields;
} structs[S_COUNT] = {
    [S_DIMS] = STRUCT("GanDims", GanDims, dims_fields),
    [S_INIT] = STRUCT("LeafInit", LeafInit, init_fields),
    [S_LEAF] = STRUCT("GanLeaf", GanLeaf, leaf_fields),
    [S_OUTPUT] = STRUCT("GanOutput", GanOutput, output_fields),
    [S_GRAPH] = STRUCT("GanGraph", GanGraph, graph_fields),
    [S_LOG] = STRUCT("GanLog", GanLog, log_fields),
    [S_SAMPLE] = STRUCT("GanSample", GanSample, sample_fields),
    [S_MODEL] = STRUCT("GanModel", GanModel, model_fields),
};

typedef struct Emitter {
    LLVMModuleRef mod;
    LLVMContextRef ctx;
    LLVMTargetDataRef layout;
    LLVMTypeRef types[S_COUNT]; /* built on first use */
    LLVMTypeRef i32, i64, f64, ptr;
    LLVMValueRef const *fns;
    int graph;                  /* the index of the GanGraph being emitted, for F_FUNCTION */
} Emitter;

static LLVMTypeRef struct_type(Emitter *e, StructId id);

static LLVMTypeRef field_type(Emitter *e, const Field *f)
{
    LLVMTypeRef t = f->kind == F_I32 ? e->i32 : f->kind == F_I64 ? e->i64 : f->kind == F_F64 ? e->f64
                  : f->kind == F_STRUCT ? struct_type(e, f->sub) : e->ptr;
    return f->n > 1 ? LLVMArrayType2(t, (uint64_t)f->n) : t;
}

/* The LLVM type of a contract struct, checked against the C compiler's layout of it. */
static LLVMTypeRef struct_type(Emitter *e, StructId id)
{
    if (e->types[id])
        return e->types[id];
    LLVMTypeRef members[32];
    for (int k = 0; k < structs[id].nfields; k++)
        members[k] = field_type(e, &structs[id].fields[k]);
    LLVMTypeRef t = LLVMStructCreateNamed(e->ctx, structs[id].name);
    LLVMStructSetBody(t, members, (unsigned)structs[id].nfields, 0);
    for (int k = 0; k < structs[id].nfields; k++)
        if (LLVMOffsetOfElement(e->layout, t, (unsigned)k) != structs[id].fields[k].offset)
            diag_fatal("internal error: field %d of %s is at offset %llu in LLVM, %zu in C", k, structs[id].name,
                       LLVMOffsetOfElement(e->layout, t, (unsigned)k), structs[id].fields[k].offset);
    if (LLVMABISizeOfType(e->layout, t) != structs[id].size)
        diag_fatal("internal error: %s is %llu bytes in LLVM, %zu in C (a field missing from modeldata.c?)",
                   structs[id].name, LLVMABISizeOfType(e->layout, t), structs[id].size);
    return e->types[id] = t;
}

static LLVMValueRef private_constant(Emitter *e, LLVMValueRef init, const char *name)
{
    LLVMValueRef g = LLVMAddGlobal(e->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    return g;
}

/* Every byte of the string, NUL-terminated: labels and paths are arbitrary UTF-8. */
static LLVMValueRef const_string(Emitter *e, const char *s)
{
    if (!s)
        return LLVMConstPointerNull(e->ptr);
    return private_constant(e, LLVMConstStringInContext(e->ctx, s, (unsigned)strlen(s), 0), "str");
}

static LLVMValueRef const_struct(Emitter *e, StructId id, const char *base);

static LLVMValueRef const_array(Emitter *e, StructId id, const char *items, int count)
{
    if (count <= 0)
        return LLVMConstPointerNull(e->ptr);
    LLVMValueRef values[count];
    for (int i = 0; i < count; i++) {
        if (id == S_GRAPH)
            e->graph = i;
        values[i] = const_struct(e, id, items + (size_t)i * structs[id].size);
    }
    return private_constant(e, LLVMConstArray2(struct_type(e, id), values, (uint64_t)count), structs[id].name);
}

static LLVMValueRef const_i32_array(Emitter *e, const int32_t *items, int count)
{
    if (count <= 0)
        return LLVMConstPointerNull(e->ptr);
    LLVMValueRef values[count];
    for (int i = 0; i < count; i++)
        values[i] = LLVMConstInt(e->i32, (unsigned long long)(long long)items[i], 1);
    return private_constant(e, LLVMConstArray2(e->i32, values, (uint64_t)count), "use");
}

/* Element i of field f of the struct at base. */
static LLVMValueRef const_scalar(Emitter *e, const Field *f, const char *at)
{
    int32_t i32;
    int64_t i64;
    double f64;
    switch (f->kind) {
    case F_I32: memcpy(&i32, at, sizeof i32); return LLVMConstInt(e->i32, (unsigned long long)(long long)i32, 1);
    case F_I64: memcpy(&i64, at, sizeof i64); return LLVMConstInt(e->i64, (unsigned long long)i64, 1);
    default: memcpy(&f64, at, sizeof f64); return LLVMConstReal(e->f64, f64); /* F_F64 */
    }
}

static LLVMValueRef const_field(Emitter *e, const Field *f, const char *base)
{
    const char *at = base + f->offset;
    const void *pointer;
    int32_t count = 0;
    if (f->kind == F_I32_ARRAY || f->kind == F_ARRAY)
        memcpy(&count, base + f->count_at, sizeof count);
    if (f->kind == F_STRING || f->kind == F_I32_ARRAY || f->kind == F_ARRAY)
        memcpy(&pointer, at, sizeof pointer);
    switch (f->kind) {
    case F_STRING: return const_string(e, pointer);
    case F_STRUCT: return const_struct(e, f->sub, at);
    case F_I32_ARRAY: return const_i32_array(e, pointer, count);
    case F_ARRAY: return const_array(e, f->sub, pointer, count);
    case F_FUNCTION: return e->fns[e->graph];
    default: break;
    }
    if (f->n == 1)
        return const_scalar(e, f, at);
    LLVMValueRef items[16];
    size_t size = f->kind == F_I32 ? 4 : 8;
    for (int i = 0; i < f->n; i++)
        items[i] = const_scalar(e, f, at + (size_t)i * size);
    return LLVMConstArray2(f->kind == F_I32 ? e->i32 : f->kind == F_I64 ? e->i64 : e->f64, items, (uint64_t)f->n);
}

static LLVMValueRef const_struct(Emitter *e, StructId id, const char *base)
{
    LLVMValueRef values[32];
    for (int k = 0; k < structs[id].nfields; k++)
        values[k] = const_field(e, &structs[id].fields[k], base);
    return LLVMConstNamedStruct(struct_type(e, id), values, (unsigned)structs[id].nfields);
}

LLVMValueRef modeldata_emit(LLVMModuleRef mod, LLVMTargetDataRef layout, const GanModel *model,
                            LLVMValueRef const *fns)
{
    Emitter e = {.mod = mod, .ctx = LLVMGetModuleContext(mod), .layout = layout, .fns = fns};
    e.i32 = LLVMInt32TypeInContext(e.ctx);
    e.i64 = LLVMInt64TypeInContext(e.ctx);
    e.f64 = LLVMDoubleTypeInContext(e.ctx);
    e.ptr = LLVMPointerTypeInContext(e.ctx, 0);
    return private_constant(&e, const_struct(&e, S_MODEL, (const char *)model), "ganc_model");
}
