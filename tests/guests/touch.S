/* touch.S: a guest that wants memory (booted with --bios none, M-mode).
 *
 * Stores one word into each 4 KiB page from 0x80300000 upwards, counting pages in s1,
 * through the last page of the address space, then writes the finisher's PASS.  Past
 * the end of RAM the store is an access fault, so the run ends there unless the host
 * ran out of frames first.
 * Position-independent; used to exhaust a VM's frame limit or the host's pool.
 */
#include "testguest.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    li s1, 0
    li t0, 0x80300000
    li t2, 4096
1:  sw s1, 0(t0)
    addi s1, s1, 1
    add t0, t0, t2
    bnez t0, 1b                 /* wraps to 0 after the last page of the address space */
    li t0, PYHV_FINISHER_BASE
    li t1, PYHV_FINISHER_PASS
    sw t1, 0(t0)
2:  j 2b
