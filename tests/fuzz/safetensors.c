/* safetensors.c: the fuzz target for the safetensors reader (runtime/safetensors.c): any bytes
 * give tensors that satisfy the format's rules, or a message naming the file; then the
 * finiteness check that every value entry point applies. The reader without the values
 * (st_parse_shapes, the compiler's) must agree with the two: it passes exactly when they do,
 * with the same tensors and shapes, and a well-formed file with a NaN or an infinity gets the
 * same message from both; the target aborts otherwise. */
#include "fuzz.h"
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"

static int same_tensors(const StFile *a, const StFile *b)
{
    if (a->count != b->count)
        return 0;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->tensors[i].name, b->tensors[i].name) || a->tensors[i].ndim != b->tensors[i].ndim ||
            memcmp(a->tensors[i].shape, b->tensors[i].shape, sizeof a->tensors[i].shape))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    StFile f, shapes;
    char err[512] = "", shapes_err[512] = "";
    int parsed = st_parse("fuzz.safetensors", data, size, &f, err, sizeof err) == 0;
    int status = parsed ? st_check_finite("fuzz.safetensors", &f, err, sizeof err) : -1;
    int shapes_status = st_parse_shapes("fuzz.safetensors", data, size, &shapes, shapes_err, sizeof shapes_err);
    if ((status == 0) != (shapes_status == 0))
        abort();
    if (status == 0 && !same_tensors(&f, &shapes))
        abort();
    /* a well-formed file with a NaN or infinity: the same tensor and index named */
    if (parsed && status != 0 && strcmp(err, shapes_err) != 0)
        abort();
    if (parsed)
        st_free(&f);
    if (shapes_status == 0)
        st_free(&shapes);
    return 0;
}
