/* abi.h: the guest-visible ABI of the pyhv "virt" board, one source of truth.
 *
 * Included by the C core (csrc/), the BIOS (firmware/) and the guests (guests/);
 * the Python side reads the same values from the compiled module (pyhv._core.lib),
 * whose constants csrc/build.py copies from this file.  Keep it to plain
 * "#define NAME value" lines (cffi parses them), plus comments.
 *
 * Memory map: same as QEMU's virt machine (hw/riscv/virt.c, virt_memmap[]).
 */
#ifndef PYHV_ABI_H
#define PYHV_ABI_H

/* ---- guest-physical memory map ------------------------------------------ */
#define PYHV_ROM_BASE        0x00001000  /* BIOS, read + execute, reset vector */
#define PYHV_ROM_SIZE        0x00010000  /* 64 KiB */
#define PYHV_FINISHER_BASE   0x00100000  /* sifive_test finisher */
#define PYHV_FINISHER_SIZE   0x00001000
#define PYHV_CLINT_BASE      0x02000000  /* msip +0, mtimecmp +0x4000, mtime +0xbff8 */
#define PYHV_CLINT_SIZE      0x00010000
#define PYHV_PLIC_BASE       0x0c000000
#define PYHV_PLIC_SIZE       0x00400000
#define PYHV_UART0_BASE      0x10000000  /* 16550A */
#define PYHV_UART0_SIZE      0x00001000
#define PYHV_VIRTIO0_BASE    0x10001000  /* virtio-mmio slot n at base + n * 0x1000 */
#define PYHV_VIRTIO_STRIDE   0x00001000
#define PYHV_VIRTIO_SLOTS    8
#define PYHV_RAM_BASE        0x80000000
#define PYHV_RAM_MAX_SIZE    0x80000000  /* RAM may fill the top 2 GiB of the 32-bit space */

/* ---- interrupt numbers (PLIC sources, as on QEMU virt) -------------------- */
#define PYHV_IRQ_VIRTIO0     1           /* virtio slot n raises PLIC source 1 + n */
#define PYHV_IRQ_UART0       10
#define PYHV_PLIC_NSOURCES   32

/* ---- virtual time ---------------------------------------------------------- */
/* mtime runs at 10 MHz (QEMU virt's timebase-frequency) and is derived from the
 * executed instruction count: one tick every PYHV_INSNS_PER_TICK instructions,
 * i.e. the virtual hart runs at 100 MIPS.  Idle time (wfi) advances mtime only. */
#define PYHV_TIMEBASE_HZ     10000000
#define PYHV_INSNS_PER_TICK  10

/* ---- finisher commands (QEMU hw/misc/sifive_test.c) ----------------------- */
#define PYHV_FINISHER_FAIL   0x3333      /* (code << 16) | FAIL */
#define PYHV_FINISHER_PASS   0x5555
#define PYHV_FINISHER_RESET  0x7777

/* ---- SBI (RISC-V SBI specification v2.0) ---------------------------------- */
#define SBI_EXT_LEGACY_SET_TIMER    0x00
#define SBI_EXT_LEGACY_PUTCHAR      0x01
#define SBI_EXT_LEGACY_GETCHAR      0x02
#define SBI_EXT_LEGACY_SHUTDOWN     0x08
#define SBI_EXT_BASE                0x10
#define SBI_EXT_TIME                0x54494D45  /* "TIME" */
#define SBI_EXT_IPI                 0x735049    /* "sPI" */
#define SBI_EXT_SRST                0x53525354  /* "SRST" */
#define SBI_EXT_DBCN                0x4442434E  /* "DBCN" */
#define SBI_SUCCESS                 0
#define SBI_ERR_FAILED              (-1)
#define SBI_ERR_NOT_SUPPORTED       (-2)
#define SBI_ERR_INVALID_PARAM       (-3)

#endif
