/* safetensors.h: reading and writing the safetensors format (8-byte little-endian header length,
 * a JSON header naming each tensor's dtype, shape and byte range, then the raw data).
 *
 * It is how `ganc eval` takes values in and gives results out, and the checkpoint format of
 * libganrt: the common tensor file format of the Python ecosystem, so results can be compared
 * with PyTorch. Tensors are held in double here whatever their dtype in the file (F32 or F64
 * are read; a write picks one dtype for all). Writes are atomic: a temporary file in the same
 * directory, fsync, rename. */
#ifndef GANC_SAFETENSORS_H
#define GANC_SAFETENSORS_H
#include <stddef.h>

enum { ST_MAXDIM = 8 };

typedef struct StTensor {
    char *name;
    int ndim;
    long shape[ST_MAXDIM];
    double *data;
} StTensor;

typedef struct StFile {
    StTensor *tensors;
    int count, cap;
    const char *metadata; /* written as "__metadata__" when not NULL: a JSON object of string
                             values, not owned (st_read ignores the entry) */
} StFile;

/* 0 on success; -1 with a message in err ("name: truncated header", ...). */
int st_read(const char *path, StFile *out, char *err, int errlen);
/* st_read on bytes already in memory (for fuzzing); path only names the file in messages. */
int st_parse(const char *path, const unsigned char *bytes, size_t size, StFile *out, char *err, int errlen);
/* Every value finite: 0, or -1 with "path: tensor \"w\": nan at index [1,0] ..." in err. */
int st_check_finite(const char *path, const StFile *f, char *err, int errlen);
/* st_read, then every value checked: NaN or infinity is an error naming the file, the tensor and
 * the first bad index. For values that enter a computation (checkpoints, value files, weights). */
int st_read_finite(const char *path, StFile *out, char *err, int errlen);
/* st_read_finite's checks and messages without the values: each tensor's name and shape, data
 * NULL (for the compiler, which checks a weights file the executable reads). */
int st_read_shapes(const char *path, StFile *out, char *err, int errlen);
/* st_read_shapes on bytes already in memory (for fuzzing). */
int st_parse_shapes(const char *path, const unsigned char *bytes, size_t size, StFile *out, char *err, int errlen);
int st_write(const char *path, const StFile *f, int as_f64, char *err, int errlen);
/* Appends a copy of data (n = product of shape), or zeros when data is NULL: 0, or -1 when
 * memory runs out (nothing is appended). */
int st_add(StFile *f, const char *name, int ndim, const long *shape, const double *data);
const StTensor *st_find(const StFile *f, const char *name);
void st_free(StFile *f);

#endif
