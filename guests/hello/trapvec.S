/* trapvec.S: the S-mode trap vector and the first entry into U-mode.
 *
 * sscratch tells where a trap came from: it holds the top of the trap stack
 * while U-mode runs and 0 while S-mode runs.  trapvec saves every register
 * into a struct trapframe (trap.h) on that stack (or on the current kernel
 * stack for a trap from S), calls trap_handler(tf) in trap.c, then restores
 * the frame, which syscall handlers may have changed, and returns with sret.
 */
#include "trap.h"

#define SSTATUS_SPP 0x100

.section .text
.balign 4                  /* stvec direct mode: BASE is 4-byte aligned */
.globl trapvec
trapvec:
    csrrw sp, sscratch, sp     /* from U: sp = trap stack, sscratch = user sp */
    bnez  sp, 1f
    csrrw sp, sscratch, sp     /* from S: undo, sp back, sscratch = 0 again */
1:  addi  sp, sp, -TF_SIZE
    sw    x1, 4(sp)
    .irp  n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sw    x\n, (4 * \n)(sp)
    .endr
    csrrw t0, sscratch, zero   /* interrupted sp if from U; 0 if from S */
    bnez  t0, 2f
    addi  t0, sp, TF_SIZE
2:  sw    t0, 8(sp)
    csrr  t0, sepc
    sw    t0, TF_SEPC(sp)
    mv    a0, sp
    call  trap_handler

    lw    t0, TF_SEPC(sp)
    csrw  sepc, t0
    csrr  t0, sstatus
    andi  t0, t0, SSTATUS_SPP
    bnez  t0, 3f
    addi  t0, sp, TF_SIZE      /* back to U: the next trap starts here again */
    csrw  sscratch, t0
3:  lw    x1, 4(sp)
    .irp  n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw    x\n, (4 * \n)(sp)
    .endr
    lw    sp, 8(sp)
    sret

/* void user_enter(uint32 entry, uint32 user_sp, uint32 trap_sp): leave S-mode
 * for the first instruction of a U-mode task.  No kernel value survives in
 * the task's registers. */
.globl user_enter
user_enter:
    csrw  sepc, a0
    li    t0, SSTATUS_SPP
    csrc  sstatus, t0          /* sret goes to U */
    csrw  sscratch, a2
    mv    sp, a1
    .irp  n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    li    x\n, 0
    .endr
    sret
