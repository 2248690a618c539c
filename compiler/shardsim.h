/* shardsim.h: N shards of a graph split by the batch-axis pass (shard.h), run in the reference
 * interpreter in lockstep, with the collectives computed between them as MPI would: the batch
 * pass is checked without MPI (`ganc run --shards N`, `ganc eval --shards N`). */
#ifndef GANC_SHARDSIM_H
#define GANC_SHARDSIM_H
#include "interp.h"

typedef struct ShardSim ShardSim;

ShardSim *sim_new(const IrGraph *g, int shards, int round_to_f32);
void sim_free(ShardSim *s);
/* Shard r's interpreter: fill its leaves before a run, read its outputs after. */
Interp *sim_shard(ShardSim *s, int r);
/* Every node in order on every shard; a collective combines the shards' inputs in shard order
 * 0, 1, ..., N-1 (sums round after each addition in f32 mode, as a float sum in rank order). */
void sim_run(ShardSim *s);
/* The first output whose value is not bit-identical on every shard (outputs are replicated, so
 * none should be), or NULL. */
const char *sim_divergent_output(ShardSim *s);

#endif
