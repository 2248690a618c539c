/* shard.h: the batch-axis pass, which turns a step graph into the graph one of N shards runs
 * when the batch is split across N processes (data parallelism, docs/distributed.md).
 *
 * Runs after autodiff and the optimizer, on whole step graphs. Each shard holds B/N rows of
 * every batch input (data, noise, every per-sample random draw) and a full copy of every
 * parameter and state; the pass propagates which tensors are split along which axis and
 * inserts a collective wherever an op needs rows of other shards, so that every shard's
 * updates equal the single-process step's. */
#ifndef GANC_SHARD_H
#define GANC_SHARD_H
#include "ir.h"
#include "model.h"

/* The graph one shard runs, in g's arena: batch inputs (leading dimension `batch`) hold
 * batch/shards rows (their `shards` field says so); the outputs are those of g, replicated.
 * Independent allreduce_sums are grouped (IrNode.axis) and consecutive: each group is one
 * collective, the parameter gradients' among them. */
IrGraph *shard_graph(const IrGraph *g, int batch, int shards);
/* A fatal error naming both numbers unless batch splits into that many equal shards. */
void shard_check_batch(int batch, int shards);
/* Replaces the model's step graphs and its eval graph by their shards' graphs (the sample and
 * FID graphs stay whole: one process writes samples). A batch that does not split into equal
 * shards is a fatal error naming both numbers. shards == 1 leaves the model as it is. */
void shard_model(Model *m, int shards);
/* ganc --ranks: adds to the model (Model.ranked) the schedule's step graphs split for each of
 * the n process counts, named step_NET_ranksN, for an executable that also runs on that many
 * processes; the whole graphs stay as they are. */
void shard_model_ranks(Model *m, const int *ranks, int n);

/* The blocked graph of a shard's graph (ganc --exact): the computations of all `shards` shards
 * side by side in one graph, each the shard graph's own nodes (same ops, same shapes: the same
 * kernels give the same bits), a split input drawn whole and cut into its shards' rows, and each
 * collective done in process in runtime/dist.c's order: allreduce_sum as the chain of
 * block_sums ((b_0 + b_1) + b_2) + ..., allreduce_max of block_maxes, allgather a concat of the
 * blocks, shard_slice a slice. Its outputs equal, bit for bit, those every shard computes. */
IrGraph *shard_blocked(const IrGraph *shard, int shards, const char *name);
/* ganc --ranks N --exact, after the merge pass (which the ranks' graphs have been through): the
 * schedule's whole-batch step graphs are replaced by the blocked graphs of the N-rank ones, so
 * the executable alone ends with the bits it ends with on N ranks. A fatal error unless the
 * model has exactly one --ranks count. */
void shard_model_exact(Model *m);
/* After shard_model(m, shards): its step and eval graphs replaced by their blocked graphs, which
 * the interpreter runs in one process (ganc eval/run --shards N --exact). */
void shard_model_block(Model *m, int shards);

/* Where a shape op or reduction n (RESHAPE, PERMUTE, BROADCAST, SUM, MAX, SLICE, PAD) puts axis
 * k of its input of shape `in` when that axis is cut in `shards` equal blocks: the output axis
 * holding block r of it; SHARD_AXIS_REDUCED if n sums or maxes over it; -1 if no output axis
 * does (the op mixes the blocks, and a shard needs the others' rows). */
enum { SHARD_AXIS_REDUCED = -2 };
int shard_axis_through(const IrNode *n, Shape in, int k, int shards);

#endif
