/* sirq.S: an S-level external interrupt raised by the host (a PLIC would do it).
 *
 * Entry: M-mode.  M delegates SEI (mideleg bit 9), enables SEIE in mie and enters
 * S-mode at `spin`, which sets sstatus.SIE and counts in s1 forever.  The host runs
 * a budget, then raises the SEIP line with cpu.set_irq(9, True): the engine
 * delivers it natively to stvec; the S handler records it (S_RECORD: scause
 * 0x80000009, sepc inside the loop, SPP = S, SPIE = 1, SIE = 0) and ebreaks in S.
 * Labels: count 2, then `loop` and `loop_end` (the loop's address range).
 */
#include "testguest.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 2
    .word loop, loop_end

main:
    li s0, RESULTS
    la t0, strap
    csrw stvec, t0
    li t0, (1 << IRQ_SEI)
    csrw mideleg, t0
    csrw mie, t0
    ENTER 1, spin
spin:
    csrsi sstatus, MSTATUS_SIE
    li s1, 0
loop:
    addi s1, s1, 1
    j loop
loop_end:

    .align 2
strap:
    S_RECORD
    ebreak
