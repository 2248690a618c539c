/* policy.h: the policy of a training run, one implementation for libganrt's driver
 * (runtime/train.c) and the interpreter's `ganc run` and `ganc eval` (compiler/run.c), so native
 * code and the interpreter start from, draw, log and overlay exactly the same values: the
 * precondition for comparing them bit for bit (tests/native.sh).
 *
 * Values are doubles here; the runtime converts to the model's dtype. */
#ifndef GANC_POLICY_H
#define GANC_POLICY_H
#include <stddef.h>
#include <stdint.h>

#include "contract.h"

/* Initial values are given in passes: params in pass 0, then states in pass 1, since a state
 * may start as a copy of a param (the running average of `ema`). The pass of a leaf of that
 * role, or -1 for inputs, which are drawn before each execution instead. */
enum { POLICY_INIT_PASSES = 2 };
int policy_init_pass(LeafRole role);

/* The initial value of param or state `name` (size values, rows = its leading dimension): a
 * copy of `source`, the initial value of the leaf init->source names, for kind copy (the caller
 * looks it up: it has the storage); draw 0 of the seed for every other kind. */
void policy_initial_value(const LeafInit *init, const char *name, uint64_t seed, const double *source,
                          double *out, long size, long rows);

/* The progress of a run at iteration iter of steps, (iter - 1) / steps: the value of an input
 * of kind progress (learning-rate decay); 0 outside a run. */
double policy_progress(long iter, long steps);

/* The value of input `name` for one execution: every input of an execution is drawn at the
 * same draw number under the same key; an input of kind progress holds `progress` instead
 * (policy_progress of the iteration). */
void policy_draw_input(const LeafInit *init, const char *name, uint64_t key, uint64_t draw, double progress,
                       double *out, long size, long rows);
/* The same for one of `shards` processes sharing the batch (docs/distributed.md): rank's rows of
 * the whole draw (size and rows are the whole tensor's), into out's first size / shards values. */
void policy_draw_shard(const LeafInit *init, const char *name, uint64_t key, uint64_t draw, double progress,
                       double *out, long size, long rows, int shards, int rank);

/* Whether iteration iter of a run of `steps` writes a log line: the first, every `every`-th (100
 * when 0) and the last. */
int policy_is_log_point(long iter, long every, long steps);

/* --eval-values IN (libganrt) and `ganc eval IN` (the interpreter): the tensors of IN replace the
 * values of the leaves they name. find says whether the experiment has a leaf of that name (-1:
 * no; 0: yes, but the evaluation does not read it; 1: it does) and its shape; set receives
 * the tensor's values. 0, or 1 with the reason, naming the file, in err. */
typedef struct PolicyLeaves {
    void *ctx;
    int (*find)(void *ctx, const char *name, GanDims *dims);
    void (*set)(void *ctx, const char *name, const double *values);
} PolicyLeaves;
int policy_overlay(const char *path, const PolicyLeaves *leaves, char *err, size_t errlen);

#endif
