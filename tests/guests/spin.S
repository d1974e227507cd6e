/* spin.S: a busy guest for scheduler tests and benchmarks (booted with --bios none).
 *
 * Position-independent M-mode loop: counts iterations in s1 forever, with a load and
 * a store per iteration (so it exercises the TLB like real code).  Never idles.
 */
    .section .text.entry, "ax"
    .globl _start
_start:
    li s1, 0
    la s2, counter
1:  lw t0, 0(s2)
    addi t0, t0, 1
    sw t0, 0(s2)
    addi s1, s1, 1
    j 1b

    .data
counter: .word 0
