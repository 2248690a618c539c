/* arena.c: the bump allocator behind arena.h. Blocks are chained; a request larger than the
 * default block size gets a block of its own. */
#include "arena.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK_SIZE = 1 << 20 };

/* A block of at least cap bytes: a spare one left by arena_reset if one is big enough. */
static ArenaBlock *take_block(Arena *a, size_t cap) {
    for (ArenaBlock **p = &a->spare; *p; p = &(*p)->next)
        if ((*p)->size >= cap) {
            ArenaBlock *b = *p;
            *p = b->next;
            b->used = 0;
            return b;
        }
    ArenaBlock *b = malloc(sizeof(ArenaBlock) + cap);
    if (!b) {
        fprintf(stderr, "ganc: out of memory\n");
        exit(1);
    }
    b->used = 0;
    b->size = cap;
    return b;
}

void *arena_alloc(Arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    ArenaBlock *b = a->head;
    if (!b || b->used + size > b->size) {
        b = take_block(a, size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *arena_grow(Arena *a, void *old, size_t old_size, size_t new_size) {
    void *p = arena_alloc(a, new_size);
    if (old && old_size) memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

char *arena_strdup(Arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(arena_alloc(a, n), s, n);
}

char *arena_printf(Arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void free_chain(ArenaBlock *b) {
    for (ArenaBlock *next; b; b = next) {
        next = b->next;
        free(b);
    }
}

void arena_free(Arena *a) {
    free_chain(a->head);
    free_chain(a->spare);
    a->head = a->spare = NULL;
}

void arena_reset(Arena *a) {
    while (a->head) {
        ArenaBlock *b = a->head;
        a->head = b->next;
        b->next = a->spare;
        a->spare = b;
    }
}
