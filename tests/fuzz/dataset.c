/* dataset.c: the fuzz targets for the data set readers (runtime/dataset.c), one per format:
 * built with -DFORMAT=1 (IDX), 2 (NPY) or 3 (gzip), the input follows that format's magic
 * bytes, so every input exercises that reader. The bytes go to an in-memory file (memfd), read
 * whole (dataset_read, every item of a data set it gives then converted as a draw converts
 * it) and header only (dataset_header, whose cache is emptied after). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataset.h"
#include "fuzz.h"

#if FORMAT == 1
static const char magic[] = "\0\0"; /* IDX: 0 0 TYPE NDIM */
#elif FORMAT == 2
static const char magic[] = "\x93NUMPY";
#elif FORMAT == 3
static const char magic[] = "\x1f\x8b"; /* gzip, around an IDX or NPY file */
#else
#error "build with -DFORMAT=1 (IDX), 2 (NPY) or 3 (gzip)"
#endif

/* dataset_item on every item: the values are kept as stored and read only when drawn. With
 * items, count * item_size values fit in the input, so the buffer is small. */
static void convert_items(const Dataset *d)
{
    double *item = d && d->count > 0 ? malloc(sizeof(double) * (size_t)d->item_size + 1) : NULL;
    for (long i = 0; item && i < d->count; i++)
        dataset_item(d, i, item);
    free(item);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-dataset", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, magic, sizeof magic - 1, 0) != (ssize_t)(sizeof magic - 1) ||
        (size && pwrite(fd, data, size, sizeof magic - 1) != (ssize_t)size))
        return 0;
    char err[512];
    Dataset *d = dataset_read(path, err, sizeof err);
    convert_items(d);
    dataset_free(d);
    dataset_header(path, err, sizeof err);
    dataset_free_all();
    return 0;
}
