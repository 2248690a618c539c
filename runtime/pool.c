/* pool.c: the persistent thread pool of libganrt (pool.h).
 *
 * `--threads T` starts T - 1 workers once; the thread that runs the graph functions is the T-th.
 * A job is T static parts (part k of a loop over n elements is the k-th of T equal ranges), so
 * the same T gives the same partition, and whatever a part reduces it reduces in a fixed order:
 * results are bit-identical from run to run.
 *
 * Two pools share the machine: this one and OpenBLAS's. They must never both spin. Our workers
 * never spin: between jobs they block on a condition variable (a futex), and the graph functions
 * call OpenBLAS (double products) from the main thread only, between jobs, while our workers
 * sleep; during a job no OpenBLAS call is made (a worker's conv or float product block uses
 * oneDNN on its own thread, see conv_dnnl.c and gemm.c). The main
 * thread waits for the last part on a condition variable too. A job costs a wake-up and a
 * join (some microseconds), so callers run small work on one thread (ganrt_parallel_loop).
 * An element of a fused loop does not depend on the partition, so the loops' results do not
 * even depend on the thread count. */
#include "pool.h"

#include "ganrt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
    int threads;               /* workers + the main thread */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation;  /* bumped for every job */
    int pending;               /* workers still running the current job */
    PoolTask task;
    void *ctx;
    int nparts;
} pool = {1, NULL, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0,
          NULL, NULL, 0};

static void *worker_main(void *arg)
{
    int part = (int)(long)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        seen = pool.generation;
        PoolTask task = pool.task;
        void *ctx = pool.ctx;
        int nparts = pool.nparts;
        pthread_mutex_unlock(&pool.lock);
        for (int k = part; k < nparts; k += pool.threads)
            task(ctx, k, nparts);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
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

void pool_run(PoolTask task, void *ctx, int nparts)
{
    if (nparts <= 1 || pool.threads <= 1) {
        for (int k = 0; k < nparts; k++)
            task(ctx, k, nparts);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.task = task;
    pool.ctx = ctx;
    pool.nparts = nparts;
    pool.pending = pool.threads - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int k = 0; k < nparts; k += pool.threads)
        task(ctx, k, nparts);
    pthread_mutex_lock(&pool.lock);
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
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
