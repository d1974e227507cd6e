/* pmp.S: physical memory protection (privileged spec 3.7) as the C MMU enforces it.
 *
 * M-mode programs four PMP entries over the page DATA, then runs accesses in S
 * (paging off) and in M.  Every access fault is recorded at RESULTS by the M
 * handler (M_RECORD: mcause, mepc, mtval, tag) and skipped (mepc + 4); a fetch
 * fault resumes at ra instead.  The program ends with ebreak (ebreak_exits).
 *
 *   entry 0  NA4    DATA+0x8            ---        a 4-byte hole in a page S may use
 *   entry 1  NAPOT  DATA+0x800, 2 KiB   R--        the page's upper half read-only
 *   entry 2  NA4    DATA+0x10           R-- locked binds M-mode too
 *   entry 3  NAPOT  all 34 bits         RWX        everything else
 *
 * Records, in order (label table: the faulting instructions, then done):
 *   0 s_hole   S  lw DATA+0x8 right after an allowed lw DATA+0x0 -> cause 5, tval DATA+0x8
 *   1 s_ro     S  sw DATA+0x800 after an allowed lw there         -> cause 7, tval DATA+0x800
 *   2 s_lock   S  sw DATA+0x10                                    -> cause 7, tval DATA+0x10
 *   3 s_fetch  S  jump to DATA+0x800 (not X)                      -> cause 1, tval DATA+0x800
 *   4 m_lock   M  sw DATA+0x10 (locked: M is bound)               -> cause 7, tval DATA+0x10
 *   5 m_mprv   M  MPRV with MPP = S: lw DATA+0x8                  -> cause 5, tval DATA+0x8
 * Between them the allowed accesses must not fault: S lw/sw DATA+0x0/0x4/0xc,
 * lw DATA+0x800, and M sw DATA+0x8 (entry 0 is unlocked: M ignores it).
 * s1 counts the allowed S accesses that completed (5), s2 the M ones (2).
 */
#include "testguest.h"

#define DATA        0x80020000
#define PMP_R       0x01
#define PMP_W       0x02
#define PMP_X       0x04
#define PMP_NA4     (2 << 3)
#define PMP_NAPOT   (3 << 3)
#define PMP_L       0x80
#define MSTATUS_MPRV (1 << 17)

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 7
    .word s_hole, s_ro, s_lock, s_fetch, m_lock, m_mprv, done

main:
    li s0, RESULTS
    li s1, 0
    li s2, 0
    la t0, m_trap
    csrw mtvec, t0
    csrw medeleg, zero
    csrw mie, zero
    li t0, (DATA + 0x8) >> 2
    csrw pmpaddr0, t0
    li t0, ((DATA + 0x800) >> 2) | (0x7ff >> 3)    /* 2 KiB: ones in bits 7..0 */
    csrw pmpaddr1, t0
    li t0, (DATA + 0x10) >> 2
    csrw pmpaddr2, t0
    li t0, -1
    csrw pmpaddr3, t0
    li t0, PMP_NA4 | ((PMP_NAPOT | PMP_R) << 8) | ((PMP_NA4 | PMP_R | PMP_L) << 16) \
           | ((PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 24)
    csrw pmpcfg0, t0
    sfence.vma                  /* 3.7.2: PMP changes reach translation caches by sfence.vma */
    li s3, DATA
    li t0, MSTATUS_MPP          /* into S at s_code (not ENTER: it would open PMP) */
    csrc mstatus, t0
    li t0, MSTATUS_MPP_S
    csrs mstatus, t0
    la t0, s_code
    csrw mepc, t0
    mret

s_code:
    lw t1, 0(s3)
    addi s1, s1, 1
s_hole:
    lw t1, 8(s3)                /* same page, same block: checked on its own */
    sw t1, 4(s3)
    addi s1, s1, 1
    lw t1, 12(s3)
    addi s1, s1, 1
    li t2, 0x800
    add t2, s3, t2
    lw t1, 0(t2)
    addi s1, s1, 1
s_ro:
    sw t1, 0(t2)
s_lock:
    sw t1, 16(s3)
    lw t1, 16(s3)
    addi s1, s1, 1
s_fetch:
    jalr ra, 0(t2)              /* the fault resumes at ra */
    ecall                       /* back to M: cause 9, not recorded */

m_code:
    sw t1, 8(s3)
    addi s2, s2, 1
m_lock:
    sw t1, 16(s3)
    lw t1, 16(s3)
    addi s2, s2, 1
    li t0, MSTATUS_MPP
    csrc mstatus, t0
    li t0, MSTATUS_MPRV | MSTATUS_MPP_S
    csrs mstatus, t0
m_mprv:
    lw t1, 8(s3)
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
done:
    ebreak

    .balign 4
m_trap:
    csrr t3, mcause
    li t4, CAUSE_ECALL_S
    beq t3, t4, 1f
    M_RECORD
    csrr t3, mcause
    li t4, 1                    /* fetch access fault: resume at ra */
    beq t3, t4, 2f
    csrr t3, mepc
    addi t3, t3, 4
    csrw mepc, t3
    mret
2:  csrw mepc, ra
    mret
1:  li t0, MSTATUS_MPP          /* the S part is over: continue in M */
    csrs mstatus, t0
    la t0, m_code
    csrw mepc, t0
    mret
