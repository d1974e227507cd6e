/* smp.S: two harts sharing RAM (booted with --bios none --smp 2, M-mode).
 *
 * Both harts start here with a0 = hartid.  Hart 1 enables MSIE and sleeps in wfi.
 * Hart 0 adds 1000 to a shared counter with amoadd.w, then sends hart 1 an IPI by
 * writing its CLINT msip.  Hart 1 wakes, clears msip, adds 1000 more with an lr/sc
 * loop, and sleeps again.  Hart 0 waits for the counter to reach 2000 and powers off
 * through the finisher (pyhv exits 0).  Interleaved harts keep atomics atomic.
 */
#include "testguest.h"

#define MSIP1 (PYHV_CLINT_BASE + 4)

    .section .text.entry, "ax"
    .globl _start
_start:
    la s0, counter
    bnez a0, hart1

hart0:
    li t1, 1000
    li t2, 1
1:  amoadd.w zero, t2, (s0)
    addi t1, t1, -1
    bnez t1, 1b
    li t3, MSIP1
    li t4, 1
    sw t4, 0(t3)                /* IPI to hart 1 */
    li t6, 2000
2:  lw t5, 0(s0)
    bne t5, t6, 2b
    li t0, PYHV_FINISHER_BASE
    li t1, PYHV_FINISHER_PASS
    sw t1, 0(t0)
3:  j 3b

hart1:
    li t0, (1 << IRQ_MSI)
    csrw mie, t0                /* MSIE; mstatus.MIE stays 0: wfi wakes, no trap taken */
4:  wfi
    li t3, MSIP1
    lw t4, 0(t3)
    beqz t4, 4b
    sw zero, 0(t3)
    li t1, 1000
5:  lr.w t2, (s0)
    addi t2, t2, 1
    sc.w t5, t2, (s0)
    bnez t5, 5b
    addi t1, t1, -1
    bnez t1, 5b
    j 4b

    .data
    .align 2
counter: .word 0
