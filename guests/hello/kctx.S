/* kctx.S: save and resume a kernel context (ra, sp, s0..s11), setjmp style.
 *
 * proc.c saves the kernel's context before it enters a U-mode task and
 * resumes it when the task exits, abandoning the trap stack it was on.
 *   int  kctx_save(struct kctx *k);            returns 0, then 1 when resumed
 *   void kctx_resume(struct kctx *k);          never returns
 */
.section .text
.globl kctx_save
kctx_save:
    sw    ra, 0(a0)
    sw    sp, 4(a0)
    .irp  n, 0,1,2,3,4,5,6,7,8,9,10,11
    sw    s\n, (8 + 4 * \n)(a0)
    .endr
    li    a0, 0
    ret

.globl kctx_resume
kctx_resume:
    lw    ra, 0(a0)
    lw    sp, 4(a0)
    .irp  n, 0,1,2,3,4,5,6,7,8,9,10,11
    lw    s\n, (8 + 4 * \n)(a0)
    .endr
    li    a0, 1
    ret
