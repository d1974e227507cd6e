/* hsm.c: the harts.  Each one's way into S-mode (PMP, delegation, interrupts),
 * its SBI HSM state (SBI spec v2.0 chapter 9: start, stop, status, suspend) and
 * the messages harts send each other for the IPI and RFENCE extensions
 * (chapters 7 and 8).  sbi.c decodes the calls; this file does them.
 *
 * Every hart starts in entry.S; all but hart 0 wait in hsm_park on their own M
 * stack.  A message (HSM_MSG_*) is a bit in the target's `pending` word, set
 * with an AMO, then the target's CLINT msip: the target clears msip first, then
 * takes and acts on the bits (trap.c), so no message is lost between the two.  RFENCE
 * waits until each target has done its fence; a waiting hart serves its own
 * messages meanwhile, so two harts fencing each other both finish.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

/* hart_start claims a stopped hart with this state, fills in entry and arg,
 * then makes it START_PENDING: the parked hart reads them only after that. */
#define HART_CLAIMED 0x100u

struct hart {
    volatile uint32_t state;        /* SBI_HSM_*, or HART_CLAIMED */
    volatile uint32_t pending;      /* HSM_MSG_* bits not yet acted on */
    uint32_t entry, arg;            /* where hart_start (or a non-retentive resume) goes */
};

static struct hart harts[FW_MAX_HARTS];
uint32_t nharts;                    /* from the DTB (hsm_init) */

/* The hart running this M code: mscratch (the M stack top, or a trap frame
 * below it while a trap is handled) lies in that hart's stack (memlayout.h). */
uint32_t this_hart(void)
{
    return (csr_read(mscratch) - 1 - FW_HART_STACKS) >> FW_HART_STACK_SHIFT;
}

void hsm_init(uint32_t boot, uint32_t n)
{
    nharts = n < 1 ? 1 : n > FW_MAX_HARTS ? FW_MAX_HARTS : n;
    for (uint32_t h = 0; h < nharts; h++)
        harts[h].state = h == boot ? SBI_HSM_STARTED : SBI_HSM_STOPPED;
}

/* S-mode may run code at addr: RAM outside the firmware's own data (PMP below). */
static int s_executable(uint32_t addr)
{
    return addr >= FW_RAM_END && (uint64_t)addr < ram_end && addr % 4 == 0;
}

/* PMP (privileged spec 3.7), programmed on each hart before it first enters S.
 * TOR entries, which Unicorn's own MMU (pyhv's VM(mmu="unicorn")) also decodes
 * right; it computes NAPOT masks in 32 bits, so NAPOT ranges below the whole
 * space come out wrong there:
 *   0  TOR [0, RAM_BASE)             R W -   ROM and devices; nothing executes there
 *   1  TOR [RAM_BASE, FW_RAM_END)    - - -   the BIOS's data and stacks
 *   2  NAPOT everything              R W X   the rest of RAM
 * None is locked, so M-mode itself is not restricted. */
#define PMP_R      0x01u
#define PMP_W      0x02u
#define PMP_X      0x04u
#define PMP_TOR    0x08u
#define PMP_NAPOT  0x18u

static void pmp_setup(void)
{
    csr_write(pmpaddr0, PYHV_RAM_BASE >> 2);
    csr_write(pmpaddr1, FW_RAM_END >> 2);
    csr_write(pmpaddr2, 0xffffffffu);
    csr_write(pmpcfg0, (PMP_TOR | PMP_R | PMP_W) | (PMP_TOR << 8) | ((PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 16));
    __asm__ volatile("sfence.vma" ::: "memory");    /* 3.7.2: PMP changes reach the TLB */
}

/* Exceptions S-mode handles itself (medeleg), as OpenSBI delegates them, plus
 * illegal instructions and misaligned loads/stores, which this BIOS does not
 * emulate (pyhv serves rdtime itself).  Ecalls from S, access faults and
 * ecalls from M stay in M: the first are SBI calls, the others fatal. */
#define MEDELEG ((1u << EXC_INSN_MISALIGNED) | (1u << EXC_ILLEGAL_INSN) | (1u << EXC_BREAKPOINT) \
                 | (1u << EXC_LOAD_MISALIGNED) | (1u << EXC_STORE_MISALIGNED) | (1u << EXC_ECALL_U) \
                 | (1u << EXC_INSN_PAGE_FAULT) | (1u << EXC_LOAD_PAGE_FAULT) | (1u << EXC_STORE_PAGE_FAULT))

/* S-level interrupts go straight to S.  The M timer and M software interrupts
 * stay here: trap.c turns them into STIP and SSIP (the SBI timer and IPI). */
#define MIDELEG (MIP_SSIP | MIP_STIP | MIP_SEIP)

/* Into S-mode at entry with a0 = hart, a1 = arg, on a clean M stack. */
NORETURN void hsm_enter(uint32_t hart, uint32_t entry, uint32_t arg)
{
    pmp_setup();
    clint_set_mtimecmp(hart, ~0ull);            /* no timer until S asks for one */
    csr_write(medeleg, MEDELEG);
    csr_write(mideleg, MIDELEG);
    csr_write(mcounteren, MCOUNTEREN_CY_TM_IR);
    csr_write(mie, MIP_MTIP | MIP_MSIP);        /* taken in S and U whatever mstatus.MIE says */
    csr_clear(mip, MIP_SSIP | MIP_STIP);
    csr_write(mscratch, FW_HART_STACK_TOP(hart));
    __asm__ volatile("fence.i" ::: "memory");   /* the code it starts may be fresh */
    enter_kernel(hart, arg, entry);
}

/* Act on what other harts asked of this one (trap.c calls this on an M
 * software interrupt). */
void hsm_messages(uint32_t hart)
{
    clint_set_msip(hart, 0);
    uint32_t m = __atomic_load_n(&harts[hart].pending, __ATOMIC_ACQUIRE);
    if (m & HSM_MSG_SSIP)
        csr_set(mip, MIP_SSIP);
    if (m & HSM_MSG_FENCE_I)
        __asm__ volatile("fence.i" ::: "memory");
    if (m & HSM_MSG_SFENCE)
        __asm__ volatile("sfence.vma" ::: "memory");
    __atomic_and_fetch(&harts[hart].pending, ~m, __ATOMIC_RELEASE);
}

/* Wait in wfi for the next M software or timer interrupt.  mstatus.MIE stays 0
 * (no nested trap on this stack); wfi wakes on pending & mie all the same. */
static void wait_event(uint32_t hart)
{
    csr_write(mie, MIP_MSIP | MIP_MTIP | (csr_read(mie) & (MIP_SSIP | MIP_STIP | MIP_SEIP)));
    __asm__ volatile("wfi");
    if (mmio_read32(CLINT_MSIP(hart)) & 1)
        hsm_messages(hart);
    uint64_t cmp = ((uint64_t)mmio_read32(CLINT_MTIMECMP(hart) + 4) << 32) | mmio_read32(CLINT_MTIMECMP(hart));
    if (clint_mtime() >= cmp) {             /* the S timer it stands for (trap.c) */
        clint_set_mtimecmp(hart, ~0ull);
        csr_set(mip, MIP_STIP);
    }
}

/* A stopped hart: wait for hart_start, then enter S where it says. */
NORETURN void hsm_park(uint32_t hart)
{
    csr_write(mie, MIP_MSIP);
    while (__atomic_load_n(&harts[hart].state, __ATOMIC_ACQUIRE) != SBI_HSM_START_PENDING) {
        __asm__ volatile("wfi");
        clint_set_msip(hart, 0);
        __atomic_store_n(&harts[hart].pending, 0, __ATOMIC_RELEASE);    /* nothing to fence yet */
    }
    __atomic_store_n(&harts[hart].state, SBI_HSM_STARTED, __ATOMIC_RELEASE);
    hsm_enter(hart, harts[hart].entry, harts[hart].arg);
}

int hsm_start(uint32_t hart, uint32_t entry, uint32_t arg)
{
    if (hart >= nharts)
        return SBI_ERR_INVALID_PARAM;
    if (!s_executable(entry))
        return SBI_ERR_INVALID_ADDRESS;
    uint32_t stopped = SBI_HSM_STOPPED;
    if (!__atomic_compare_exchange_n(&harts[hart].state, &stopped, HART_CLAIMED, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return SBI_ERR_ALREADY_AVAILABLE;
    harts[hart].entry = entry;
    harts[hart].arg = arg;
    __atomic_store_n(&harts[hart].state, SBI_HSM_START_PENDING, __ATOMIC_RELEASE);
    clint_set_msip(hart, 1);
    return SBI_SUCCESS;
}

int hsm_status(uint32_t hart, uint32_t *state)
{
    if (hart >= nharts)
        return SBI_ERR_INVALID_PARAM;
    uint32_t s = __atomic_load_n(&harts[hart].state, __ATOMIC_ACQUIRE);
    *state = s == HART_CLAIMED ? SBI_HSM_START_PENDING : s;
    return SBI_SUCCESS;
}

/* hart_stop: this hart goes back to hsm_park; the M stack under it is dropped
 * when it next enters S. */
NORETURN void hsm_stop(void)
{
    uint32_t hart = this_hart();
    csr_clear(mip, MIP_SSIP | MIP_STIP);
    clint_set_mtimecmp(hart, ~0ull);
    __atomic_store_n(&harts[hart].state, SBI_HSM_STOPPED, __ATOMIC_RELEASE);
    hsm_park(hart);
}

/* hart_suspend: the default retentive type returns once an interrupt S-mode
 * enabled in sie is pending (the SBI call then returns SBI_SUCCESS); the
 * default non-retentive type resumes at resume_addr like a hart_start. */
int hsm_suspend(uint32_t type, uint32_t resume_addr, uint32_t opaque)
{
    uint32_t hart = this_hart();
    if (type != SBI_HSM_SUSPEND_RETENTIVE && type != SBI_HSM_SUSPEND_NON_RETENTIVE)
        return SBI_ERR_INVALID_PARAM;       /* reserved, or platform types this board has none of */
    if (type == SBI_HSM_SUSPEND_NON_RETENTIVE && !s_executable(resume_addr))
        return SBI_ERR_INVALID_ADDRESS;
    __atomic_store_n(&harts[hart].state, SBI_HSM_SUSPENDED, __ATOMIC_RELEASE);
    while (!(csr_read(mip) & csr_read(mie) & (MIP_SSIP | MIP_STIP | MIP_SEIP)))
        wait_event(hart);
    __atomic_store_n(&harts[hart].state, SBI_HSM_STARTED, __ATOMIC_RELEASE);
    if (type == SBI_HSM_SUSPEND_NON_RETENTIVE)
        hsm_enter(hart, resume_addr, opaque);
    return SBI_SUCCESS;
}

/* The harts a (hart_mask, hart_mask_base) pair names (SBI spec 3.1): base -1 is
 * every hart; otherwise bit i is hart base + i, which must exist. */
static int hart_set(uint32_t mask, uint32_t base, uint32_t *set)
{
    if (base == 0xffffffffu) {
        *set = (1u << nharts) - 1;
        return SBI_SUCCESS;
    }
    *set = 0;
    for (uint32_t i = 0; i < 32; i++) {
        if (!((mask >> i) & 1))
            continue;
        if (base + i >= nharts || base + i < base)
            return SBI_ERR_INVALID_PARAM;
        *set |= 1u << (base + i);
    }
    return SBI_SUCCESS;
}

/* Send `msg` to the harts named; with `wait`, return once each has acted on it.
 * Harts that are not started need nothing: hsm_enter fences on the way to S. */
int hsm_send(uint32_t mask, uint32_t base, uint32_t msg, int wait)
{
    uint32_t set, self = this_hart();
    int err = hart_set(mask, base, &set);
    if (err)
        return err;
    for (uint32_t h = 0; h < nharts; h++) {
        uint32_t s = __atomic_load_n(&harts[h].state, __ATOMIC_ACQUIRE);
        if (!((set >> h) & 1) || (s != SBI_HSM_STARTED && s != SBI_HSM_SUSPENDED))
            set &= ~(1u << h);
        else
            __atomic_or_fetch(&harts[h].pending, msg, __ATOMIC_RELEASE);
    }
    for (uint32_t h = 0; h < nharts; h++)
        if ((set >> h) & 1)
            clint_set_msip(h, 1);
    if (set & (1u << self))
        hsm_messages(self);
    for (uint32_t h = 0; wait && h < nharts; h++) {
        while (((set >> h) & 1) && (__atomic_load_n(&harts[h].pending, __ATOMIC_ACQUIRE) & msg)) {
            if (mmio_read32(CLINT_MSIP(self)) & 1)
                hsm_messages(self);
        }
    }
    return SBI_SUCCESS;
}
