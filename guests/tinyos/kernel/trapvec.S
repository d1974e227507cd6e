/* trapvec.S: the S-mode trap vector, and the way back to U-mode.
 *
 * sscratch tells where a trap came from: it holds the top of the running
 * process's kernel stack while U-mode runs, and 0 while S-mode runs.  trapvec
 * saves every register, sepc and sstatus into a struct trapframe (proc.h): for a
 * trap from U at the top of the kernel stack (p->trapframe), for a trap from S on
 * the current kernel stack.  It calls trap(tf) in trap.c, then trapret restores
 * the frame, which trap() and system calls may have changed, and returns with
 * sret.  The kernel half of every page table is the same, so no satp switch.
 */
#include "proc.h"

#define SSTATUS_SPP 0x100

.section .text
.balign 4                  /* stvec direct mode: BASE is 4-byte aligned */
.globl trapvec
trapvec:
    csrrw sp, sscratch, sp     /* from U: sp = kernel stack top, sscratch = user sp */
    bnez  sp, 1f
    csrrw sp, sscratch, sp     /* from S: undo; sp back, sscratch = 0 again */
1:  addi  sp, sp, -TF_SIZE
    sw    x1, 4(sp)
    .irp  n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sw    x\n, (4 * \n)(sp)
    .endr
    csrrw t0, sscratch, zero   /* the interrupted sp if from U; 0 if from S */
    bnez  t0, 2f
    addi  t0, sp, TF_SIZE
2:  sw    t0, 8(sp)
    csrr  t0, sepc
    sw    t0, TF_SEPC(sp)
    csrr  t0, sstatus
    sw    t0, TF_SSTATUS(sp)
    mv    a0, sp
    call  trap
    /* fall through: trap() returns with interrupts off */

/* sp = a trap frame, interrupts off: restore it and sret. */
trapret:
    lw    t0, TF_SEPC(sp)
    csrw  sepc, t0
    lw    t0, TF_SSTATUS(sp)
    csrw  sstatus, t0
    andi  t0, t0, SSTATUS_SPP
    bnez  t0, 3f
    addi  t0, sp, TF_SIZE      /* back to U: the next trap starts at the stack top */
    csrw  sscratch, t0
3:  lw    x1, 4(sp)
    .irp  n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw    x\n, (4 * \n)(sp)
    .endr
    lw    sp, 8(sp)
    sret

/* void usertrapret(struct trapframe *tf): enter U-mode through a prepared frame
 * (a new process after fork or the first exec).  Interrupts off. */
.globl usertrapret
usertrapret:
    mv    sp, a0
    j     trapret
