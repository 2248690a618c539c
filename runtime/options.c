/* options.c: the command line of a compiled experiment (--steps, --seed, --out, --resume,
 * --threads, --quiet, --set, --eval, --eval-values, --help), read into the runtime's Options. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* ----- the command line -------------------------------------------------------------------- */

void print_usage(const Runtime *rt, FILE *to)
{
    const Model *m = &rt->m;
    fprintf(to,
            "usage: %s [options]\n"
            "Trains %s, a GAN experiment compiled by ganc (%s): %ld iterations, seed %llu.\n"
            "\n"
            "  --steps N            train until iteration N (default %ld)\n"
            "  --seed S             seed of initial values and draws (default %llu)\n"
            "  --out DIR            where log.jsonl, samples/ and ckpt/ go (default runs/%s)\n"
            "  --resume CKPT        continue from a checkpoint (e.g. DIR/ckpt/last.safetensors)\n"
            "  --threads T          threads for loops, convolutions and BLAS (default: OpenBLAS's choice)\n"
            "  --quiet              no progress line and no summary\n"
            "  --set NAME=VALUE     override `hyper NAME` of the experiment (repeatable)\n"
            "  --eval -o OUT        evaluate every loss and gradient once (inputs at draw 0) and\n"
            "                       write them to OUT (safetensors), as `ganc eval` does\n"
            "  --eval-values IN -o OUT\n"
            "                       the same, with the tensors in IN (safetensors) replacing the\n"
            "                       seeded values of the parameters, state or inputs they name\n"
            "  --help               this text\n",
            rt->exe, m->name, m->is_f64 ? "f64" : "f32", m->iters, (unsigned long long)m->seed,
            m->iters, (unsigned long long)m->seed, m->name);
}

__attribute__((format(printf, 2, 3)))
static int usage_error(Runtime *rt, const char *fmt, ...)
{
    fprintf(stderr, "%s: error: ", rt->exe);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry '%s --help' for the options\n", rt->exe);
    return 1;
}

enum { O_STEPS, O_SEED, O_OUT, O_RESUME, O_THREADS, O_EVAL_VALUES, O_OUTPUT, O_QUIET, O_EVAL, O_SET, O_HELP, O_H };
static const struct {
    const char *name;
    int takes_value;
} option_table[] = {
    [O_STEPS] = {"--steps", 1}, [O_SEED] = {"--seed", 1}, [O_OUT] = {"--out", 1},
    [O_RESUME] = {"--resume", 1}, [O_THREADS] = {"--threads", 1},
    [O_EVAL_VALUES] = {"--eval-values", 1}, [O_OUTPUT] = {"-o", 1}, [O_QUIET] = {"--quiet", 0},
    [O_EVAL] = {"--eval", 0}, [O_SET] = {"--set", 1}, [O_HELP] = {"--help", 0}, [O_H] = {"-h", 0},
};
enum { OPTION_COUNT = sizeof option_table / sizeof option_table[0] };

/* A count as text: decimal digits only (no sign, no space, no junk). */
static int parse_count(const char *s, uint64_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* A whole number in [min, max] for option `name`. */
static int option_count(Runtime *rt, const char *name, const char *text, uint64_t min, uint64_t max,
                        uint64_t *out)
{
    if (parse_count(text, out) != 0 || *out < min)
        return usage_error(rt, "%s needs a %s, not '%s'", name,
                           min > 0 ? "positive whole number" : "whole number", text);
    if (*out > max)
        return usage_error(rt, "%s must be at most %llu, not '%s'", name, (unsigned long long)max, text);
    return 0;
}

static int set_hyperparameter(Runtime *rt, const char *assignment);

static int apply_option(Runtime *rt, int which, const char *value)
{
    Options *o = &rt->opt;
    uint64_t v;
    const char *name = option_table[which].name;
    switch (which) {
    case O_STEPS:
        if (option_count(rt, name, value, 1, (uint64_t)1 << 40, &v) != 0)
            return 1;
        o->steps = (long)v, o->has_steps = 1;
        return 0;
    case O_SEED:
        if (option_count(rt, name, value, 0, MAX_EXACT_SEED, &v) != 0)
            return 1;
        o->seed = v, o->has_seed = 1;
        return 0;
    case O_THREADS:
        if (option_count(rt, name, value, 1, 4096, &v) != 0)
            return 1;
        o->threads = (int)v, o->has_threads = 1;
        return 0;
    case O_OUT: o->out_dir = value; return 0;
    case O_RESUME: o->resume = value; return 0;
    case O_EVAL_VALUES: o->eval_in = value; return 0;
    case O_OUTPUT: o->eval_out = value; return 0;
    case O_QUIET: o->quiet = 1; return 0;
    case O_EVAL: o->eval = 1; return 0;
    case O_SET: return set_hyperparameter(rt, value);
    default: o->help = 1; return 0; /* O_HELP, O_H */
    }
}

/* Which option arg names ("--steps" or "--steps=N"); *inline_value points after '='. */
static int lookup_option(const char *arg, const char **inline_value)
{
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    *inline_value = eq ? eq + 1 : NULL;
    for (int i = 0; i < OPTION_COUNT; i++)
        if (strlen(option_table[i].name) == len && strncmp(arg, option_table[i].name, len) == 0)
            return i;
    return -1;
}

static int check_option_combinations(Runtime *rt)
{
    const Options *o = &rt->opt;
    if (o->eval && o->eval_in)
        return usage_error(rt, "--eval and --eval-values are alternatives; give one");
    if ((o->eval || o->eval_in) && !o->eval_out)
        return usage_error(rt, "%s needs -o OUT.safetensors", o->eval ? "--eval" : "--eval-values");
    if (o->eval_out && !o->eval && !o->eval_in)
        return usage_error(rt, "-o is the output of --eval or --eval-values");
    return 0;
}

int parse_options(Runtime *rt, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *value;
        int which = lookup_option(argv[i], &value);
        if (which < 0)
            return usage_error(rt, argv[i][0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'",
                               argv[i]);
        if (!option_table[which].takes_value && value)
            return usage_error(rt, "%s takes no value", option_table[which].name);
        if (option_table[which].takes_value && !value) {
            if (i + 1 >= argc)
                return usage_error(rt, "%s needs a value", argv[i]);
            value = argv[++i];
        }
        if (value && !*value)
            return usage_error(rt, "%s needs a non-empty value", option_table[which].name);
        if (apply_option(rt, which, value) != 0)
            return 1;
    }
    return check_option_combinations(rt);
}

/* --set NAME=VALUE: the default of `hyper NAME` replaced, for every draw of the run. */
static int set_hyperparameter(Runtime *rt, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    char name[256], *end;
    if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof name - 8)
        return usage_error(rt, "--set needs NAME=VALUE, not '%s'", assignment);
    snprintf(name, sizeof name, "hyper.%.*s", (int)(eq - assignment), assignment);
    int i = find_leaf(&rt->m, name);
    if (i < 0) {
        char known[512] = "";
        for (int k = 0; k < rt->m.nleaves; k++)
            if (!strncmp(rt->m.leaves[k].name, "hyper.", 6) && strlen(known) + strlen(rt->m.leaves[k].name) < sizeof known - 4)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", *known ? ", " : "", rt->m.leaves[k].name + 6);
        return usage_error(rt, "--set: '%.*s' is not a hyperparameter of this experiment (it has: %s)", (int)(eq - assignment),
                           assignment, *known ? known : "none");
    }
    errno = 0;
    double v = strtod(eq + 1, &end);
    if (errno || end == eq + 1 || *end || !isfinite(v))
        return usage_error(rt, "--set %.*s needs a finite number, not '%s'", (int)(eq - assignment), assignment, eq + 1);
    rt->m.leaves[i].fill.a = v;
    return 0;
}

