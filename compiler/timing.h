/* timing.h: where compile time goes. With GANC_TIME=1 in the environment, ganc prints one line
 * per stage to stderr ("ganc: time: codegen.passes 0.412 s wall 0.201 s cpu"), each the time since the previous
 * mark; without it the marks cost one getenv. docs/performance.md uses these numbers. */
#ifndef GANC_TIMING_H
#define GANC_TIMING_H

/* Ends the stage named `stage`, which ran since the previous mark; NULL starts the clock. */
void timing_mark(const char *stage);
/* One more line, indented under the stage it belongs to ("ganc: time:   part 1: ..."), with
 * GANC_TIME=1 only. */
void timing_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
