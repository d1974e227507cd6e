/* malloc.c: the user heap: a first-fit free list on memory from sbrk.
 *
 * Every block starts with an 8-byte header; a block's size counts the header
 * and is a multiple of 8, so payloads are 8-byte aligned.  Free blocks sit on
 * one list sorted by address, and free() merges a block with its free
 * neighbours.  The heap grows by at least HEAP_GROW bytes at a time and is
 * never given back to the kernel.
 */
#include "ulib.h"

#define HEAP_GROW 4096

struct block {
    size_t size;          /* bytes, header included */
    struct block *next;   /* next free block by address (free blocks only) */
};

static struct block *free_list;   /* lowest address first */

void free(void *p)
{
    if (p == NULL)
        return;
    struct block *b = (struct block *)p - 1;
    struct block *prev = NULL, *cur = free_list;
    while (cur && cur < b)
        prev = cur, cur = cur->next;

    b->next = cur;                                    /* merge with the one after */
    if (cur && (char *)b + b->size == (char *)cur) {
        b->size += cur->size;
        b->next = cur->next;
    }
    if (prev && (char *)prev + prev->size == (char *)b) {   /* and the one before */
        prev->size += b->size;
        prev->next = b->next;
    } else if (prev) {
        prev->next = b;
    } else {
        free_list = b;
    }
}

/* Add at least `need` bytes from sbrk to the free list; 0 if the kernel refuses. */
static int heap_grow(size_t need)
{
    size_t n = need < HEAP_GROW ? HEAP_GROW : (need + HEAP_GROW - 1) & ~(size_t)(HEAP_GROW - 1);
    if ((int)n <= 0)
        return 0;
    char *p = sbrk((int)n);
    if (p == (char *)-1)
        return 0;
    if ((unsigned int)p & 7) {   /* someone else moved the break by an odd amount */
        p += 8 - ((unsigned int)p & 7);
        n -= 8;
    }
    struct block *b = (struct block *)p;
    b->size = n;
    free(b + 1);
    return 1;
}

void *malloc(size_t n)
{
    if (n == 0 || n > 0x7ffff000u)
        return NULL;
    size_t need = (n + sizeof(struct block) + 7) & ~(size_t)7;
    for (;;) {
        struct block *prev = NULL, *b = free_list;
        for (; b; prev = b, b = b->next) {
            if (b->size < need)
                continue;
            if (b->size - need >= 2 * sizeof(struct block)) {   /* hand out the tail */
                b->size -= need;
                b = (struct block *)((char *)b + b->size);
                b->size = need;
            } else if (prev) {
                prev->next = b->next;
            } else {
                free_list = b->next;
            }
            return b + 1;
        }
        if (!heap_grow(need))
            return NULL;
    }
}
