/* selfmod.S: host writes into guest code must invalidate translated code.
 *
 * Entry: M-mode at 0x80000000.  0x80000000: `jal ra, f`; 0x80000004: ebreak.
 * f sits at 0x80000100 and is `li a0, 1` (0x00100513) followed by `ret`.
 * First run: a0 = 1 at the ebreak.  The host then overwrites the word at
 * 0x80000100 with `li a0, 2` (0x00200513), sets pc = 0x80000000 and runs
 * again: a0 must be 2 (stale translated code would give 1).
 */
    .section .text.entry, "ax"
    .globl _start
_start:
    jal ra, f
    ebreak

    .org 0x100
f:
    li a0, 1
    ret
