/* fill.h: initial values and per-step draws of a named tensor, shared by the compiler's
 * interpreter (compiler/store.c) and libganrt, so both start from and draw exactly the same
 * numbers for the same seed: the precondition for comparing native code with the interpreter
 * bit for bit at the inputs. */
#ifndef GANC_FILL_H
#define GANC_FILL_H
#include <stdint.h>

#include "contract.h"

/* The kinds of initialiser, INIT_KIND_LIST, and LeafInit are the contract's (contract.h). */

/* "uniform", ...: the text name of a kind; "?" for a value outside the list */
const char *init_kind_name(InitKind kind);

/* FILE and LABELS visit their n items (points, or the file's count) like DATA with points, a
 * new permutation each epoch, but the permutation is keyed by the hash of `order` (or `file`),
 * not by the leaf's name: leaves with the same order key, the same rows and the same n draw the
 * same item positions at every draw, which keeps images and their labels paired. */
/* INIT_COPY (a copy of another leaf's initial value) and INIT_PROGRESS (the run's progress) are
 * not fill_values': policy.c fills them, given the other leaf's value or the iteration. */

/* Loads and validates the file of leaf `name`, of `rows` rows of `per_row` values: a FILE or
 * LABELS data set (item size, labels in range, sizes of the order file) or a TENSOR's
 * safetensors file (a tensor `name` of that size): 0, or -1 with a message naming the file in
 * err. Other kinds always pass. Call it once per leaf before drawing: fill_values assumes it
 * passed. */
int fill_check(const LeafInit *spec, const char *name, long rows, long per_row, char *err, int errlen);
/* The same checks from a data set file's header alone (dataset_header), for the compiler; the
 * data is read on the first draw, which exits with a message if the file is corrupt past its
 * header. Labels are read and checked in full either way. */
int fill_check_shape(const LeafInit *spec, const char *name, long rows, long per_row, char *err, int errlen);

/* The values of tensor `name` (size elements; rows = leading dimension, for samplers) at its
 * draw number `draw` (0 for initial values). */
void fill_values(const LeafInit *spec, uint64_t seed, const char *name, uint64_t draw, double *out,
                 long size, long rows);
/* Rows row0 .. row0 + nrows - 1 of that draw (size and rows still the whole tensor's), into out
 * (nrows * size / rows values): what one of several processes sharing the batch draws. Each row
 * is a function of (seed, name, draw, size, rows, its index) alone, so the shards' rows joined
 * are exactly the whole draw. */
void fill_rows(const LeafInit *spec, uint64_t seed, const char *name, uint64_t draw, double *out, long size,
               long rows, long row0, long nrows);
/* Rows row0 .. row0 + nrows - 1 of that draw (size and rows still the whole tensor's), into out
 * (nrows * size / rows values): what one of several processes sharing the batch draws. Each row
 * is a function of (seed, name, draw, size, rows, its index) alone, so the shards' rows joined
 * are exactly the whole draw. */
void fill_rows(const LeafInit *spec, uint64_t seed, const char *name, uint64_t draw, double *out, long size,
               long rows, long row0, long nrows);

#endif
