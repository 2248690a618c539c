/* files.c: samplers, data set headers and the one check of a model's files (see files.h). */
#include "files.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dataset.h"
#include "diag.h"
#include "safetensors.h"
#include "samplers.h"
#include "store.h"

int files_sampler(const char *name, const char **canonical, int *dim, char *signature, int len) {
    const SamplerInfo *info = sampler_find(name);
    if (!info) return 0;
    signature[0] = 0;
    for (int i = 0; i < info->nparams; i++) {
        size_t used = strlen(signature);
        snprintf(signature + used, (size_t)len - used, "%s=%.17g ", info->param_names[i], info->defaults[i]);
    }
    *canonical = info->name;
    *dim = info->dim;
    return 1;
}

void files_sampler_names(char *buf, int len) {
    int n;
    const SamplerInfo *table = sampler_table(&n);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, (size_t)len - used, "%s%s", i ? ", " : "", table[i].name);
    }
}

int files_data_item(const char *path, int *ndim, long *dims, int maxdim, char *err, int errlen) {
    const Dataset *d = dataset_header(path, err, errlen);
    if (!d) return -1;
    *ndim = d->ndim;
    for (int i = 0; i < d->ndim && i < maxdim; i++) dims[i] = d->dims[i];
    return 0;
}

/* ---- the check of a finished model ----------------------------------------------------- */

/* Every leaf that names a file, once per name, over all the model's graphs; with out NULL,
 * how many leaves name a file (an upper bound of that count). */
static int file_leaves(const Model *m, const IrNode **out) {
    const IrGraph *graphs[512];
    int ngraphs = model_graphs(m, graphs, 512 - 2 * m->nsteps);
    for (int i = 0; i < m->nsteps; i++) graphs[ngraphs++] = m->steps[i].check, graphs[ngraphs++] = m->steps[i].forward;
    int n = 0;
    for (int k = 0; k < ngraphs; k++)
        for (int id = 0; graphs[k] && id < graphs[k]->nnodes; id++) {
            const IrNode *leaf = &graphs[k]->nodes[id];
            if (!ir_op_is_leaf(leaf->op) || !leaf->init.file) continue;
            int seen = 0;
            for (int j = 0; out && j < n && !seen; j++) seen = strcmp(out[j]->name, leaf->name) == 0;
            if (!seen && out) out[n] = leaf;
            n += !seen;
        }
    return n;
}

/* The parameters of a `weights` file start from its tensors: each must be there, shaped alike. */
static void check_weights(const IrNode **leaves, int n, int first) {
    const char *path = leaves[first]->init.file;
    StFile f = {0};
    char err[512];
    if (st_read_shapes(path, &f, err, sizeof err) != 0) diag_error(leaves[first]->loc, "%s", err);
    for (int i = first; i < n; i++) {
        const IrNode *leaf = leaves[i];
        if (leaf->init.kind != INIT_TENSOR || strcmp(leaf->init.file, path) != 0) continue;
        const StTensor *t = st_find(&f, leaf->name);
        int ok = t && t->ndim == leaf->shape.ndim;
        for (int d = 0; ok && d < leaf->shape.ndim; d++) ok = t->shape[d] == leaf->shape.dim[d];
        if (!ok) {
            char shape[64];
            ir_shape_str(shape, sizeof shape, DT_F32, leaf->shape);
            st_free(&f);
            diag_error(leaf->loc, "%s has no tensor '%s' of shape %s (the network's weights file)", path, leaf->name,
                       shape + strlen("f32"));
        }
    }
    st_free(&f);
}

/* A load() or labels() leaf: its file's header against the leaf's shape and options. */
static void check_data(const IrNode *leaf) {
    char err[512];
    long rows = leaf->shape.dim[0];
    if (fill_check_shape(&leaf->init, "", rows, ir_shape_size(leaf->shape) / rows, err, sizeof err) != 0)
        diag_error(leaf->loc, "%s", err);
}

void files_check(const Model *m, Arena *arena) {
    /* in the arena: an error longjmps out of here when the front end runs under a fuzzer */
    const IrNode **leaves = ARENA_ARRAY(arena, const IrNode *, file_leaves(m, NULL) + 1);
    int n = file_leaves(m, leaves);
    for (int i = 0; i < n; i++) {
        if (leaves[i]->init.kind != INIT_TENSOR) {
            check_data(leaves[i]);
            continue;
        }
        int first = 1;   /* a weights file is read at its first leaf, for all of its leaves */
        for (int j = 0; j < i && first; j++)
            first = !(leaves[j]->init.kind == INIT_TENSOR && strcmp(leaves[j]->init.file, leaves[i]->init.file) == 0);
        if (first) check_weights(leaves, n, i);
    }
}
