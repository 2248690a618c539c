/* safetensors.c: reading and writing safetensors files (see safetensors.h).
 *
 * Shared by the compiler (`ganc eval` reads inputs and writes results) and libganrt (checkpoints).
 * Layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
 * {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data buffer that
 * follows the header), an optional "__metadata__" entry, then the little-endian data.
 *
 * The reader trusts nothing in the file: every length and offset is checked against the file's
 * real size before it is used, and each rejection names the file and the reason. The JSON parser
 * is hand-written for exactly this header structure, to keep the runtime free of dependencies.
 * The writer is atomic (temporary file, fsync, rename), so a crash mid-checkpoint never leaves a
 * half-written file under the real name. Byte order is handled explicitly, not assumed. */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno, fsync */
#endif
#include "safetensors.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes "path: message" into err and returns -1, so failures read `return fail(...)`. */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, int errlen, const char *path, const char *fmt, ...)
{
    if (err && errlen > 0) {
        int used = snprintf(err, (size_t)errlen, "%s: ", path);
        if (used >= 0 && used < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + used, (size_t)(errlen - used), fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        fprintf(stderr, "safetensors: out of memory (%zu bytes)\n", size);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* ----- the in-memory file ----------------------------------------------------------------- */

static long element_count(int ndim, const long *shape)
{
    long count = 1;
    for (int k = 0; k < ndim; k++)
        count *= shape[k];
    return count;
}

/* Appends t, taking ownership of its name and data. */
static void push_tensor(StFile *f, StTensor t)
{
    if (f->count == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 8;
        StTensor *grown = realloc(f->tensors, sizeof(StTensor) * (size_t)f->cap);
        if (!grown) {
            fprintf(stderr, "safetensors: out of memory\n");
            abort();
        }
        f->tensors = grown;
    }
    f->tensors[f->count++] = t;
}

int st_add(StFile *f, const char *name, int ndim, const long *shape, const double *data)
{
    assert(ndim >= 0 && ndim <= ST_MAXDIM);
    StTensor t = {0};
    t.ndim = ndim;
    for (int k = 0; k < ndim; k++)
        t.shape[k] = shape[k];
    long count = element_count(ndim, shape);
    size_t bytes = (size_t)count * sizeof(double);
    if (count < 0 || (count && bytes / sizeof(double) != (size_t)count))
        return -1;
    t.data = data ? malloc(bytes ? bytes : 1) : calloc(count ? (size_t)count : 1, sizeof(double));
    if (!t.data)
        return -1; /* the caller names the tensor: a model too large for memory is an error */
    t.name = xstrdup(name);
    if (data && bytes)
        memcpy(t.data, data, bytes);
    push_tensor(f, t);
    return 0;
}

const StTensor *st_find(const StFile *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

void st_free(StFile *f)
{
    for (int i = 0; i < f->count; i++) {
        free(f->tensors[i].name);
        free(f->tensors[i].data);
    }
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

/* ----- little-endian values --------------------------------------------------------------- */

typedef enum { DTYPE_F32, DTYPE_F64 } Dtype;

static int dtype_size(Dtype dtype) { return dtype == DTYPE_F64 ? 8 : 4; }

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int k = 0; k < bytes; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static void encode_value(unsigned char *p, double value, Dtype dtype)
{
    if (dtype == DTYPE_F64) {
        uint64_t bits;
        memcpy(&bits, &value, 8);
        put_le(p, bits, 8);
    } else {
        float narrow = (float)value;
        uint32_t bits;
        memcpy(&bits, &narrow, 4);
        put_le(p, bits, 4);
    }
}

static double decode_value(const unsigned char *p, Dtype dtype)
{
    if (dtype == DTYPE_F64) {
        uint64_t bits = get_le(p, 8);
        double value;
        memcpy(&value, &bits, 8);
        return value;
    }
    uint32_t bits = (uint32_t)get_le(p, 4);
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

/* ----- writing ---------------------------------------------------------------------------- */

/* A growable string for the JSON header. */
typedef struct TextBuffer {
    char *text;
    size_t len, cap;
} TextBuffer;

static void text_append(TextBuffer *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(b->text, cap);
        if (!grown) {
            fprintf(stderr, "safetensors: out of memory\n");
            abort();
        }
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void text_printf(TextBuffer *b, const char *fmt, ...)
{
    char piece[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    assert(n >= 0 && (size_t)n < sizeof piece); /* only used for numbers and short literals */
    text_append(b, piece, (size_t)n);
}

static void text_append_json_string(TextBuffer *b, const char *s)
{
    text_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char escaped[2] = {'\\', (char)*p};
            text_append(b, escaped, 2);
        } else if (*p < 0x20) {
            text_printf(b, "\\u%04x", *p);
        } else {
            text_append(b, (const char *)p, 1);
        }
    }
    text_append(b, "\"", 1);
}

/* The JSON header, padded with spaces so the data buffer starts 8-byte aligned. */
static void build_header(TextBuffer *b, const StFile *f, Dtype dtype)
{
    uint64_t offset = 0;
    text_append(b, "{", 1);
    if (f->metadata) {
        text_append(b, "\"__metadata__\":", strlen("\"__metadata__\":"));
        text_append(b, f->metadata, strlen(f->metadata));
        if (f->count > 0)
            text_append(b, ",", 1);
    }
    for (int i = 0; i < f->count; i++) {
        const StTensor *t = &f->tensors[i];
        uint64_t bytes = (uint64_t)element_count(t->ndim, t->shape) * (uint64_t)dtype_size(dtype);
        if (i > 0)
            text_append(b, ",", 1);
        text_append_json_string(b, t->name);
        text_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", dtype == DTYPE_F64 ? "F64" : "F32");
        for (int k = 0; k < t->ndim; k++)
            text_printf(b, k ? ",%ld" : "%ld", t->shape[k]);
        text_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                    (unsigned long long)(offset + bytes));
        offset += bytes;
    }
    text_append(b, "}", 1);
    while (b->len % 8 != 0)
        text_append(b, " ", 1);
}

/* Converts and writes one tensor's values in chunks; 0 on success. */
static int write_tensor_data(FILE *file, const StTensor *t, Dtype dtype)
{
    enum { CHUNK = 4096 };
    unsigned char bytes[CHUNK * 8];
    long count = element_count(t->ndim, t->shape);
    int size = dtype_size(dtype);
    for (long first = 0; first < count; first += CHUNK) {
        long n = count - first < CHUNK ? count - first : CHUNK;
        for (long i = 0; i < n; i++)
            encode_value(bytes + i * size, t->data[first + i], dtype);
        if (fwrite(bytes, (size_t)size, (size_t)n, file) != (size_t)n)
            return -1;
    }
    return 0;
}

/* Writes the whole file to an open stream and makes it durable; 0 on success. */
static int write_contents(FILE *file, const StFile *f, Dtype dtype)
{
    TextBuffer header = {0};
    build_header(&header, f, dtype);
    unsigned char length[8];
    put_le(length, header.len, 8);
    int status = 0;
    if (fwrite(length, 1, 8, file) != 8 || fwrite(header.text, 1, header.len, file) != header.len)
        status = -1;
    free(header.text);
    for (int i = 0; status == 0 && i < f->count; i++)
        status = write_tensor_data(file, &f->tensors[i], dtype);
    if (status == 0 && fflush(file) != 0)
        status = -1;
    if (status == 0 && fsync(fileno(file)) != 0)
        status = -1;
    return status;
}

int st_write(const char *path, const StFile *f, int as_f64, char *err, int errlen)
{
    Dtype dtype = as_f64 ? DTYPE_F64 : DTYPE_F32;
    size_t tmp_len = strlen(path) + 32;
    char *tmp_path = xmalloc(tmp_len);
    snprintf(tmp_path, tmp_len, "%s.tmp.%ld", path, (long)getpid());

    FILE *file = fopen(tmp_path, "wb");
    if (!file) {
        int saved = errno;
        fail(err, errlen, path, "cannot create %s: %s", tmp_path, strerror(saved));
        free(tmp_path);
        return -1;
    }
    int status = write_contents(file, f, dtype);
    int saved = errno;
    if (fclose(file) != 0 && status == 0) {
        status = -1;
        saved = errno;
    }
    if (status == 0 && rename(tmp_path, path) != 0) {
        status = -1;
        saved = errno;
    }
    if (status != 0) {
        remove(tmp_path);
        fail(err, errlen, path, "write failed: %s", strerror(saved));
    }
    free(tmp_path);
    return status;
}

/* ----- reading: the JSON header ----------------------------------------------------------- */

/* The format's cap on the header (the reference implementation's MAX_HEADER_SIZE): a larger
 * length is a corrupt file, refused before anything else is read. */
enum { MAX_HEADER_BYTES = 100000000 };

typedef struct JsonParser {
    const char *text; /* the header, not NUL-terminated */
    size_t len, pos;
    const char *path; /* for messages */
    char *err;
    int errlen;
} JsonParser;

/* "path: malformed header: expected X at byte N of the header" */
static int expected(JsonParser *p, const char *what)
{
    const char *at_end = p->pos < p->len ? "" : " (the end)";
    return fail(p->err, p->errlen, p->path, "malformed header: expected %s at byte %zu of the header%s",
                what, p->pos, at_end);
}

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void skip_whitespace(JsonParser *p)
{
    while (p->pos < p->len && is_json_space(p->text[p->pos]))
        p->pos++;
}

static int peek(JsonParser *p)
{
    skip_whitespace(p);
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : EOF;
}

/* Consumes c (after whitespace), or fails naming it. */
static int expect_char(JsonParser *p, char c, const char *what)
{
    if (peek(p) != (unsigned char)c)
        return expected(p, what);
    p->pos++;
    return 0;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \uXXXX (the backslash and u already consumed), appended as UTF-8. */
static int parse_unicode_escape(JsonParser *p, TextBuffer *out)
{
    unsigned code = 0;
    for (int k = 0; k < 4; k++) {
        int digit = p->pos < p->len ? hex_digit((unsigned char)p->text[p->pos]) : -1;
        if (digit < 0)
            return expected(p, "4 hex digits after \\u");
        code = code * 16 + (unsigned)digit;
        p->pos++;
    }
    if (code >= 0xD800 && code <= 0xDFFF)
        return fail(p->err, p->errlen, p->path,
                    "malformed header: surrogate \\u escape at byte %zu is not supported", p->pos);
    char utf8[3];
    size_t n;
    if (code < 0x80) {
        utf8[0] = (char)code;
        n = 1;
    } else if (code < 0x800) {
        utf8[0] = (char)(0xC0 | code >> 6);
        utf8[1] = (char)(0x80 | (code & 0x3F));
        n = 2;
    } else {
        utf8[0] = (char)(0xE0 | code >> 12);
        utf8[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        utf8[2] = (char)(0x80 | (code & 0x3F));
        n = 3;
    }
    text_append(out, utf8, n);
    return 0;
}

/* One backslash escape (the backslash already consumed). */
static int parse_escape(JsonParser *p, TextBuffer *out)
{
    static const char plain[] = "\"\\/bfnrt";
    static const char meaning[] = "\"\\/\b\f\n\r\t";
    if (p->pos >= p->len)
        return expected(p, "an escape character");
    char c = p->text[p->pos++];
    if (c == 'u')
        return parse_unicode_escape(p, out);
    const char *at = c ? strchr(plain, c) : NULL;
    if (!at) {
        p->pos--;
        return expected(p, "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
    }
    text_append(out, &meaning[at - plain], 1);
    return 0;
}

/* The length of the well-formed UTF-8 sequence at s (n bytes available), or 0 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    for (size_t k = 1; k < len; k++, lo = 0x80, hi = 0xBF)
        if (s[k] < lo || s[k] > hi)
            return 0;
    return len;
}

/* A JSON string into a malloc'd, NUL-terminated *out (NULL on failure). */
static int parse_string(JsonParser *p, char **out)
{
    *out = NULL;
    if (expect_char(p, '"', "a string") != 0)
        return -1;
    TextBuffer value = {0};
    text_append(&value, "", 0);
    for (;;) {
        if (p->pos >= p->len) {
            free(value.text);
            return expected(p, "a closing '\"'");
        }
        const unsigned char *at = (const unsigned char *)p->text + p->pos;
        size_t len = utf8_length(at, p->len - p->pos);
        p->pos += len ? len : 1;
        if (at[0] == '"')
            break;
        int status = 0;
        if (len == 0) {
            p->pos--;
            status = fail(p->err, p->errlen, p->path,
                          "malformed header: a string is not valid UTF-8 at byte %zu of the header", p->pos);
        } else if (at[0] == '\\') {
            status = parse_escape(p, &value);
        } else if (at[0] < 0x20) {
            p->pos--;
            status = expected(p, "no control character inside a string");
        } else {
            text_append(&value, (const char *)at, len);
        }
        if (status != 0) {
            free(value.text);
            return -1;
        }
    }
    *out = value.text;
    return 0;
}

/* A non-negative JSON integer that fits in a long. */
static int parse_count(JsonParser *p, long *out)
{
    int c = peek(p);
    if (c < '0' || c > '9')
        return expected(p, "a non-negative integer");
    if (c == '0' && p->pos + 1 < p->len && p->text[p->pos + 1] >= '0' && p->text[p->pos + 1] <= '9')
        return fail(p->err, p->errlen, p->path,
                    "malformed header: a number with a leading zero at byte %zu of the header", p->pos);
    long value = 0;
    while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
        int digit = p->text[p->pos] - '0';
        if (value > (LONG_MAX - digit) / 10)
            return fail(p->err, p->errlen, p->path,
                        "malformed header: integer too large at byte %zu of the header", p->pos);
        value = value * 10 + digit;
        p->pos++;
    }
    *out = value;
    return 0;
}

/* [n, n, ...] with at most max entries; what names the array in messages. */
static int parse_count_array(JsonParser *p, long *values, int max, int *count, const char *what)
{
    *count = 0;
    if (expect_char(p, '[', "'['") != 0)
        return -1;
    if (peek(p) == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (*count == max)
            return fail(p->err, p->errlen, p->path, "%s has more than %d entries", what, max);
        if (parse_count(p, &values[(*count)++]) != 0)
            return -1;
        if (peek(p) == ']') {
            p->pos++;
            return 0;
        }
        if (expect_char(p, ',', "',' or ']'") != 0)
            return -1;
    }
}

/* '{' "key": value, ... '}', with member() parsing each value after its key and ':'. Every object
 * of the header (the header, a tensor's description, metadata) is read through this one loop,
 * which also refuses a key given twice (JSON parsers disagree on which one wins). owner names
 * the object in that message ("tensor \"w\"", "__metadata__"; NULL for the header itself). */
typedef int (*MemberFn)(JsonParser *p, const char *key, void *ctx);

typedef struct KeyList {
    char **keys;
    int count, cap;
} KeyList;

static int key_seen(const KeyList *seen, const char *key)
{
    for (int i = 0; i < seen->count; i++)
        if (strcmp(seen->keys[i], key) == 0)
            return 1;
    return 0;
}

/* Keeps key (taking ownership); 0, or -1 when it was there already. */
static int remember_key(KeyList *seen, char *key)
{
    if (key_seen(seen, key)) {
        free(key);
        return -1;
    }
    if (seen->count == seen->cap) {
        seen->cap = seen->cap ? 2 * seen->cap : 8;
        char **grown = realloc(seen->keys, sizeof(char *) * (size_t)seen->cap);
        if (!grown) {
            fprintf(stderr, "safetensors: out of memory\n");
            abort();
        }
        seen->keys = grown;
    }
    seen->keys[seen->count++] = key;
    return 0;
}

static void free_keys(KeyList *seen)
{
    for (int i = 0; i < seen->count; i++)
        free(seen->keys[i]);
    free(seen->keys);
}

static int duplicate_key(JsonParser *p, const char *owner, const char *key)
{
    if (owner)
        return fail(p->err, p->errlen, p->path, "%s: key \"%s\" appears twice", owner, key);
    return fail(p->err, p->errlen, p->path, "\"%s\" appears twice", key);
}

static int parse_members(JsonParser *p, const char *owner, MemberFn member, void *ctx, KeyList *seen)
{
    if (peek(p) == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        char *key;
        if (parse_string(p, &key) != 0)
            return -1;
        if (key_seen(seen, key)) {
            int status = duplicate_key(p, owner, key);
            free(key);
            return status;
        }
        remember_key(seen, key);
        if (expect_char(p, ':', "':'") != 0 || member(p, key, ctx) != 0)
            return -1;
        if (peek(p) == '}') {
            p->pos++;
            return 0;
        }
        if (expect_char(p, ',', "',' or '}'") != 0)
            return -1;
    }
}

static int parse_object(JsonParser *p, const char *opening, const char *owner, MemberFn member, void *ctx)
{
    if (expect_char(p, '{', opening) != 0)
        return -1;
    KeyList seen = {0};
    int status = parse_members(p, owner, member, ctx, &seen);
    free_keys(&seen);
    return status;
}

/* "__metadata__": {"key": "text", ...}: the format allows strings only. */
static int metadata_member(JsonParser *p, const char *key, void *ctx)
{
    (void)ctx;
    if (peek(p) != '"')
        return fail(p->err, p->errlen, p->path, "__metadata__: the value of \"%s\" must be a string", key);
    char *value;
    int status = parse_string(p, &value);
    free(value);
    return status;
}

/* ----- reading: one tensor entry ---------------------------------------------------------- */

typedef struct TensorEntry {
    int has_dtype, has_shape, has_offsets;
    Dtype dtype;
    int ndim;
    long shape[ST_MAXDIM];
    long offsets[2];
} TensorEntry;

static int parse_dtype(JsonParser *p, const char *tensor, Dtype *dtype)
{
    static const char *const unsupported[] = {"BF16", "F16", "F8_E4M3", "F8_E5M2", "I64", "I32",
                                              "I16",  "I8",  "U64",     "U32",     "U16", "U8",
                                              "BOOL"};
    char *name;
    if (parse_string(p, &name) != 0)
        return -1;
    int status = 0;
    if (strcmp(name, "F32") == 0) {
        *dtype = DTYPE_F32;
    } else if (strcmp(name, "F64") == 0) {
        *dtype = DTYPE_F64;
    } else {
        const char *kind = "unknown";
        for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++)
            if (strcmp(name, unsupported[k]) == 0)
                kind = "unsupported";
        status = fail(p->err, p->errlen, p->path,
                      "tensor \"%s\": %s dtype \"%s\" (only F32 and F64 are read)", tensor, kind,
                      name);
    }
    free(name);
    return status;
}

/* One member of a tensor's object: "dtype", "shape", "data_offsets", the format's only keys. */
static int parse_entry_member(JsonParser *p, const char *tensor, const char *key,
                              TensorEntry *entry)
{
    if (strcmp(key, "dtype") == 0) {
        entry->has_dtype = 1;
        return parse_dtype(p, tensor, &entry->dtype);
    }
    if (strcmp(key, "shape") == 0) {
        entry->has_shape = 1;
        return parse_count_array(p, entry->shape, ST_MAXDIM, &entry->ndim, "shape");
    }
    if (strcmp(key, "data_offsets") == 0) {
        int count;
        entry->has_offsets = 1;
        if (parse_count_array(p, entry->offsets, 2, &count, "data_offsets") != 0)
            return -1;
        if (count != 2)
            return fail(p->err, p->errlen, p->path,
                        "tensor \"%s\": data_offsets needs 2 entries, has %d", tensor, count);
        return 0;
    }
    return fail(p->err, p->errlen, p->path,
                "tensor \"%s\": unknown key \"%s\" (only dtype, shape and data_offsets)", tensor, key);
}

typedef struct EntryContext {
    const char *tensor;
    TensorEntry *entry;
} EntryContext;

static int entry_member(JsonParser *p, const char *key, void *ctx)
{
    EntryContext *e = ctx;
    return parse_entry_member(p, e->tensor, key, e->entry);
}

static int parse_entry(JsonParser *p, const char *tensor, TensorEntry *entry)
{
    memset(entry, 0, sizeof *entry);
    EntryContext ctx = {tensor, entry};
    TextBuffer owner = {0};
    text_append(&owner, "tensor ", 7);
    text_append_json_string(&owner, tensor);
    int status = parse_object(p, "'{' opening a tensor's description", owner.text, entry_member, &ctx);
    free(owner.text);
    if (status != 0)
        return -1;
    const char *missing = !entry->has_dtype ? "dtype" : !entry->has_shape ? "shape"
                          : !entry->has_offsets ? "data_offsets" : NULL;
    if (missing)
        return fail(p->err, p->errlen, p->path, "tensor \"%s\": missing \"%s\"", tensor, missing);
    return 0;
}

/* Bytes the entry's shape and dtype need, or -1 if more than limit (so nothing overflows). */
static long entry_bytes(const TensorEntry *entry, size_t limit)
{
    unsigned long bytes = (unsigned long)dtype_size(entry->dtype);
    for (int k = 0; k < entry->ndim; k++) {
        unsigned long dim = (unsigned long)entry->shape[k];
        if (dim != 0 && bytes > limit / dim)
            return -1;
        bytes *= dim;
    }
    return bytes > limit ? -1 : (long)bytes;
}

/* The entry's byte range must lie in the data buffer and hold exactly shape * dtype bytes. */
static int check_entry(JsonParser *p, const char *tensor, const TensorEntry *entry,
                       size_t data_size)
{
    long begin = entry->offsets[0], end = entry->offsets[1];
    if (begin > end || (unsigned long)end > data_size)
        return fail(p->err, p->errlen, p->path,
                    "tensor \"%s\": data_offsets [%ld, %ld] out of range (the data buffer has %zu "
                    "bytes)",
                    tensor, begin, end, data_size);
    long needed = entry_bytes(entry, data_size);
    if (needed < 0)
        return fail(p->err, p->errlen, p->path,
                    "tensor \"%s\": its shape needs more bytes than the file's data buffer (%zu)",
                    tensor, data_size);
    if (needed != end - begin)
        return fail(p->err, p->errlen, p->path,
                    "tensor \"%s\": data_offsets [%ld, %ld] span %ld bytes but its shape and dtype "
                    "need %ld",
                    tensor, begin, end, end - begin, needed);
    return 0;
}

/* A tensor's name and shape from its header entry, no values yet. */
static StTensor entry_tensor(const char *tensor, const TensorEntry *entry)
{
    StTensor t = {.name = xstrdup(tensor), .ndim = entry->ndim};
    memcpy(t.shape, entry->shape, sizeof t.shape);
    return t;
}

static StTensor decode_entry(const char *tensor, const TensorEntry *entry,
                             const unsigned char *data)
{
    StTensor t = entry_tensor(tensor, entry);
    long count = element_count(entry->ndim, entry->shape);
    int size = dtype_size(entry->dtype);
    t.data = xmalloc(sizeof(double) * (size_t)count);
    for (long i = 0; i < count; i++)
        t.data[i] = decode_value(data + entry->offsets[0] + i * size, entry->dtype);
    return t;
}

/* ----- reading: the header as a whole ----------------------------------------------------- */

/* Where each tensor's bytes lie, kept to check the ranges tile the data buffer. */
typedef struct Range {
    long begin, end;
    int tensor; /* index in the StFile */
} Range;

typedef struct HeaderContext {
    const unsigned char *data;
    size_t data_size;
    StFile *out;
    Range *ranges; /* one per tensor of out */
    int shapes_only; /* st_read_shapes: values checked finite in place, not decoded */
} HeaderContext;

static int nonfinite_error(const char *path, const StTensor *t, long flat, double value, char *err, int errlen);

/* st_read_shapes' tensor: its name and shape, data NULL, every value checked finite where it lies
 * in the file (a compiler checking a 5 MB weights file saves decoding it into 10 MB of doubles). */
static int shape_entry(JsonParser *p, const char *tensor, const TensorEntry *entry, const unsigned char *data,
                       StTensor *t)
{
    *t = entry_tensor(tensor, entry);
    long count = element_count(entry->ndim, entry->shape);
    int size = dtype_size(entry->dtype);
    const unsigned char *bytes = data + entry->offsets[0];
    /* NaN and infinity are the values whose exponent bits are all ones: the highest byte's low 7
     * bits and the next byte's top bit (float32) or top 4 bits (float64), little-endian */
    int next_mask = entry->dtype == DTYPE_F64 ? 0xf0 : 0x80;
    for (long i = 0; i < count; i++) {
        const unsigned char *v = bytes + i * size;
        if ((v[size - 1] & 0x7f) != 0x7f || (v[size - 2] & next_mask) != next_mask)
            continue;
        int status = nonfinite_error(p->path, t, i, decode_value(v, entry->dtype), p->err, p->errlen);
        free(t->name);
        return status;
    }
    return 0;
}

static int parse_header_member(JsonParser *p, const char *name, void *ctx)
{
    HeaderContext *h = ctx;
    if (strcmp(name, "__metadata__") == 0)
        return parse_object(p, "'{' opening __metadata__", "__metadata__", metadata_member, NULL);
    TensorEntry entry;
    int status = parse_entry(p, name, &entry);
    if (status == 0)
        status = check_entry(p, name, &entry, h->data_size);
    StTensor t;
    if (status == 0 && h->shapes_only)
        status = shape_entry(p, name, &entry, h->data, &t);
    else if (status == 0)
        t = decode_entry(name, &entry, h->data);
    if (status != 0)
        return status;
    push_tensor(h->out, t);
    Range *grown = realloc(h->ranges, sizeof(Range) * (size_t)h->out->cap);
    if (!grown) {
        fprintf(stderr, "safetensors: out of memory\n");
        abort();
    }
    h->ranges = grown;
    h->ranges[h->out->count - 1] = (Range){entry.offsets[0], entry.offsets[1], h->out->count - 1};
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const Range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The format's rule: sorted by offset, the ranges tile the data buffer exactly, no overlap, no
 * hole, nothing after the last tensor (a header length off by one fails here). */
static int check_ranges(JsonParser *p, const HeaderContext *h)
{
    const StFile *f = h->out;
    if (f->count == 0)
        return h->data_size == 0 ? 0
                                 : fail(p->err, p->errlen, p->path, "%zu bytes of data but no tensor", h->data_size);
    qsort(h->ranges, (size_t)f->count, sizeof(Range), by_offset);
    const Range *prev = NULL;
    for (int i = 0; i < f->count; i++) {
        const Range *r = &h->ranges[i];
        const char *name = f->tensors[r->tensor].name;
        long prev_end = prev ? prev->end : 0;
        if (r->begin < prev_end)
            return fail(p->err, p->errlen, p->path, "tensor \"%s\" [%ld, %ld] overlaps tensor \"%s\" [%ld, %ld]", name,
                        r->begin, r->end, f->tensors[prev->tensor].name, prev->begin, prev->end);
        if (r->begin > prev_end && !prev)
            return fail(p->err, p->errlen, p->path,
                        "tensor \"%s\" starts at byte %ld, but the first tensor must start at byte 0", name,
                        r->begin);
        if (r->begin > prev_end)
            return fail(p->err, p->errlen, p->path,
                        "tensor \"%s\" starts at byte %ld, leaving a hole of %ld bytes after tensor \"%s\"", name,
                        r->begin, r->begin - prev_end, f->tensors[prev->tensor].name);
        prev = r;
    }
    if ((size_t)prev->end != h->data_size)
        return fail(p->err, p->errlen, p->path,
                    "%zu bytes after the end of tensor \"%s\", the last one, that no tensor covers",
                    h->data_size - (size_t)prev->end, f->tensors[prev->tensor].name);
    return 0;
}

static int parse_header(JsonParser *p, const unsigned char *data, size_t data_size, StFile *out, int shapes_only)
{
    HeaderContext ctx = {data, data_size, out, NULL, shapes_only};
    int status = 0;
    if (p->len == 0 || p->text[0] != '{') /* the format forbids anything before it */
        status = expected(p, "'{' opening the header");
    if (status == 0)
        status = parse_object(p, "'{' opening the header", NULL, parse_header_member, &ctx);
    while (status == 0 && p->pos < p->len && p->text[p->pos] == ' ') /* the only padding allowed */
        p->pos++;
    if (status == 0 && p->pos < p->len)
        status = expected(p, "only spaces after the header's closing '}'");
    if (status == 0)
        status = check_ranges(p, &ctx);
    free(ctx.ranges);
    return status;
}

/* ----- reading: the file ------------------------------------------------------------------ */

/* The whole file into a malloc'd buffer. */
static int read_whole_file(const char *path, unsigned char **bytes, size_t *size, char *err,
                           int errlen)
{
    *bytes = NULL;
    FILE *file = fopen(path, "rb");
    if (!file)
        return fail(err, errlen, path, "%s", strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return fail(err, errlen, path, "not a regular file");
    }
    *size = (size_t)info.st_size;
    *bytes = malloc(*size ? *size : 1);
    if (!*bytes) {
        fclose(file);
        return fail(err, errlen, path, "out of memory for its %zu bytes", *size);
    }
    size_t got = fread(*bytes, 1, *size, file);
    fclose(file);
    if (got != *size) {
        free(*bytes);
        *bytes = NULL;
        return fail(err, errlen, path, "read error after %zu of %zu bytes", got, *size);
    }
    return 0;
}

static int parse_file(const char *path, const unsigned char *bytes, size_t size, StFile *out, int shapes_only,
                      char *err, int errlen)
{
    memset(out, 0, sizeof *out);
    uint64_t header_len = size >= 8 ? get_le(bytes, 8) : 0;
    int status;
    if (size < 8)
        status = fail(err, errlen, path,
                      "truncated: the file has %zu bytes, fewer than the 8-byte header length", size);
    else if (header_len > MAX_HEADER_BYTES)
        status = fail(err, errlen, path, "header length %llu is more than the format's limit of %d bytes",
                      (unsigned long long)header_len, MAX_HEADER_BYTES);
    else if (header_len > size - 8)
        status = fail(err, errlen, path, "truncated: header says %llu bytes but the file has %zu",
                      (unsigned long long)header_len, size);
    else {
        JsonParser parser = {(const char *)bytes + 8, (size_t)header_len, 0, path, err, errlen};
        status = parse_header(&parser, bytes + 8 + header_len, size - 8 - (size_t)header_len, out, shapes_only);
    }
    if (status != 0)
        st_free(out);
    return status;
}

int st_parse(const char *path, const unsigned char *bytes, size_t size, StFile *out, char *err, int errlen)
{
    return parse_file(path, bytes, size, out, 0, err, errlen);
}

int st_parse_shapes(const char *path, const unsigned char *bytes, size_t size, StFile *out, char *err, int errlen)
{
    return parse_file(path, bytes, size, out, 1, err, errlen);
}

static int read_file(const char *path, StFile *out, int shapes_only, char *err, int errlen)
{
    memset(out, 0, sizeof *out);
    unsigned char *bytes;
    size_t size = 0;
    if (read_whole_file(path, &bytes, &size, err, errlen) != 0)
        return -1;
    int status = parse_file(path, bytes, size, out, shapes_only, err, errlen);
    free(bytes);
    return status;
}

int st_read(const char *path, StFile *out, char *err, int errlen) { return read_file(path, out, 0, err, errlen); }

int st_read_shapes(const char *path, StFile *out, char *err, int errlen)
{
    return read_file(path, out, 1, err, errlen);
}

/* "[i,j,k]": the multi-dimensional index of flat position `flat` in shape. */
static void format_index(char *buf, size_t cap, const StTensor *t, long flat)
{
    long index[ST_MAXDIM];
    for (int k = t->ndim - 1; k >= 0; k--) {
        index[k] = t->shape[k] ? flat % t->shape[k] : 0;
        flat = t->shape[k] ? flat / t->shape[k] : 0;
    }
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int k = 0; k < t->ndim && used < cap; k++)
        used += (size_t)snprintf(buf + used, cap - used, k ? ",%ld" : "%ld", index[k]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

/* "path: tensor \"w\": nan at index [1,0] (values must be finite)", -1. */
static int nonfinite_error(const char *path, const StTensor *t, long flat, double value, char *err, int errlen)
{
    char index[ST_MAXDIM * 21 + 3];
    format_index(index, sizeof index, t, flat);
    return fail(err, errlen, path, "tensor \"%s\": %s at index %s (values must be finite)", t->name,
                isnan(value) ? "nan" : value > 0 ? "inf" : "-inf", index);
}

int st_check_finite(const char *path, const StFile *f, char *err, int errlen)
{
    for (int i = 0; i < f->count; i++) {
        const StTensor *t = &f->tensors[i];
        long n = element_count(t->ndim, t->shape);
        for (long j = 0; j < n; j++)
            if (!isfinite(t->data[j]))
                return nonfinite_error(path, t, j, t->data[j], err, errlen);
    }
    return 0;
}

int st_read_finite(const char *path, StFile *out, char *err, int errlen)
{
    if (st_read(path, out, err, errlen) != 0)
        return -1;
    if (st_check_finite(path, out, err, errlen) == 0)
        return 0;
    st_free(out);
    return -1;
}
