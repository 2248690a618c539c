/* compare.h: `ganc compare`, two safetensors files tensor by tensor (see compare.c). */
#ifndef GANC_COMPARE_H
#define GANC_COMPARE_H

/* Prints a report; 0 when every common tensor is within tolerance and there is at least one. */
int compare_files(const char *path_a, const char *path_b, double tolerance, int verbose);

#endif
