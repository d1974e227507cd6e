/* main.c: the hello kernel's test sequence, in order.
 *
 *   1. banner, then the device tree's /chosen bootargs, which pick a mode:
 *      (none) the normal run; bench=blk a disk read benchmark instead of
 *      the single read; idle: after the normal run, sleep instead of off;
 *      balloon: after the normal run, follow the virtio-balloon's target
 *      until the host sets it to 0xffffffff (virtio_balloon.c), then off
 *   2. trap vector and Sv32 identity map, then the U-mode task
 *   3. three timer interrupts, taken while waiting in wfi
 *   4. virtio-blk: the boot header (sector 0), then the first sector of the
 *      image's data blob, read by interrupt
 *   5. power off through the SBI (reason 0: pyhv exits 0)
 * Every failure ends in an SBI shutdown with reason 1 (panic in printf.c).
 */
#include "abi.h"
#include "defs.h"
#include "riscv.h"

#define N_TICKS 3

static uint8 main_sector[512] __attribute__((aligned(16)));

static struct {
    int bench_blk;
    int idle;
    int blkwrite;
    int balloon;
} mode;

/* Bootargs are words separated by spaces. */
static void main_parse_bootargs(const char *args)
{
    while (*args) {
        while (*args == ' ')
            args++;
        uint32 n = 0;
        while (args[n] && args[n] != ' ')
            n++;
        if (n == 9 && strncmp(args, "bench=blk", n) == 0)
            mode.bench_blk = 1;
        else if (n == 4 && strncmp(args, "idle", n) == 0)
            mode.idle = 1;
        else if (n == 8 && strncmp(args, "blkwrite", n) == 0)
            mode.blkwrite = 1;
        else if (n == 7 && strncmp(args, "balloon", n) == 0)
            mode.balloon = 1;
        else if (n > 0) {
            printf("hello: ignoring bootarg \"");
            console_write(args, n);
            printf("\"\n");
        }
        args += n;
    }
}

static uint32 le32(const uint8 *p)
{
    return p[0] | (uint32)p[1] << 8 | (uint32)p[2] << 16 | (uint32)p[3] << 24;
}

/* Read the boot header, then print the first line of the data blob. */
static void main_disk(void)
{
    vblk_read(0, main_sector, sizeof main_sector);
    if (le32(main_sector) != PYHV_BOOT_MAGIC0 || le32(main_sector + 4) != PYHV_BOOT_MAGIC1)
        panic("disk: no boot header in sector 0");
    uint32 fs_offset = le32(main_sector + PYHV_BOOT_OFF_FSOFF);
    uint32 fs_size = le32(main_sector + PYHV_BOOT_OFF_FSSIZE);
    if (fs_size == 0 || fs_offset % 512)
        panic("disk: the image has no data blob");
    if (mode.bench_blk) {
        bench_blk();
        return;
    }
    if (mode.blkwrite) {  /* overwrite the blob's first line, then read it back below */
        static const char note[] = "pyhv disk data: written by hello\n";
        vblk_read(fs_offset / 512, main_sector, sizeof main_sector);
        memmove(main_sector, note, sizeof note - 1);
        vblk_write(fs_offset / 512, main_sector, sizeof main_sector);
        main_sector[0] = 0;
    }
    vblk_read(fs_offset / 512, main_sector, sizeof main_sector);
    uint32 n = 0;
    while (n < fs_size && n < sizeof main_sector && main_sector[n] != '\n')
        n++;
    printf("disk: ");
    console_write((const char *)main_sector, n);
    printf("\n");
}

void main(uint32 hartid, uint32 dtb)
{
    printf("hello: S-mode kernel on hart %u, dtb at 0x%x\n", hartid, dtb);
    if (fdt_init(dtb) < 0)
        panic("no device tree at a1");
    int chosen = fdt_path("/chosen");
    const char *bootargs = chosen >= 0 ? fdt_getprop(chosen, "bootargs", NULL) : NULL;
    bootargs = bootargs ? bootargs : "";
    printf("hello: bootargs \"%s\"\n", bootargs);
    main_parse_bootargs(bootargs);

    uint32 ram_base, ram_size;
    if (fdt_reg(fdt_path("/"), fdt_path("/memory"), &ram_base, &ram_size) < 0)
        panic("no /memory node");
    trap_init();
    kvm_init(ram_base, ram_size);
    printf("hello: Sv32 identity map, %u MiB of RAM at 0x%x\n", ram_size >> 20, ram_base);

    int code = proc_run(user_main);
    printf("hello: U-mode task (pid %d) exited with %d\n", proc_pid(), code);
    if (code != 0)
        panic("U-mode task failed");

    timer_start(N_TICKS);
    while (timer_ticks() < N_TICKS)
        intr_wait();

    plic_init(hartid);
    if (vblk_probe() < 0)
        panic("no virtio-blk device");
    main_disk();

    if (mode.balloon) {
        if (vballoon_probe(ram_base, ram_size) < 0)
            panic("no virtio-balloon device");
        vballoon_run();
    }
    if (mode.idle) {
        printf("hello: all done, idling\n");
        csr_clear(sie, SIE_STIE | SIE_SEIE);
        for (;;)
            wfi();
    }
    printf("hello: all done, powering off\n");
    sbi_shutdown(0);
}
