/* contract.c: the fuzz target for the model contract: the text description of a model that
 * the compiler embeds in every executable and libganrt parses at startup (runtime/describe.c).
 * Any text gives a model or a "line N: reason" message, and everything is freed either way. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, 0, size))
        return 0; /* the description is a C string */
    char *text = malloc(size + 1), err[300];
    memcpy(text, data, size);
    text[size] = '\0';
    Model m;
    model_parse(&m, text, err, sizeof err);
    model_free(&m);
    free(text);
    return 0;
}
