/* testguest.h: constants and macros shared by the test programs in tests/guests/.
 *
 * Bit positions come from the RISC-V privileged specification (v1.12,
 * sections 3.1.6 mstatus, 3.1.9 mip/mie, 4.1.11 satp, 4.3.1 Sv32 PTEs).
 * Board addresses come from csrc/abi.h; this file only adds what the test
 * programs agree on among themselves (the results area, the label table).
 */
#ifndef TESTGUEST_H
#define TESTGUEST_H

#include "abi.h"

/* Results area: 4 KiB at RAM + 64 KiB, far above any test program's code.
 * The host reads it with vm.read_phys(RESULTS, n). */
#define RESULTS          0x80010000
#define RESULTS_COUNT    0xFF8        /* offset: number of 16-byte records written */
#define RESULTS_DONE     0xFFC        /* offset: 0x5555 once the program finished */
#define DONE_MAGIC       0x5555

/* mstatus / sstatus */
#define MSTATUS_SIE      (1 << 1)
#define MSTATUS_MIE      (1 << 3)
#define MSTATUS_SPIE     (1 << 5)
#define MSTATUS_MPIE     (1 << 7)
#define MSTATUS_SPP      (1 << 8)
#define MSTATUS_MPP      (3 << 11)
#define MSTATUS_MPP_S    (1 << 11)
#define MSTATUS_SUM      (1 << 18)
#define MSTATUS_MXR      (1 << 19)

/* mip / mie bits (= interrupt cause numbers) */
#define IRQ_SSI          1
#define IRQ_MSI          3
#define IRQ_STI          5
#define IRQ_MTI          7
#define IRQ_SEI          9
#define IRQ_MEI          11
#define MIP_SSIP         (1 << IRQ_SSI)
#define MIP_MTIP         (1 << IRQ_MTI)
#define CAUSE_IRQ        0x80000000

/* exception causes (mcause with the interrupt bit clear) */
#define CAUSE_ILLEGAL        2
#define CAUSE_BREAKPOINT     3
#define CAUSE_LOAD_MISALIGN  4
#define CAUSE_STORE_MISALIGN 6
#define CAUSE_ECALL_U        8
#define CAUSE_ECALL_S        9
#define CAUSE_ECALL_M        11
#define CAUSE_FETCH_PF       12
#define CAUSE_LOAD_PF        13
#define CAUSE_STORE_PF       15

/* Sv32 (satp: MODE bit 31, PPN in bits 21..0; PTE: PPN in bits 31..10)
 *
 *   31          20 19         10 9   8 7 6 5 4 3 2 1 0
 *  +--------------+-------------+-----+-+-+-+-+-+-+-+-+
 *  |    PPN[1]    |   PPN[0]    | RSW |D|A|G|U|X|W|R|V|
 *  +--------------+-------------+-----+-+-+-+-+-+-+-+-+
 */
#define SATP_SV32        (1 << 31)
#define PTE_V            (1 << 0)
#define PTE_R            (1 << 1)
#define PTE_W            (1 << 2)
#define PTE_X            (1 << 3)
#define PTE_U            (1 << 4)
#define PTE_A            (1 << 6)
#define PTE_D            (1 << 7)
#define PTE_AD           (PTE_A | PTE_D)
/* A PTE for the page at physical address pa: (pa >> 12) << 10. */
#define PTE(pa, flags)   ((((pa) >> 12) << 10) | (flags))

/* Trap record tag (word 3 of a 16-byte record), built by the handlers from
 * mstatus/sstatus at handler entry:
 *   bits 1..0   privilege the handler runs in (3 M handler, 1 S handler)
 *   bits 9..8   previous privilege: mstatus.MPP (M handler) or sstatus.SPP
 *   bit  16     xPIE: mstatus.MPIE or sstatus.SPIE
 *   bit  24     xIE:  mstatus.MIE or sstatus.SIE (trap entry clears it)
 */
#define TAG_WRONG_VECTOR 0xBAD

/* Label table: every program except selfmod.S starts with `j main` at
 * 0x80000000, then at 0x80000004 a count N and N label addresses (order
 * documented in each program), so the tests know exact PCs without an ELF. */

/* Store the four trap CSRs of the current M trap as a record at 0(s0) and
 * advance s0.  Clobbers t3, t4, t5. */
.macro M_RECORD
    csrr t3, mcause
    sw t3, 0(s0)
    csrr t3, mepc
    sw t3, 4(s0)
    csrr t3, mtval
    sw t3, 8(s0)
    csrr t3, mstatus
    srli t4, t3, 11          /* MPP */
    andi t4, t4, 3
    slli t4, t4, 8
    ori t4, t4, 3
    srli t5, t3, 7           /* MPIE */
    andi t5, t5, 1
    slli t5, t5, 16
    or t4, t4, t5
    srli t5, t3, 3           /* MIE */
    andi t5, t5, 1
    slli t5, t5, 24
    or t4, t4, t5
    sw t4, 12(s0)
    addi s0, s0, 16
.endm

/* The same for an S trap (scause/sepc/stval/sstatus). */
.macro S_RECORD
    csrr t3, scause
    sw t3, 0(s0)
    csrr t3, sepc
    sw t3, 4(s0)
    csrr t3, stval
    sw t3, 8(s0)
    csrr t3, sstatus
    srli t4, t3, 8           /* SPP */
    andi t4, t4, 1
    slli t4, t4, 8
    ori t4, t4, 1
    srli t5, t3, 5           /* SPIE */
    andi t5, t5, 1
    slli t5, t5, 16
    or t4, t4, t5
    srli t5, t3, 1           /* SIE */
    andi t5, t5, 1
    slli t5, t5, 24
    or t4, t4, t5
    sw t4, 12(s0)
    addi s0, s0, 16
.endm

/* PMP (privileged spec 3.7): S and U reach no memory until M-mode opens some,
 * as a BIOS does.  Entry 0: NAPOT over the whole 34-bit space, R W X (pmpcfg0
 * leaves entries 1..3 OFF).  Clobbers t0. */
.macro PMP_OPEN
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
.endm

/* From M, continue at `label` in privilege `mode` (0 U, 1 S) via mret, with
 * all memory open to it (PMP_OPEN). */
.macro ENTER mode, label
    PMP_OPEN
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    li t0, (\mode << 11)
    csrs mstatus, t0
    la t0, \label
    csrw mepc, t0
    mret
.endm

/* From S or U, continue at `label` in M: the "service" ecall (a7 = 1, a6 =
 * target) that the handlers of traps.S and interrupts.S recognise and do not
 * record.  A U ecall delegated to S is forwarded by the S handler. */
#define SERVICE_GOTO_M   1
.macro GOTO_M label
    li a7, SERVICE_GOTO_M
    la a6, \label
    ecall
.endm

#endif
