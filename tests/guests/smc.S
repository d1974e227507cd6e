/* smc.S: code rewritten through one virtual address, run through another.
 *
 * M-mode builds Sv32 tables: a kernel megapage (VA 0x80000000 = PA, RWX) and a 4 KiB
 * page at VA 0x40000000 mapped to the physical page FUNC_PA (R X).  In S-mode it
 * stores into the function's page through the identity mapping (so the engine has a
 * writable TLB entry for it before any code is translated from it), calls the
 * function at VA 0x40000000 (`li a0, 1; ret`), then rewrites its first
 * instruction to `li a0, 2` through the identity mapping (VA = FUNC_PA), executes
 * fence.i as the ISA requires, and calls it again through VA 0x40000000.
 * Final state: ebreak in S-mode with s1 = first result (1), s2 = second result (2).
 */
#include "testguest.h"

#define PT_ROOT  0x80100000
#define PT_L2    0x80101000
#define FUNC_PA  0x80102000
#define FUNC_VA  0x40000000
#define LI_A0_1  0x00100513
#define LI_A0_2  0x00200513
#define RET      0x00008067

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 1
    .word done

main:
    li t0, FUNC_PA              /* the function: li a0, 1; ret */
    li t1, LI_A0_1
    sw t1, 0(t0)
    li t1, RET
    sw t1, 4(t0)
    li t0, PT_ROOT + 0x200 * 4  /* root[0x200]: kernel megapage */
    li t1, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD)
    sw t1, 0(t0)
    li t0, PT_ROOT + 0x100 * 4  /* root[0x100] -> second level for VA 0x40000000 */
    li t1, PTE(PT_L2, PTE_V)
    sw t1, 0(t0)
    li t0, PT_L2
    li t1, PTE(FUNC_PA, PTE_V | PTE_R | PTE_X | PTE_AD)
    sw t1, 0(t0)
    li t0, SATP_SV32 | (PT_ROOT >> 12)
    csrw satp, t0
    sfence.vma
    ENTER 1, smode

smode:
    li t0, FUNC_PA              /* a write TLB entry for the page exists before any code */
    li t1, LI_A0_1
    sw t1, 0(t0)
    li t2, FUNC_VA
    jalr t2
    mv s1, a0
    li t0, FUNC_PA              /* rewrite through the identity mapping */
    li t1, LI_A0_2
    sw t1, 0(t0)
    fence.i
    li t2, FUNC_VA
    jalr t2
    mv s2, a0
done:
    ebreak
