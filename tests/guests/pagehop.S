/* pagehop.S: TLB refill cost under Sv32, for benchmarks.
 *
 * Entry: M-mode at 0x80000000, a0 = number of rounds N (0 means 1000).
 * M builds Sv32 tables (root PT_ROOT, one second-level table PT_L2):
 *   VA 0x80000000..0x803fffff -> PA same, 4 MiB megapage, V|R|W|X|A|D (U clear)
 *   VA 0x40000000 + i*4096    -> PA 0x80200000 + i*4096, V|R|W|A|D, i = 0..63
 * zeroes word i of data page i, sets satp (Sv32, root PPN) and mrets to S.
 * S, for r in 0..N-1, for i in 0..63, at VA 0x40000000 + i*4096 + i*4:
 *     old = load; sum = sum * 31 + old; store r*64 + i
 * and runs sfence.vma after each round, so every page is refilled each round.
 * Final state: ebreak at label `done` in S-mode; a0 = sum (mod 2^32), a1 = N;
 * the word of data page i holds (N-1)*64 + i.
 */
#include "testguest.h"

#define PT_ROOT   0x80100000
#define PT_L2     0x80101000
#define DATA_PA   0x80200000
#define DATA_VA   0x40000000
#define NPAGES    64

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 2
    .word s_entry, done

main:
    bnez a0, 1f
    li a0, 1000
1:  li t0, PT_ROOT              /* zero both tables */
    li t1, PT_ROOT + 0x2000
2:  sw zero, 0(t0)
    addi t0, t0, 4
    bltu t0, t1, 2b

    li t0, PT_ROOT + 0x200 * 4  /* root[0x200]: kernel megapage */
    li t1, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD)
    sw t1, 0(t0)
    li t0, PT_ROOT + 0x100 * 4  /* root[0x100] -> PT_L2 (non-leaf: V only) */
    li t1, PTE(PT_L2, PTE_V)
    sw t1, 0(t0)

    li t0, PT_L2                /* L2[i] -> data page i */
    li t1, PTE(DATA_PA, PTE_V | PTE_R | PTE_W | PTE_AD)
    li t2, 1 << 10              /* PPN + 1 */
    li t3, DATA_PA              /* word i of data page i */
    li t4, 4096 + 4
    li t5, NPAGES
3:  sw t1, 0(t0)
    sw zero, 0(t3)
    add t1, t1, t2
    add t3, t3, t4
    addi t0, t0, 4
    addi t5, t5, -1
    bnez t5, 3b

    li t0, SATP_SV32 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    csrw medeleg, zero
    csrw mie, zero
    ENTER 1, s_entry

s_entry:                        /* S-mode, paging on */
    li s2, 0                    /* r */
    li s3, 0                    /* sum */
    li s4, DATA_VA
    li s5, 31
    li s6, 4096 + 4
    li s7, NPAGES
round:
    mv t0, s4                   /* VA of word i of page i */
    li t2, 0                    /* i */
    slli t5, s2, 6              /* r * 64 */
page:
    lw t1, 0(t0)
    mul s3, s3, s5
    add s3, s3, t1
    add t3, t5, t2
    sw t3, 0(t0)
    add t0, t0, s6
    addi t2, t2, 1
    bne t2, s7, page
    sfence.vma
    addi s2, s2, 1
    bne s2, a0, round

    mv a1, a0
    mv a0, s3
done:
    ebreak
