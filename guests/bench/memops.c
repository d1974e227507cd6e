/* memops.c: large memset and memcpy over two 1 MiB buffers, 4 rounds of
 * memset(a, 0x11 (k + 1)); a[4099 k] ^= 0x9e3779b9 k; memcpy(b, a); memcpy(a, b + 4 KiB, 1 MiB - 4 KiB);
 * checksum: the sum of every 16th word of a and of b. */
#include "bench.h"

#define BYTES (1024 * 1024)
#define WORDS (BYTES / 4)

static uint32_t a[WORDS], b[WORDS];

uint32_t workload(void)
{
    for (uint32_t k = 0; k < 4; k++) {
        memset(a, (int)(0x11 * (k + 1)), BYTES);
        a[4099 * k] ^= 0x9e3779b9u * k;
        memcpy(b, a, BYTES);
        memcpy(a, (const char *)b + 4096, BYTES - 4096);
    }
    uint32_t sum = 0;
    for (int i = 0; i < WORDS; i += 16)
        sum += a[i] + b[i];
    return sum;
}
