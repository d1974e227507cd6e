/* rvc.S: compressed (2-byte) instructions, and trap vectors that point at them.
 *
 * Entry: M-mode at 0x80000000, a0 = mode.
 * a0 = 0 (what `pyhv boot --bios none` passes: the hart id): the M timer ticks
 *   every PERIOD ticks into `tick`, a handler made of compressed instructions
 *   that counts in s1 and at RESULTS, and in between the hart runs `spin`, the
 *   one 2-byte instruction `c.j .`, forever.
 * a0 = 1: S-mode raises its own software interrupt (csrsi sip, SSIP) a1 times;
 *   the engine delivers each one itself to `strap` (stvec, direct) or through
 *   the vector table `svec` (a2 = 1, stvec vectored: `c.j strap` at svec + 4),
 *   whose compressed handler clears SSIP and counts in s1 and at RESULTS + 4;
 *   then ebreak at `done`.
 * Labels: count 4, then `spin`, `tick`, `strap`, `done`.
 */
#include "testguest.h"

#define MTIME     (PYHV_CLINT_BASE + 0xbff8)
#define MTIMECMP  (PYHV_CLINT_BASE + 0x4000)
#define PERIOD    1000               /* ticks: 10000 instructions */
#define MIP_SSIP  (1 << IRQ_SSI)

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 4
    .word spin, tick, strap, done

main:
    li s0, RESULTS
    li s1, 0
    bnez a0, soft
    la t0, tick
    csrw mtvec, t0
    li t1, MTIME
    lw t2, 0(t1)
    addi t2, t2, PERIOD
    li t3, MTIMECMP
    li t4, -1
    sw t4, 4(t3)                /* high word first: no early match */
    sw t2, 0(t3)
    sw zero, 4(t3)
    li t0, (1 << IRQ_MTI)
    csrw mie, t0
    csrsi mstatus, MSTATUS_MIE
    .option push
    .option rvc
spin:
    c.j spin

    .balign 4
tick:                           /* mtvec (direct) points here */
    c.addi s1, 1
    c.sw s1, 0(s0)
    c.li a5, 1                  /* a5 = mtimecmp address, built in 2-byte steps */
    c.slli a5, 25
    lui a4, 4
    c.add a5, a4
    c.lw a4, 0(a5)
    addi a4, a4, PERIOD
    c.sw a4, 0(a5)
    mret
    .option pop

soft:
    la t0, strap
    beqz a2, 1f
    la t0, svec
    ori t0, t0, 1               /* vectored: interrupt n enters svec + 4n */
1:  csrw stvec, t0
    li t0, MIP_SSIP
    csrw mideleg, t0
    csrw mie, t0
    ENTER 1, sentry
sentry:
    csrsi sstatus, MSTATUS_SIE
sloop:
    bge s1, a1, done
    csrsi sip, MIP_SSIP         /* the engine takes it before the next instruction */
    j sloop
done:
    ebreak

    .option push
    .option rvc
    .balign 64
svec:
    c.nop                       /* svec + 0: exceptions (none expected) */
    c.nop
    c.j strap                   /* svec + 4: supervisor software interrupt */
    .balign 4
strap:
    csrci sip, MIP_SSIP
    c.addi s1, 1
    c.sw s1, 4(s0)
    sret
    .option pop
