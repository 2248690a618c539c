/* report.c: `ganc report RUN_DIR... -o report.html`, one self-contained HTML page about runs of
 * compiled experiments, to compare them by eye: no script, no network access, every picture
 * inline (SVG charts, PNG samples as base64 data URLs), so the file can be mailed or archived.
 * Its one script checks, once the page has loaded, that every picture decoded: a failure is a
 * console error, and body's data-images-loaded attribute says "LOADED/TOTAL" (the tests read
 * both in headless Chromium).
 *
 * Sections: a legend (each run's colour and label, the label made of the run-record fields whose
 * values differ between the runs: the seed of a seed sweep, the --set values of a sweep), one
 * chart per logged value with every run's curve over the steps, a table of final values, the
 * sample pictures over time, and the run records side by side (differing rows marked).
 *
 * It reads what libganrt writes (docs/cli.md section 5.1): DIR/log.jsonl (one flat JSON object a
 * line), DIR/run.json (one flat session object a line, runtime/record.h) and the PNGs of DIR/samples.
 * Both JSON files are flat by construction, so a flat-object parser is all it needs. */
#include "report.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"

/* ----- flat JSON objects ---------------------------------------------------------------- */

typedef struct Field {
    const char *key, *text; /* text: a string's value, or the number's source text */
    double num;             /* NaN for strings and null */
    int is_string;
} Field;

typedef struct Object {
    Field *fields;
    int n, cap;
} Object;

typedef struct Cursor {
    const char *p;
    Arena *arena;
} Cursor;

static void skip_space(Cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
        c->p++;
}

/* A JSON string at c->p (after skip_space); NULL if malformed. \uXXXX beyond ASCII becomes '?'. */
static const char *parse_string(Cursor *c)
{
    if (*c->p != '"')
        return NULL;
    const char *s = ++c->p;
    char *out = arena_alloc(c->arena, strlen(s) + 1), *o = out;
    for (; *s && *s != '"'; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        s++;
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *at = *s ? strchr(from, *s) : NULL;
        if (at)
            *o++ = to[at - from];
        else if (*s == 'u' && isxdigit((unsigned char)s[1]) && strlen(s) >= 5) {
            unsigned v = (unsigned)strtoul((char[]){s[1], s[2], s[3], s[4], 0}, NULL, 16);
            *o++ = v < 0x80 ? (char)v : '?';
            s += 4;
        } else
            return NULL;
    }
    if (*s != '"')
        return NULL;
    c->p = s + 1;
    *o = '\0';
    return out;
}

/* {"key": value, ...} with string, number, null, true or false values; 0, or -1 if malformed. */
static int parse_flat(Arena *arena, const char *text, Object *out)
{
    Cursor c = {text, arena};
    memset(out, 0, sizeof *out);
    skip_space(&c);
    if (*c.p++ != '{')
        return -1;
    skip_space(&c);
    if (*c.p == '}')
        return 0;
    for (;;) {
        Field f = {0};
        skip_space(&c);
        if (!(f.key = parse_string(&c)))
            return -1;
        skip_space(&c);
        if (*c.p++ != ':')
            return -1;
        skip_space(&c);
        f.num = NAN;
        if (*c.p == '"') {
            f.is_string = 1;
            if (!(f.text = parse_string(&c)))
                return -1;
        } else {
            size_t len = strcspn(c.p, ",} \t\r\n");
            f.text = arena_printf(arena, "%.*s", (int)len, c.p);
            char *end;
            double v = strtod(f.text, &end);
            if (len == 0 || (*end && strcmp(f.text, "null") && strcmp(f.text, "true") && strcmp(f.text, "false")))
                return -1;
            f.num = *end ? NAN : v;
            c.p += len;
        }
        ARENA_PUSH(arena, out->fields, out->n, out->cap, f);
        skip_space(&c);
        if (*c.p == '}')
            return 0;
        if (*c.p++ != ',')
            return -1;
    }
}

static const Field *find_field(const Object *o, const char *key)
{
    for (int i = 0; o && i < o->n; i++)
        if (!strcmp(o->fields[i].key, key))
            return &o->fields[i];
    return NULL;
}

/* ----- reading a run directory ---------------------------------------------------------- */

typedef struct Point {
    double step, value;
} Point;

typedef struct Series {
    const char *key;
    Point *points;
    int n, cap;
} Series;

typedef struct Frame {
    const char *label, *path;
    long step;
} Frame;

typedef struct Run {
    const char *dir, *legend;
    Object *sessions;
    int nsessions, scap;
    Series *series;
    int nseries, secap;
    Frame *frames;
    int nframes, fcap;
} Run;

/* The file's lines, NUL-terminated in place; NULL if it cannot be read. */
static char *read_text(Arena *arena, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = arena_alloc(arena, (size_t)(size > 0 ? size : 0) + 1);
    size_t got = size > 0 ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    text[got] = '\0';
    return text;
}

static Series *series_of(Arena *arena, Run *r, const char *key)
{
    for (int i = 0; i < r->nseries; i++)
        if (!strcmp(r->series[i].key, key))
            return &r->series[i];
    Series s = {.key = key};
    ARENA_PUSH(arena, r->series, r->nseries, r->secap, s);
    return &r->series[r->nseries - 1];
}

/* Values that are bookkeeping, not curves: the step itself, the clock, constant counts. */
static int is_curve_key(const char *key)
{
    return strcmp(key, "step") && strcmp(key, "time") && strcmp(key, "modes total") && strcmp(key, "fid samples");
}

static void read_log(Arena *arena, Run *r)
{
    const char *path = arena_printf(arena, "%s/log.jsonl", r->dir);
    char *text = read_text(arena, path);
    if (!text)
        diag_fatal("cannot read %s: %s (is %s a run directory?)", path, strerror(errno), r->dir);
    int line_no = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        Object o;
        line_no++;
        const Field *step = NULL;
        if (parse_flat(arena, line, &o) != 0 || !(step = find_field(&o, "step")) || isnan(step->num))
            diag_fatal("%s:%d: not a log line of ganc (a flat JSON object with a \"step\")", path, line_no);
        for (int i = 0; i < o.n; i++) {
            const Field *f = &o.fields[i];
            if (f->is_string || !is_curve_key(f->key))
                continue;
            Series *s = series_of(arena, r, f->key);
            Point p = {step->num, f->num};
            ARENA_PUSH(arena, s->points, s->n, s->cap, p);
        }
    }
}

/* run.json: the sessions, one flat object a line between the first line and "]}". A run
 * without one (written before run records existed) has no sessions. */
static void read_record(Arena *arena, Run *r)
{
    const char *path = arena_printf(arena, "%s/run.json", r->dir);
    char *text = read_text(arena, path);
    if (!text)
        return;
    int line_no = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        line_no++;
        size_t len = strlen(line);
        if (line_no == 1 || !strcmp(line, "]}"))
            continue;
        if (len && line[len - 1] == ',')
            line[len - 1] = '\0';
        Object o;
        if (parse_flat(arena, line, &o) != 0)
            diag_fatal("%s:%d: not a session of a run record (one flat JSON object a line)", path, line_no);
        ARENA_PUSH(arena, r->sessions, r->nsessions, r->scap, o);
    }
}

static int compare_frames(const void *a, const void *b)
{
    const Frame *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    return c ? c : (x->step > y->step) - (x->step < y->step);
}

/* samples/LABEL_STEP.png: the pictures, by label then step. */
static void read_frames(Arena *arena, Run *r)
{
    const char *dir = arena_printf(arena, "%s/samples", r->dir);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        const char *us = strrchr(e->d_name, '_');
        if (len < 6 || strcmp(e->d_name + len - 4, ".png") || !us || us == e->d_name)
            continue;
        char *end;
        long step = strtol(us + 1, &end, 10);
        if (end == us + 1 || strcmp(end, ".png"))
            continue;
        Frame f = {arena_printf(arena, "%.*s", (int)(us - e->d_name), e->d_name),
                   arena_printf(arena, "%s/%s", dir, e->d_name), step};
        ARENA_PUSH(arena, r->frames, r->nframes, r->fcap, f);
    }
    if (d)
        closedir(d);
    if (r->nframes)
        qsort(r->frames, (size_t)r->nframes, sizeof(Frame), compare_frames);
}

/* ----- legends: what tells the runs apart ------------------------------------------------ */

/* Fields that differ between any two runs without telling what was run, or too long for a
 * legend (the records table shows them all). */
static int is_incidental(const char *key)
{
    static const char *const keys[] = {"start_time", "command", "host", "resumed_from", "first_step", "source_copy",
                                       "threads", "source", "steps", "source_sha256", "ganc_commit"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

static const Object *first_session(const Run *r) { return r->nsessions ? &r->sessions[0] : NULL; }

static const char *field_text(const Object *o, const char *key)
{
    const Field *f = find_field(o, key);
    return f ? f->text : "";
}

/* A key whose value is not the same in every run's first session. */
static int differs(const Run *runs, int n, const char *key)
{
    for (int i = 1; i < n; i++)
        if (strcmp(field_text(first_session(&runs[0]), key), field_text(first_session(&runs[i]), key)))
            return 1;
    return 0;
}

/* "seed=2 lambda=5": the run's values of the telling fields that differ; the directory when
 * no such field differs (a single run, or runs without records). */
static void make_legends(Arena *arena, Run *runs, int n)
{
    for (int i = 0; i < n; i++) {
        const Object *s = first_session(&runs[i]);
        const char *legend = "";
        for (int k = 0; s && k < s->n; k++) {
            const char *key = s->fields[k].key;
            if (is_incidental(key) || s->fields[k].text[0] == '\0' || !differs(runs, n, key))
                continue;
            const char *shown = strncmp(key, "hyper.", 6) ? key : key + 6;
            legend = arena_printf(arena, "%s%s%s=%s", legend, *legend ? " " : "", shown, s->fields[k].text);
        }
        runs[i].legend = *legend ? legend : runs[i].dir;
    }
}

/* ----- HTML ------------------------------------------------------------------------------ */

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
enum { PALETTE = sizeof palette / sizeof palette[0] };

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char out[4] = {digits[v >> 18 & 63], digits[v >> 12 & 63], i + 1 < n ? digits[v >> 6 & 63] : '=',
                       i + 2 < n ? digits[v & 63] : '='};
        fwrite(out, 1, 4, f);
    }
}

/* A PNG file as <img src="data:...">; a file that cannot be read is named instead. */
static void embed_png(FILE *f, Arena *arena, const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        fputs("<span class=\"missing\">cannot read ", f);
        html_text(f, path);
        fputs("</span>", f);
        return;
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    rewind(in);
    unsigned char *bytes = arena_alloc(arena, (size_t)(size > 0 ? size : 0) + 1);
    size_t got = size > 0 ? fread(bytes, 1, (size_t)size, in) : 0;
    fclose(in);
    fputs("<img alt=\"", f);
    html_text(f, path);
    fputs("\" src=\"data:image/png;base64,", f);
    base64(f, bytes, got);
    fputs("\">", f);
}

/* 1, 2 or 5 times a power of ten: about six ticks across the range. */
static double tick_step(double width)
{
    double raw = width / 6, p = pow(10, floor(log10(raw)));
    return raw / p < 2 ? p : raw / p < 5 ? 2 * p : 5 * p;
}

enum { CHART_W = 480, CHART_H = 260, LEFT = 64, RIGHT = 12, TOP = 10, BOTTOM = 28 };

typedef struct Box {
    double x0, x1, y0, y1; /* data coordinates of the plotting area */
} Box;

static double sx(const Box *b, double x) { return LEFT + (x - b->x0) / (b->x1 - b->x0) * (CHART_W - LEFT - RIGHT); }
static double sy(const Box *b, double y) { return CHART_H - BOTTOM - (y - b->y0) / (b->y1 - b->y0) * (CHART_H - TOP - BOTTOM); }

/* The data range of `key` over every run: steps and finite values. */
static Box chart_box(const Run *runs, int n, const char *key)
{
    Box b = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        for (int s = 0; s < runs[i].nseries; s++) {
            const Series *se = &runs[i].series[s];
            for (int k = 0; !strcmp(se->key, key) && k < se->n; k++) {
                if (!isfinite(se->points[k].value))
                    continue;
                b.x0 = fmin(b.x0, se->points[k].step), b.x1 = fmax(b.x1, se->points[k].step);
                b.y0 = fmin(b.y0, se->points[k].value), b.y1 = fmax(b.y1, se->points[k].value);
            }
        }
    if (!(b.x0 < b.x1))
        b.x0 = isfinite(b.x0) ? b.x0 - 1 : 0, b.x1 = b.x0 + 2;
    if (!(b.y0 < b.y1))
        b.y0 = isfinite(b.y0) ? b.y0 - 1 : 0, b.y1 = b.y0 + 2;
    double pad = (b.y1 - b.y0) / 20;
    b.y0 -= pad, b.y1 += pad;
    return b;
}

static void axes(FILE *f, const Box *b)
{
    double ys = tick_step(b->y1 - b->y0), xs = tick_step(b->x1 - b->x0);
    for (double y = ceil(b->y0 / ys) * ys; y <= b->y1; y += ys)
        fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                LEFT, CHART_W - RIGHT, sy(b, y), sy(b, y), LEFT - 4, sy(b, y) + 4, fabs(y) < ys / 2 ? 0 : y);
    for (double x = ceil(b->x0 / xs) * xs; x <= b->x1; x += xs)
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.6g</text>\n",
                sx(b, x), sx(b, x), TOP, CHART_H - BOTTOM, sx(b, x), CHART_H - BOTTOM + 16, x);
    fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", LEFT, TOP,
            CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM);
}

enum { MAX_DOTS = 40 }; /* curves of at most this many points also get a dot per point */

/* One chart: every run's curve of `key`, a polyline of class "curve" each (the tests count them). */
static void chart(FILE *f, const Run *runs, int n, const char *key)
{
    Box b = chart_box(runs, n, key);
    fputs("<figure class=\"chart\"><figcaption>", f);
    html_text(f, key);
    fprintf(f, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            CHART_W, CHART_H, CHART_W, CHART_H);
    axes(f, &b);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < runs[i].nseries; s++) {
            const Series *se = &runs[i].series[s];
            if (strcmp(se->key, key))
                continue;
            fprintf(f, "<polyline class=\"curve\" data-run=\"%d\" stroke=\"%s\" points=\"", i, palette[i % PALETTE]);
            for (int k = 0; k < se->n; k++)
                if (isfinite(se->points[k].value))
                    fprintf(f, "%.1f,%.1f ", sx(&b, se->points[k].step), sy(&b, se->points[k].value));
            fputs("\"><title>", f);
            html_text(f, runs[i].legend);
            fputs("</title></polyline>\n", f);
            for (int k = 0; se->n <= MAX_DOTS && k < se->n; k++) /* a short curve's points stay visible */
                if (isfinite(se->points[k].value))
                    fprintf(f, "<circle class=\"dot\" r=\"2.5\" fill=\"%s\" cx=\"%.1f\" cy=\"%.1f\"/>\n", palette[i % PALETTE],
                            sx(&b, se->points[k].step), sy(&b, se->points[k].value));
        }
    fputs("</svg></figure>\n", f);
}

/* Every key logged by any run, in the order of first appearance. */
static const char **curve_keys(Arena *arena, const Run *runs, int n, int *count)
{
    const char **keys = NULL;
    int cap = 0;
    *count = 0;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < runs[i].nseries; s++) {
            int seen = 0;
            for (int k = 0; k < *count; k++)
                seen |= !strcmp(keys[k], runs[i].series[s].key);
            if (!seen)
                ARENA_PUSH(arena, keys, *count, cap, runs[i].series[s].key);
        }
    return keys;
}

static void swatch(FILE *f, int run) { fprintf(f, "<span class=\"swatch\" style=\"background:%s\"></span>", palette[run % PALETTE]); }

static void legend(FILE *f, const Run *runs, int n)
{
    fputs("<ul class=\"legend\">\n", f);
    for (int i = 0; i < n; i++) {
        fputs("<li>", f);
        swatch(f, i);
        html_text(f, runs[i].legend);
        fputs(" <span class=\"dir\">", f);
        html_text(f, runs[i].dir);
        fputs("</span></li>\n", f);
    }
    fputs("</ul>\n", f);
}

static void run_header_cells(FILE *f, const Run *runs, int n)
{
    for (int i = 0; i < n; i++) {
        fputs("<th>", f);
        swatch(f, i);
        html_text(f, runs[i].legend);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
}

/* Rows: the logged values; columns: the runs; cells: the last logged finite value, and for
 * `time` the training time in seconds. */
static void final_table(FILE *f, const Run *runs, int n, const char **keys, int nkeys)
{
    fputs("<table class=\"final\"><tr><th>final value</th>", f);
    run_header_cells(f, runs, n);
    for (int k = -1; k < nkeys; k++) {
        fputs("<tr><td>", f);
        html_text(f, k < 0 ? "last step" : keys[k]);
        fputs("</td>", f);
        for (int i = 0; i < n; i++) {
            double last = NAN, step = NAN;
            for (int s = 0; s < runs[i].nseries; s++)
                for (int j = 0; j < runs[i].series[s].n; j++) {
                    const Series *se = &runs[i].series[s];
                    step = isnan(step) || se->points[j].step > step ? se->points[j].step : step;
                    if (k >= 0 && !strcmp(se->key, keys[k]) && isfinite(se->points[j].value))
                        last = se->points[j].value;
                }
            double v = k < 0 ? step : last;
            if (isnan(v))
                fputs("<td>-</td>", f);
            else
                fprintf(f, "<td>%.6g</td>", v);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

enum { MAX_FRAMES = 8 };

/* Per run and sample label, up to MAX_FRAMES pictures spread evenly over the run, the last one
 * always among them. */
static void samples(FILE *f, Arena *arena, const Run *runs, int n)
{
    for (int i = 0; i < n; i++) {
        const Run *r = &runs[i];
        for (int a = 0; a < r->nframes;) {
            int b = a;
            while (b < r->nframes && !strcmp(r->frames[b].label, r->frames[a].label))
                b++;
            fputs("<div class=\"strip\"><h3>", f);
            swatch(f, i);
            html_text(f, r->legend);
            fputs(": ", f);
            html_text(f, r->frames[a].label);
            fputs("</h3>\n", f);
            int count = b - a, shown = count < MAX_FRAMES ? count : MAX_FRAMES;
            for (int k = 0; k < shown; k++) {
                const Frame *fr = &r->frames[a + (shown == 1 ? count - 1 : (int)((long)k * (count - 1) / (shown - 1)))];
                fputs("<figure class=\"frame\">", f);
                embed_png(f, arena, fr->path);
                fprintf(f, "<figcaption>step %ld</figcaption></figure>\n", fr->step);
            }
            fputs("</div>\n", f);
            a = b;
        }
    }
}

/* Rows: every field of the runs' sessions; columns: the runs. A resumed run shows its first
 * session's value, and the later sessions' where they differ. Rows that differ are marked. */
static void records_table(FILE *f, Arena *arena, const Run *runs, int n)
{
    const char **keys = NULL;
    int nkeys = 0, cap = 0;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < runs[i].nsessions; s++)
            for (int k = 0; k < runs[i].sessions[s].n; k++) {
                const char *key = runs[i].sessions[s].fields[k].key;
                int seen = 0;
                for (int j = 0; j < nkeys; j++)
                    seen |= !strcmp(keys[j], key);
                if (!seen)
                    ARENA_PUSH(arena, keys, nkeys, cap, key);
            }
    fputs("<table class=\"records\"><tr><th>run record</th>", f);
    run_header_cells(f, runs, n);
    fputs("<tr><td>sessions</td>", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<td>%d</td>", runs[i].nsessions);
    fputs("</tr>\n", f);
    for (int k = 0; k < nkeys; k++) {
        fprintf(f, "<tr%s><td>", differs(runs, n, keys[k]) ? " class=\"differs\"" : "");
        html_text(f, keys[k]);
        fputs("</td>", f);
        for (int i = 0; i < n; i++) {
            fputs("<td>", f);
            const char *first = field_text(first_session(&runs[i]), keys[k]);
            html_text(f, first);
            for (int s = 1; s < runs[i].nsessions; s++) {
                const char *later = field_text(&runs[i].sessions[s], keys[k]);
                if (strcmp(later, first)) {
                    fprintf(f, "<br><span class=\"session\">session %d: ", s + 1);
                    html_text(f, later);
                    fputs("</span>", f);
                }
            }
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}h2{margin-top:1.5em;border-bottom:1px solid #ccc}"
    "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}figcaption{font-size:90%;text-align:center}"
    "svg text{font-size:11px;fill:#444}svg .grid{stroke:#e4e4e4}svg .frame{fill:none;stroke:#999}"
    "svg .curve{fill:none;stroke-width:1.5}.swatch{display:inline-block;width:1em;height:1em;margin-right:.4em;"
    "vertical-align:middle}.legend{list-style:none;padding:0}.dir{color:#777;font-size:90%}"
    "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
    "font-size:90%;max-width:30em;overflow-wrap:break-word}tr.differs td{background:#fff3cd}.frame img{width:200px}"
    ".session{color:#a40}.missing{color:#a00}";

static const char image_check[] =
    "window.addEventListener('load', function () {\n"
    "  var loaded = 0, images = document.images;\n"
    "  for (var i = 0; i < images.length; i++)\n"
    "    if (images[i].complete && images[i].naturalWidth > 0) loaded++;\n"
    "    else console.error('sample picture did not load: ' + images[i].alt);\n"
    "  document.body.setAttribute('data-images-loaded', loaded + '/' + images.length);\n"
    "});\n";

static void write_html(FILE *f, Arena *arena, const Run *runs, int n)
{
    int nkeys;
    const char **keys = curve_keys(arena, runs, n, &nkeys);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ganc report</title>\n"
               "<style>%s</style>\n<script>\n%s</script></head><body>\n<h1>ganc report: %d run%s</h1>\n",
            style, image_check, n, n == 1 ? "" : "s");
    legend(f, runs, n);
    fputs("<h2>Curves</h2>\n", f);
    for (int k = 0; k < nkeys; k++)
        chart(f, runs, n, keys[k]);
    fputs("<h2>Final values</h2>\n", f);
    final_table(f, runs, n, keys, nkeys);
    fputs("<h2>Samples over time</h2>\n", f);
    samples(f, arena, runs, n);
    fputs("<h2>Run records</h2>\n", f);
    records_table(f, arena, runs, n);
    fputs("</body></html>\n", f);
}

/* ----- the command ----------------------------------------------------------------------- */

static const char usage[] = "usage: ganc report RUN_DIR... -o REPORT.html\n";

int report_command(int argc, char **argv)
{
    const char *out = NULL;
    Arena arena = {0};
    Run *runs = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            arena_free(&arena);
            return 0;
        }
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ganc: error: %s '%s'\n%s", strcmp(argv[i], "-o") ? "unknown option" : "no file after",
                    argv[i], usage);
            arena_free(&arena);
            return 1;
        } else {
            Run r = {.dir = argv[i]};
            ARENA_PUSH(&arena, runs, n, cap, r);
        }
    }
    if (!out || n == 0) {
        fprintf(stderr, "ganc: error: report needs %s\n%s", n ? "-o REPORT.html" : "at least one run directory", usage);
        arena_free(&arena);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        read_log(&arena, &runs[i]);
        read_record(&arena, &runs[i]);
        read_frames(&arena, &runs[i]);
    }
    make_legends(&arena, runs, n);
    const char *tmp = arena_printf(&arena, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f)
        diag_fatal("cannot write %s: %s", tmp, strerror(errno));
    write_html(f, &arena, runs, n);
    int failed = ferror(f) | (fclose(f) != 0);
    if (failed || rename(tmp, out) != 0) {
        remove(tmp);
        diag_fatal("cannot write %s: %s", out, strerror(errno));
    }
    arena_free(&arena);
    return 0;
}
