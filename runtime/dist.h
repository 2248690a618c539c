/* dist.h: the processes of a data-parallel run (docs/distributed.md), for libganrt.
 *
 * An executable started by mpirun or srun (Open MPI) is one rank of N: it trains on its shard
 * of every batch with the step graphs the compiler split for N shards (compiler/shard.c), whose
 * collective nodes call the kernels below. Started alone it is rank 0 of 1, never touches MPI,
 * and needs no MPI library at all: Open MPI's libmpi is opened at run time (dlopen) only when
 * a launcher's environment says there are other ranks. */
#ifndef GANC_DIST_H
#define GANC_DIST_H

/* Joins the job when launched by an MPI launcher (OMPI_COMM_WORLD_SIZE or the PMIx/Slurm
 * variables are set); otherwise rank 0 of 1. 0, or -1 with a message in err. */
int dist_start(char *err, int errlen);
int dist_rank(void);
int dist_size(void);
/* Ends this rank: a normal end (status 0) waits for the other ranks; a failure takes the
 * whole job down, so that no rank waits forever on one that is gone. Registered to run at
 * exit by dist_start. */
void dist_stop(int status);

/* The collectives of the split step graphs, in element type float (_f32) or double (_f64).
 * Every rank gets the same bits: allreduce adds (or maxes) every rank's values in rank order
 * 0, 1, ..., N-1, whichever route moves the bytes (dist.c: a gather, or a reduce-scatter and
 * allgather, by size), with no reduction tree whose shape depends on timing; allreduce_group
 * sums `count` tensors (in[k], n[k] elements, into out[k]) in one collective, each element as
 * allreduce would; allgather joins the ranks' blocks along `axis` of in_dims (the rank's part);
 * shard_slice keeps this rank's block of a whole tensor along `axis` of in_dims (the whole),
 * without communication. block_combine is one step of allreduce's sum (or max) in one process,
 * out = a + b (or b > a ? b : a), the same operation on the same type: a blocked graph (the
 * shards side by side in one process, compiler/shard.h, ganc --exact) chains N - 1 of them in
 * rank order and gets the bits the N ranks get. */
#define DIST_KERNELS(T, S)                                                                       \
    void ganrt_allreduce_##S(const T *in, T *out, long n, int is_max);                            \
    void ganrt_allreduce_group_##S(const T *const *in, T *const *out, const long *n, int count);   \
    void ganrt_allgather_##S(const T *in, T *out, const int *in_dims, int ndim, int axis);        \
    void ganrt_shard_slice_##S(const T *in, T *out, const int *in_dims, int ndim, int axis);     \
    void ganrt_block_combine_##S(const T *a, const T *b, T *out, long n, int is_max);
DIST_KERNELS(float, f32)
DIST_KERNELS(double, f64)
#undef DIST_KERNELS

#endif
