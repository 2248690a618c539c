/* png_ink.c: prints "WIDTH HEIGHT INK" for a PNG, INK the number of pixels that are not white
 * (any channel below 240), so shell tests can tell a plot or a browser screenshot from a blank
 * page. Exit status 1 if the file cannot be read. usage: png_ink FILE.png */
#include <stdio.h>
#include <stdlib.h>

#include "png.h"

int main(int argc, char **argv)
{
    int w, h, c;
    char err[512];
    unsigned char *px = argc == 2 ? png_read_gray_or_rgb(argv[1], &w, &h, &c, err, sizeof err) : NULL;
    if (!px) {
        fprintf(stderr, "png_ink: %s\n", argc == 2 ? err : "usage: png_ink FILE.png");
        return 1;
    }
    long ink = 0;
    for (long i = 0; i < (long)w * h; i++) {
        int dark = 0;
        for (int k = 0; k < c; k++)
            dark |= px[i * c + k] < 240;
        ink += dark;
    }
    printf("%d %d %ld\n", w, h, ink);
    free(px);
    return 0;
}
