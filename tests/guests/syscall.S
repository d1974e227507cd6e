/* syscall.S: the U -> S system-call round trip, for benchmarks.
 *
 * Entry: M-mode at 0x80000000, a0 = number of ecalls N (0 means 100000).
 * M delegates U ecalls to S (medeleg bit 8), sets stvec, leaves satp = 0
 * (bare: U and S use physical addresses), and mrets to U.  U runs `ecall`
 * N times with a7 = 0; the S handler counts in s1, does sepc += 4 and sret.
 * Then U issues one more ecall with a7 = 93 (exit), which the S handler
 * counts and answers by executing ebreak in S-mode.
 * Final state: ebreak at label s_exit in S-mode (priv 1); s1 = N + 1;
 * a0 = N; scause = 8; sepc = address of the exit ecall (label u_exit).
 */
#include "testguest.h"

#define SYS_EXIT 93

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:                         /* see testguest.h: count, then addresses */
    .word 3
    .word u_entry, u_exit, s_exit

main:
    bnez a0, 1f
    li a0, 100000
1:  li s1, 0
    la t0, s_handler
    csrw stvec, t0
    li t0, 1 << CAUSE_ECALL_U
    csrw medeleg, t0
    csrw mideleg, zero
    csrw mie, zero
    csrw satp, zero
    ENTER 0, u_entry

u_entry:                        /* U-mode */
    mv s2, a0
    li a7, 0
u_loop:
    ecall
    addi s2, s2, -1
    bnez s2, u_loop
    li a7, SYS_EXIT
u_exit:
    ecall
    j u_exit                    /* not reached */

s_handler:                      /* S-mode, every U ecall lands here */
    addi s1, s1, 1
    li t0, SYS_EXIT
    beq a7, t0, s_exit
    csrr t0, sepc
    addi t0, t0, 4
    csrw sepc, t0
    sret
s_exit:
    ebreak
