/* scan.S: a guest that looks for another VM's data (isolation suite, part 5).
 *
 * Reads one word of every `stride`-th byte of a range and counts the words equal
 * to a pattern; every load that faults is skipped by the M handler.  Run with
 * ebreak_exits = True; the program ends at ebreak `done` (label 1).
 *
 * Entry in M-mode with
 *   a0 = first address   a1 = number of probes   a2 = pattern (non-zero)
 *   a3 = stride in bytes a4 = satp: 0 probes guest-physical addresses directly;
 *        otherwise the loads go through that Sv32 table at U privilege
 *        (mstatus.MPRV = 1, MPP = U: privileged spec 3.1.6.3), fetches stay bare.
 * Exit: s0 = hits, s1 = address of the last hit, s2 = faulted probes.
 * mret from the handler leaves MPP = U and MPRV set (spec 3.3.2), so every probe
 * uses the same privilege.
 */
#include "testguest.h"

#define MSTATUS_MPRV     (1 << 17)

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 2
    .word probe, done

main:
    la t0, m_trap
    csrw mtvec, t0
    PMP_OPEN                    /* the probes are U accesses for PMP too */
    li t0, MSTATUS_MPP
    csrc mstatus, t0            /* MPP = U */
    li s0, 0
    li s1, 0
    li s2, 0
    beqz a4, loop
    csrw satp, a4
    sfence.vma
    li t0, MSTATUS_MPRV
    csrs mstatus, t0
loop:
    beqz a1, done
    li t1, 0                    /* what a faulted probe leaves: never the pattern */
probe:
    lw t1, 0(a0)
    bne t1, a2, 1f
    addi s0, s0, 1
    mv s1, a0
1:  add a0, a0, a3
    addi a1, a1, -1
    j loop
done:
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
    ebreak

    .balign 4
m_trap:                         /* only probes fault: skip the load */
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    addi s2, s2, 1
    mret
