/* string.c: the memory and string routines the kernel (and the compiler,
 * which may emit calls to memset/memcpy for struct copies) relies on. */
#include "defs.h"

void *memset(void *dst, int c, uint32 n)
{
    uint8 *d = dst;
    while (n--)
        *d++ = (uint8)c;
    return dst;
}

void *memcpy(void *dst, const void *src, uint32 n)
{
    return memmove(dst, src, n);
}

void *memmove(void *dst, const void *src, uint32 n)
{
    uint8 *d = dst;
    const uint8 *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, uint32 n)
{
    const uint8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

uint32 strlen(const char *s)
{
    uint32 n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, uint32 n)
{
    for (; n && *a && *a == *b; n--, a++, b++)
        ;
    return n ? (uint8)*a - (uint8)*b : 0;
}
