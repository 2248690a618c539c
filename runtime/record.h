/* record.h: the run record, what produced a run, so that runs can be told apart afterwards.
 *
 * libganrt fills a RunRecord at the start of training (experiment, source and its SHA-256,
 * ganc's version and commit, dtype, seed, every hyperparameter after --set, threads, host,
 * start time, command line) and writes it three ways:
 *   OUT/run.json      {"sessions": [ one flat object per session, one a line ]}; a resumed run
 *                     appends its session, never rewrites the earlier ones;
 *   OUT/source.gan    a copy of the source the executable was compiled from (embedded by ganc);
 *   checkpoints       the same fields as string values of the safetensors "__metadata__".
 * docs/cli.md describes the fields; `ganc report` reads them back. */
#ifndef GANC_RECORD_H
#define GANC_RECORD_H
#include <stdio.h>

typedef struct RunRecord {
    char **keys, **values; /* values as JSON: a quoted string or a number */
    int count, cap;
} RunRecord;

/* The source the executable was compiled from: its path as given to ganc and its text; NULL
 * (both) in an executable that was not built by ganc (the runtime's own tests). */
const char *record_source_path(void);
const char *record_source_text(void);

void record_text(RunRecord *r, const char *key, const char *value); /* NULL: JSON null */
void record_number(RunRecord *r, const char *key, double value);
/* What every run records about its surroundings: source (path, sha256, the copy's file name
 * inside dir), ganc_version, ganc_commit, host, start_time (UTC, ISO 8601), command. */
void record_environment(RunRecord *r, const char *dir, int argc, char **argv);

/* OUT/run.json with this session appended (created when absent), and OUT/source.gan (another
 * name when a copy of a different source is already there): 0, or -1 with why in err. */
int record_write(const RunRecord *r, const char *dir, char *err, int errlen);
/* {"key":"value",...}: every value as a JSON string, for a safetensors "__metadata__". */
char *record_metadata(const RunRecord *r);
/* The `time` of the last line of a log.jsonl (0 without one): where a resumed run's clock goes on. */
double record_last_time(const char *log_path);
void record_free(RunRecord *r);
/* s as a JSON string, quotes and escapes included. */
void record_json_string(FILE *f, const char *s);

#endif
