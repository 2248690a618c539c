/* store.h: the named tensors that live across steps when the interpreter trains or checks a
 * model: parameters, optimizer state and each step's inputs (data, noise, random draws).
 *
 * A store is a safetensors StFile held in memory, so saving it is a checkpoint and `ganc eval`
 * can merge a user's file into it. Values come from the counter-based generator: a parameter's
 * initial value from (seed, its name), an input's draw from (seed, its name, the draw count), so
 * every value is reproducible on its own. */
#ifndef GANC_STORE_H
#define GANC_STORE_H
#include <stdint.h>
#include "fill.h"
#include "interp.h"
#include "safetensors.h"

/* Give every param and state leaf of g that the store lacks its initial value (a state that
 * copies a parameter copies its value in the store: initialise the graphs that hold the
 * parameters first). */
void store_init_leaves(StFile *st, const IrGraph *g, uint64_t seed);
/* Draw fresh values for every input leaf of g; draw counts which draw of the run this is and
 * progress is (iteration - 1) / iterations, the value of the input __progress. */
void store_draw_inputs(StFile *st, const IrGraph *g, uint64_t seed, uint64_t draw, double progress);
/* The same for shard `rank` of a graph split into shards (shard.h): its inputs hold its rows. */
void store_draw_shard(StFile *st, const IrGraph *g, uint64_t seed, uint64_t draw, double progress, int rank);
/* Copy leaf values into an interpreter; a missing or misshapen one is a fatal error naming it. */
void store_load(const StFile *st, Interp *it, const IrGraph *g);
/* Write the step's OUT_UPDATE outputs back into the store. */
void store_apply_updates(StFile *st, Interp *it, const IrGraph *g);
/* The store's tensor of that name (NULL if none). */
StTensor *store_find(StFile *st, const char *name);

#endif
