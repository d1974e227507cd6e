/* main.c: the boot sequence, from the banner to mret into the kernel.
 *
 * entry.S calls bios_main on the boot stack with .bss zeroed.  The order is the
 * issue's: banner, RAM from the DTB, the boot disk, the kernel, then S-mode
 * (hsm.c: PMP, delegation).  What stays resident afterwards is trap.c, sbi.c
 * and hsm.c, which also starts the other harts when the kernel asks.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

uint64_t ram_base, ram_end;

void fail(uint32_t code, const char *msg)
{
    printf("BIOS: %s\n", msg);
    power_fail(code);
}

void bios_main(uint32_t hartid, uint32_t dtb)
{
    uint64_t size;
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

    hsm_init(hartid, fdt_harts(dtb));
    hsm_enter(hartid, entry, dtb);
}
