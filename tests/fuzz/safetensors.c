/* safetensors.c: the fuzz target for the safetensors reader (runtime/safetensors.c): any bytes
 * give tensors that satisfy the format's rules, or a message naming the file; then the
 * finiteness check that every value entry point applies. */
#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    StFile f;
    char err[512];
    if (st_parse("fuzz.safetensors", data, size, &f, err, sizeof err) == 0) {
        st_check_finite("fuzz.safetensors", &f, err, sizeof err);
        st_free(&f);
    }
    return 0;
}
