/* png.h: sample grids as PNG images, written by libganrt next to the NPY/CSV samples of an
 * image-shaped tensor ([N, C, H, W], C = 1 grey or 3 RGB), so a run's progress can be looked at
 * directly. Built on libpng's simplified API; the reader exists for the tests. */
#ifndef GANC_PNG_H
#define GANC_PNG_H

/* n images of c x h x w values each (C order, as an NCHW tensor), values in [-1, 1] mapped to
 * 0..255 (clamped; NaN is 0), laid out in a grid of ceil(sqrt(n)) columns with a 2-pixel dark
 * gap around and between the tiles. 0, or -1 with "cannot write PATH: why" in err. */
int png_write_grid(const char *path, const double *images, int n, int c, int h, int w, char *err, int errlen);

/* 8-bit grey (channels 1) or RGB (3) pixels, row after row, as a PNG (the plots of plot.h).
 * 0, or -1 with "cannot write PATH: why" in err. */
int png_write_pixels(const char *path, const unsigned char *pixels, int width, int height, int channels, char *err,
                     int errlen);

/* A PNG as 8-bit grey (*channels = 1) or RGB (3) pixels, row after row; malloc'ed, or NULL with
 * the reason in err. */
unsigned char *png_read_gray_or_rgb(const char *path, int *width, int *height, int *channels, char *err,
                                    int errlen);

/* The grid's geometry, shared by the writer and the tests that check its pixels. */
enum { PNG_GRID_GAP = 2, PNG_GRID_GAP_LEVEL = 40 };
void png_grid_size(int n, int h, int w, int *cols, int *width, int *height);

#endif
