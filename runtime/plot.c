/* plot.c: see plot.h. A canvas of RGB pixels: a white background, the grid, then the real
 * points or bars, then the fake ones blended over them at half opacity (so dense regions and
 * overlaps show), then the mode markers, then the frame; handed to png_write_pixels. */
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "png.h"

enum { MARGIN = 10, INNER = PLOT_SIZE - 2 * MARGIN };

typedef struct Canvas {
    unsigned char px[PLOT_SIZE * PLOT_SIZE * 3];
    double xr[2], yr[2];
} Canvas;

typedef struct Rgb {
    unsigned char r, g, b;
} Rgb;

static const Rgb FAKE = {PLOT_FAKE_RGB}, REAL = {PLOT_REAL_RGB}, GRID = {225, 225, 225}, AXIS = {150, 150, 150},
                 MODE = {0, 0, 0};

/* Pixel (x, y), y down, blended with opacity a; off-canvas pixels are ignored. */
static void blend(Canvas *c, int x, int y, Rgb col, double a)
{
    if (x < 0 || y < 0 || x >= PLOT_SIZE || y >= PLOT_SIZE)
        return;
    unsigned char *p = c->px + 3 * ((size_t)y * PLOT_SIZE + (size_t)x);
    const unsigned char v[3] = {col.r, col.g, col.b};
    for (int k = 0; k < 3; k++)
        p[k] = (unsigned char)lround(p[k] * (1 - a) + v[k] * a);
}

static void fill_rect(Canvas *c, int x0, int y0, int x1, int y1, Rgb col, double a)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            blend(c, x, y, col, a);
}

/* Data coordinates to pixels, clamped to the plotting area. */
static int to_px(double v, const double r[2], int flip)
{
    double t = (v - r[0]) / (r[1] - r[0]);
    t = isnan(t) ? 0 : t < 0 ? 0 : t > 1 ? 1 : t;
    return MARGIN + (int)lround((flip ? 1 - t : t) * (INNER - 1));
}

/* 1, 2 or 5 times a power of ten: about eight grid lines across the range. */
static double nice_step(double width)
{
    double raw = width / 8, p = pow(10, floor(log10(raw)));
    return raw / p < 2 ? p : raw / p < 5 ? 2 * p : 5 * p;
}

/* Grid lines every nice step along one axis; the zero line darker. */
static void grid_lines(Canvas *c, const double r[2], int vertical)
{
    double step = nice_step(r[1] - r[0]);
    for (double v = ceil(r[0] / step) * step; v <= r[1]; v += step) {
        int at = to_px(v, r, !vertical);
        Rgb col = fabs(v) < step / 2 ? AXIS : GRID;
        if (vertical)
            fill_rect(c, at, MARGIN, at, MARGIN + INNER - 1, col, 1);
        else
            fill_rect(c, MARGIN, at, MARGIN + INNER - 1, at, col, 1);
    }
}

static void start(Canvas *c, const double xr[2], const double yr[2])
{
    memset(c->px, 255, sizeof c->px);
    memcpy(c->xr, xr, sizeof c->xr);
    memcpy(c->yr, yr, sizeof c->yr);
    grid_lines(c, xr, 1);
    grid_lines(c, yr, 0);
}

static int finish(Canvas *c, const char *path, char *err, int errlen)
{
    const int lo = MARGIN - 1, hi = MARGIN + INNER;
    fill_rect(c, lo, lo, hi, lo, AXIS, 1);
    fill_rect(c, lo, hi, hi, hi, AXIS, 1);
    fill_rect(c, lo, lo, lo, hi, AXIS, 1);
    fill_rect(c, hi, lo, hi, hi, AXIS, 1);
    return png_write_pixels(path, c->px, PLOT_SIZE, PLOT_SIZE, 3, err, errlen);
}

void plot_range(const double *rows, long n, const double *centres, int k, int dim, int col, double range[2])
{
    double lo = INFINITY, hi = -INFINITY;
    for (int set = 0; set < 2; set++) {
        const double *p = set ? centres : rows;
        long count = set ? k : n;
        for (long i = 0; p && i < count; i++) {
            double v = p[i * dim + col];
            if (isfinite(v))
                lo = fmin(lo, v), hi = fmax(hi, v);
        }
    }
    if (!(lo < hi)) { /* no finite value, or a single one */
        double mid = isfinite(lo) ? lo : 0;
        lo = mid - 0.5, hi = mid + 0.5;
    }
    double pad = (hi - lo) / 10;
    range[0] = lo - pad;
    range[1] = hi + pad;
}

/* A dot of radius 2 (a 5x5 square without its corners). */
static void dot(Canvas *c, double x, double y, Rgb col, double a)
{
    int px = to_px(x, c->xr, 0), py = to_px(y, c->yr, 1);
    for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++)
            if (abs(dx) + abs(dy) < 4)
                blend(c, px + dx, py + dy, col, a);
}

static void cross(Canvas *c, double x, double y)
{
    int px = to_px(x, c->xr, 0), py = to_px(y, c->yr, 1);
    for (int d = -6; d <= 6; d++) { /* one pixel wide, so the real points around it show */
        blend(c, px + d, py + d, MODE, 1);
        blend(c, px + d, py - d, MODE, 1);
    }
}

int plot_scatter(const char *path, const double *fake, long nfake, const double *real, long nreal,
                 const double *centres, int k, const double xr[2], const double yr[2], char *err, int errlen)
{
    Canvas *c = malloc(sizeof *c);
    start(c, xr, yr);
    for (long i = 0; i < nreal; i++)
        dot(c, real[2 * i], real[2 * i + 1], REAL, 0.5);
    for (long i = 0; i < nfake; i++)
        dot(c, fake[2 * i], fake[2 * i + 1], FAKE, 0.5);
    for (int i = 0; i < k; i++)
        cross(c, centres[2 * i], centres[2 * i + 1]);
    int rc = finish(c, path, err, errlen);
    free(c);
    return rc;
}

/* Counts of n values in PLOT_BINS bins over range; values outside in the end bins. */
static void bin(const double *v, long n, const double range[2], long *count)
{
    memset(count, 0, sizeof(long) * PLOT_BINS);
    for (long i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        double t = floor((v[i] - range[0]) / (range[1] - range[0]) * PLOT_BINS);
        count[t < 0 ? 0 : t >= PLOT_BINS ? PLOT_BINS - 1 : (int)t]++;
    }
}

int plot_histogram(const char *path, const double *fake, long nfake, const double *real, long nreal,
                   const double range[2], char *err, int errlen)
{
    long counts[2][PLOT_BINS], most = 1;
    bin(real, nreal, range, counts[0]);
    bin(fake, nfake, range, counts[1]);
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < PLOT_BINS; b++)
            most = counts[s][b] > most ? counts[s][b] : most;
    Canvas *c = malloc(sizeof *c);
    const double yr[2] = {0, 1.05};
    start(c, range, yr);
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < PLOT_BINS; b++) {
            if (!counts[s][b])
                continue;
            int x0 = MARGIN + b * INNER / PLOT_BINS, x1 = MARGIN + (b + 1) * INNER / PLOT_BINS - 2;
            int top = to_px((double)counts[s][b] / (double)most, yr, 1);
            fill_rect(c, x0, top, x1, MARGIN + INNER - 1, s ? FAKE : REAL, s ? 0.6 : 0.8);
        }
    int rc = finish(c, path, err, errlen);
    free(c);
    return rc;
}
