/* memlayout.h: where everything is, physical and virtual, in one table.
 *
 * Physical (the pyhv virt board, csrc/abi.h; what is really there comes from the
 * device tree, fdt.c, never from these numbers):
 *
 *   0x0c000000  PLIC                     DTB /soc/plic@...     3 pages used: plic.c
 *   0x10000000  UART 16550A              DTB /chosen stdout-path, byte registers
 *   0x10001000  virtio-mmio slots        DTB /soc/virtio_mmio@..., one 4 KiB window each
 *   0x80000000  RAM: the firmware's      PYHV_FW_RESERVED (2 MiB): BIOS data and the
 *               resident SBI; not ours, never mapped
 *   0x80200000  kernel image             PYHV_KERNEL_BASE, loaded by the BIOS (kernel.ld):
 *               text | rodata, data | bss (boot stack, kernel stacks, page tables)
 *   end         free pages               kalloc.c, up to the device tree
 *   dtb         device tree blob         top of RAM, listed in the DTB memreserve block
 *   ram_end     0x80000000 + /memory size
 *
 * Virtual (Sv32, satp.MODE = 1; one page table per process, vm.c).  The lower half
 * is the process's own, PTE_U; the upper half is the kernel's, without PTE_U, and
 * the same in every page table (the root entries are copied from the kernel's), so
 * traps and system calls never switch satp.
 *
 *   0x00000000  unmapped: null-pointer guard                              user,
 *   0x00010000  USER_BASE: ELF PT_LOAD segments, then the heap (sbrk)     per process
 *   USER_HEAP_MAX  the break stops here                                   (uabi.h)
 *               one unmapped guard page
 *   USER_STACK_BOTTOM .. USER_STACK_TOP   user stack, USER_STACK_PAGES pages
 *   0x7fff0000 .. 0x7fffffff  unmapped
 *   0x80000000  KDEV_BASE: device window: each device register page the   kernel,
 *               kernel touches, 4 KiB at a time (the firmware's RAM is    shared
 *               not mapped, so its addresses are free for this)
 *   0x80200000  kernel image, identity: text R+X, the rest R+W
 *   end         the rest of RAM, identity, R+W (4 MiB megapages where aligned);
 *               so a kernel pointer is also its physical address (virtio DMA)
 */
#ifndef TINYOS_MEMLAYOUT_H
#define TINYOS_MEMLAYOUT_H

#include "abi.h"
#include "uabi.h"

#define KERNBASE           PYHV_RAM_BASE        /* the kernel half starts here */
#define KDEV_BASE          PYHV_RAM_BASE        /* the device window ... */
#define KDEV_SIZE          PYHV_FW_RESERVED     /* ... up to the kernel image */
#define KERNEL_LOAD        PYHV_KERNEL_BASE

#define USER_TOP           KERNBASE             /* user addresses are below this */
#define USER_STACK_BOTTOM  (USER_STACK_TOP - USER_STACK_PAGES * 4096u)
#define USER_HEAP_MAX      (USER_STACK_BOTTOM - 4096u)  /* leaves the guard page unmapped */

#endif
