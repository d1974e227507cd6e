/* main.c: the boot sequence, from the banner to mret into the kernel.
 *
 * entry.S calls bios_main on the boot stack with .bss zeroed.  The order is the
 * issue's: banner, RAM from the DTB, the boot disk, the kernel, delegation,
 * then S-mode.  What stays resident afterwards is trap.c and sbi.c.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

uint32_t boot_hartid;
uint64_t ram_base, ram_end;

/* Exceptions S-mode handles itself (medeleg), as OpenSBI delegates them, plus
 * illegal instructions and misaligned loads/stores, which this BIOS does not
 * emulate (pyhv serves rdtime itself).  Ecalls from S, access faults and
 * ecalls from M stay in M: the first are SBI calls, the others fatal. */
#define MEDELEG ((1u << EXC_INSN_MISALIGNED) | (1u << EXC_ILLEGAL_INSN) | (1u << EXC_BREAKPOINT) \
                 | (1u << EXC_LOAD_MISALIGNED) | (1u << EXC_STORE_MISALIGNED) | (1u << EXC_ECALL_U) \
                 | (1u << EXC_INSN_PAGE_FAULT) | (1u << EXC_LOAD_PAGE_FAULT) | (1u << EXC_STORE_PAGE_FAULT))

/* S-level interrupts go straight to S.  The M timer and M software interrupts
 * stay here: trap.c turns them into STIP and SSIP (the SBI timer and IPI). */
#define MIDELEG (MIP_SSIP | MIP_STIP | MIP_SEIP)

void fail(uint32_t code, const char *msg)
{
    printf("BIOS: %s\n", msg);
    power_fail(code);
}

void bios_main(uint32_t hartid, uint32_t dtb)
{
    uint64_t size;
    boot_hartid = hartid;
    uart_init();
    printf("pyhv BIOS %u.%u (rv32, SBI v2.0)\n", BIOS_VERSION_MAJOR, BIOS_VERSION_MINOR);
    crc32_init();

    if (dtb < PYHV_RAM_BASE || dtb % 4 != 0 || fdt_memory(dtb, &ram_base, &size) < 0) {
        printf("BIOS: no usable device tree at a1=0x%x\n", dtb);
        power_fail(1);
    }
    ram_end = ram_base + size;
    printf("RAM: 0x%llx +%u MiB\n", ram_base, (uint32_t)(size >> 20));

    int slot = vblk_probe();
    if (slot < 0)
        fail(PYHV_BIOS_ERR_NO_DISK, "no boot disk found");
    printf("disk: virtio-mmio slot %d, %llu sectors\n", slot, vblk_capacity());
    uint32_t entry = boot_load(dtb);
    vblk_reset();

    clint_set_mtimecmp(hartid, ~0ull);          /* no timer until S asks for one */
    csr_write(medeleg, MEDELEG);
    csr_write(mideleg, MIDELEG);
    csr_write(mcounteren, MCOUNTEREN_CY_TM_IR);
    csr_write(mie, MIP_MTIP | MIP_MSIP);        /* taken in S and U whatever mstatus.MIE says */
    enter_kernel(hartid, dtb, entry);
}
