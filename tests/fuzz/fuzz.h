/* fuzz.h: what the fuzz targets in tests/fuzz/ share.
 *
 * Every target defines LLVMFuzzerTestOneInput (libFuzzer's entry point): one input in, no crash,
 * no leak, no undefined behaviour out. Built three ways (Makefile):
 *   libFuzzer: clang-19 -fsanitize=fuzzer,address,undefined (make fuzz-libfuzzer, build-fuzz/)
 *   AFL++:     afl-clang-fast with driver.c's main (make fuzz-afl, build-afl/)
 *   replay:    the sanitizer build with driver.c's main (make asan, build-asan/fuzz/), which
 *              `make test` runs on every file of tests/fuzz/corpus/TARGET/ */
#ifndef GANC_FUZZ_H
#define GANC_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The front end on one program, as `ganc --emit=ir-grad` runs it: parse, sema (with autodiff),
 * and the step graphs printed to ir_out. A source error exits 1 as the compiler does, or, with
 * recover, returns (diag_recover) with the arena freed, so the next program starts clean. */
void fuzz_front_end(const char *name, const char *text, FILE *ir_out, int recover);

#endif
