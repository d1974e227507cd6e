/* stalecode.S: code rewritten through a non-executable alias of its frame, as a
 * kernel rewrites a process's text through its direct map of RAM (exec, fork).
 *
 * Two address spaces (roots A and B) map the same three things:
 *   VA 0x80000000  megapage -> PA 0x80000000, R X   (this program)
 *   VA 0xC0000000  megapage -> PA 0x80000000, R W   (the "direct map": no X)
 *   VA 0x40000000  4 KiB    -> FUNC_PA,        R X   (the "process text")
 * Every store to FUNC_PA goes through the direct map; every call through
 * VA 0x40000000.  Each rewrite is followed by fence.i (Zifencei) as the ISA
 * requires.  Results (the function's return values) in s1..s5:
 *   s1 = 1  first version, written before any code was translated from the frame
 *   s2 = 2  rewritten through the direct-map TLB entry the first write left behind
 *   s3 = 3  after a switch to root B (sfence.vma), the page written from its far end
 *   s4 = 4  rewritten by the host (vm.write_phys) while stopped at `host_write`
 *   s5 = 5  rewritten by another hart while this one was stopped at `remote_write`
 * Hart 1 (a0 = 1) builds nothing: it enters S-mode on root A at `remote`, writes
 * version 5 and stops at `remote_done`.
 *
 * With a1 = 1 a hart only sets up (hart 0 builds the tables) and stops in S-mode on
 * root A at `ready`; the host then drives it through two services (pc = the label):
 *   svc_call   fence.i, call the function at VA a0, stop: a0 = its result
 *   svc_store  store a2 at VA a1 and a3 at VA a1 + 4, fence.i, stop
 * Besides the mappings above, both roots map FUNC_PA at VA 0x40001000 (R X) and
 * at VA 0x40002000 (R W X).
 * Labels: host_write remote_write done remote_done ready svc_call svc_store.
 */
#include "testguest.h"

#define ROOT_A   0x80100000
#define ROOT_B   0x80101000
#define PT_L2    0x80102000
#define FUNC_PA  0x80200000
#define FUNC_VA  0x40000000
#define DMAP     0x40000000   /* direct map VA = PA + DMAP (0x80000000 + 0x40000000) */
#define LI_A0(n) (0x00000513 | ((n) << 20))
#define RET      0x00008067

/* Store version n of the function (li a0, n; ret) through the direct map. */
.macro WRITE_FUNC n
    li t0, FUNC_PA + DMAP
    li t1, LI_A0(\n)
    sw t1, 0(t0)
    li t1, RET
    sw t1, 4(t0)
.endm

.macro CALL_FUNC reg
    li t2, FUNC_VA
    jalr t2
    mv \reg, a0
.endm

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 7
    .word host_write
    .word remote_write
    .word done
    .word remote_done
    .word ready
    .word svc_call
    .word svc_store

main:
    bnez a0, enter
    la t3, tables               /* (PTE address, PTE) pairs */
    la t4, tables_end
1:  lw t0, 0(t3)
    lw t1, 4(t3)
    sw t1, 0(t0)
    addi t3, t3, 8
    bltu t3, t4, 1b
enter:                          /* every hart: root A, then S-mode */
    li t0, SATP_SV32 | (ROOT_A >> 12)
    csrw satp, t0
    sfence.vma
    bnez a1, 2f
    bnez a0, 1f
    ENTER 1, smode
1:  ENTER 1, remote
2:  ENTER 1, ready

smode:
    WRITE_FUNC 1                /* a fresh direct-map TLB entry: its first store is seen */
    fence.i
    CALL_FUNC s1
    WRITE_FUNC 2                /* the same entry again */
    fence.i
    CALL_FUNC s2

    li t0, SATP_SV32 | (ROOT_B >> 12)
    csrw satp, t0               /* a new address space, the same frame at the same VA */
    sfence.vma
    li t0, FUNC_PA + DMAP + 0xffc
    li t1, 0x00000013           /* nop: the page is written from its far end first */
    sw t1, 0(t0)
    WRITE_FUNC 3
    fence.i
    CALL_FUNC s3

host_write:
    ebreak                      /* the host writes version 4, then resumes past the ebreak */
    fence.i
    CALL_FUNC s4

remote_write:
    ebreak                      /* hart 1 writes version 5, then this hart resumes */
    fence.i
    CALL_FUNC s5
done:
    ebreak

remote:
    WRITE_FUNC 5
    fence.i
remote_done:
    ebreak

ready:
    ebreak
svc_call:
    fence.i
    jalr a0
    ebreak
svc_store:
    sw a2, 0(a1)
    sw a3, 4(a1)
    fence.i
    ebreak

    .balign 4
tables:
    .word ROOT_A + 0x200 * 4, PTE(0x80000000, PTE_V | PTE_R | PTE_X | PTE_AD)
    .word ROOT_A + 0x300 * 4, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_AD)
    .word ROOT_A + 0x100 * 4, PTE(PT_L2, PTE_V)
    .word ROOT_B + 0x200 * 4, PTE(0x80000000, PTE_V | PTE_R | PTE_X | PTE_AD)
    .word ROOT_B + 0x300 * 4, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_AD)
    .word ROOT_B + 0x100 * 4, PTE(PT_L2, PTE_V)
    .word PT_L2, PTE(FUNC_PA, PTE_V | PTE_R | PTE_X | PTE_AD)
    .word PT_L2 + 4, PTE(FUNC_PA, PTE_V | PTE_R | PTE_X | PTE_AD)
    .word PT_L2 + 8, PTE(FUNC_PA, PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD)
tables_end:
