/* run.h: the interpreter-driven commands `ganc eval` and `ganc run` (see run.c). */
#ifndef GANC_RUN_H
#define GANC_RUN_H
#include "model.h"

/* shards: the number of shards the model was split into (shard_model), simulated in lockstep;
 * 1 for a whole model. */
/* Replay one evaluation: values from in_path (may be NULL) over seeded ones; write out_path. */
int run_eval(const Model *m, const char *in_path, const char *out_path, int shards);
/* Train for iters rounds of the schedule in the interpreter, logging JSON lines to stdout; then
 * save every tensor of the run (parameters, optimizer state, the last inputs) if save_path. */
int run_train(const Model *m, long iters, const char *save_path, int shards);

#endif
