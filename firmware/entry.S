/* entry.S: the reset vector, and the two ways out of the BIOS's own code.
 *
 * _start runs at PYHV_ROM_BASE in M-mode on every hart, with a0 = hartid and
 * a1 = DTB address: it installs the trap vector first (so even a fault during
 * boot is reported) and points mscratch at the hart's M stack.  Hart 0 takes the
 * boot stack, zeroes .bss and calls bios_main(hartid, dtb); the others wait in
 * hsm_park(hartid) on their M stack until a hart_start (hsm.c).  A hart ID
 * beyond FW_MAX_HARTS halts.  enter_kernel is the mret into S-mode.
 */
#include "memlayout.h"
#include "riscv.h"

    .section .text.entry, "ax"
    .globl _start
_start:
    lui t0, %hi(mtrapvec)
    addi t0, t0, %lo(mtrapvec)
    csrw mtvec, t0                  /* direct mode: mtrapvec is 4-byte aligned */
    csrw mie, zero
    li t0, FW_MAX_HARTS
    bgeu a0, t0, halt
    addi t0, a0, 1                  /* mscratch = FW_HART_STACK_TOP(hartid) */
    slli t0, t0, FW_HART_STACK_SHIFT
    li t1, FW_HART_STACKS
    add t0, t0, t1
    csrw mscratch, t0
    beqz a0, 3f
    mv sp, t0
    call hsm_park                   /* a0 = hartid; never returns */
3:  li sp, FW_BOOT_STACK_TOP
    lui t0, %hi(bss_start)
    addi t0, t0, %lo(bss_start)
    lui t1, %hi(bss_end)
    addi t1, t1, %lo(bss_end)
1:  bgeu t0, t1, 2f                 /* bss_start, bss_end: 16-byte aligned (bios.ld) */
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  call bios_main                  /* a0, a1 still hold hartid and DTB */

    .globl halt
halt:
    wfi
    j halt

/* enter_kernel(hartid, arg, entry): S-mode at entry with a0 = hartid and
 * a1 = arg (the DTB, or hart_start's opaque), paging off, S interrupts
 * disabled, nothing left pending on mret. */
    .globl enter_kernel
enter_kernel:
    csrw mepc, a2
    li t0, MSTATUS_MPP_MASK | MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE
    csrc mstatus, t0
    li t0, MSTATUS_MPP_S
    csrs mstatus, t0
    csrw satp, zero
    mret

/* Board constants the linker script checks its own copies against (bios.ld). */
    .globl abi_rom_base, abi_rom_size, abi_fw_bss, abi_fw_bss_size
    .set abi_rom_base, PYHV_ROM_BASE
    .set abi_rom_size, PYHV_ROM_SIZE
    .set abi_fw_bss, FW_BSS
    .set abi_fw_bss_size, FW_BSS_SIZE
