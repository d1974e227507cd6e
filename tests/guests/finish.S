/* finish.S: a tiny M-mode kernel for the CLI tests (booted with --bios none).
 *
 * Position-independent (all addresses pc-relative or absolute MMIO), so it runs at
 * the 0x80200000 load address of a boot image.  Prints "cmd?\n", reads one byte
 * from the UART and acts on it:
 *   p  -> "pass\n", finisher PASS (pyhv exits 0)
 *   f  -> "fail\n", finisher FAIL with code 7 (pyhv exits 7)
 *   z  -> finisher FAIL with code 0 (pyhv exits 1)
 *   r  -> "reset\n", finisher RESET (pyhv reboots, or exits 0 with --no-reboot)
 *   s  -> spins forever (for --max-insns / --timeout)
 *   w  -> wfi with no timer and no interrupt enabled: idle forever
 *   m  -> "mmio\n", then reads virtio slot 0's MagicValue forever: every access
 *         is served by the Python device model (for the signal tests)
 *   anything else -> "?\n" and reads again.
 */
#include "testguest.h"

#define LSR_DR    0x01
#define LSR_THRE  0x20

    .section .text.entry, "ax"
    .globl _start
_start:
    li s0, PYHV_UART0_BASE
    li s1, PYHV_FINISHER_BASE
    li t0, 0x03
    sb t0, 3(s0)
    la a2, s_prompt
    jal puts
getc:
    lbu t0, 5(s0)
    andi t0, t0, LSR_DR
    beqz t0, getc
    lbu t1, 0(s0)
    li t0, 'p'
    beq t1, t0, pass
    li t0, 'f'
    beq t1, t0, fail
    li t0, 'z'
    beq t1, t0, fail0
    li t0, 'r'
    beq t1, t0, reset
    li t0, 's'
    beq t1, t0, spin
    li t0, 'w'
    beq t1, t0, sleep
    li t0, 'm'
    beq t1, t0, mmio
    la a2, s_what
    jal puts
    j getc
pass:
    la a2, s_pass
    jal puts
    li t0, PYHV_FINISHER_PASS
    sw t0, 0(s1)
    j spin
fail:
    la a2, s_fail
    jal puts
    li t0, (7 << 16) | PYHV_FINISHER_FAIL
    sw t0, 0(s1)
    j spin
fail0:
    li t0, PYHV_FINISHER_FAIL
    sw t0, 0(s1)
    j spin
reset:
    la a2, s_reset
    jal puts
    li t0, PYHV_FINISHER_RESET
    sw t0, 0(s1)
spin:
    j spin
sleep:
    csrw mie, zero
1:  wfi
    j 1b
mmio:
    la a2, s_mmio
    jal puts
    li t1, PYHV_VIRTIO0_BASE
1:  lw t0, 0(t1)
    j 1b

puts:                           /* a2 = NUL-terminated string */
    lbu a1, 0(a2)
    beqz a1, 2f
1:  lbu t0, 5(s0)
    andi t0, t0, LSR_THRE
    beqz t0, 1b
    sb a1, 0(s0)
    addi a2, a2, 1
    j puts
2:  ret

s_prompt: .asciz "cmd?\n"
s_what:   .asciz "?\n"
s_pass:   .asciz "pass\n"
s_fail:   .asciz "fail\n"
s_reset:  .asciz "reset\n"
s_mmio:   .asciz "mmio\n"
