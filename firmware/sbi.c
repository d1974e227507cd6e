/* sbi.c: the resident SBI implementation (RISC-V SBI specification v2.0).
 *
 * An ecall from S arrives here with a7 = extension ID, a6 = function ID and the
 * arguments in a0..a5; the result goes back in a0 (error) and a1 (value), except
 * for the legacy extensions (0x00..0x0F), which return a single value in a0.
 * Implemented: legacy set_timer, console_putchar, console_getchar, shutdown;
 * Base, TIME, IPI, RFENCE (fence.i and sfence.vma; no hypervisor fences), HSM,
 * SRST and DBCN.  Anything else is SBI_ERR_NOT_SUPPORTED.  What concerns other
 * harts is done by hsm.c.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

#define SBI_SPEC_VERSION  0x02000000      /* v2.0: major in bits 30..24, minor in 23..0 */
#define SBI_IMPL_ID_PYHV  0x70796876      /* "pyhv"; not in the spec's table of IDs */
#define SBI_IMPL_VERSION  ((BIOS_VERSION_MAJOR << 16) | BIOS_VERSION_MINOR)

/* Function IDs (spec chapters 4, 6, 7, 8, 9, 10, 12). */
#define BASE_GET_SPEC_VERSION  0
#define BASE_GET_IMPL_ID       1
#define BASE_GET_IMPL_VERSION  2
#define BASE_PROBE_EXTENSION   3
#define BASE_GET_MVENDORID     4
#define BASE_GET_MARCHID       5
#define BASE_GET_MIMPID        6
#define TIME_SET_TIMER         0
#define IPI_SEND_IPI           0
#define RFENCE_FENCE_I         0
#define RFENCE_SFENCE_VMA      1
#define RFENCE_SFENCE_VMA_ASID 2
#define HSM_HART_START         0
#define HSM_HART_STOP          1
#define HSM_HART_GET_STATUS    2
#define HSM_HART_SUSPEND       3
#define SRST_SYSTEM_RESET      0
#define DBCN_CONSOLE_WRITE     0
#define DBCN_CONSOLE_READ      1
#define DBCN_CONSOLE_WRITE_BYTE 2

/* SRST arguments */
#define SRST_TYPE_SHUTDOWN     0
#define SRST_TYPE_COLD_REBOOT  1
#define SRST_TYPE_WARM_REBOOT  2
#define SRST_REASON_NONE       0
#define SRST_REASON_FAILURE    1

struct sbiret {
    int32_t error;
    uint32_t value;
};

static struct sbiret ok(uint32_t value)
{
    return (struct sbiret){ SBI_SUCCESS, value };
}

/* An error code and no value; err(SBI_SUCCESS) is a success with value 0. */
static struct sbiret err(int32_t error)
{
    return (struct sbiret){ error, 0 };
}

static int implemented(uint32_t eid)
{
    switch (eid) {
    case SBI_EXT_LEGACY_SET_TIMER:
    case SBI_EXT_LEGACY_PUTCHAR:
    case SBI_EXT_LEGACY_GETCHAR:
    case SBI_EXT_LEGACY_SHUTDOWN:
    case SBI_EXT_BASE:
    case SBI_EXT_TIME:
    case SBI_EXT_IPI:
    case SBI_EXT_SRST:
    case SBI_EXT_DBCN:
    case SBI_EXT_HSM:
    case SBI_EXT_RFENCE:
        return 1;
    }
    return 0;
}

/* Program the next S timer event: it fires as an M timer interrupt (trap.c),
 * and the pending S timer interrupt is withdrawn until then. */
static void set_timer(uint32_t lo, uint32_t hi)
{
    clint_set_mtimecmp(this_hart(), ((uint64_t)hi << 32) | lo);
    csr_clear(mip, MIP_STIP);
}

static struct sbiret base(uint32_t fid, uint32_t a0)
{
    switch (fid) {
    case BASE_GET_SPEC_VERSION:
        return ok(SBI_SPEC_VERSION);
    case BASE_GET_IMPL_ID:
        return ok(SBI_IMPL_ID_PYHV);
    case BASE_GET_IMPL_VERSION:
        return ok(SBI_IMPL_VERSION);
    case BASE_PROBE_EXTENSION:
        return ok(implemented(a0));
    case BASE_GET_MVENDORID:
    case BASE_GET_MARCHID:
    case BASE_GET_MIMPID:
        return ok(0);
    }
    return err(SBI_ERR_NOT_SUPPORTED);
}

/* RFENCE (chapter 8): the range and ASID only narrow what must be flushed, and
 * each target flushes its whole TLB; the call returns once every started target
 * has done it.  The hypervisor fences (functions 3..6) need the H extension. */
static struct sbiret rfence(uint32_t fid, uint32_t mask, uint32_t base)
{
    if (fid == RFENCE_FENCE_I)
        return err(hsm_send(mask, base, HSM_MSG_FENCE_I, 1));
    if (fid == RFENCE_SFENCE_VMA || fid == RFENCE_SFENCE_VMA_ASID)
        return err(hsm_send(mask, base, HSM_MSG_SFENCE, 1));
    return err(SBI_ERR_NOT_SUPPORTED);
}

/* HSM (chapter 9). */
static struct sbiret hsm(uint32_t fid, uint32_t a0, uint32_t a1, uint32_t a2)
{
    uint32_t state;
    int32_t e;
    switch (fid) {
    case HSM_HART_START:
        return err(hsm_start(a0, a1, a2));
    case HSM_HART_STOP:
        hsm_stop();
    case HSM_HART_GET_STATUS:
        e = hsm_status(a0, &state);
        return e ? err(e) : ok(state);
    case HSM_HART_SUSPEND:
        return err(hsm_suspend(a0, a1, a2));
    }
    return err(SBI_ERR_NOT_SUPPORTED);
}

static struct sbiret system_reset(uint32_t type, uint32_t reason)
{
    if (type > SRST_TYPE_WARM_REBOOT || reason > SRST_REASON_FAILURE)
        return err(SBI_ERR_INVALID_PARAM);  /* reserved or vendor values */
    if (type != SRST_TYPE_SHUTDOWN)
        power_reboot();
    if (reason == SRST_REASON_FAILURE)
        power_fail(1);
    power_off();
}

/* DBCN buffers are physical addresses; M reads and writes them directly, so
 * they must lie entirely in RAM (a fault here would be a trap inside M) that
 * S-mode may touch itself: never the BIOS's own data, which PMP hides from S. */
static int in_ram(uint32_t n, uint32_t lo, uint32_t hi)
{
    return hi == 0 && lo >= FW_RAM_END && lo >= ram_base && (uint64_t)lo + n <= ram_end;
}

static struct sbiret dbcn(uint32_t fid, uint32_t n, uint32_t lo, uint32_t hi)
{
    uint8_t *p = (uint8_t *)lo;
    uint32_t i = 0;
    switch (fid) {
    case DBCN_CONSOLE_WRITE:
        if (!in_ram(n, lo, hi))
            return err(SBI_ERR_INVALID_PARAM);
        for (; i < n; i++)
            uart_putc(p[i]);
        return ok(n);
    case DBCN_CONSOLE_READ:
        if (!in_ram(n, lo, hi))
            return err(SBI_ERR_INVALID_PARAM);
        for (int c; i < n && (c = uart_getc()) >= 0; i++)
            p[i] = (uint8_t)c;
        return ok(i);
    case DBCN_CONSOLE_WRITE_BYTE:
        uart_putc(n & 0xff);
        return ok(0);
    }
    return err(SBI_ERR_NOT_SUPPORTED);
}

/* Legacy extensions 0x00..0x0F (spec chapter 5): one result, in a0. */
static void legacy(uint32_t *x, uint32_t eid)
{
    switch (eid) {
    case SBI_EXT_LEGACY_SET_TIMER:
        set_timer(x[REG_A0], x[REG_A1]);
        x[REG_A0] = 0;
        break;
    case SBI_EXT_LEGACY_PUTCHAR:
        uart_putc(x[REG_A0] & 0xff);
        x[REG_A0] = 0;
        break;
    case SBI_EXT_LEGACY_GETCHAR:
        x[REG_A0] = (uint32_t)uart_getc();
        break;
    case SBI_EXT_LEGACY_SHUTDOWN:
        power_off();
    default:
        x[REG_A0] = (uint32_t)SBI_ERR_NOT_SUPPORTED;
        break;
    }
}

void sbi_ecall(struct trapframe *tf)
{
    uint32_t *x = tf->x;
    uint32_t eid = x[REG_A7], fid = x[REG_A6], a0 = x[REG_A0], a1 = x[REG_A1], a2 = x[REG_A2];
    struct sbiret r;

    if (eid < SBI_EXT_BASE) {
        legacy(x, eid);
        return;
    }
    switch (eid) {
    case SBI_EXT_BASE:
        r = base(fid, a0);
        break;
    case SBI_EXT_TIME:
        if (fid == TIME_SET_TIMER) {
            set_timer(a0, a1);
            r = ok(0);
        } else {
            r = err(SBI_ERR_NOT_SUPPORTED);
        }
        break;
    case SBI_EXT_IPI:
        r = fid == IPI_SEND_IPI ? err(hsm_send(a0, a1, HSM_MSG_SSIP, 0)) : err(SBI_ERR_NOT_SUPPORTED);
        break;
    case SBI_EXT_RFENCE:
        r = rfence(fid, a0, a1);
        break;
    case SBI_EXT_HSM:
        r = hsm(fid, a0, a1, a2);
        break;
    case SBI_EXT_SRST:
        r = fid == SRST_SYSTEM_RESET ? system_reset(a0, a1) : err(SBI_ERR_NOT_SUPPORTED);
        break;
    case SBI_EXT_DBCN:
        r = dbcn(fid, a0, a1, a2);
        break;
    default:
        r = err(SBI_ERR_NOT_SUPPORTED);
        break;
    }
    x[REG_A0] = (uint32_t)r.error;
    x[REG_A1] = r.value;
}
