/* vm.c: the kernel's Sv32 page table, an identity map, and copyin.
 *
 * Virtual address = physical address everywhere, so pointers handed to the
 * SBI and to the virtio device need no translation.  The map (satp.MODE = Sv32):
 *
 *   PLIC            0x0c000000  one 4 MiB megapage, RW
 *   UART, virtio    0x10000000  one 4 MiB megapage, RW
 *   RAM             megapages, RW, except the one holding the kernel:
 *     0x80000000..KERNEL_BASE   firmware (BIOS data, SBI): left unmapped
 *     KERNEL_BASE.._user_start  kernel image, stacks, tables: RWX, S only
 *     [_user_start, _user_text_end)  U-mode text, rodata: R X U
 *     [_user_text_end, _user_end)    U-mode data, stack:  R W U
 *     _user_end..megapage end        kernel .bss and free RAM: RWX, S only
 *
 * A and D are preset so no access ever needs a PTE update.
 */
#include "abi.h"
#include "defs.h"
#include "riscv.h"

extern char _user_start[], _user_text_end[], _user_end[], _kernel_end[];

static uint32 kvm_root[1024] __attribute__((aligned(PAGE_SIZE)));
static uint32 kvm_kernel_pt[1024] __attribute__((aligned(PAGE_SIZE)));  /* the kernel's megapage */

static void kvm_map_mega(uint32 pa, uint32 perm)
{
    kvm_root[VPN1(pa)] = PA2PTE(pa & ~(MEGAPAGE_SIZE - 1)) | perm | PTE_V | PTE_A | PTE_D;
}

static uint32 kvm_page_perm(uint32 pa)
{
    if (pa >= (uint32)_user_start && pa < (uint32)_user_text_end)
        return PTE_U | PTE_R | PTE_X;
    if (pa >= (uint32)_user_text_end && pa < (uint32)_user_end)
        return PTE_U | PTE_R | PTE_W;
    return PTE_R | PTE_W | PTE_X;
}

void kvm_init(uint32 ram_base, uint32 ram_size)
{
    uint32 kmega = PYHV_KERNEL_BASE & ~(MEGAPAGE_SIZE - 1);
    if ((uint32)_kernel_end > kmega + MEGAPAGE_SIZE)
        panic("kernel does not fit in its megapage");

    kvm_map_mega(PYHV_PLIC_BASE, PTE_R | PTE_W);
    kvm_map_mega(PYHV_UART0_BASE, PTE_R | PTE_W);
    for (uint64 pa = ram_base & ~(MEGAPAGE_SIZE - 1); pa < (uint64)ram_base + ram_size; pa += MEGAPAGE_SIZE)
        if (pa != kmega)
            kvm_map_mega((uint32)pa, PTE_R | PTE_W);

    for (uint32 pa = PYHV_KERNEL_BASE; pa - kmega < MEGAPAGE_SIZE; pa += PAGE_SIZE)
        kvm_kernel_pt[VPN0(pa)] = PA2PTE(pa) | kvm_page_perm(pa) | PTE_V | PTE_A | PTE_D;
    kvm_root[VPN1(kmega)] = PA2PTE(kvm_kernel_pt) | PTE_V;  /* non-leaf: no R/W/X */

    sfence_vma();
    csr_write(satp, SATP_SV32 | ((uint32)kvm_root >> 12));
    sfence_vma();
}

/* Copy n bytes from the U-mode task's memory.  Only the task's own region is
 * accepted; sstatus.SUM opens U pages to S-mode just for the copy. */
int copyin(void *dst, uint32 user_va, uint32 n)
{
    if (user_va < (uint32)_user_start || user_va > (uint32)_user_end || n > (uint32)_user_end - user_va)
        return -1;
    csr_set(sstatus, SSTATUS_SUM);
    memcpy(dst, (const void *)user_va, n);
    csr_clear(sstatus, SSTATUS_SUM);
    return 0;
}
