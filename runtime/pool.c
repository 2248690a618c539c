/* pool.c: the persistent thread pool of libganrt (pool.h).
 *
 * `--threads T` starts T - 1 workers once; the thread that runs the graph functions is the T-th.
 * A job is T static parts (part k of a loop over n elements is the k-th of T equal ranges), so
 * the same T gives the same partition, and whatever a part reduces it reduces in a fixed order:
 * results are bit-identical from run to run.
 *
 * Two pools share the machine: this one and OpenBLAS's. They must never both spin. Between jobs
 * our workers poll for a fraction of a millisecond (SPIN_PAUSES), then block on a condition
 * variable (a futex); the graph functions call OpenBLAS (double products) from the main thread
 * only, between jobs, and park the workers first when OpenBLAS will start its threads
 * (pool_park, gemm.c), so they block at once; during a job no OpenBLAS call is made (a worker's
 * conv or float product block uses oneDNN on its own thread, see conv_dnnl.c and gemm.c). The
 * main thread polls for the last part, then waits on a condition variable too. A job still
 * costs some microseconds, so callers run small work on one thread (ganrt_parallel_loop).
 * An element of a fused loop does not depend on the partition, so the loops' results do not
 * even depend on the thread count. */
#include "pool.h"

#include "ganrt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* How long a thread polls before it blocks: for the next job (a worker) or for the last part (the
 * caller), about 0.3 ms. A job used to cost a futex wake-up and a join, each a system call and,
 * on the project's virtual machine, a slow context switch: some 1150 futex calls per dcgan_ns
 * iteration on 2 threads, 15% of its profile in the kernel. Most jobs follow each other within
 * microseconds (a graph function's loops and kernel calls, the parts of one conv ending
 * together), so a short poll catches them: dcgan_ns on 2 threads, idle machine, 17.8-18.5 it/s
 * blocking at once, 20.5-20.7 polling 0.3 ms (docs/performance.md). The poll pauses first, then
 * yields the CPU: pausing alone, the waiting thread held a CPU that the thread it waited for
 * needed whenever the machine had more runnable threads than CPUs (other processes, --threads
 * above the cores): toy_wgan_gp on 2 threads beside one busy process fell from 9-10 it/s to 3.5,
 * and with the yields it stays at 8.7-9.0. The bound keeps what a waiting pool takes from others
 * (OpenBLAS's threads, other processes) to a fraction of a millisecond per job. */
enum { SPIN_PAUSES = 256 };
#define SPIN_SECONDS 3e-4

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One more look after look i (from 0): a pause for the first SPIN_PAUSES, then sched_yield (a
 * thread we wait for may be waiting for this CPU) until SPIN_SECONDS have passed since the
 * yields began; 0 when it is time to block. */
static int poll_again(int i, double *since)
{
    if (i < SPIN_PAUSES) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        return 1;
    }
    double t = now_seconds();
    if (i == SPIN_PAUSES)
        *since = t;
    else if (t - *since > SPIN_SECONDS)
        return 0;
    sched_yield();
    return 1;
}

static struct {
    int threads;               /* workers + the main thread */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    atomic_ulong generation;   /* bumped for every job */
    atomic_int pending;        /* workers still running the current job */
    atomic_int sleepers;       /* workers blocked (or about to block) on wake */
    atomic_int waiting;        /* the caller blocked (or about to) on done */
    atomic_int parked;         /* workers are to block at once (pool_park) */
    PoolTask task;
    void *ctx;
    int nparts;
} pool = {1, NULL, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0,
          NULL, NULL, 0};

/* The generation after `seen`, polled, then waited for. A worker counts itself among the sleepers
 * before its last look, and pool_run bumps the generation before it looks at the sleepers (both
 * sequentially consistent), so one of the two sees the other: no wake-up is lost. */
static unsigned long next_generation(unsigned long seen)
{
    double since = 0;
    for (int i = 0; !atomic_load(&pool.parked); i++) {
        unsigned long g = atomic_load(&pool.generation);
        if (g != seen)
            return g;
        if (!poll_again(i, &since))
            break;
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1);
    unsigned long g;
    while ((g = atomic_load(&pool.generation)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return g;
}

static void *worker_main(void *arg)
{
    int part = (int)(long)arg;
    unsigned long seen = 0;
    for (;;) {
        seen = next_generation(seen);
        PoolTask task = pool.task; /* written before the generation was bumped */
        void *ctx = pool.ctx;
        int nparts = pool.nparts;
        for (int k = part; k < nparts; k += pool.threads)
            task(ctx, k, nparts);
        if (atomic_fetch_sub(&pool.pending, 1) == 1 && atomic_load(&pool.waiting)) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

void pool_start(int threads)
{
    if (pool.workers || threads <= 1)
        return;
    pool.workers = malloc(sizeof(pthread_t) * (size_t)(threads - 1));
    if (!pool.workers) {
        fprintf(stderr, "ganrt: out of memory (thread pool)\n");
        abort();
    }
    for (int k = 1; k < threads; k++)
        if (pthread_create(&pool.workers[k - 1], NULL, worker_main, (void *)(long)k) != 0) {
            fprintf(stderr, "ganrt: cannot start thread %d of %d; running with %d\n", k + 1, threads, k);
            break;
        } else
            pool.threads = k + 1;
}

int pool_threads(void) { return pool.threads; }

void pool_park(void) { atomic_store(&pool.parked, 1); }

/* Returns when every worker has finished the current job: polled, then waited for (the same
 * handshake as next_generation's, on pending and waiting). */
static void join(void)
{
    double since = 0;
    for (int i = 0; atomic_load(&pool.pending) > 0 && poll_again(i, &since); i++)
        ;
    if (atomic_load(&pool.pending) == 0)
        return;
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.waiting, 1);
    while (atomic_load(&pool.pending) > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    atomic_store(&pool.waiting, 0);
    pthread_mutex_unlock(&pool.lock);
}

void pool_run(PoolTask task, void *ctx, int nparts)
{
    if (nparts <= 1 || pool.threads <= 1) {
        for (int k = 0; k < nparts; k++)
            task(ctx, k, nparts);
        return;
    }
    pool.task = task;
    pool.ctx = ctx;
    pool.nparts = nparts;
    atomic_store(&pool.pending, pool.threads - 1);
    atomic_store(&pool.parked, 0);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    for (int k = 0; k < nparts; k += pool.threads)
        task(ctx, k, nparts);
    join();
}

/* ----- fused loops ----------------------------------------------------------------------- */

typedef struct LoopJob {
    GanLoopFn fn;
    void **leaves;
    char *arena;
    long n;
} LoopJob;

/* Part k of n elements in nparts ranges whose bounds are multiples of 16 elements (whole
 * vectors and cache lines), so neighbouring parts never write the same cache line. */
static void loop_part(void *ctx, int part, int nparts)
{
    const LoopJob *job = ctx;
    long chunk = (job->n + nparts - 1) / nparts;
    chunk = (chunk + 15) / 16 * 16;
    long lo = part * chunk, hi = lo + chunk < job->n ? lo + chunk : job->n;
    if (lo < hi)
        job->fn(job->leaves, job->arena, lo, hi);
}

void ganrt_parallel_loop(GanLoopFn fn, void **leaves, char *arena, long n, long cost)
{
    if (pool.threads <= 1 || n * cost < POOL_MIN_WORK) {
        fn(leaves, arena, 0, n);
        return;
    }
    LoopJob job = {fn, leaves, arena, n};
    pool_run(loop_part, &job, pool.threads);
}
