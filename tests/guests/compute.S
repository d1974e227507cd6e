/* compute.S: a deterministic compute loop for benchmarks (no traps, no paging).
 *
 * Entry: M-mode at 0x80000000, a0 = iteration count N (0 means 1000000).
 * Each iteration i (12 instructions: ALU ops, one mul, one load, one store)
 * updates an FNV-style hash h over a 64-word buffer at RESULTS:
 *     w = buf[i & 63]; h ^= w; h *= 0x01000193; h ^= h >> 15; buf[i & 63] = w + h
 * with h = 0x811c9dc5 and buf[k] = k * 0x9e3779b9 (mod 2^32) at the start.
 * Final state: ebreak at label `done`; a0 = h, a1 = N, buf updated in place.
 */
#include "testguest.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 1
    .word done

main:
    bnez a0, 1f
    li a0, 1000000
1:  li s0, RESULTS              /* s0 = buf */
    li t0, 0                    /* k */
    li t1, 0                    /* k * 0x9e3779b9 */
    li t2, 0x9e3779b9
    li t3, 64
2:  slli t4, t0, 2
    add t4, t4, s0
    sw t1, 0(t4)
    add t1, t1, t2
    addi t0, t0, 1
    bne t0, t3, 2b

    li s1, 0                    /* i */
    li s2, 0x811c9dc5           /* h */
    li s3, 0x01000193           /* FNV-1 32-bit prime */
loop:
    andi t0, s1, 63
    slli t0, t0, 2
    add t0, t0, s0
    lw t1, 0(t0)
    xor s2, s2, t1
    mul s2, s2, s3
    srli t2, s2, 15
    xor s2, s2, t2
    add t1, t1, s2
    sw t1, 0(t0)
    addi s1, s1, 1
    bne s1, a0, loop

    mv a1, a0
    mv a0, s2
done:
    ebreak
