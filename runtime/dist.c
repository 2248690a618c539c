/* dist.c: the ranks of a data-parallel run under Open MPI (see dist.h).
 *
 * libmpi is opened with dlopen, not linked: an executable run alone loads no MPI library and
 * runs exactly as a single process always has, and one copied to a machine without Open MPI
 * still runs alone. Under a launcher, the few MPI functions used are looked up by name, and
 * MPI_COMM_WORLD and MPI_BYTE are Open MPI's predefined objects (their addresses are the
 * handles, as mpi.h's OMPI_PREDEFINED_GLOBAL defines them). Every collective moves bytes
 * (MPI_BYTE) and does its arithmetic here, in rank order, so the result does not depend on
 * which reduction algorithm Open MPI picks or on the order in which messages arrive. */
#include "dist.h"
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int rank, size, running;
    MPI_Comm world;
    MPI_Datatype byte;
    __typeof__(MPI_Init) *init;
    __typeof__(MPI_Comm_rank) *comm_rank;
    __typeof__(MPI_Comm_size) *comm_size;
    __typeof__(MPI_Allgather) *allgather;
    __typeof__(MPI_Abort) *abort;
    __typeof__(MPI_Finalize) *finalize;
    char *scratch;   /* the gathered blocks of every rank */
    size_t scratch_bytes;
} mpi = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

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
    free(mpi.scratch);
}

/* Every rank's `bytes` bytes, rank after rank, in the scratch buffer (alone: in itself). */
static const char *gather(const void *in, size_t bytes) {
    if (mpi.size == 1) return in;
    if (bytes * (size_t)mpi.size > mpi.scratch_bytes) {
        free(mpi.scratch);
        mpi.scratch_bytes = bytes * (size_t)mpi.size;
        mpi.scratch = malloc(mpi.scratch_bytes);
        if (!mpi.scratch) {
            fprintf(stderr, "error: rank %d: out of memory for a %zu-byte allgather\n", mpi.rank, mpi.scratch_bytes);
            exit(1);
        }
    }
    if (mpi.allgather(in, (int)bytes, mpi.byte, mpi.scratch, (int)bytes, mpi.byte, mpi.world) != MPI_SUCCESS) {
        fprintf(stderr, "error: rank %d: MPI_Allgather failed\n", mpi.rank);
        exit(1);
    }
    return mpi.scratch;
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

/* allreduce: every rank's values gathered, then added (or maxed) in rank order, in type T. */
#define DIST_KERNELS(T, S)                                                                      \
    void ganrt_allreduce_##S(const T *in, T *out, long n, int is_max) {                         \
        const T *all = (const T *)gather(in, sizeof(T) * (size_t)n);                             \
        for (long i = 0; i < n; i++) {                                                           \
            T acc = all[i];                                                                      \
            for (int r = 1; r < mpi.size; r++) {                                                 \
                T v = all[(size_t)r * (size_t)n + (size_t)i];                                    \
                acc = is_max ? (v > acc ? v : acc) : acc + v;                                    \
            }                                                                                    \
            out[i] = acc;                                                                        \
        }                                                                                        \
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
