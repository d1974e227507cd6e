/* uartpoll.S: a polled 16550 driver, the way firmware prints and reads.
 *
 * Entry: M-mode.  Sets LCR = 8N1, enables the FIFOs, prints "ready\n" (polling
 * LSR.THRE before each byte), then echoes received bytes (polling LSR.DR) until
 * it has echoed a '\n', and ebreaks with a0 = number of bytes echoed.
 * LSR polls are what csrc/mmio.c serves from its cache.
 */
#include "testguest.h"

#define LSR_DR    0x01
#define LSR_THRE  0x20

    .section .text.entry, "ax"
    .globl _start
_start:
    j main
labels:
    .word 1
    .word done

main:
    li s0, PYHV_UART0_BASE
    li t0, 0x03
    sb t0, 3(s0)                /* LCR: 8 data bits, no parity, 1 stop */
    li t0, 0x07
    sb t0, 2(s0)                /* FCR: enable and reset both FIFOs */
    la s1, banner
1:  lbu a1, 0(s1)
    beqz a1, echo
    jal putc
    addi s1, s1, 1
    j 1b
echo:
    li a0, 0
2:  lbu t0, 5(s0)               /* LSR */
    andi t0, t0, LSR_DR
    beqz t0, 2b
    lbu a1, 0(s0)               /* RBR */
    jal putc
    addi a0, a0, 1
    li t1, '\n'
    bne a1, t1, 2b
done:
    ebreak

putc:                           /* a1 = byte */
    lbu t0, 5(s0)
    andi t0, t0, LSR_THRE
    beqz t0, putc
    sb a1, 0(s0)
    ret

banner:
    .asciz "ready\n"
