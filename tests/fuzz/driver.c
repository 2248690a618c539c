/* driver.c: main() for the fuzz targets outside libFuzzer (fuzz.h).
 *
 *   TARGET              one input from stdin (how AFL++ runs it, forking at main)
 *   TARGET FILE|DIR...  replays every file, each in a forked child under a 10 s alarm, and
 *                       prints `ok - fuzz/TARGET: N inputs` or one `not ok` line per input that
 *                       crashed, hung or failed a sanitizer check (exit status 1 then)
 * The replay is what `make test` runs on the corpora with the sanitizer build. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static unsigned char *read_input(FILE *f, size_t *size)
{
    size_t cap = 1 << 16;
    unsigned char *data = malloc(cap);
    *size = 0;
    for (size_t got; data && (got = fread(data + *size, 1, cap - *size, f)) > 0;) {
        *size += got;
        if (*size == cap)
            data = realloc(data, cap *= 2);
    }
    return data;
}

/* One input in a child process: 0 if it ran clean, else prints why and returns 1. */
static int replay(const char *target, const char *path)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(path, "rb");
        size_t size = 0;
        unsigned char *data = f ? read_input(f, &size) : NULL;
        if (!data)
            _exit(3);
        alarm(10);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        exit(0); /* exit, not _exit: LeakSanitizer runs at exit */
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        printf("not ok - fuzz/%s: %s: cannot run it\n", target, path);
        return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        printf("not ok - fuzz/%s: %s: %s\n", target, path,
               WTERMSIG(status) == SIGALRM ? "hung (10 s)" : strsignal(WTERMSIG(status)));
    else
        printf("not ok - fuzz/%s: %s: exit status %d (a sanitizer report above?)\n", target, path,
               WEXITSTATUS(status));
    return 1;
}

/* Every regular file under path (a file or a directory, not recursive). */
static void replay_path(const char *target, const char *path, int *count, int *failed)
{
    struct stat info;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            char file[4096];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            if (e->d_name[0] != '.' && stat(file, &info) == 0 && S_ISREG(info.st_mode))
                (*count)++, *failed += replay(target, file);
        }
        if (d)
            closedir(d);
    } else {
        (*count)++, *failed += replay(target, path);
    }
}

int main(int argc, char **argv)
{
    const char *target = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (argc < 2) {
        size_t size;
        unsigned char *data = read_input(stdin, &size);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 0;
    }
    int count = 0, failed = 0;
    for (int i = 1; i < argc; i++)
        replay_path(target, argv[i], &count, &failed);
    if (failed == 0)
        printf("ok - fuzz/%s: %d inputs\n", target, count);
    return failed != 0;
}
