/* png.c: see png.h. The grid is composed in memory as 8-bit interleaved pixels (what PNG
 * stores), then handed to libpng's simplified API, which needs no setjmp error handling. */
#include "png.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Not <png.h>: with -Iruntime that would be this directory's png.h. libpng installs its header
 * under libpng/ as well (a link to libpng16/ on Debian). */
#include <libpng/png.h>

enum { MAX_SIDE = 1000000 }; /* libpng's default limit on width and height when reading */

void png_grid_size(int n, int h, int w, int *cols, int *width, int *height)
{
    int c = 1;
    while ((long)c * c < n)
        c++;
    int rows = (n + c - 1) / c;
    *cols = c;
    *width = c * (w + PNG_GRID_GAP) + PNG_GRID_GAP;
    *height = rows * (h + PNG_GRID_GAP) + PNG_GRID_GAP;
}

/* [-1, 1] to 0..255, rounded; out-of-range values clamp and NaN is black. */
static unsigned char to_level(double v)
{
    if (!(v > -1))
        return 0;
    if (v >= 1)
        return 255;
    return (unsigned char)floor((v + 1) * 127.5 + 0.5);
}

/* Image i (planar, C x H x W) into its tile of the interleaved grid. */
static void draw_tile(unsigned char *grid, int stride, const double *image, int c, int h, int w, int x0, int y0)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++)
                grid[(size_t)(y0 + y) * (size_t)stride + (size_t)(x0 + x) * (size_t)c + (size_t)ch] =
                    to_level(image[((size_t)ch * (size_t)h + (size_t)y) * (size_t)w + (size_t)x]);
}

int png_write_grid(const char *path, const double *images, int n, int c, int h, int w, char *err, int errlen)
{
    if (n < 1 || (c != 1 && c != 3) || h < 1 || w < 1 || h > MAX_SIDE || w > MAX_SIDE) {
        snprintf(err, (size_t)errlen, "cannot write %s: %d images of %dx%dx%d are not a grey or RGB grid", path, n, c, h, w);
        return -1;
    }
    int cols, width, height;
    png_grid_size(n, h, w, &cols, &width, &height);
    if ((long)width > MAX_SIDE || (long)height > MAX_SIDE) {
        snprintf(err, (size_t)errlen, "cannot write %s: a grid of %d images of %dx%d is too large", path, n, h, w);
        return -1;
    }
    int stride = width * c;
    unsigned char *grid = malloc((size_t)stride * (size_t)height);
    if (!grid) {
        snprintf(err, (size_t)errlen, "cannot write %s: out of memory", path);
        return -1;
    }
    memset(grid, PNG_GRID_GAP_LEVEL, (size_t)stride * (size_t)height);
    for (int i = 0; i < n; i++)
        draw_tile(grid, stride, images + (size_t)i * (size_t)c * (size_t)h * (size_t)w, c, h, w,
                  PNG_GRID_GAP + i % cols * (w + PNG_GRID_GAP), PNG_GRID_GAP + i / cols * (h + PNG_GRID_GAP));
    int rc = png_write_pixels(path, grid, width, height, c, err, errlen);
    free(grid);
    return rc;
}

int png_write_pixels(const char *path, const unsigned char *pixels, int width, int height, int channels, char *err,
                     int errlen)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_file(&image, path, 0, pixels, width * channels, NULL);
    if (!ok)
        snprintf(err, (size_t)errlen, "cannot write %s: %s", path, image.message);
    return ok ? 0 : -1;
}

unsigned char *png_read_gray_or_rgb(const char *path, int *width, int *height, int *channels, char *err, int errlen)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    unsigned char *pixels = NULL;
    if (png_image_begin_read_from_file(&image, path)) {
        *channels = image.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
        image.format = *channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
        pixels = malloc(PNG_IMAGE_SIZE(image));
        if (pixels && !png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
            free(pixels);
            pixels = NULL;
        }
        png_image_free(&image);
    }
    if (!pixels) {
        snprintf(err, (size_t)errlen, "cannot read %s: %s", path, image.message[0] ? image.message : "out of memory");
        return NULL;
    }
    *width = (int)image.width;
    *height = (int)image.height;
    return pixels;
}
