/* interrupts.S: interrupt entry, masking, wfi and the virtual clock.
 *
 * Run with ebreak_exits = True and driven by the host in three legs:
 *   1. host sets cpu.mtimecmp = 500 and runs: scenarios 0, 1, 2, then the
 *      program stops at the ebreak `barrier` (MTIP is pending from then on,
 *      because nothing can move mtimecmp but the host);
 *   2. host sets cpu.mtimecmp = 2**64 - 1 (never), pc = barrier + 4, runs:
 *      scenario 3's wfi finds nothing pending and the vCPU exits "idle" with
 *      pc = after_wfi;
 *   3. host sets cpu.mtimecmp = cpu.mtime + 100 and runs: the timer wakes the
 *      hart, scenario 3 is recorded, scenario 4 runs, ebreak at `done`.
 *
 * Records at RESULTS, 16 bytes each, as in traps.S (cause, epc, tval, tag;
 * tag layout in testguest.h).  The M handler also stores the low word of
 * `time` at its entry into RESULTS + 0x100 + 4 * record index.
 *   0 M timer (mie.MTIE, not delegable) taken while S spins at `spin`
 *        -> M  mcause 0x80000007, mepc = spin, MPP = S, MPIE = 0, time >= 500
 *   1 MTIP pending in M with mstatus.MIE = 0 stays pending; taken right after
 *     `csrsi mstatus, MIE` -> M  0x80000007, mepc = after_mie, MPP = M, MPIE = 1
 *   2 SSIP set by M in mip, delegated (mideleg bit 1), S runs with SIE = 0
 *     (held) then sets SIE -> S  scause 0x80000001, sepc = after_sie,
 *     SPP = S, SPIE = 1
 *   3 wfi in M (mie = MTIE, MIE = 1) with nothing pending: idle exit; woken
 *     by the timer -> M  0x80000007, mepc = after_wfi, MPP = M, MPIE = 1
 *   4 rdtime: RESULTS+0x300 = time (low) before a 1000-iteration loop,
 *     +0x304 = timeh before it, +0x308 = time (low) after it.
 * Final state: ebreak at `done` in M; a0 = time before, a1 = time after the
 * loop; RESULTS+0xFF8 = 4 (records), RESULTS+0xFFC = 0x5555.
 * Every handler masks the interrupt it took (clears its mie/sie bit; the S
 * handler also clears sip.SSIP) and sets s10 = 1, which the wait loops poll.
 */
#include "testguest.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 6
    .word spin, after_mie, after_sie, barrier, after_wfi, done

main:
    li s0, RESULTS
    li s10, 0
    li a7, 0
    la t0, m_trap
    csrw mtvec, t0
    la t0, s_trap
    csrw stvec, t0
    csrw medeleg, zero
    csrw mideleg, zero
    csrw satp, zero
    li t0, MSTATUS_MIE | MSTATUS_SIE
    csrc mstatus, t0

/* 0: the M timer interrupt preempts S-mode */
    li t0, MIP_MTIP
    csrw mie, t0
    ENTER 1, s_spin
s_spin:
spin:
    beqz s10, spin
    GOTO_M m1

/* 1: held by mstatus.MIE = 0, taken once MIE is set */
m1:
    li s10, 0
    li t0, MIP_MTIP
    csrs mie, t0                /* MTIP is pending: only MIE = 0 holds it */
    nop
    nop
    nop
    csrsi mstatus, MSTATUS_MIE
after_mie:
    nop
    csrci mstatus, MSTATUS_MIE

/* 2: delegated supervisor software interrupt, held by sstatus.SIE = 0 */
    li s10, 0
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    csrs mip, t0                /* pending; not taken in M (delegated to S) */
    ENTER 1, s_ssi
s_ssi:
    nop
    nop
    csrsi sstatus, MSTATUS_SIE
after_sie:
    nop
    GOTO_M m3
m3:
    csrw mideleg, zero
    csrw mie, zero
    csrci mstatus, MSTATUS_SIE
barrier:
    ebreak                      /* host: mtimecmp = never, pc += 4 */

/* 3: wfi with nothing pending -> idle exit; the timer wakes it */
    li s10, 0
    li t0, MIP_MTIP
    csrw mie, t0
    csrsi mstatus, MSTATUS_MIE
wait:
    wfi
after_wfi:
    beqz s10, wait
    csrci mstatus, MSTATUS_MIE
    csrw mie, zero

/* 4: rdtime around a loop */
    rdtime s2
    rdtimeh s3
    li t0, 1000
1:  addi t0, t0, -1
    bnez t0, 1b
    rdtime s4
    li t0, RESULTS + 0x300
    sw s2, 0(t0)
    sw s3, 4(t0)
    sw s4, 8(t0)

    li t0, RESULTS
    sub t1, s0, t0
    srli t1, t1, 4
    li t0, RESULTS + RESULTS_COUNT
    sw t1, 0(t0)
    li t1, DONE_MAGIC
    sw t1, 4(t0)
    mv a0, s2
    mv a1, s4
done:
    ebreak

/* M handler: service ecall (a7 = 1: continue at a6 in M); interrupts are
 * recorded and masked; any other exception is recorded and skipped. */
m_trap:
    csrr t3, mcause
    bltz t3, m_irq
    li t6, SERVICE_GOTO_M
    bne a7, t6, 1f
    li a7, 0
    jr a6
1:  M_RECORD
    csrr t3, mepc
    addi t3, t3, 4
    csrw mepc, t3
    mret
m_irq:
    li t4, RESULTS              /* time slot = RESULTS + 0x100 + index * 4 */
    sub t5, s0, t4
    srli t5, t5, 2
    add t5, t5, t4
    csrr t6, time
    sw t6, 0x100(t5)
    M_RECORD
    csrr t3, mcause
    andi t3, t3, 31
    li t4, 1
    sll t4, t4, t3
    csrc mie, t4
    li s10, 1
    mret

/* S handler: forward a service ecall to M; record and mask interrupts. */
s_trap:
    csrr t3, scause
    bltz t3, s_irq
    li t6, SERVICE_GOTO_M
    bne a7, t6, 1f
    ecall                       /* S ecall is never delegated here */
1:  S_RECORD
    csrr t3, sepc
    addi t3, t3, 4
    csrw sepc, t3
    sret
s_irq:
    S_RECORD
    csrr t3, scause
    andi t3, t3, 31
    li t4, 1
    sll t4, t4, t3
    csrc sip, t4
    csrc sie, t4
    li s10, 1
    sret
