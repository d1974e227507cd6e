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
#define SBI_EXT_HSM                 0x48534D    /* "HSM" */
#define SBI_EXT_RFENCE              0x52464E43  /* "RFNC" */
#define SBI_SUCCESS                 0
#define SBI_ERR_FAILED              (-1)
#define SBI_ERR_NOT_SUPPORTED       (-2)
#define SBI_ERR_INVALID_PARAM       (-3)
#define SBI_ERR_INVALID_ADDRESS     (-5)
#define SBI_ERR_ALREADY_AVAILABLE   (-6)
#define SBI_HSM_STARTED             0           /* hart states (SBI v2.0 table 9.1) */
#define SBI_HSM_STOPPED             1
#define SBI_HSM_START_PENDING       2
#define SBI_HSM_STOP_PENDING        3
#define SBI_HSM_SUSPENDED           4
#define SBI_HSM_SUSPEND_PENDING     5
#define SBI_HSM_RESUME_PENDING      6
#define SBI_HSM_SUSPEND_RETENTIVE   0x00000000  /* hart_suspend types (table 9.3) */
#define SBI_HSM_SUSPEND_NON_RETENTIVE 0x80000000

/* ---- firmware and boot protocol ------------------------------------------- */
/* The BIOS owns [RAM_BASE, RAM_BASE + FW_RESERVED) (data, stack, its virtqueue),
 * as OpenSBI does; kernels load at PYHV_KERNEL_BASE or above.  At reset pyhv sets
 * a0 = hartid and a1 = the guest-physical address of the device tree blob, which
 * it places at the top of RAM (PYHV_DTB_MAX bytes); both regions are listed in
 * the DTB's memory reservation block.  The BIOS enters the kernel in S-mode with
 * a0 = hartid, a1 = DTB address (the Linux/OpenSBI convention). */
#define PYHV_FW_RESERVED     0x00200000
#define PYHV_KERNEL_BASE     0x80200000
#define PYHV_DTB_MAX         0x00010000

/* Boot header: sector 0 of the boot disk, 512 bytes, little-endian fields.
 *   off  size  field
 *     0     4  magic0 = PYHV_BOOT_MAGIC0 ("PYHV")
 *     4     4  magic1 = PYHV_BOOT_MAGIC1 ("BOOT")
 *     8     4  version = PYHV_BOOT_VERSION
 *    12     4  kernel_offset  byte offset of the kernel on the disk, multiple of 512
 *    16     4  kernel_size    bytes
 *    20     4  load_addr      guest-physical, >= PYHV_KERNEL_BASE
 *    24     4  entry          guest-physical entry point (S-mode)
 *    28     4  kernel_crc32   CRC-32 (IEEE 802.3, as zlib.crc32) of the kernel bytes
 *    32     4  fs_offset      byte offset of a file system image, 0 if none
 *    36     4  fs_size        bytes
 *    40   468  reserved, zero
 *   508     4  header_crc32   CRC-32 of bytes 0..507 */
#define PYHV_BOOT_MAGIC0     0x56485950
#define PYHV_BOOT_MAGIC1     0x544f4f42
#define PYHV_BOOT_VERSION    1
#define PYHV_BOOT_HDR_SIZE   512
#define PYHV_BOOT_OFF_KOFF   12
#define PYHV_BOOT_OFF_KSIZE  16
#define PYHV_BOOT_OFF_LOAD   20
#define PYHV_BOOT_OFF_ENTRY  24
#define PYHV_BOOT_OFF_KCRC   28
#define PYHV_BOOT_OFF_FSOFF  32
#define PYHV_BOOT_OFF_FSSIZE 36
#define PYHV_BOOT_OFF_HCRC   508

/* BIOS failure codes, reported through the finisher as (code << 16) | FAIL. */
#define PYHV_BIOS_ERR_NO_DISK     2
#define PYHV_BIOS_ERR_BAD_MAGIC   3
#define PYHV_BIOS_ERR_BAD_CRC     4
#define PYHV_BIOS_ERR_TOO_BIG     5
#define PYHV_BIOS_ERR_DISK_IO     6

#endif
