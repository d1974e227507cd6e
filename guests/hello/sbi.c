/* sbi.c: calls into the SBI provider (the BIOS, in M-mode).
 *
 * SBI v2.0 binary encoding (chapter 3): a7 = extension id, a6 = function id,
 * arguments in a0..a5; the call returns a0 = error, a1 = value.  Extension ids
 * come from csrc/abi.h.
 */
#include "abi.h"
#include "defs.h"

struct sbiret {
    int32 error;
    uint32 value;
};

static struct sbiret sbi_call(uint32 eid, uint32 fid, uint32 arg0, uint32 arg1, uint32 arg2)
{
    register uint32 a0 __asm__("a0") = arg0;
    register uint32 a1 __asm__("a1") = arg1;
    register uint32 a2 __asm__("a2") = arg2;
    register uint32 a6 __asm__("a6") = fid;
    register uint32 a7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){(int32)a0, a1};
}

/* Legacy console_putchar (SBI 5.2): slow, one trap per byte; the fallback. */
void sbi_putchar(int c)
{
    sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, (uint32)c, 0, 0);
}

/* DBCN console_write (SBI 12.1): a0 = bytes, a1/a2 = physical address low/high.
 * The kernel maps itself 1:1, so a kernel pointer is its physical address.
 * Returns 0 when everything was written, else the SBI error. */
int sbi_console_write(const void *buf, uint32 n)
{
    const char *p = buf;
    while (n > 0) {
        struct sbiret r = sbi_call(SBI_EXT_DBCN, 0, n, (uint32)p, 0);
        if (r.error != SBI_SUCCESS)
            return r.error;
        if (r.value > n)
            return SBI_ERR_FAILED;
        p += r.value;
        n -= r.value;
    }
    return 0;
}

/* TIME set_timer (SBI 6.1): raise STIP at absolute time t (10 MHz ticks); the
 * call clears a pending STIP, so a far-future t disarms the timer. */
void sbi_set_timer(uint64 t)
{
    sbi_call(SBI_EXT_TIME, 0, (uint32)t, (uint32)(t >> 32), 0);
}

/* SRST system_reset (SBI 10.1): type 0 = shutdown; reason 0 = none (pyhv
 * exits 0), 1 = system failure. */
void sbi_shutdown(int failure)
{
    sbi_call(SBI_EXT_SRST, 0, 0, failure ? 1 : 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}
