/* trap.c: every trap that reaches M-mode once the kernel runs (and any during boot).
 *
 * trapvec.S saves all registers on the hart's M stack and calls mtrap.  The M
 * timer interrupt becomes the S timer interrupt (the SBI timer of sbi.c); the M
 * software interrupt carries messages from other harts (hsm.c: IPIs, remote
 * fences); an ecall from S is an SBI call; anything else is a bug in the kernel
 * or the BIOS and ends the machine with fail code 1.
 */
#include "defs.h"
#include "riscv.h"

void mtrap(struct trapframe *tf)
{
    uint32_t mcause = csr_read(mcause);
    if (mcause == (MCAUSE_IRQ | IRQ_M_TIMER)) {
        /* Silence the cause rather than masking MTIE: pyhv rechecks every block
         * while an M interrupt is pending but masked. */
        clint_set_mtimecmp(this_hart(), ~0ull);
        csr_set(mip, MIP_STIP);
    } else if (mcause == (MCAUSE_IRQ | IRQ_M_SOFT)) {
        hsm_messages(this_hart());          /* an IPI (SSIP) or a remote fence */
    } else if (mcause == EXC_ECALL_S) {
        sbi_ecall(tf);
        csr_write(mepc, csr_read(mepc) + 4);
    } else {
        printf("BIOS: unexpected trap mcause=0x%x mepc=0x%x mtval=0x%x\n", mcause, csr_read(mepc),
               csr_read(mtval));
        power_fail(1);
    }
}
