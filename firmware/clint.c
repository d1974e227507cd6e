/* clint.c: the CLINT's mtime, mtimecmp and msip (SiFive FU540 manual ch. 9).
 *
 * Register halves are accessed as 32-bit words.  The M timer interrupt is
 * pending while mtime >= mtimecmp; the M software interrupt while msip bit 0 is
 * set.  What those interrupts mean to S-mode is trap.c's business.
 */
#include "defs.h"
#include "memlayout.h"

uint64_t clint_mtime(void)
{
    uint32_t hi, lo;
    do {    /* re-read if the low word wrapped between the two reads */
        hi = mmio_read32(CLINT_MTIME + 4);
        lo = mmio_read32(CLINT_MTIME);
    } while (mmio_read32(CLINT_MTIME + 4) != hi);
    return ((uint64_t)hi << 32) | lo;
}

/* Three stores so that mtimecmp never passes through a value below both the
 * old and the new one (no spurious match): high = all ones, low, high. */
void clint_set_mtimecmp(uint32_t hart, uint64_t when)
{
    mmio_write32(CLINT_MTIMECMP(hart) + 4, 0xffffffffu);
    mmio_write32(CLINT_MTIMECMP(hart), (uint32_t)when);
    mmio_write32(CLINT_MTIMECMP(hart) + 4, (uint32_t)(when >> 32));
}

void clint_set_msip(uint32_t hart, int level)
{
    mmio_write32(CLINT_MSIP(hart), level ? 1 : 0);
}
