/* guard.c: the run lock, stale temporary files and signals (guard.h).
 *
 * The lock is flock(2) on DIR/run.lock, not the file's existence: a run killed with SIGKILL or a
 * power cut leaves the file but not the lock, so the next run takes it over without asking, and
 * the PID written in it only serves the message of a run that finds the directory busy.
 * Temporary files are named NAME.tmp.PID by the atomic writer (safetensors.c); only those of a
 * PID that is not alive are removed, so a run never deletes a live writer's file, even one in
 * another directory's run that shares nothing with us but the name. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* ----- the lock ----------------------------------------------------------------------------- */

/* The PID recorded in the lock file, or 0 if it holds none yet. */
static long recorded_pid(int fd)
{
    char text[32] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return strtol(text, NULL, 10);
}

int guard_lock(const char *dir, char *err, int errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, (size_t)errlen, "cannot create the lock file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        long pid = busy ? recorded_pid(fd) : 0;
        if (busy && pid > 0)
            snprintf(err, (size_t)errlen, "%s is in use by process %ld", dir, pid);
        else if (busy)
            snprintf(err, (size_t)errlen, "%s is in use by another process", dir);
        else
            snprintf(err, (size_t)errlen, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        snprintf(err, (size_t)errlen, "cannot write the lock file %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return 0; /* fd stays open: the lock lasts as long as the process */
}

/* ----- stale temporary files ------------------------------------------------------------------ */

/* The PID of NAME.tmp.PID, or 0 when name is not such a file. */
static long tmp_owner(const char *name)
{
    const char *mark = strstr(name, ".tmp.");
    if (!mark)
        return 0;
    char *end;
    long pid = strtol(mark + 5, &end, 10);
    return *end == '\0' && end != mark + 5 && pid > 0 ? pid : 0;
}

void guard_clear_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = tmp_owner(e->d_name);
        if (pid == 0 || (kill((pid_t)pid, 0) != 0 ? errno != ESRCH : 1))
            continue; /* not a temporary file, or its writer may be alive */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

/* ----- signals ---------------------------------------------------------------------------------- */

static volatile sig_atomic_t received;

static void on_signal(int sig)
{
    if (received)
        _exit(128 + sig); /* the second signal: the user insists */
    received = sig;
}

void guard_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* a write in progress completes; the loop checks between iterations */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int guard_signal(void) { return received; }

const char *guard_signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

int guard_report_stop(const char *exe, int sig, long iter, const char *ckpt, const char *last)
{
    fprintf(stderr, "%s: interrupted by %s after iteration %ld: checkpoint at %s (continue with --resume %s)\n",
            exe, guard_signal_name(sig), iter, ckpt, last);
    return 128 + sig;
}
