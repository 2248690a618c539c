/* guard.h: what keeps a training run's output directory safe (issue 9): one run per directory
 * (an flock'ed lock file holding the owner's PID), the temporary files of dead runs cleared at
 * start, and SIGINT/SIGTERM turned into "finish the iteration, checkpoint, exit 130/143". The
 * runtime's driver calls these; none of them knows the model. */
#ifndef GANC_GUARD_H
#define GANC_GUARD_H

/* Locks DIR/run.lock for the life of the process (flock: the kernel releases it when the
 * process dies, however it dies, so a stale lock is simply taken over) and writes our PID in it.
 * 0, or -1 with "DIR is in use by process PID" in err. */
int guard_lock(const char *dir, char *err, int errlen);

/* Removes DIR/NAME.tmp.PID files (interrupted atomic writes) whose PID is not a live process. */
void guard_clear_stale(const char *dir);

/* From now on the first SIGINT or SIGTERM is only recorded (guard_signal), for the training loop
 * to stop after the current iteration; a second one exits at once with status 128 + signal. */
void guard_catch_signals(void);

/* The signal received since guard_catch_signals (SIGINT or SIGTERM), or 0. */
int guard_signal(void);

/* "SIGINT" or "SIGTERM". */
const char *guard_signal_name(int sig);

/* "EXE: interrupted by SIGTERM after iteration N: checkpoint at CKPT (continue with --resume
 * LAST)" on stderr; returns the exit status for the signal (130 for SIGINT, 143 for SIGTERM). */
int guard_report_stop(const char *exe, int sig, long iter, const char *ckpt, const char *last);

#endif
