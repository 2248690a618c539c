/* dist.c: the ranks of a data-parallel run under Open MPI (see dist.h).
 *
 * libmpi is opened with dlopen, not linked: an executable run alone loads no MPI library and
 * runs exactly as a single process always has, and one copied to a machine without Open MPI
 * still runs alone. Under a launcher, the few MPI functions used are looked up by name, and
 * MPI_COMM_WORLD and MPI_BYTE are Open MPI's predefined objects (their addresses are the
 * handles, as mpi.h's OMPI_PREDEFINED_GLOBAL defines them). Every collective moves bytes
 * (MPI_BYTE) and does its arithmetic here, in rank order, so the result does not depend on
 * which reduction algorithm Open MPI picks or on the order in which messages arrive.
 *
 * A sum over ranks takes one of two routes, with the same bits (each element is
 * ((x_0 + x_1) + x_2) + ... + x_{N-1}, added in type T by one process):
 *   gather   every rank gathers every rank's buffer (MPI_Allgather) and adds them all:
 *            (N-1) S bytes received per rank for a buffer of S bytes, one collective;
 *   scatter  the buffer is cut in N chunks and rank c owns chunk c: every rank sends chunk c
 *            to rank c (MPI_Alltoallv, the reduce-scatter), rank c adds the N copies in rank
 *            order, and the sums are joined on every rank (MPI_Allgatherv): 2 (N-1)/N S bytes,
 *            a ring allreduce's, in N-1 exchanges of S/N each way per phase.
 * A neighbour ring would add chunk c starting at rank c+1 (a rotation of the rank order that
 * differs per chunk); the exchange keeps one order for every element at the ring's cost, so
 * the route is invisible in the results. Scatter is taken on more than 2 ranks for buffers of
 * SCATTER_MIN_BYTES or more (on 2 ranks both move S bytes, and gather is one collective);
 * GANRT_ALLREDUCE=gather or =scatter forces one (tests, measurements). */
#include "dist.h"
#include <dlfcn.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SCATTER_MIN_BYTES = 64 << 10 };
typedef enum { ROUTE_AUTO, ROUTE_GATHER, ROUTE_SCATTER } Route;

/* A buffer that grows to the largest size asked of it and is kept for the next step. */
typedef struct Scratch {
    char *p;
    size_t bytes;
} Scratch;

static struct {
    int rank, size, running;
    Route route;
    MPI_Comm world;
    MPI_Datatype byte;
    __typeof__(MPI_Init) *init;
    __typeof__(MPI_Comm_rank) *comm_rank;
    __typeof__(MPI_Comm_size) *comm_size;
    __typeof__(MPI_Allgather) *allgather;
    __typeof__(MPI_Allgatherv) *allgatherv;
    __typeof__(MPI_Alltoallv) *alltoallv;
    __typeof__(MPI_Abort) *abort;
    __typeof__(MPI_Finalize) *finalize;
    Scratch gathered; /* every rank's blocks (gather), or every rank's copy of my chunk (scatter) */
    Scratch packed;   /* a group's tensors, end to end */
    int *chunk_bytes, *chunk_offsets, *mine_bytes, *mine_offsets; /* scatter's counts, per rank */
} mpi = {.size = 1};

/* A launcher's environment: Open MPI's mpirun, or a PMIx launcher such as Slurm's srun. */
static int launched(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static void *symbol(void *lib, const char *name, int *missing) {
    void *p = dlsym(lib, name);
    if (!p) *missing = 1;
    return p;
}

static void stop_at_exit(int status, void *unused) {
    (void)unused;
    dist_stop(status);
}

static void fail(const char *what, size_t bytes) {
    fprintf(stderr, "error: rank %d: %s (%zu bytes)\n", mpi.rank, what, bytes);
    exit(1);
}

static void *grow(Scratch *s, size_t bytes) {
    if (bytes > s->bytes) {
        free(s->p);
        s->p = malloc(bytes);
        s->bytes = bytes;
        if (!s->p) fail("out of memory for a collective's buffer", bytes);
    }
    return s->p;
}

/* GANRT_ALLREDUCE: which route sums take (the top of the file). */
static Route route_from_environment(void) {
    const char *v = getenv("GANRT_ALLREDUCE");
    if (!v || !*v) return ROUTE_AUTO;
    if (!strcmp(v, "gather")) return ROUTE_GATHER;
    if (!strcmp(v, "scatter")) return ROUTE_SCATTER;
    fprintf(stderr, "warning: GANRT_ALLREDUCE=%s is neither gather nor scatter: choosing by size\n", v);
    return ROUTE_AUTO;
}

int dist_start(char *err, int errlen) {
    if (!launched()) return 0;
    /* RTLD_GLOBAL: Open MPI's own plugins, which it dlopens, link against libmpi's symbols */
    void *lib = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) lib = dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        snprintf(err, (size_t)errlen, "launched by an MPI launcher, but Open MPI's libmpi cannot be opened: %s", dlerror());
        return -1;
    }
    int missing = 0;
    mpi.init = (__typeof__(mpi.init))symbol(lib, "MPI_Init", &missing);
    mpi.comm_rank = (__typeof__(mpi.comm_rank))symbol(lib, "MPI_Comm_rank", &missing);
    mpi.comm_size = (__typeof__(mpi.comm_size))symbol(lib, "MPI_Comm_size", &missing);
    mpi.allgather = (__typeof__(mpi.allgather))symbol(lib, "MPI_Allgather", &missing);
    mpi.allgatherv = (__typeof__(mpi.allgatherv))symbol(lib, "MPI_Allgatherv", &missing);
    mpi.alltoallv = (__typeof__(mpi.alltoallv))symbol(lib, "MPI_Alltoallv", &missing);
    mpi.abort = (__typeof__(mpi.abort))symbol(lib, "MPI_Abort", &missing);
    mpi.finalize = (__typeof__(mpi.finalize))symbol(lib, "MPI_Finalize", &missing);
    mpi.world = (MPI_Comm)symbol(lib, "ompi_mpi_comm_world", &missing);
    mpi.byte = (MPI_Datatype)symbol(lib, "ompi_mpi_byte", &missing);
    if (missing) {
        snprintf(err, (size_t)errlen, "the libmpi found is not Open MPI's (no %s)", "ompi_mpi_comm_world");
        return -1;
    }
    if (mpi.init(NULL, NULL) != MPI_SUCCESS) {
        snprintf(err, (size_t)errlen, "MPI_Init failed");
        return -1;
    }
    mpi.running = 1;
    mpi.comm_rank(mpi.world, &mpi.rank);
    mpi.comm_size(mpi.world, &mpi.size);
    mpi.route = route_from_environment();
    int *counts = calloc(4 * (size_t)mpi.size, sizeof(int));
    if (!counts) {
        snprintf(err, (size_t)errlen, "out of memory for %d ranks", mpi.size);
        return -1;
    }
    mpi.chunk_bytes = counts, mpi.chunk_offsets = counts + mpi.size;
    mpi.mine_bytes = counts + 2 * mpi.size, mpi.mine_offsets = counts + 3 * mpi.size;
    on_exit(stop_at_exit, NULL);
    return 0;
}

int dist_rank(void) { return mpi.rank; }
int dist_size(void) { return mpi.size; }

void dist_stop(int status) {
    if (!mpi.running) return;
    mpi.running = 0;
    if (status != 0) mpi.abort(mpi.world, status); /* the other ranks end too */
    mpi.finalize();
    free(mpi.gathered.p);
    free(mpi.packed.p);
    free(mpi.chunk_bytes);
}

/* MPI counts are ints: a collective of 2 GiB or more per rank is refused, not truncated. */
static int mpi_count(size_t bytes) {
    if (bytes > INT_MAX) fail("a collective over 2 GiB per rank", bytes);
    return (int)bytes;
}

/* Every rank's `bytes` bytes, rank after rank, in the scratch buffer (alone: in itself). */
static const char *gather(const void *in, size_t bytes) {
    if (mpi.size == 1) return in;
    char *all = grow(&mpi.gathered, bytes * (size_t)mpi.size);
    if (mpi.allgather(in, mpi_count(bytes), mpi.byte, all, mpi_count(bytes), mpi.byte, mpi.world) != MPI_SUCCESS)
        fail("MPI_Allgather failed", bytes);
    return all;
}

/* The reduce-scatter's exchange: chunk c of `in` (elements [n c / N, n (c+1) / N)) goes to rank
 * c, and this rank receives every rank's copy of its own chunk, rank after rank, in the scratch
 * buffer. The chunk's length (elements) is left in *mine. */
static const char *exchange_chunks(const void *in, long n, size_t elem, long *mine) {
    for (int c = 0; c < mpi.size; c++) {
        long lo = n * c / mpi.size, hi = n * (c + 1) / mpi.size;
        mpi.chunk_bytes[c] = mpi_count(elem * (size_t)(hi - lo));
        mpi.chunk_offsets[c] = mpi_count(elem * (size_t)lo);
    }
    *mine = mpi.chunk_bytes[mpi.rank] / (long)elem;
    for (int r = 0; r < mpi.size; r++) {
        mpi.mine_bytes[r] = mpi.chunk_bytes[mpi.rank];
        mpi.mine_offsets[r] = mpi_count((size_t)r * (size_t)mpi.chunk_bytes[mpi.rank]);
    }
    /* the chunks of every rank, then this rank's sums */
    char *copies = grow(&mpi.gathered, (size_t)(mpi.size + 1) * (size_t)mpi.chunk_bytes[mpi.rank]);
    if (mpi.alltoallv(in, mpi.chunk_bytes, mpi.chunk_offsets, mpi.byte, copies, mpi.mine_bytes, mpi.mine_offsets,
                      mpi.byte, mpi.world) != MPI_SUCCESS)
        fail("MPI_Alltoallv failed", (size_t)n * elem);
    return copies;
}

/* The allgather after the reduce-scatter: every rank's summed chunk, in place in `out`. */
static void join_chunks(const void *mine, void *out, long n, size_t elem) {
    if (mpi.allgatherv(mine, mpi.chunk_bytes[mpi.rank], mpi.byte, out, mpi.chunk_bytes, mpi.chunk_offsets, mpi.byte,
                       mpi.world) != MPI_SUCCESS)
        fail("MPI_Allgatherv failed", (size_t)n * elem);
}

static int scatter_route(size_t bytes) {
    if (mpi.route != ROUTE_AUTO) return mpi.route == ROUTE_SCATTER && mpi.size > 1;
    return mpi.size > 2 && bytes >= SCATTER_MIN_BYTES;
}

/* A tensor seen as [outer, dim[axis], inner]: the sizes of the axes around `axis`. */
static long outer_size(const int *dims, int axis) {
    long outer = 1;
    for (int k = 0; k < axis; k++) outer *= dims[k];
    return outer;
}

static long inner_size(const int *dims, int ndim, int axis) {
    long inner = 1;
    for (int k = axis + 1; k < ndim; k++) inner *= dims[k];
    return inner;
}

/* `outer` blocks of `block` elements of `elem` bytes, read every src_stride elements and
 * written every dst_stride. */
static void copy_blocks(char *dst, long dst_stride, const char *src, long src_stride, long outer, long block,
                        size_t elem) {
    for (long o = 0; o < outer; o++)
        memcpy(dst + (size_t)(o * dst_stride) * elem, src + (size_t)(o * src_stride) * elem, (size_t)block * elem);
}

/* allgather: rank r's part (outer blocks of `part` elements) becomes block r of each of the
 * output's outer blocks of part * N elements. */
static void allgather(const void *in, void *out, const int *in_dims, int ndim, int axis, size_t elem) {
    long outer = outer_size(in_dims, axis), part = in_dims[axis] * inner_size(in_dims, ndim, axis);
    const char *all = gather(in, elem * (size_t)(outer * part));
    for (int r = 0; r < mpi.size; r++)
        copy_blocks((char *)out + elem * (size_t)(r * part), part * mpi.size, all + elem * (size_t)(r * outer * part),
                    part, outer, part, elem);
}

/* shard_slice: block `rank` of each outer block of the whole tensor. */
static void shard_slice(const void *in, void *out, const int *in_dims, int ndim, int axis, size_t elem) {
    long outer = outer_size(in_dims, axis), part = in_dims[axis] / mpi.size * inner_size(in_dims, ndim, axis);
    copy_blocks(out, part, (const char *)in + elem * (size_t)(mpi.rank * part), part * mpi.size, outer, part, elem);
}

/* combine: out[i] = the N blocks of n values at `all` (block r at all + r n), added (or maxed)
 * in rank order, in type T: the one order both routes use. block_combine: one step of it
 * (COMBINE, the same expression), for a blocked graph's in-process allreduce (dist.h).
 * allreduce: either route; `in` may be `out` (both read all of in before they write out). allreduce_group: the tensors end to
 * end in one buffer, one allreduce_sum, and back: one collective for a step's gradients. */
#define COMBINE(acc, v, is_max) ((is_max) ? ((v) > (acc) ? (v) : (acc)) : (acc) + (v))
#define DIST_KERNELS(T, S)                                                                      \
    static void combine_##S(const T *all, T *out, long n, int is_max) {                         \
        for (long i = 0; i < n; i++) {                                                           \
            T acc = all[i];                                                                      \
            for (int r = 1; r < mpi.size; r++) {                                                 \
                T v = all[(size_t)r * (size_t)n + (size_t)i];                                    \
                acc = COMBINE(acc, v, is_max);                                                   \
            }                                                                                    \
            out[i] = acc;                                                                        \
        }                                                                                        \
    }                                                                                            \
    void ganrt_block_combine_##S(const T *a, const T *b, T *out, long n, int is_max) {           \
        for (long i = 0; i < n; i++) {                                                           \
            T acc = a[i], v = b[i];                                                              \
            out[i] = COMBINE(acc, v, is_max);                                                    \
        }                                                                                        \
    }                                                                                            \
    void ganrt_allreduce_##S(const T *in, T *out, long n, int is_max) {                         \
        if (!scatter_route(sizeof(T) * (size_t)n)) {                                             \
            combine_##S((const T *)gather(in, sizeof(T) * (size_t)n), out, n, is_max);           \
            return;                                                                              \
        }                                                                                        \
        long mine;                                                                               \
        T *copies = (T *)exchange_chunks(in, n, sizeof(T), &mine);                               \
        combine_##S(copies, copies + (size_t)mpi.size * (size_t)mine, mine, is_max);             \
        join_chunks(copies + (size_t)mpi.size * (size_t)mine, out, n, sizeof(T));                \
    }                                                                                            \
    void ganrt_allreduce_group_##S(const T *const *in, T *const *out, const long *n, int count) { \
        size_t total = 0;                                                                        \
        for (int k = 0; k < count; k++) total += (size_t)n[k];                                   \
        T *packed = grow(&mpi.packed, sizeof(T) * total);                                        \
        for (size_t k = 0, at = 0; k < (size_t)count; at += (size_t)n[k], k++)                   \
            memcpy(packed + at, in[k], sizeof(T) * (size_t)n[k]);                                \
        ganrt_allreduce_##S(packed, packed, (long)total, 0);                                     \
        for (size_t k = 0, at = 0; k < (size_t)count; at += (size_t)n[k], k++)                   \
            memcpy(out[k], packed + at, sizeof(T) * (size_t)n[k]);                               \
    }                                                                                            \
    void ganrt_allgather_##S(const T *in, T *out, const int *in_dims, int ndim, int axis) {     \
        allgather(in, out, in_dims, ndim, axis, sizeof(T));                                      \
    }                                                                                            \
    void ganrt_shard_slice_##S(const T *in, T *out, const int *in_dims, int ndim, int axis) {   \
        shard_slice(in, out, in_dims, ndim, axis, sizeof(T));                                    \
    }
DIST_KERNELS(float, f32)
DIST_KERNELS(double, f64)
#undef DIST_KERNELS
#undef COMBINE
