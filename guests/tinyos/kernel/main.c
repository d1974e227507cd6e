/* main.c: tinyos boots here, in order.
 *
 *   1. the device tree: RAM, bootargs, where the UART, PLIC and disk are
 *   2. page allocator, kernel page table, Sv32 on
 *   3. UART (the console from here on), trap vector, PLIC, disk and boot header
 *   4. buffer cache and file table (the file system mounts in the first
 *      process: it sleeps on the disk), the first process, the scheduler
 * Bootargs: init=PATH runs PATH as the first program instead of /bin/init;
 * hostname=NAME sets the hostname.
 */
#include "abi.h"
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

extern char end[];

char hostname[UTS_LEN] = HOSTNAME;
static char bootargs[256];
static char init_path[MAXPATH] = "/bin/init";

/* Copy a bootarg's value (n bytes at v) into dst of size max. */
static void set_arg(char *dst, int max, const char *v, int n)
{
    if (n >= max)
        n = max - 1;
    memmove(dst, v, n);
    dst[n] = 0;
}

/* Bootargs are words separated by spaces. */
static void parse_bootargs(const char *args)
{
    while (*args) {
        while (*args == ' ')
            args++;
        int n = 0;
        while (args[n] && args[n] != ' ')
            n++;
        if (n > 5 && strncmp(args, "init=", 5) == 0)
            set_arg(init_path, sizeof init_path, args + 5, n - 5);
        else if (n > 9 && strncmp(args, "hostname=", 9) == 0)
            set_arg(hostname, sizeof hostname, args + 9, n - 9);
        else if (n > 0) {
            char word[64];
            set_arg(word, sizeof word, args, n);
            printf("tinyos: ignoring bootarg \"%s\"\n", word);
        }
        args += n;
    }
}

/* The physical address and PLIC source of the first node under /soc compatible
 * with compat; -1 if there is none. */
static int find_device(const char *compat, uint32 *pa, uint32 *irq)
{
    int soc = fdt_path("/soc");
    int node = soc < 0 ? -1 : fdt_find_compatible(soc, compat);
    uint32 size;
    if (node < 0 || fdt_reg(soc, node, pa, &size) < 0)
        return -1;
    *irq = fdt_u32(node, "interrupts", 0);
    return 0;
}

void main(uint32 hartid, uint32 dtb)
{
    printf("tinyos: booting on hart %u, device tree at 0x%x\n", hartid, dtb);
    if (fdt_init(dtb) < 0)
        panic("no device tree at a1");
    int chosen = fdt_path("/chosen");
    const char *args = chosen >= 0 ? fdt_getprop(chosen, "bootargs", NULL) : NULL;
    safestrcpy(bootargs, args ? args : "", sizeof bootargs);
    printf("tinyos: bootargs \"%s\"\n", bootargs);
    parse_bootargs(bootargs);

    uint32 ram_base, ram_size;
    if (fdt_reg(fdt_path("/"), fdt_path("/memory"), &ram_base, &ram_size) < 0)
        panic("no /memory node in the device tree");
    uint64 ram_end64 = (uint64)ram_base + ram_size;
    uint32 ram_end = ram_end64 > 0xfffff000u ? 0xfffff000u : (uint32)ram_end64;
    uint32 free_end = dtb > (uint32)end && dtb < ram_end ? PGROUNDDOWN(dtb) : ram_end;

    uint32 uart_pa, uart_irqno, plic_pa, plic_irq;
    if (find_device("ns16550a", &uart_pa, &uart_irqno) < 0)
        panic("no ns16550a UART in the device tree");
    if (find_device("riscv,plic0", &plic_pa, &plic_irq) < 0 &&
        find_device("sifive,plic-1.0.0", &plic_pa, &plic_irq) < 0)
        panic("no PLIC in the device tree");

    trapinit();
    kinit((uint32)end, free_end);
    kvminit(ram_base, ram_end);
    kvminithart();
    plic_init(plic_pa, hartid);
    uart_init(uart_pa, uart_irqno);
    console_init();
    printf("tinyos: %u MiB of RAM at 0x%x, kernel 0x%x..0x%x, %u pages free\n", ram_size >> 20, ram_base,
           KERNEL_LOAD, (uint32)end, kalloc_free_pages());
    printf("tinyos: Sv32 on; uart at 0x%x irq %u, plic at 0x%x\n", uart_pa, uart_irqno, plic_pa);

    if (virtio_disk_init() < 0)
        panic("no virtio-blk disk in the device tree");
    printf("tinyos: file system at sector %u, %u sectors\n", disk_fs_sector(), disk_fs_sectors());
    binit();
    fileinit();
    procinit();
    userinit(init_path);
    printf("tinyos: hostname %s, starting %s\n", hostname, init_path);
    scheduler();
}
