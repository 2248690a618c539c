/* check.h: `ganc check`, autodiff against finite differences (see check.c). */
#ifndef GANC_CHECK_H
#define GANC_CHECK_H
#include "model.h"

/* Prints a report; returns 0 when every relative error is under tolerance, else 1. */
int check_model(const Model *m, double tolerance);

#endif
