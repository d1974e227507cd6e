/* trap.c: what the kernel does with each trap trapvec.S hands it, and the clock.
 *
 * Interrupts: the SBI timer (STIP) is the scheduler tick, every TICK_MS, and
 * preempts whatever process runs; external interrupts come through the PLIC to
 * uart.c or virtio_disk.c.  Exceptions from U-mode: ecall is a system call; any
 * other (bad pointer, illegal instruction, ...) kills the process with one line
 * on the console.  An exception in S-mode is a kernel bug: panic.
 */
#include "abi.h"
#include "defs.h"
#include "riscv.h"

#define TICK_INTERVAL (PYHV_TIMEBASE_HZ / 1000 * TICK_MS)  /* in 10 MHz time units */

struct spinlock tickslock;
uint32 ticks;            /* timer interrupts since boot; sleepers on the clock wait on &ticks */
static int timer_on;     /* the periodic tick is armed */

static const char *cause_names[] = {
    [0] = "instruction address misaligned",
    [1] = "instruction access fault",
    [2] = "illegal instruction",
    [3] = "breakpoint",
    [4] = "load address misaligned",
    [5] = "load access fault",
    [6] = "store address misaligned",
    [7] = "store access fault",
    [8] = "ecall from U-mode",
    [9] = "ecall from S-mode",
    [12] = "instruction page fault",
    [13] = "load page fault",
    [15] = "store page fault",
};

static const char *cause_name(uint32 scause)
{
    if (scause < (uint32)NELEM(cause_names) && cause_names[scause])
        return cause_names[scause];
    return "unknown exception";
}

void trapinit(void)
{
    initlock(&tickslock, "time");
    csr_write(sscratch, 0);               /* "in S-mode" for trapvec */
    csr_write(stvec, (uint32)trapvec);    /* MODE = 0: direct */
    csr_write(scounteren, 2);             /* U-mode may read time (rdtime) */
    csr_set(sie, SIE_STIE | SIE_SEIE);
}

/* Make sure the periodic tick runs (a process is about to run). */
void timer_arm(void)
{
    if (!timer_on) {
        timer_on = 1;
        sbi_set_timer(rdtime64() + TICK_INTERVAL);
    }
}

/* Nothing can run: keep ticking only for processes sleeping on the clock. */
void timer_idle(int any_timed_sleeper)
{
    if (any_timed_sleeper)
        timer_arm();
    else if (timer_on) {
        timer_on = 0;
        sbi_set_timer(~0ull);  /* far future: also clears a pending STIP */
    }
}

static void clock_intr(void)
{
    acquire(&tickslock);
    ticks++;
    wakeup(&ticks);
    release(&tickslock);
    sbi_set_timer(timer_on ? rdtime64() + TICK_INTERVAL : ~0ull);
}

/* A device interrupt: 2 for the timer, 1 for another device, 0 if not one. */
static int devintr(uint32 scause)
{
    if (scause == (SCAUSE_INTR | IRQ_S_TIMER)) {
        clock_intr();
        return 2;
    }
    if (scause == (SCAUSE_INTR | IRQ_S_EXT)) {
        uint32 irq = plic_claim();
        if (irq && irq == uart_irq())
            uart_intr();
        else if (irq && irq == virtio_disk_irq())
            virtio_disk_intr();
        else if (irq)
            printf("tinyos: unexpected interrupt from PLIC source %u\n", irq);
        if (irq)
            plic_complete(irq);
        return 1;
    }
    return 0;
}

/* The frame's sstatus for a return to U-mode: SPP = U, interrupts on after sret,
 * SUM clear.  Also turns interrupts off for the way out through trapret. */
void prepare_user_return(struct trapframe *tf)
{
    intr_off();
    tf->sstatus = (csr_read(sstatus) & ~(SSTATUS_SPP | SSTATUS_SIE | SSTATUS_SUM)) | SSTATUS_SPIE;
}

void trap(struct trapframe *tf)
{
    uint32 scause = csr_read(scause), stval = csr_read(stval);
    int from_user = !(tf->sstatus & SSTATUS_SPP);
    struct proc *p = myproc();
    int which = 0;

    if (scause & SCAUSE_INTR) {
        which = devintr(scause);
        if (!which)
            printf("tinyos: unexpected interrupt scause=0x%x\n", scause);
    } else if (!from_user) {
        printf("tinyos: kernel trap: %s at sepc=0x%x stval=0x%x (pid %d)\n", cause_name(scause), tf->sepc,
               stval, p ? p->pid : 0);
        panic("kernel trap");
    } else if (scause == CAUSE_ECALL_U) {
        tf->sepc += 4;  /* return after the ecall */
        if (killed(p))
            exit(p->kill_status);
        intr_on();
        syscall();
    } else {
        printf("tinyos: pid %d (%s) killed: %s at sepc=0x%x stval=0x%x\n", p->pid, p->name, cause_name(scause),
               tf->sepc, stval);
        setkilled(p);
    }

    if (which == 2 && p) {
        p->ticks++;
        if (p->state == PS_RUNNING)
            yield();
    }
    if (from_user && killed(p))
        exit(p->kill_status);
    if (from_user)
        prepare_user_return(tf);
    else
        intr_off();
}
