/* timing.c: GANC_TIME=1 stage timers (timing.h): wall time, and CPU time (user + system, of
 * ganc and of the linker it waited for), which a loaded machine inflates less. */
#include "timing.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

typedef struct Clock {
    double wall, cpu;
} Clock;

static double seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec * 1e-6; }

static Clock now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    double cpu = seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime);
    return (Clock){(double)t.tv_sec + (double)t.tv_nsec * 1e-9, cpu};
}

static int enabled(void) {
    static int on = -1;
    if (on < 0) {
        const char *env = getenv("GANC_TIME");
        on = env && *env && *env != '0';
    }
    return on;
}

void timing_mark(const char *stage) {
    static Clock last;
    static int started;
    if (!started) started = 1, last = now();
    if (!enabled() || !stage) return;
    Clock t = now();
    fprintf(stderr, "ganc: time: %-16s %.3f s wall %.3f s cpu\n", stage, t.wall - last.wall, t.cpu - last.cpu);
    last = t;
}

void timing_detail(const char *fmt, ...) {
    if (!enabled()) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("ganc: time:   ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
