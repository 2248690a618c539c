/* ir.h: the graph IR, the compiler's central data structure.
 *
 * A graph is an array of nodes in topological order: a node's inputs are always earlier nodes,
 * named by index (QBE style), so a reverse walk over the array is a valid reverse topological
 * order, which is all autodiff needs. Every node has a static shape: the batch size is known at
 * compile time. Nodes are built only through the constructors below, which infer shapes, check
 * them (an assert: sema reports user errors before it builds), fold constants, apply algebraic
 * identities (x*1, x+0, neg(neg x), ...) and hash-cons identical nodes, so common
 * subexpressions are shared as they are created. That matters most after autodiff, because
 * double-backward graphs repeat themselves a lot.
 *
 * Leaves: `param` (trained weights, named "D.dense0.w"), `state` (optimizer moments and other
 * persistent non-trained tensors), `input` (data, noise and every random draw a step makes; each
 * is named so `ganc eval` can set it), `const` (a tensor filled with one value).
 *
 * Collectives (only in the per-shard graphs of compiler/shard.c, never before it): a graph run on
 * N shards, each holding its own rows of the batch, combines them with allreduce_sum/_max (every
 * shard gets the elementwise sum/max of all shards' values, in shard order), allgather (the
 * shards' blocks joined along `axis`) and shard_slice (this shard's block of a replicated tensor
 * along `axis`: no communication). docs/distributed.md. A blocked graph (shard.h, ganc --exact)
 * computes the N shards' graphs side by side in one process: block_sum(a, b) and block_max(a, b)
 * are one step of an allreduce's rank-order sum or max, ((b_0 + b_1) + b_2) + ..., as calls the
 * later passes neither fuse nor re-associate, so the process adds exactly as the ranks do.
 *
 * A graph's results are its outputs: values read by the caller ("loss/D") and updates, the new
 * value of a param or state leaf after the step. */
#ifndef GANC_IR_H
#define GANC_IR_H
#include <stdio.h>
#include "arena.h"
#include "diag.h"
#include "contract.h"

enum { IR_MAXDIM = 4 };

typedef enum { DT_F32, DT_F64 } DType;

typedef struct Shape {
    int ndim;
    int dim[IR_MAXDIM];
} Shape;

/* Every op, with the columns the passes ask about instead of listing ops by hand (QBE's ops.h,
 * Lua's luaP_opmodes): a new op is one row here plus its cases where its semantics live (ir.c's
 * value functions, the interpreter, codegen, autodiff's VJP).
 *
 * X(enum name, text name, number of inputs, class, flags)
 *
 * Class, what the op computes:
 *   LEAF    its value is set from outside the graph each step (param, state, input)
 *   CONST   a tensor filled with one value
 *   UNARY, BINARY, SELECT  elementwise with one, two, three inputs: output element i reads
 *           element i of each input only, so the plan fuses them into one loop
 *   SHAPE   moves or copies elements, computes nothing (reshape, permute, broadcast, ...)
 *   REDUCE  sums or maxes over axes
 *   BLAS    matmul and the convolutions: library calls on whole tensors
 *   COLLECTIVE  combines the values of the shards of a batch split across processes (shard.h):
 *           only in the graphs the batch-axis pass makes, never differentiated
 * Flags:
 *   OPF_CMP     a comparison: the value is a 0/1 mask
 *   OPF_NOGRAD  no gradient flows to the inputs (comparisons, stop_grad); the interpreter freezes
 *               its value under finite differences, as autodiff treats it as a constant */
#define IR_OP_LIST(X)                                          \
    X(PARAM,     "param",     0, LEAF,   0)                    \
    X(STATE,     "state",     0, LEAF,   0)                    \
    X(INPUT,     "input",     0, LEAF,   0)                    \
    X(CONST,     "const",     0, CONST,  0)                    \
    X(ADD,       "add",       2, BINARY, 0)                    \
    X(SUB,       "sub",       2, BINARY, 0)                    \
    X(MUL,       "mul",       2, BINARY, 0)                    \
    X(DIV,       "div",       2, BINARY, 0)                    \
    X(NEG,       "neg",       1, UNARY,  0)                    \
    X(EXP,       "exp",       1, UNARY,  0)                    \
    X(LOG,       "log",       1, UNARY,  0)                    \
    X(SQRT,      "sqrt",      1, UNARY,  0)                    \
    X(TANH,      "tanh",      1, UNARY,  0)                    \
    X(SIGMOID,   "sigmoid",   1, UNARY,  0)                    \
    X(LOG1P,     "log1p",     1, UNARY,  0)                    \
    X(EXPM1,     "expm1",     1, UNARY,  0)                    \
    X(POW,       "pow",       1, UNARY,  0)                    \
    X(GT,        "gt",        2, BINARY, OPF_CMP | OPF_NOGRAD) \
    X(GE,        "ge",        2, BINARY, OPF_CMP | OPF_NOGRAD) \
    X(EQ,        "eq",        2, BINARY, OPF_CMP | OPF_NOGRAD) \
    X(SELECT,    "select",    3, SELECT, 0)                    \
    X(STOP_GRAD, "stop_grad", 1, UNARY,  OPF_NOGRAD)           \
    X(RESHAPE,   "reshape",   1, SHAPE,  0)                    \
    X(PERMUTE,   "permute",   1, SHAPE,  0)                    \
    X(BROADCAST, "broadcast", 1, SHAPE,  0)                    \
    X(SUM,       "sum",       1, REDUCE, 0)                    \
    X(MAX,       "max",       1, REDUCE, 0)                    \
    X(SLICE,     "slice",     1, SHAPE,  0)                    \
    X(PAD,       "pad",       1, SHAPE,  0)                    \
    X(CONCAT,    "concat",    2, SHAPE,  0)                    \
    X(MATMUL,    "matmul",    2, BLAS,   0)                    \
    X(CONV,      "conv",      2, BLAS,   0)                    \
    X(CONV_BD,   "conv_bd",   2, BLAS,   0)                    \
    X(CONV_BF,   "conv_bf",   2, BLAS,   0)                    \
    X(ALLREDUCE_SUM, "allreduce_sum", 1, COLLECTIVE, 0)        \
    X(ALLREDUCE_MAX, "allreduce_max", 1, COLLECTIVE, 0)        \
    X(ALLGATHER,     "allgather",     1, COLLECTIVE, 0)        \
    X(SHARD_SLICE,   "shard_slice",   1, COLLECTIVE, 0)        \
    X(BLOCK_SUM,     "block_sum",     2, COLLECTIVE, 0)        \
    X(BLOCK_MAX,     "block_max",     2, COLLECTIVE, 0)

typedef enum { OPC_LEAF, OPC_CONST, OPC_UNARY, OPC_BINARY, OPC_SELECT, OPC_SHAPE, OPC_REDUCE, OPC_BLAS, OPC_COLLECTIVE } IrOpClass;
enum { OPF_CMP = 1, OPF_NOGRAD = 2 };

typedef enum {
#define X(name, text, arity, cls, flags) OP_##name,
    IR_OP_LIST(X)
#undef X
    OP_COUNT
} IrOp;

/* How a leaf gets its value before a step (params are initialised once, inputs drawn each
 * step): LeafInit and its kinds INIT_* are the contract's (runtime/contract.h), shared with libganrt. */

typedef struct IrNode {
    IrOp op;
    DType dtype;
    Shape shape;
    int nin;
    int in[3];
    /* attributes; which ones an op uses is listed in ir.c's printer */
    double value;          /* CONST: fill value; POW: exponent                          */
    unsigned axes;         /* SUM, MAX: reduced axes; BROADCAST: output axes the input keeps */
    int perm[IR_MAXDIM];   /* PERMUTE: output axis i is input axis perm[i]              */
    int start[IR_MAXDIM];  /* SLICE: offsets into the input; PAD: zeros before the input */
    int axis;              /* CONCAT, ALLGATHER, SHARD_SLICE; ALLREDUCE_SUM: its group, the
                              consecutive allreduce_sums reduced in one collective (0: alone) */
    int shards;            /* INPUT: its rows are this shard's 1/shards of the whole draw (0, 1: all of it) */
    int block;             /* in a blocked graph (shard.h): 1 + the shard whose computation this
                              node is, so the shards' equal copies are not shared; 0: shared */
    int ta, tb;            /* MATMUL: transpose flags                                   */
    int stride, pad;       /* CONV, CONV_BD, CONV_BF                                    */
    const char *name;      /* PARAM, STATE, INPUT                                       */
    LeafInit init;         /* PARAM, STATE, INPUT                                       */
    SrcLoc loc;            /* where in the source the node came from                    */
    const char *scope;     /* the network and layer that built it, "D.dense0", or NULL  */
    int backward;          /* made by autodiff (a gradient), not by the source          */
} IrNode;

typedef enum { OUT_VALUE, OUT_UPDATE } IrOutputKind;

typedef struct IrOutput {
    IrOutputKind kind;
    const char *name; /* OUT_VALUE: "loss/D"; OUT_UPDATE: the leaf's name */
    int node;
} IrOutput;

typedef struct IrGraph {
    Arena *arena;
    const char *name;  /* "step_D", "sample", ... */
    DType dtype;
    IrNode *nodes;
    int nnodes, cap;
    int *hash_slots;   /* open addressing over node ids + 1 (0 = empty) */
    int hash_cap;
    IrOutput *outputs;
    int noutputs, outcap;
    SrcLoc cur_loc;    /* stamped on every node created; sema sets it as it walks */
    const char *cur_scope; /* stamped likewise: the network and layer being inlined (for --emit=dot) */
    int cur_backward;  /* stamped likewise: autodiff is building the nodes */
    int cur_block;     /* stamped on every non-leaf node created, when not 0 (IrNode.block) */
} IrGraph;

IrGraph *ir_new_graph(Arena *arena, const char *name, DType dtype);
void ir_add_output(IrGraph *g, IrOutputKind kind, const char *name, int node);
int ir_find_output(const IrGraph *g, const char *name); /* node id, or -1 */

/* Shapes */
Shape ir_shape(int ndim, const int *dims);
Shape ir_shape_scalar(void);
int ir_shape_equal(Shape a, Shape b);
/* Elements in s, saturating at LONG_MAX instead of overflowing. */
long ir_shape_size(Shape s);
/* No tensor may have more elements (2^36: 256 GiB in f32): a larger one is an error naming it
 * when its node is made, so nothing downstream multiplies sizes that could overflow. */
#define IR_MAX_ELEMENTS (1L << 36)
/* "f32[256,2]" into buf */
const char *ir_shape_str(char *buf, int len, DType dt, Shape s);
static inline const IrNode *ir_node(const IrGraph *g, int id) { return &g->nodes[id]; }
static inline Shape ir_shape_of(const IrGraph *g, int id) { return g->nodes[id].shape; }

/* Leaves. A param, state or input of a given name exists once per graph: asking again returns it. */
int ir_param(IrGraph *g, const char *name, Shape s, LeafInit init);
int ir_state(IrGraph *g, const char *name, Shape s, LeafInit init);
int ir_input(IrGraph *g, const char *name, Shape s, LeafInit init);
int ir_const(IrGraph *g, double value, Shape s);
int ir_const_like(IrGraph *g, double value, int like); /* a const of like's shape */

/* Elementwise: operands have equal shapes (broadcast explicitly first). */
int ir_binary(IrGraph *g, IrOp op, int a, int b); /* a BINARY op */
int ir_unary(IrGraph *g, IrOp op, int a);         /* a UNARY op but POW (ir_pow) */
int ir_add(IrGraph *g, int a, int b);
int ir_sub(IrGraph *g, int a, int b);
int ir_mul(IrGraph *g, int a, int b);
int ir_div(IrGraph *g, int a, int b);
int ir_neg(IrGraph *g, int a);
int ir_pow(IrGraph *g, int a, double exponent);
int ir_select(IrGraph *g, int mask, int a, int b);

/* Shape and reduction ops */
int ir_reshape(IrGraph *g, int a, Shape s);
int ir_permute(IrGraph *g, int a, const int *perm);
/* kept: bitmask of output axes that a's axes map to, in order (popcount == a's ndim) */
int ir_broadcast(IrGraph *g, int a, Shape s, unsigned kept);
int ir_sum(IrGraph *g, int a, unsigned axes);     /* reduced axes disappear from the shape */
int ir_max(IrGraph *g, int a, unsigned axes);
int ir_slice(IrGraph *g, int a, const int *start, Shape s);
int ir_pad(IrGraph *g, int a, const int *before, Shape s);
int ir_concat(IrGraph *g, int a, int b, int axis);

/* Collectives (see above): allreduce: op is OP_ALLREDUCE_SUM or OP_ALLREDUCE_MAX; allgather
 * multiplies dimension `axis` by shards, shard_slice divides it. */
int ir_allreduce(IrGraph *g, IrOp op, int a);
int ir_allgather(IrGraph *g, int a, int axis, int shards);
int ir_shard_slice(IrGraph *g, int a, int axis, int shards);
/* One step of a blocked graph's allreduce: op is OP_BLOCK_SUM (a + b) or OP_BLOCK_MAX (b > a ? b : a). */
int ir_block_combine(IrGraph *g, IrOp op, int a, int b);

/* BLAS-backed ops */
int ir_matmul(IrGraph *g, int a, int b, int ta, int tb);    /* 2-D only */
/* x[N,C,H,W] * w[O,C,KH,KW] -> [N,O,OH,OW] */
int ir_conv(IrGraph *g, int x, int w, int stride, int pad);
/* transposed conv: w[O,C,KH,KW], y[N,O,OH,OW] -> x-shaped [N,C,H,W] (shape given) */
int ir_conv_bd(IrGraph *g, int w, int y, int stride, int pad, Shape xshape);
/* weight gradient: x[N,C,H,W], y[N,O,OH,OW] -> w-shaped [O,C,KH,KW] (shape given) */
int ir_conv_bf(IrGraph *g, int x, int y, int stride, int pad, Shape wshape);
/* the output height of a conv, or -1 if it does not fit */
int ir_conv_out_size(int in, int kernel, int stride, int pad);

/* The scalar semantics of the elementwise ops, shared by constant folding and the interpreter */
double ir_binary_value(IrOp op, double a, double b);   /* a BINARY op */
double ir_unary_value(IrOp op, double x, double exponent); /* a UNARY op; exponent: POW's */

/* Queries used by simplification and by the printers */
int ir_is_const(const IrGraph *g, int id, double *value);
const char *ir_op_name(IrOp op);

/* The columns of IR_OP_LIST */
IrOpClass ir_op_class(IrOp op);
int ir_op_arity(IrOp op);
int ir_op_is_leaf(IrOp op);           /* LEAF: param, state, input                           */
int ir_op_is_elementwise(IrOp op);    /* CONST, UNARY, BINARY, SELECT: fusable into one loop */
int ir_op_is_comparison(IrOp op);     /* OPF_CMP                                             */
int ir_op_blocks_gradient(IrOp op);   /* OPF_NOGRAD                                          */

/* A node like n (same op and attributes) with inputs in and output shape s, through the
 * constructors above (which fold and share): how the graph-to-graph passes (shard.c, merge.c)
 * copy a node they keep (a leaf keeps its name, init and shard count); simplify.c too. */
int ir_rebuild(IrGraph *g, const IrNode *n, const int *in, Shape s);
/* n as it is, with inputs in: no folding (hash-consing still shares an equal node). */
int ir_copy(IrGraph *g, const IrNode *n, const int *in);

/* A copy holding only the nodes the outputs need, renumbered in order. old_to_new (may be NULL)
 * receives, for each old id, the new id or -1. */
IrGraph *ir_compact(const IrGraph *g, int *old_to_new);
/* A copy with the nodes in `order` (every id once, each node's inputs before it). */
IrGraph *ir_reorder(const IrGraph *g, const int *order);

/* Text form (--emit=ir) and Graphviz (--emit=dot) */
void ir_print(FILE *out, const IrGraph *g);
void ir_print_dot(FILE *out, const IrGraph *g);
/* One line per leaf a value can be given for (--emit=leaves): "param D.dense0.w f32[2,16]" */
void ir_print_leaves(FILE *out, const IrGraph *g);

#endif
