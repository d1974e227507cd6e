/* trapvec.S: the M trap vector (mtvec, direct mode): save every register, call
 * mtrap(frame) in trap.c, restore them (with any SBI results), mret.
 *
 * mscratch holds the top of the free M stack: FW_HART_STACK_TOP(hart) while S or U
 * runs.  The frame (struct trapframe in defs.h: x[n] at 4*n, x[2] = the
 * interrupted sp) goes just below it, and mscratch points at the frame while
 * mtrap runs, so a trap inside the BIOS itself (a bug, reported as fatal)
 * stacks below it instead of overwriting it.
 */
#define FRAME 128

    .section .text
    .balign 4
    .globl mtrapvec
mtrapvec:
    csrrw sp, mscratch, sp          /* sp = M stack top, mscratch = interrupted sp */
    addi sp, sp, -FRAME
    sw x1, 4(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sw x\n, 4*\n(sp)
    .endr
    csrr t0, mscratch
    sw t0, 8(sp)
    csrw mscratch, sp
    mv a0, sp
    call mtrap
    addi t0, sp, FRAME
    csrw mscratch, t0
    lw x1, 4(sp)
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw x\n, 4*\n(sp)
    .endr
    lw sp, 8(sp)
    mret
