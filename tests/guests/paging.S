/* paging.S: Sv32 permission checks from S and U, for the differential test.
 *
 * Run with ebreak_exits = True, once with pyhv's MMU and once with Unicorn's
 * (mmu="unicorn"); results, memory and registers must be identical, and match
 * the privileged spec (v1.12, 4.3.2 "Virtual Address Translation Process").
 * All leaf PTEs have A and D set, so A/D policy cannot make the MMUs differ.
 *
 * Physical: tables at PT_ROOT and PT_L2; data page k (k = 0..6) at
 * 0x80200000 + k * 0x1000, word j of which M fills with 0xA0000000 | k << 16 | j.
 * Virtual (L2 index = (VA - 0x40000000) >> 12):
 *   VA 0x40000000  -> user_code (in this binary)  V|X|U      U code, execute-only
 *   VA 0x40001000  -> data 0                      V|R|W|U    user RW
 *   VA 0x40002000  -> data 1                      V|R|U      user read-only
 *   VA 0x40003000  -> data 2                      V|X|U      user execute-only
 *   VA 0x40004000     (PTE 0)                                unmapped
 *   VA 0x40005000  -> data 3                      V|R|W      supervisor RW
 *   VA 0x40006000  -> data 4                      V|X        supervisor execute-only
 *   VA 0x40007000  -> data 5                      V|W        reserved (W without R)
 *   VA 0x40008000  -> data 6                      R|W, V=0   invalid
 *   VA 0x40009000  -> data 6                      V only     non-leaf at level 0
 *   VA 0x40400000  -> megapage, PPN 0x80201       V|R|W      misaligned superpage
 *   VA 0x80000000  -> 0x80000000 megapage         V|R|W|X    kernel identity (U clear)
 *   VA 0x00400000     (root PTE 0)                           unmapped at level 1
 *
 * M builds all this, delegates page faults (12, 13, 15) and U ecalls (8) to
 * S, and mrets to S.  S runs the S probes, then two U sessions (mstatus.MXR
 * clear, then set), then stops at ebreak `done` (S-mode).
 *
 * A probe sets t0 = VA, t1 = 0xDEADBEEF (or the value to store), t2 = the
 * PC the access is expected to fault at, s4..s6 = 0, performs one access and
 * stores a 16-byte record at s0:
 *     +0 t1 (value loaded, stored, or the old value of an AMO)
 *     +4 scause (0: no fault)   +8 stval   +12 sepc - t2 (0 when correct)
 * The S handler sets s4..s6 and resumes at sepc + 4, or at s11 for a fetch
 * fault (fetch probes jump to t0 and expect epc = tval = t0).
 * S records go to RESULTS, U records to VA 0x40001800 (PA 0x80200800).
 * The order of the probes is the order of the code below; the test file
 * lists the expected record of each.
 * Final state: a0 = number of S records, a1 = number of U records;
 * RESULTS+0xFF8 = a0, RESULTS+0xFF4 = a1, RESULTS+0xFFC = 0x5555.
 * Any trap that reaches M stores mcause, mepc at RESULTS+0xFF0 and ebreaks.
 */
#include "testguest.h"

#define PT_ROOT    0x80100000
#define PT_L2      0x80101000
#define DATA_PA    0x80200000
#define NDATA      7
#define VA_USER    0x40000000
#define U_RESULTS  0x40001800
#define SENTINEL   0xDEADBEEF

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 2
    .word user_code, done

/* ---- probes (used in S and U; only pc-relative addresses inside) ---- */
.macro PROBE_START va, value
    li t0, \va
    li t1, \value
    li s4, 0
    li s5, 0
    li s6, 0
.endm
.macro PROBE_RECORD
    sw t1, 0(s0)
    sw s4, 4(s0)
    sw s5, 8(s0)
    sw s6, 12(s0)
    addi s0, s0, 16
.endm
.macro LOAD va
    PROBE_START \va, SENTINEL
    lla t2, 9f
9:  lw t1, 0(t0)
    PROBE_RECORD
.endm
.macro STORE va, value
    PROBE_START \va, \value
    lla t2, 9f
9:  sw t1, 0(t0)
    PROBE_RECORD
.endm
.macro AMOADD va
    PROBE_START \va, SENTINEL
    li t3, 1
    lla t2, 9f
9:  amoadd.w t1, t3, (t0)
    PROBE_RECORD
.endm
.macro LR va
    PROBE_START \va, SENTINEL
    lla t2, 9f
9:  lr.w t1, (t0)
    PROBE_RECORD
.endm
.macro FETCH va
    PROBE_START \va, SENTINEL
    mv t2, t0
    lla s11, 7f
    jr t0
7:  li s11, 0
    PROBE_RECORD
.endm

main:
    /* zero the tables, then fill them */
    li t0, PT_ROOT
    li t1, PT_ROOT + 0x2000
1:  sw zero, 0(t0)
    addi t0, t0, 4
    bltu t0, t1, 1b

.macro SETW addr, value
    li t0, \addr
    li t1, \value
    sw t1, 0(t0)
.endm
    SETW PT_ROOT + 0x100 * 4, PTE(PT_L2, PTE_V)
    SETW PT_ROOT + 0x101 * 4, PTE(DATA_PA + 0x1000, PTE_V | PTE_R | PTE_W | PTE_AD)
    SETW PT_ROOT + 0x200 * 4, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD)
    la t1, user_code
    srli t1, t1, 12
    slli t1, t1, 10
    ori t1, t1, PTE_V | PTE_X | PTE_U | PTE_AD
    li t0, PT_L2 + 0 * 4
    sw t1, 0(t0)
    SETW PT_L2 + 1 * 4, PTE(DATA_PA + 0x0000, PTE_V | PTE_R | PTE_W | PTE_U | PTE_AD)
    SETW PT_L2 + 2 * 4, PTE(DATA_PA + 0x1000, PTE_V | PTE_R | PTE_U | PTE_AD)
    SETW PT_L2 + 3 * 4, PTE(DATA_PA + 0x2000, PTE_V | PTE_X | PTE_U | PTE_AD)
    SETW PT_L2 + 5 * 4, PTE(DATA_PA + 0x3000, PTE_V | PTE_R | PTE_W | PTE_AD)
    SETW PT_L2 + 6 * 4, PTE(DATA_PA + 0x4000, PTE_V | PTE_X | PTE_AD)
    SETW PT_L2 + 7 * 4, PTE(DATA_PA + 0x5000, PTE_V | PTE_W | PTE_AD)
    SETW PT_L2 + 8 * 4, PTE(DATA_PA + 0x6000, PTE_R | PTE_W | PTE_AD)
    SETW PT_L2 + 9 * 4, PTE(DATA_PA + 0x6000, PTE_V)

    /* data page k, word j = 0xA0000000 | k << 16 | j */
    li t0, DATA_PA
    li t1, 0xA0000000
    li t2, DATA_PA + NDATA * 0x1000
    li t3, 0x10000 - 0x400      /* from word 1024 of page k to word 0 of k+1 */
2:  li t4, 1024
3:  sw t1, 0(t0)
    addi t0, t0, 4
    addi t1, t1, 1
    addi t4, t4, -1
    bnez t4, 3b
    add t1, t1, t3
    bltu t0, t2, 2b

    la t0, m_trap
    csrw mtvec, t0
    la t0, s_trap
    csrw stvec, t0
    li t0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_FETCH_PF) | (1 << CAUSE_LOAD_PF) | (1 << CAUSE_STORE_PF)
    csrw medeleg, t0
    csrw mideleg, zero
    csrw mie, zero
    li t0, MSTATUS_SUM | MSTATUS_MXR
    csrc mstatus, t0
    li t0, SATP_SV32 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    li s0, RESULTS
    li s8, U_RESULTS
    li s11, 0
    ENTER 1, s_probes

s_probes:                       /* S-mode, SUM = 0, MXR = 0 */
    LOAD   0x40005010           /*  0 S RW */
    STORE  0x40005014, 0x5EED0001   /*  1 S RW */
    LOAD   0x40001020           /*  2 U RW, SUM=0 */
    STORE  0x40001024, 0x5EED0003   /*  3 U RW, SUM=0 */
    li t0, MSTATUS_SUM
    csrs sstatus, t0            /* SUM = 1, MXR = 0 */
    LOAD   0x40001028           /*  4 U RW */
    STORE  0x4000102C, 0x5EED0005   /*  5 U RW */
    LOAD   0x40002030           /*  6 U RO */
    STORE  0x40002034, 0x5EED0007   /*  7 U RO */
    LOAD   0x40003038           /*  8 U X-only */
    LOAD   0x4000003C           /*  9 U code (X-only) */
    AMOADD 0x40001040           /* 10 U RW */
    AMOADD 0x40002044           /* 11 U RO */
    li t0, MSTATUS_MXR
    csrs sstatus, t0            /* SUM = 1, MXR = 1 */
    LOAD   0x40003048           /* 12 U X-only */
    LOAD   0x40000000           /* 13 U code (X-only): first user insn */
    li t0, MSTATUS_SUM
    csrc sstatus, t0            /* SUM = 0, MXR = 1 */
    LOAD   0x4000304C           /* 14 U X-only */
    LOAD   0x40006050           /* 15 S X-only */
    li t0, MSTATUS_MXR
    csrc sstatus, t0            /* SUM = 0, MXR = 0 */
    LOAD   0x40006054           /* 16 S X-only */
    AMOADD 0x40006058           /* 17 S X-only */
    LOAD   0x4000405C           /* 18 unmapped */
    STORE  0x40004060, 0x5EED0013   /* 19 unmapped */
    LOAD   0x40007064           /* 20 W without R */
    STORE  0x40007068, 0x5EED0015   /* 21 W without R */
    LOAD   0x4000806C           /* 22 V = 0 */
    LOAD   0x40009070           /* 23 non-leaf at level 0 */
    LOAD   0x40400074           /* 24 misaligned megapage */
    LOAD   0x00400078           /* 25 root PTE 0 */
    AMOADD 0x4000507C           /* 26 S RW */
    LR     0x40004080           /* 27 unmapped */
    FETCH  0x40000000           /* 28 U code page, from S */
    FETCH  0x40005084           /* 29 S RW, no X */
    FETCH  0x40004088           /* 30 unmapped */

    /* U session 1: MXR = 0 */
    la s10, s_after_u1
    la t0, u_session1
    j enter_user
s_after_u1:
    li t0, MSTATUS_MXR
    csrs sstatus, t0
    /* U session 2: MXR = 1 */
    la s10, s_after_u2
    la t0, u_session2
    j enter_user
s_after_u2:
    li t0, MSTATUS_MXR
    csrc sstatus, t0

    li t0, RESULTS
    sub a0, s0, t0
    srli a0, a0, 4
    li t0, U_RESULTS
    sub a1, s8, t0
    srli a1, a1, 4
    li t0, RESULTS + RESULTS_COUNT
    sw a0, 0(t0)
    sw a1, -4(t0)
    li t1, DONE_MAGIC
    sw t1, 4(t0)
done:
    ebreak

/* sret to the U code at physical address t0 (VA = VA_USER + offset in
 * user_code), with s0 = the U record pointer; the U ecall that ends the
 * session lands in s_trap, which jumps to s10 (S). */
enter_user:
    la t1, user_code
    sub t0, t0, t1
    li t1, VA_USER
    add t0, t0, t1
    csrw sepc, t0
    li t0, MSTATUS_SPP
    csrc sstatus, t0
    mv s7, s0
    mv s0, s8
    sret

/* S handler: page faults are recorded in s4..s6; a U ecall ends a session. */
s_trap:
    csrr s4, scause
    csrr s5, stval
    csrr s6, sepc
    sub s6, s6, t2
    li t6, CAUSE_ECALL_U
    beq s4, t6, s_user_done
    li t6, CAUSE_FETCH_PF
    beq s4, t6, 1f
    csrr t6, sepc
    addi t6, t6, 4
    csrw sepc, t6
    sret
1:  csrw sepc, s11
    sret
s_user_done:
    mv s8, s0
    mv s0, s7
    jr s10

/* M handler: nothing should reach M after the mret. */
m_trap:
    li t5, RESULTS + 0xFF0
    csrr t6, mcause
    sw t6, 0(t5)
    csrr t6, mepc
    sw t6, 4(t5)
    ebreak

/* ---- user code: one execute-only page, mapped at VA_USER ---- */
    .balign 4096
user_code:
u_session1:                     /* U-mode, MXR = 0 */
    LOAD   0x40001090           /* U0  U RW */
    STORE  0x40001094, 0x5EED0101   /* U1  U RW */
    LOAD   0x40002098           /* U2  U RO */
    STORE  0x4000209C, 0x5EED0103   /* U3  U RO */
    LOAD   0x400030A0           /* U4  U X-only */
    LOAD   0x400050A4           /* U5  S RW */
    STORE  0x400050A8, 0x5EED0106   /* U6  S RW */
    LOAD   0x80010000           /* U7  kernel megapage */
    AMOADD 0x400010AC           /* U8  U RW */
    FETCH  0x80000000           /* U9  kernel megapage (X, not U) */
    FETCH  0x400020B0           /* U10 U RO, no X */
    LOAD   0x400000B4           /* U11 own code page (X-only) */
    ecall
u_session2:                     /* U-mode, MXR = 1 */
    LOAD   0x400030B8           /* U12 U X-only */
    LOAD   0x40000000           /* U13 own code page: first user insn */
    LOAD   0x400060BC           /* U14 S X-only */
    ecall
    .balign 4096
