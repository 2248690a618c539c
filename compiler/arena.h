/* arena.h: bump allocation for the compiler's long-lived data (AST, IR, names).
 *
 * Every stage allocates from one Arena that lives as long as the compilation; nothing is freed
 * one by one, so the compiler cannot leak what it never frees individually: arena_free() at exit
 * returns every block. A process that compiles many programs in turn (the front-end fuzz target)
 * calls arena_reset() between them instead, so it does not return and re-fault the same pages
 * for every program. */
#ifndef GANC_ARENA_H
#define GANC_ARENA_H
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena { ArenaBlock *head, *spare; } Arena; /* spare: blocks arena_reset kept */

void *arena_alloc(Arena *a, size_t size);          /* zeroed, aligned to 16 bytes */
void *arena_grow(Arena *a, void *old, size_t old_size, size_t new_size); /* copy into a bigger block */
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a);
void arena_reset(Arena *a); /* forget every allocation but keep the blocks for the next ones */

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* Append to an arena-backed dynamic array: ptr, count and capacity are lvalues. */
#define ARENA_PUSH(a, ptr, count, cap, value)                                                  \
    do {                                                                                      \
        if ((count) == (cap)) {                                                               \
            int new_cap_ = (cap) ? 2 * (cap) : 8;                                             \
            (ptr) = arena_grow((a), (ptr), sizeof(*(ptr)) * (size_t)(cap),                    \
                               sizeof(*(ptr)) * (size_t)new_cap_);                            \
            (cap) = new_cap_;                                                                 \
        }                                                                                     \
        (ptr)[(count)++] = (value);                                                           \
    } while (0)

#endif
