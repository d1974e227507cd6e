/* crc32.c: CRC-32 as zlib.crc32 computes it (IEEE 802.3; reflected polynomial
 * 0xEDB88320, initial value and final xor 0xffffffff), for the boot header and
 * the kernel.  The 1 KiB table lives in .bss and is filled by crc32_init.
 */
#include "defs.h"

#define CRC32_POLY 0xedb88320u

static uint32_t table[256];

void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32_POLY : c >> 1;
        table[i] = c;
    }
}

uint32_t crc32(const void *data, uint32_t n)
{
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    while (n--)
        c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}
