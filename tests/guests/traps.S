/* traps.S: synchronous trap entry for each cause and privilege.
 *
 * Run with ebreak_exits = False: ebreak is an ordinary trap here.  The program
 * does not stop by itself: when every scenario is done it writes the record
 * count to RESULTS+0xFF8 and 0x5555 to RESULTS+0xFFC, then loops at `idle`
 * (`j .`) until the host's budget runs out.
 *
 * Every trap the handlers see is recorded at RESULTS as one 16-byte record:
 *     +0 xcause   +4 xepc   +8 xtval   +12 tag (layout in testguest.h:
 *     handler privilege | xPP << 8 | xPIE << 16 | xIE << 24)
 * M-mode keeps mstatus.MIE = SIE = 1 (mie = 0, so nothing can interrupt), so
 * every record must show xPIE = 1 and xIE = 0.  Handlers resume at xepc + 4,
 * or at the address in s11 when s11 != 0 (the fetch fault of h3).
 *
 * Records, in order (the label table gives the address of each faulting
 * instruction, in the same order except h3, whose epc is VA_NX_FETCH):
 *   0 a   illegal insn (.word 0) in M         -> M  cause 2,  tval 0
 *   1 b   ecall in M                          -> M  cause 11
 *   2 c   ecall in S, medeleg = 0             -> M  cause 9
 *   3 d   ecall in U, medeleg bit 8           -> S  cause 8
 *   4 e   ecall in U, medeleg = 0             -> M  cause 8
 *   5 f   ebreak in S, medeleg bit 3          -> S  cause 3,  tval 0 or epc
 *   6 g1  amoadd.w at MISALIGNED_AMO in S     -> M  cause 6,  tval = address
 *   7 g2  lr.w at MISALIGNED_LR in S, bit 4   -> S  cause 4,  tval = address
 *   8 h1  lw from unmapped VA_UNMAPPED_LOAD   -> S  cause 13, tval = address
 *   9 h2  sw to read-only VA_RO_STORE         -> S  cause 15, tval = address
 *  10 h3  jump to non-executable VA_NX_FETCH  -> S  cause 12, epc = tval = target
 *  11 i   ecall in M with mtvec vectored      -> M  cause 11 at the base address
 * h1..h3 run in S under Sv32 (medeleg bits 12, 13, 15).  In i, a trap that
 * wrongly lands on a vector slot is recorded with tag 0xBAD.
 * Scenario changes go through the "service" ecall (GOTO_M in testguest.h),
 * which is not recorded.
 */
#include "testguest.h"

#define PT_ROOT           0x80100000
#define PT_L2             0x80101000   /* second level for VA 0x40000000.. */
#define PG_RO             0x80201000   /* mapped read-only at VA 0x40001000 */
#define PG_NX             0x80202000   /* mapped R|W (no X) at VA 0x40002000 */
#define VA_UNMAPPED_LOAD  0x40000123
#define VA_RO_STORE       0x40001456
#define VA_NX_FETCH       0x40002010
#define MISALIGNED_AMO    (RESULTS + 0x1002)
#define MISALIGNED_LR     (RESULTS + 0x1011)

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 12
    .word L_a, L_b, L_c, L_d, L_e, L_f, L_g1, L_g2, L_h1, L_h2, L_i, idle

main:
    li s0, RESULTS              /* s0: next record */
    li s11, 0                   /* s11: resume address override */
    li a7, 0
    la t0, m_trap
    csrw mtvec, t0
    la t0, s_trap
    csrw stvec, t0
    csrw medeleg, zero
    csrw mideleg, zero
    csrw mie, zero
    csrw satp, zero
    li t0, MSTATUS_MIE | MSTATUS_SIE
    csrs mstatus, t0

/* (a) illegal instruction in M */
L_a:
    .word 0
/* (b) ecall from M */
L_b:
    ecall
/* (c) ecall from S, not delegated */
    ENTER 1, c_s
c_s:
L_c:
    ecall
    GOTO_M d_m
/* (d) ecall from U, delegated to S */
d_m:
    li t0, 1 << CAUSE_ECALL_U
    csrw medeleg, t0
    ENTER 0, d_u
d_u:
L_d:
    ecall
    GOTO_M e_m
/* (e) ecall from U, not delegated */
e_m:
    csrw medeleg, zero
    ENTER 0, e_u
e_u:
L_e:
    ecall
    GOTO_M f_m
/* (f) ebreak from S, delegated */
f_m:
    li t0, 1 << CAUSE_BREAKPOINT
    csrw medeleg, t0
    ENTER 1, f_s
f_s:
L_f:
    ebreak
    GOTO_M g_m
/* (g) misaligned AMO (not delegated) and LR (delegated) from S */
g_m:
    li t0, 1 << CAUSE_LOAD_MISALIGN
    csrw medeleg, t0
    ENTER 1, g_s
g_s:
    li t1, MISALIGNED_AMO
    li t2, 1
L_g1:
    amoadd.w t0, t2, (t1)
    li t1, MISALIGNED_LR
L_g2:
    lr.w t0, (t1)
    GOTO_M h_m
/* (h) page faults from S under Sv32, delegated to S */
h_m:
    jal ra, build_page_tables
    li t0, SATP_SV32 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    li t0, (1 << CAUSE_FETCH_PF) | (1 << CAUSE_LOAD_PF) | (1 << CAUSE_STORE_PF)
    csrw medeleg, t0
    ENTER 1, h_s
h_s:
    li t1, VA_UNMAPPED_LOAD
L_h1:
    lw t0, 0(t1)
    li t1, VA_RO_STORE
L_h2:
    sw t0, 0(t1)
    la s11, h_resume
    li t1, VA_NX_FETCH
    jr t1
h_resume:
    GOTO_M i_m
/* (i) vectored mtvec: exceptions still go to the base */
i_m:
    csrw satp, zero
    sfence.vma
    csrw medeleg, zero
    la t0, vec_table
    ori t0, t0, 1
    csrw mtvec, t0
L_i:
    ecall
    la t0, m_trap
    csrw mtvec, t0

/* done: record count and magic, then spin */
    li t0, RESULTS
    sub t1, s0, t0
    srli t1, t1, 4
    li t0, RESULTS + RESULTS_COUNT
    sw t1, 0(t0)
    li t1, DONE_MAGIC
    sw t1, 4(t0)
idle:
    j idle

/* M handler: service ecall (a7 = 1: continue at a6 in M), else record */
m_trap:
    li t6, SERVICE_GOTO_M
    bne a7, t6, 1f
    li a7, 0
    li t6, MSTATUS_MIE | MSTATUS_SIE
    csrs mstatus, t6
    jr a6
1:  M_RECORD
    beqz s11, 2f
    csrw mepc, s11
    li s11, 0
    mret
2:  csrr t3, mepc
    addi t3, t3, 4
    csrw mepc, t3
    mret

/* S handler: forward a service ecall to M, else record */
s_trap:
    li t6, SERVICE_GOTO_M
    bne a7, t6, 1f
    ecall                       /* S ecall is never delegated here */
1:  S_RECORD
    beqz s11, 2f
    csrw sepc, s11
    li s11, 0
    sret
2:  csrr t3, sepc
    addi t3, t3, 4
    csrw sepc, t3
    sret

/* Vectored mtvec: slot 0 takes exceptions; any other slot is wrong here. */
    .balign 64
vec_table:
    j m_trap
    .rept 15
    j vec_wrong
    .endr
vec_wrong:
    M_RECORD
    li t3, TAG_WRONG_VECTOR
    sw t3, -4(s0)
    csrr t3, mepc
    addi t3, t3, 4
    csrw mepc, t3
    mret

/* Sv32 tables for (h): kernel identity megapage, and under VA 0x40000000
 * page 0 unmapped, page 1 -> PG_RO (V|R), page 2 -> PG_NX (V|R|W). */
build_page_tables:
    li t0, PT_ROOT
    li t1, PT_ROOT + 0x2000
1:  sw zero, 0(t0)
    addi t0, t0, 4
    bltu t0, t1, 1b
    li t0, PT_ROOT + 0x200 * 4
    li t1, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD)
    sw t1, 0(t0)
    li t0, PT_ROOT + 0x100 * 4
    li t1, PTE(PT_L2, PTE_V)
    sw t1, 0(t0)
    li t0, PT_L2 + 1 * 4
    li t1, PTE(PG_RO, PTE_V | PTE_R | PTE_AD)
    sw t1, 0(t0)
    li t0, PT_L2 + 2 * 4
    li t1, PTE(PG_NX, PTE_V | PTE_R | PTE_W | PTE_AD)
    sw t1, 0(t0)
    ret
