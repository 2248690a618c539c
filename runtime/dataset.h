/* dataset.h: fixed data sets read from files, the values behind `file` and `labels` leaves
 * (fill.h). Shared by libganrt and the compiler's interpreter, so both draw the same items.
 *
 * Two formats, told apart by their magic bytes, each optionally gzipped (one gzip member, nothing after it):
 *   IDX (the MNIST family): 0 0 TYPE NDIM, NDIM big-endian u32 dimensions, then the bytes;
 *       only TYPE 0x08 (unsigned byte) is supported.
 *   NPY v1.0/v2.0: dtype '<f4', '<f8' or '|u1', C order; after the header's dict only the
 *       padding spaces and one final newline.
 * The first axis counts the items; the others are each item's shape. The values stay in the
 * file's type in memory (60,000 Fashion-MNIST images are 47 MB of bytes, not 376 MB of doubles
 * built at every start-up) and become doubles only when an item is drawn (dataset_item):
 * unsigned bytes with two or more axes are images, scaled from 0..255 to [-1, 1] (v/127.5 - 1,
 * in double), the range a tanh generator produces; one-axis bytes are class labels, kept as
 * integers; floats are kept as they are, and must be finite: every one is checked when the
 * file is read (NaN or infinity is an error naming the file and the value's index). */
#ifndef GANC_DATASET_H
#define GANC_DATASET_H

enum { DATASET_MAXDIM = 8 }; /* axes of the whole array, the item axis included */

/* How the values are stored: the file's element type. */
typedef enum { DATASET_U8, DATASET_F4, DATASET_F8 } DatasetType;

typedef struct Dataset {
    char *path;
    long count;              /* items: the first axis */
    int ndim;                /* axes of one item (0: each item is one value) */
    long dims[DATASET_MAXDIM - 1];
    long item_size;          /* values per item: the product of dims */
    DatasetType type;
    /* count * item_size values as the file stores them, item after item (floats little-endian,
     * at any alignment): read them with dataset_item or dataset_value. NULL: header only. */
    const unsigned char *data;
    unsigned char *bytes;    /* the whole file (inflated), which data points into; owned */
} Dataset;

/* The data set in `path`, read on the first call and cached by path: later calls return the
 * same one without touching the file. NULL on failure, with "PATH: what is wrong" in err. The
 * cache is freed at exit (dataset_free_all, registered with atexit on first use). */
const Dataset *dataset_load(const char *path, char *err, int errlen);
void dataset_free_all(void);

/* The data set's shape alone (data NULL until a dataset_load of the same path), from its
 * header; the data's length is checked against the file's size, or a gzipped file's trailer,
 * without inflating it. For the compiler, which needs shapes, not 47 million values. Cached
 * with dataset_load's entries. */
const Dataset *dataset_header(const char *path, char *err, int errlen);

/* The leaf's item shape (ndim axes after its batch axis) must be the file's item shape, a 2-D
 * item (an image) being [1, H, W] in the leaf: what the compiler derived from the file when it
 * compiled the program, checked again when an executable loads it (the file may have changed).
 * 0, or -1 with "PATH: items of shape [A,B], but the leaf was compiled for [1,C,D]" in err. */
int dataset_check_items(const Dataset *d, int ndim, const long *dims, char *err, int errlen);

/* The item_size values of item `index` (0 <= index < count) of a loaded set, as doubles, into
 * out: the conversion the format description above gives, done on each call. */
void dataset_item(const Dataset *d, long index, double *out);
/* The value at flat position i (item i / item_size), converted the same way: a label, when
 * each item is one value. */
double dataset_value(const Dataset *d, long i);

/* Uncached: a fresh read of the file each call (for tests and fuzzing); free with dataset_free. */
Dataset *dataset_read(const char *path, char *err, int errlen);
void dataset_free(Dataset *d);

#endif
