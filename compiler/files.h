/* files.h: what the compiler reads from outside the program: the samplers' signatures, the
 * item shape of a data set (sema needs both to infer shapes), and the check of every data and
 * weights file the finished model names.
 *
 * This is sema's one window onto the runtime's readers (dataset.h, samplers.h, safetensors.h):
 * sema includes no runtime header. The files themselves are checked once, after the model is
 * built (files_check), in one pass over the leaves of all its graphs: each file is read once,
 * however many graphs and parameters name it. */
#ifndef GANC_FILES_H
#define GANC_FILES_H
#include "model.h"

/* A sampler's features per sample and its signature for argument binding ("name=default ..."),
 * its canonical name in *canonical; 0 when there is no sampler of that name. */
int files_sampler(const char *name, const char **canonical, int *dim, char *signature, int len);
/* "gaussians8, ring, ...": the samplers there are, for an error message. */
void files_sampler_names(char *buf, int len);
/* The axes of one item of a data set file, from its header (cached by path): 0, or -1 with
 * "PATH: what is wrong" in err. */
int files_data_item(const char *path, int *ndim, long *dims, int maxdim, char *err, int errlen);
/* Every load(), labels() and weights leaf of the model against its file; a mismatch is an error
 * at the leaf's source line (exit 1). */
void files_check(const Model *m, Arena *arena);

#endif
