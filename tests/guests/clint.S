/* clint.S: the CLINT served in C, and the ROM's write protection.
 *
 * Entry: M-mode at 0x80000000.  Steps, each M trap recorded (M_RECORD) at RESULTS:
 *  1. reads mtime (lo, hi, lo) into a0, a1, a2;
 *  2. sets mtimecmp = a2 + 200 (high word first, so no spurious match), enables
 *     MTIE and MIE and sleeps in wfi: the host sees an idle exit, lets virtual
 *     time pass, and the timer interrupt (record 0, mcause 0x80000007) wakes it;
 *  3. the handler silences the timer (mtimecmp high = -1), enables MSIE and
 *     writes msip = 1: the software interrupt is taken as soon as mret restores
 *     MIE (record 1, mcause 0x80000003); its handler clears msip and reads it back
 *     into s2 (0), mtimecmp high into s3 (0xffffffff);
 *  4. a store to the ROM at PYHV_ROM_BASE is a store access fault (record 2,
 *     mcause 7, mtval = PYHV_ROM_BASE); the handler continues at `done`: ebreak.
 * Labels: count 3, then `sleep` (the wfi), `romstore` (the faulting store), `done`.
 */
#include "testguest.h"

#define MTIME     (PYHV_CLINT_BASE + 0xbff8)
#define MTIMECMP  (PYHV_CLINT_BASE + 0x4000)
#define MSIP      (PYHV_CLINT_BASE + 0x0000)

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 3
    .word sleep, romstore, done

main:
    li s0, RESULTS
    la t0, mtrap
    csrw mtvec, t0
    li t1, MTIME
    lw a0, 0(t1)
    lw a1, 4(t1)
    lw a2, 0(t1)
    li t2, MTIMECMP
    li t3, -1
    sw t3, 4(t2)
    addi t4, a2, 200
    sw t4, 0(t2)
    sw zero, 4(t2)
    li t0, (1 << IRQ_MTI)
    csrw mie, t0
    csrsi mstatus, MSTATUS_MIE
sleep:
    wfi
    j sleep

romstore:
    li t0, PYHV_ROM_BASE
    sw t0, 0(t0)
    j done

    .align 2
mtrap:
    M_RECORD
    csrr t0, mcause
    li t1, CAUSE_IRQ | IRQ_MTI
    beq t0, t1, on_timer
    li t1, CAUSE_IRQ | IRQ_MSI
    beq t0, t1, on_soft
    la t0, done                 /* the ROM store fault */
    csrw mepc, t0
    mret
on_timer:
    li t2, MTIMECMP
    li t3, -1
    sw t3, 4(t2)
    li t0, (1 << IRQ_MSI)
    csrs mie, t0
    li t2, MSIP
    li t3, 1
    sw t3, 0(t2)
    mret
on_soft:
    li t2, MSIP
    sw zero, 0(t2)
    lw s2, 0(t2)
    li t2, MTIMECMP
    lw s3, 4(t2)
    la t0, romstore
    csrw mepc, t0
    mret
done:
    ebreak
