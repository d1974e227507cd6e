/* swtch.S: switch kernel threads.
 *
 * void swtch(struct context *old, struct context *new): save the callee-saved
 * registers (ra, sp, s0..s11: struct context in proc.h) into *old, load them
 * from *new, and return on the new stack to where that thread called swtch (or
 * to the function a fresh context's ra names).  Caller-saved registers are the
 * caller's business, as in any C call.
 */
.section .text
.globl swtch
swtch:
    sw    ra, 0(a0)
    sw    sp, 4(a0)
    .irp  n, 0,1,2,3,4,5,6,7,8,9,10,11
    sw    s\n, (8 + 4 * \n)(a0)
    .endr
    lw    ra, 0(a1)
    lw    sp, 4(a1)
    .irp  n, 0,1,2,3,4,5,6,7,8,9,10,11
    lw    s\n, (8 + 4 * \n)(a1)
    .endr
    ret
