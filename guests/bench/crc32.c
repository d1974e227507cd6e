/* crc32.c: CRC-32 (IEEE 802.3, reflected, zlib's crc32) over 256 KiB of LCG data,
 * byte at a time through a 256-entry table built each repetition. */
#include "bench.h"

#define CRC_BYTES (256 * 1024)

static uint32_t buf[CRC_BYTES / 4];
static uint32_t table[256];

uint32_t workload(void)
{
    uint32_t seed = 1;
    for (int i = 0; i < CRC_BYTES / 4; i++)
        buf[i] = lcg(&seed);
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t crc = 0xFFFFFFFFu;
    for (int i = 0; i < CRC_BYTES; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}
