/* string.c: the memory and string routines the kernel (and the compiler, which
 * may emit calls to memset/memcpy for struct copies) relies on.  memset and
 * memmove go a word at a time when both ends allow it: page zeroing and block
 * copies are most of what they do. */
#include "defs.h"

void *memset(void *dst, int c, uint n)
{
    uint8 *d = dst;
    if ((((uint32)d | n) & 3) == 0) {
        uint32 w = (uint8)c * 0x01010101u;
        for (uint32 *p = dst; n; n -= 4)
            *p++ = w;
        return dst;
    }
    while (n--)
        *d++ = (uint8)c;
    return dst;
}

void *memmove(void *dst, const void *src, uint n)
{
    uint8 *d = dst;
    const uint8 *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n) {
        if ((((uint32)d | (uint32)s) & 3) == 0) {
            for (; n >= 4; n -= 4, d += 4, s += 4)
                *(uint32 *)d = *(const uint32 *)s;
        }
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

void *memcpy(void *dst, const void *src, uint n)
{
    return memmove(dst, src, n);
}

int memcmp(const void *a, const void *b, uint n)
{
    const uint8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

int strlen(const char *s)
{
    int n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, uint n)
{
    for (; n && *a && *a == *b; n--, a++, b++)
        ;
    return n ? (uint8)*a - (uint8)*b : 0;
}

/* Copy at most n bytes, padding with NULs; no terminator if src is that long. */
char *strncpy(char *dst, const char *src, int n)
{
    char *d = dst;
    while (n > 0 && *src) {
        *d++ = *src++;
        n--;
    }
    while (n-- > 0)
        *d++ = 0;
    return dst;
}

/* Like strncpy, but always NUL-terminated (n > 0) and never padded. */
char *safestrcpy(char *dst, const char *src, int n)
{
    char *d = dst;
    if (n <= 0)
        return dst;
    while (--n > 0 && *src)
        *d++ = *src++;
    *d = 0;
    return dst;
}
