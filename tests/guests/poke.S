/* poke.S: one guest store, for memory tests.
 *
 * Entry: M-mode with a0 = byte value, a1 = guest-physical address.  Stores the byte
 * (sb a0, 0(a1)), loads the word at a1 & ~3 into a2, and ebreaks.
 */
    .section .text.entry, "ax"
    .globl _start
_start:
    sb a0, 0(a1)
    andi t0, a1, -4
    lw a2, 0(t0)
    ebreak
