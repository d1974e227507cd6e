/* power.c: power off, reboot and failure exits through the sifive_test finisher.
 *
 * One 32-bit store to PYHV_FINISHER_BASE ends or resets the machine (QEMU
 * hw/misc/sifive_test.c semantics): PASS, RESET, or (code << 16) | FAIL, which
 * pyhv turns into its exit status.  The store takes effect at once, but the
 * hart may run a few more instructions before pyhv stops it: halt() parks it.
 */
#include "defs.h"

static NORETURN void finish(uint32_t command)
{
    mmio_write32(PYHV_FINISHER_BASE, command);
    halt();
}

void power_off(void)
{
    finish(PYHV_FINISHER_PASS);
}

void power_reboot(void)
{
    finish(PYHV_FINISHER_RESET);
}

void power_fail(uint32_t code)
{
    finish((code << 16) | PYHV_FINISHER_FAIL);
}
