/* hostile.S: a small supervisor that runs generated hostile code (isolation suite, part 3).
 *
 * M builds an Sv32 table from `page_map` (below), delegates every exception an
 * S or U hart can raise to S (medeleg bits 0-9, 12, 13, 15) and enters S.  S
 * installs its trap handler and stops at ebreak `setup_done` (ebreak_exits =
 * True): the host then writes the code buffer, the registers and the
 * parameters, and resumes at setup_done + 4.  S loads x1..x31 from P_REGS and
 * srets into the code buffer at CODE, in U (a0 = 0 at entry) or S (a0 = 1).
 *
 * The S handler records scause, sepc, stval, sstatus (16-byte records at
 * RESULTS, at most MAX_RECORDS, P_COUNT counts them all) and resumes at
 * sepc + 4, or, after a fetch fault (causes 0, 1, 12), at the address in
 * P_TRAILER (the host puts an ebreak there).  It keeps its own registers in
 * sscratch and the save slots, so the code may clobber every GPR.
 * A trap that reaches M stores mcause, mepc at P_MCAUSE, P_MEPC and ebreaks.
 *
 * Physical layout: this program at RAM base; RESULTS (S RW); the code buffer
 * CODE (2 pages, R X, U in U runs); data page k at DATA + k * 0x1000 holding
 * words 0xD0000000 + (k * 1024 + j); page tables at PT_ROOT, PT_LO, PT_HI.
 * page_map entries are (va, ppn, flags): flags are PTE bits 7..0, plus
 * MARK_ROOT (the entry is a root PTE for va[31:22]) and MARK_U (U is set in U
 * runs only).  Root entries come first; the others go into the level-0 table
 * their root PTE points to.  The test reads this table from the binary.
 */
#include "testguest.h"

#define CODE        0x80020000
#define DATA        0x80100000
#define NDATA       16
#define PT_ROOT     0x80200000
#define PT_LO       0x80201000   /* level 0 for VA 0x40000000.. */
#define PT_HI       0x80202000   /* level 0 for VA 0x80000000.. (identity) */
#define MARK_U      0x100
#define MARK_ROOT   0x200
#define DELEG       0xB3FF
#define SSTATUS_SPP (1 << 8)

#define MAX_RECORDS 60
#define P_REGS      0x400        /* x1..x31, 31 words */
#define P_COUNT     0x480
#define P_TRAILER   0x484
#define P_SSTATUS   0x488        /* bits set in sstatus before entering the code (SUM, MXR) */
#define P_SAVE_T4   0x48C
#define P_SAVE_T5   0x490
#define P_MCAUSE    0x494
#define P_MEPC      0x498

#define AD          (PTE_A | PTE_D)

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 4
    .word page_map, setup_done, s_trap, m_trap

main:
    la t0, m_trap
    csrw mtvec, t0
    mv s3, a0                   /* s3: 0 U run, 1 S run */

    li t0, DATA                 /* data page words */
    li t1, 0xD0000000
    li t2, DATA + NDATA * 0x1000
1:  sw t1, 0(t0)
    addi t0, t0, 4
    addi t1, t1, 1
    bltu t0, t2, 1b

    la t0, page_map
2:  lw t1, 0(t0)                /* va; -1 ends the table */
    li t2, -1
    beq t1, t2, 7f
    lw t2, 4(t0)                /* ppn */
    lw t3, 8(t0)                /* flags */
    andi t4, t3, MARK_U
    beqz t4, 3f
    xori t3, t3, MARK_U
    bnez s3, 3f
    ori t3, t3, PTE_U
3:  slli t2, t2, 10
    andi t4, t3, 0xFF
    or t2, t2, t4               /* the PTE */
    srli t4, t1, 22
    slli t4, t4, 2
    li t5, PT_ROOT
    add t4, t4, t5              /* its root slot */
    andi t5, t3, MARK_ROOT
    beqz t5, 4f
    sw t2, 0(t4)
    j 6f
4:  lw t5, 0(t4)                /* level-0 table named by the root PTE */
    srli t5, t5, 10
    slli t5, t5, 12
    srli t6, t1, 12
    andi t6, t6, 0x3FF
    slli t6, t6, 2
    add t5, t5, t6
    sw t2, 0(t5)
6:  addi t0, t0, 12
    j 2b

7:  li t0, DELEG
    csrw medeleg, t0
    csrw mideleg, zero
    li t0, SATP_SV32 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    ENTER 1, s_start

s_start:
    la t0, s_trap
    csrw stvec, t0
    li t0, RESULTS
    csrw sscratch, t0
setup_done:
    ebreak                      /* the host fills the code buffer and P_*, resumes at +4 */
    li t6, RESULTS
    lw t0, P_SSTATUS(t6)
    csrs sstatus, t0
    li t0, SSTATUS_SPP
    csrc sstatus, t0
    beqz s3, 1f
    csrs sstatus, t0
1:  li t0, CODE
    csrw sepc, t0
    li x31, RESULTS + P_REGS
    .irp n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
    lw x\n, (\n - 1) * 4(x31)
    .endr
    lw x31, 30 * 4(x31)
    sret

    .balign 4
s_trap:
    csrrw t6, sscratch, t6      /* t6 = RESULTS */
    sw t5, P_SAVE_T5(t6)
    sw t4, P_SAVE_T4(t6)
    lw t4, P_COUNT(t6)
    addi t5, t4, 1
    sw t5, P_COUNT(t6)
    li t5, MAX_RECORDS
    bgeu t4, t5, 1f
    slli t4, t4, 4
    add t4, t4, t6
    csrr t5, scause
    sw t5, 0(t4)
    csrr t5, sepc
    sw t5, 4(t4)
    csrr t5, stval
    sw t5, 8(t4)
    csrr t5, sstatus
    sw t5, 12(t4)
1:  csrr t4, scause
    beqz t4, 2f                 /* instruction address misaligned */
    li t5, 1                    /* instruction access fault */
    beq t4, t5, 2f
    li t5, CAUSE_FETCH_PF
    beq t4, t5, 2f
    csrr t4, sepc
    addi t4, t4, 4
    csrw sepc, t4
    j 3f
2:  lw t4, P_TRAILER(t6)
    csrw sepc, t4
3:  lw t4, P_SAVE_T4(t6)
    lw t5, P_SAVE_T5(t6)
    csrrw t6, sscratch, t6
    sret

    .balign 4
m_trap:
    li t0, RESULTS
    csrr t1, mcause
    sw t1, P_MCAUSE(t0)
    csrr t1, mepc
    sw t1, P_MEPC(t0)
    ebreak

    .section .rodata
    .balign 4
/* (va, ppn, flags).  Expected outcome for the code, by privilege, in the test. */
page_map:
    .word 0x40000000, PT_LO >> 12, PTE_V | MARK_ROOT                          /* pointer */
    .word 0x80000000, PT_HI >> 12, PTE_V | MARK_ROOT                          /* pointer */
    .word 0xC0000000, DATA >> 12, PTE_V | PTE_R | PTE_W | PTE_U | AD | MARK_ROOT /* misaligned megapage */
    .word 0xFFC00000, 0x100000, PTE_V | PTE_R | PTE_W | PTE_U | AD | MARK_ROOT /* megapage at 4 GiB: no RAM */
    .word 0x00400000, 0x3FFFFF, PTE_V | MARK_ROOT                             /* pointer outside RAM */
    .word 0x80000000, 0x80000, PTE_V | PTE_R | PTE_X | PTE_A                  /* this program */
    .word 0x80001000, 0x80001, PTE_V | PTE_R | PTE_X | PTE_A
    .word RESULTS, RESULTS >> 12, PTE_V | PTE_R | PTE_W | AD
    .word CODE, CODE >> 12, PTE_V | PTE_R | PTE_X | PTE_A | MARK_U
    .word CODE + 0x1000, (CODE >> 12) + 1, PTE_V | PTE_R | PTE_X | PTE_A | MARK_U
    .word 0x40000000, (DATA >> 12) + 0, PTE_V | PTE_R | PTE_W | PTE_U | AD     /* U RW */
    .word 0x40001000, (DATA >> 12) + 1, PTE_V | PTE_R | PTE_U | PTE_A          /* U R */
    .word 0x40002000, (DATA >> 12) + 2, PTE_V | PTE_X | PTE_U | PTE_A          /* U X */
    .word 0x40003000, (DATA >> 12) + 3, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A /* U RWX, D clear */
    .word 0x40004000, (DATA >> 12) + 4, PTE_V | PTE_R | PTE_W | AD             /* S RW */
    .word 0x40005000, (DATA >> 12) + 5, PTE_V | PTE_R | PTE_A                  /* S R */
    .word 0x40006000, (DATA >> 12) + 6, PTE_V | PTE_X | PTE_A                  /* S X */
    .word 0x40007000, (DATA >> 12) + 7, PTE_V | PTE_W | AD                     /* reserved: W without R */
    .word 0x40008000, (DATA >> 12) + 8, PTE_R | PTE_W | AD                     /* V clear */
    .word 0x40009000, (DATA >> 12) + 9, PTE_V                                  /* pointer at level 0 */
    .word 0x4000A000, (DATA >> 12) + 10, PTE_V | PTE_R | PTE_W | PTE_U         /* U RW, A and D clear */
    .word 0x4000C000, (DATA >> 12) + 12, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A /* S RWX, D clear */
    .word 0x4000D000, 0x20000, PTE_V | PTE_R | PTE_W | PTE_U | AD              /* the pool's engine address */
    .word 0x4000E000, 0x10000, PTE_V | PTE_R | PTE_W | AD                      /* MMIO, no device here */
    .word 0x4000F000, PT_ROOT >> 12, PTE_V | PTE_R | PTE_U | PTE_A             /* the root table, read-only */
    .word -1
