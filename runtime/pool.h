/* pool.h: libganrt's persistent thread pool, for the work BLAS does not do (fused elementwise
 * loops, convolutions' batch chunks). Private to libganrt, except ganrt_parallel_loop, which
 * generated code calls (declared in ganrt.h). */
#ifndef GANRT_POOL_H
#define GANRT_POOL_H

/* Below this many element operations a job runs on the calling thread: waking the workers and
 * joining them (some microseconds) would cost more than it saves. */
enum { POOL_MIN_WORK = 1 << 15 };

/* part of nparts: one task of a parallel job */
typedef void (*PoolTask)(void *ctx, int part, int nparts);

/* Starts threads - 1 workers (the caller is the other); 1 or less starts none. Once. */
void pool_start(int threads);
/* The number of threads a job can use (1 before pool_start). */
int pool_threads(void);
/* Makes the workers block at once instead of polling for the next job (pool.c's SPIN_PAUSES),
 * until the next pool_run: before a call that starts another pool's threads (OpenBLAS). */
void pool_park(void);
/* Runs task(ctx, k, nparts) for k in [0, nparts) (part k on thread k mod pool_threads(),
 * part 0 on the calling thread), and returns when every part has returned. */
void pool_run(PoolTask task, void *ctx, int nparts);

#endif
