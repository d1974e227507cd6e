/* trap.c: what the kernel does with each trap trapvec.S hands it.
 *
 * Interrupts (scause bit 31): the SBI timer (STIP, cause 5) goes to timer.c,
 * external interrupts (SEIP, cause 9) to the PLIC in plic.c.  Exceptions:
 * ecall from U (cause 8) is a system call.  Anything else is a bug in this
 * kernel or the machine under it: report it and power off with failure.
 */
#include "defs.h"
#include "riscv.h"
#include "trap.h"

void trap_init(void)
{
    csr_write(sscratch, 0);           /* "in S-mode" for trapvec */
    csr_write(stvec, (uint32)trapvec);  /* MODE = 0, direct */
}

void trap_handler(struct trapframe *tf)
{
    uint32 scause = csr_read(scause);
    if (scause == (SCAUSE_INTR | IRQ_S_TIMER)) {
        timer_intr();
        return;
    }
    if (scause == (SCAUSE_INTR | IRQ_S_EXT)) {
        plic_intr();
        return;
    }
    if (scause == CAUSE_ECALL_U && !(csr_read(sstatus) & SSTATUS_SPP)) {
        tf->sepc += 4;  /* resume after the ecall */
        syscall(tf);
        return;
    }
    printf("hello: unexpected trap scause=0x%x sepc=0x%x stval=0x%x\n", scause, tf->sepc, csr_read(stval));
    sbi_shutdown(1);
}

/* Sleep until an interrupt has been handled.  Call with sstatus.SIE clear,
 * after testing the condition being waited for: wfi wakes for any interrupt
 * pending and enabled in sie even while SIE is clear (privileged spec 3.3.3),
 * so no wakeup is lost between the test and the wfi; the interrupt is then
 * taken in the short window with SIE set. */
void intr_wait(void)
{
    wfi();
    intr_on();
    intr_off();
}
