/* memlayout.h: where the BIOS keeps things, and the device registers it touches.
 *
 * Board addresses come from csrc/abi.h; this file adds only the BIOS's own use
 * of the firmware region and the register offsets of the devices it drives.
 * bios.ld places .text/.rodata in ROM and .bss at FW_BSS; it checks both
 * against these numbers.
 *
 *   guest-physical           size    what
 *   0x0000_1000              64 KiB  ROM: .text, .rodata (read + execute only)
 *   RAM_BASE + 0x0000        16 KiB  .bss: virtqueue, request, sector buffer, CRC table, harts
 *   RAM_BASE + 0x4000        16 KiB  boot stack (top at FW_BOOT_STACK_TOP), dead after mret
 *   RAM_BASE + 0x8000        32 KiB  M stacks, 4 KiB per hart: hart h's top is
 *                                    FW_HART_STACK_TOP(h), its mscratch while S runs
 *   RAM_BASE + 0x10000 ..            unused, but still firmware region: the
 *   RAM_BASE + FW_RESERVED           kernel loads at PYHV_KERNEL_BASE or above
 *   a1 (DTB) .. RAM end              device tree from pyhv: never overwritten
 * [RAM_BASE, FW_RAM_END) is the resident data: PMP keeps S and U out (hsm.c).
 */
#ifndef FW_MEMLAYOUT_H
#define FW_MEMLAYOUT_H

#include "abi.h"

#define FW_BSS               (PYHV_RAM_BASE + 0x0000)
#define FW_BSS_SIZE          0x4000
#define FW_BOOT_STACK_TOP    (PYHV_RAM_BASE + 0x8000)
#define FW_MAX_HARTS         8            /* the CLINT's harts (csrc/clint.c) */
#define FW_HART_STACKS       (PYHV_RAM_BASE + 0x8000)
#define FW_HART_STACK_SHIFT  12           /* 4 KiB each */
#define FW_HART_STACK_TOP(h) (FW_HART_STACKS + (((h) + 1) << FW_HART_STACK_SHIFT))
#define FW_RAM_END           FW_HART_STACK_TOP(FW_MAX_HARTS - 1)

#if FW_RAM_END > PYHV_RAM_BASE + PYHV_FW_RESERVED
#error "the BIOS's RAM use overflows the firmware region"
#endif

/* 16550A UART (PC16550D datasheet Table II), byte registers, reg-shift 0. */
#define UART_RBR             0            /* read: receiver buffer */
#define UART_THR             0            /* write: transmitter holding */
#define UART_IER             1
#define UART_FCR             2            /* write: FIFO control */
#define UART_LCR             3
#define UART_LSR             5
#define UART_LCR_8N1         0x03         /* 8 data bits, no parity, 1 stop bit */
#define UART_FCR_ENABLE      0x07         /* FIFOs on, both cleared */
#define UART_LSR_DR          0x01         /* a received byte is waiting */
#define UART_LSR_THRE        0x20         /* THR empty: may write */

/* CLINT (SiFive FU540 manual ch. 9): per-hart msip and mtimecmp, one mtime. */
#define CLINT_MSIP(hart)     (PYHV_CLINT_BASE + 0x0000 + 4 * (hart))
#define CLINT_MTIMECMP(hart) (PYHV_CLINT_BASE + 0x4000 + 8 * (hart))
#define CLINT_MTIME          (PYHV_CLINT_BASE + 0xbff8)

#endif
