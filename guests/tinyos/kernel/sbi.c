/* sbi.c: calls into the SBI provider (the BIOS, resident in M-mode).
 *
 * SBI v2.0 binary encoding (chapter 3): a7 = extension id, a6 = function id,
 * arguments in a0..a5; the call returns a0 = error, a1 = value.  Extension ids
 * come from csrc/abi.h.  The console goes through the SBI only until uart.c is up.
 */
#include "abi.h"
#include "defs.h"
#include "riscv.h"

#define SRST_SHUTDOWN      0   /* SRST reset_type (SBI 10.1) */
#define SRST_COLD_REBOOT   1
#define SRST_REASON_NONE   0   /* reset_reason */
#define SRST_REASON_FAILURE 1

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

/* DBCN console_write (SBI 12.1): a0 = bytes, a1/a2 = physical address low/high.
 * Used before paging and the UART are up, when a pointer is its physical address;
 * falls back to the legacy one-byte putchar.  Returns 0. */
int sbi_console_write(const void *buf, uint32 n)
{
    const char *p = buf;
    while (n > 0) {
        struct sbiret r = sbi_call(SBI_EXT_DBCN, 0, n, (uint32)p, 0);
        if (r.error != SBI_SUCCESS || r.value > n)
            break;
        p += r.value;
        n -= r.value;
    }
    while (n--)
        sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, (uint8)*p++, 0, 0);
    return 0;
}

/* TIME set_timer (SBI 6.1): raise STIP at absolute time t (10 MHz ticks); the
 * call clears a pending STIP, so a far-future t disarms the timer. */
void sbi_set_timer(uint64 t)
{
    sbi_call(SBI_EXT_TIME, 0, (uint32)t, (uint32)(t >> 32), 0);
}

/* SRST system_reset (SBI 10.1), shutdown: reason 0 (pyhv exits 0) or failure. */
void sbi_shutdown(int failure)
{
    sbi_call(SBI_EXT_SRST, 0, SRST_SHUTDOWN, failure ? SRST_REASON_FAILURE : SRST_REASON_NONE, 0);
    for (;;)
        wfi();
}

/* SRST system_reset, cold reboot: the BIOS starts over from the boot disk. */
void sbi_reboot(void)
{
    sbi_call(SBI_EXT_SRST, 0, SRST_COLD_REBOOT, SRST_REASON_NONE, 0);
    sbi_shutdown(1);  /* the reboot was refused */
}
