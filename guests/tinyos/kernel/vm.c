/* vm.c: Sv32 page tables: the kernel half shared by every address space, one
 * user half per process, and the copies between user memory and the kernel.
 *
 * The kernel half (memlayout.h) is built once at boot in kvm_root; a process's
 * root table gets copies of its entries 512..1023, so the kernel's leaf tables
 * are shared and the device window is visible everywhere.  User pages are 4 KiB
 * leaves with PTE_U in the lower half, allocated zeroed from kalloc.c.
 *
 * copyin/copyout never dereference a user pointer: they walk the process's page
 * table and accept only valid PTE_U pages with the needed permission, then copy
 * through the kernel's identity map of RAM.  So a bad pointer (unmapped, into the
 * kernel, read-only for a write) gives -1 and never a fault, and the kernel runs
 * with sstatus.SUM clear all the time.  A and D are preset: no PTE ever needs a
 * hardware update.  Whoever writes instructions into user pages (exec.c, uvmcopy)
 * executes fence.i before the hart may run them (uniprocessor: one hart fetches).
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

extern char _etext[], end[];

#define KPTE(pa, perm) (PA2PTE(pa) | (perm) | PTE_V | PTE_A | PTE_D)

static uint32 kvm_root[1024] __attribute__((aligned(PGSIZE)));
/* The leaf table of the first kernel megapage: the device window, then the
 * kernel image (memlayout.h: both fall in 0x80000000..0x803fffff). */
static uint32 kvm_low[1024] __attribute__((aligned(PGSIZE)));
static uint32 kdev_next = KDEV_BASE;  /* next free page of the device window */

_Static_assert(VPN1(KDEV_BASE) == VPN1(PYHV_KERNEL_BASE), "device window and kernel share a megapage");

void kvminit(uint32 ram_base, uint32 ram_end)
{
    uint32 low = KDEV_BASE & ~(MEGAPAGE_SIZE - 1);
    if ((uint32)end > low + MEGAPAGE_SIZE)
        panic("kvminit: the kernel image does not fit in its megapage");
    if (ram_base > KERNEL_LOAD)
        panic("kvminit: no RAM under the kernel");

    for (uint32 pa = KERNEL_LOAD; pa - low < MEGAPAGE_SIZE && pa < ram_end; pa += PGSIZE)
        kvm_low[VPN0(pa)] = KPTE(pa, pa < (uint32)_etext ? PTE_R | PTE_X : PTE_R | PTE_W);
    kvm_root[VPN1(low)] = PA2PTE(kvm_low) | PTE_V;  /* non-leaf: no R/W/X */

    /* The rest of RAM: megapages, or a leaf table for a partial last megapage. */
    for (uint64 mp = (uint64)low + MEGAPAGE_SIZE; mp < ram_end; mp += MEGAPAGE_SIZE) {
        if (mp + MEGAPAGE_SIZE <= ram_end) {
            kvm_root[VPN1(mp)] = KPTE(mp, PTE_R | PTE_W);
            continue;
        }
        uint32 *t = kalloc();
        if (!t)
            panic("kvminit: out of memory");
        for (uint32 pa = (uint32)mp; pa < ram_end; pa += PGSIZE)
            t[VPN0(pa)] = KPTE(pa, PTE_R | PTE_W);
        kvm_root[VPN1(mp)] = PA2PTE(t) | PTE_V;
    }
}

/* Turn on paging with the kernel's own table (the scheduler runs on it). */
void kvminithart(void)
{
    uvmswitch(kvm_root);
}

void uvmswitch(pagetable_t pt)
{
    sfence_vma();
    csr_write(satp, MAKE_SATP(pt));
    sfence_vma();
}

/* Map the device register page holding physical address pa into the device
 * window; returns the virtual address of pa.  Boot only (main.c): the window's
 * table is shared, so every later address space sees the mapping. */
uint32 kdevmap(uint32 pa)
{
    for (uint32 va = KDEV_BASE; va < kdev_next; va += PGSIZE)
        if (PTE2PA(kvm_low[VPN0(va)]) == PGROUNDDOWN(pa))
            return va | (pa % PGSIZE);
    if (kdev_next >= KDEV_BASE + KDEV_SIZE)
        panic("kdevmap: device window full");
    uint32 va = kdev_next;
    kdev_next += PGSIZE;
    kvm_low[VPN0(va)] = KPTE(PGROUNDDOWN(pa), PTE_R | PTE_W);
    sfence_vma();
    return va | (pa % PGSIZE);
}

/* A new address space: an empty user half and the kernel half.  0 if out of memory. */
pagetable_t uvmcreate(void)
{
    pagetable_t pt = kalloc();
    if (pt)
        memmove(&pt[VPN1(KERNBASE)], &kvm_root[VPN1(KERNBASE)], (1024 - VPN1(KERNBASE)) * sizeof(pte_t));
    return pt;
}

/* The leaf PTE for a user address, creating its leaf table if alloc; 0 if the
 * address is in the kernel half or a table cannot be had. */
static pte_t *walk(pagetable_t pt, uint32 va, int alloc)
{
    if (va >= USER_TOP)
        return 0;
    pte_t *pde = &pt[VPN1(va)];
    pagetable_t t;
    if (*pde & PTE_V) {
        if (*pde & PTE_LEAF)
            return 0;
        t = (pagetable_t)PTE2PA(*pde);
    } else {
        if (!alloc || !(t = kalloc()))
            return 0;
        *pde = PA2PTE(t) | PTE_V;
    }
    return &t[VPN0(va)];
}

/* Give [va, end) zeroed user pages with permission perm (PTE_R/W/X); a page
 * already there gains perm.  -1 when memory runs out: what was mapped stays, for
 * the caller to free. */
int uvmmap(pagetable_t pt, uint32 va, uint32 end, uint32 perm)
{
    for (uint32 a = PGROUNDDOWN(va); a < end; a += PGSIZE) {
        pte_t *pte = walk(pt, a, 1);
        if (!pte)
            return -1;
        if (*pte & PTE_V) {
            *pte |= perm;
            continue;
        }
        void *mem = kalloc();
        if (!mem)
            return -1;
        *pte = KPTE(mem, perm | PTE_U);
    }
    return 0;
}

/* Grow the heap from oldsz to newsz (byte addresses of the break): new pages are
 * zeroed, R+W.  Returns newsz, or 0 with nothing changed if memory runs out. */
uint32 uvmalloc(pagetable_t pt, uint32 oldsz, uint32 newsz)
{
    if (newsz <= oldsz)
        return oldsz;
    if (uvmmap(pt, PGROUNDUP(oldsz), newsz, PTE_R | PTE_W) < 0) {
        uvmdealloc(pt, newsz, oldsz);
        return 0;
    }
    return newsz;
}

/* Shrink the heap from oldsz to newsz, freeing the pages no longer covered. */
uint32 uvmdealloc(pagetable_t pt, uint32 oldsz, uint32 newsz)
{
    if (newsz >= oldsz)
        return oldsz;
    for (uint32 a = PGROUNDUP(newsz); a < PGROUNDUP(oldsz); a += PGSIZE) {
        pte_t *pte = walk(pt, a, 0);
        if (pte && (*pte & PTE_V)) {
            kfree((void *)PTE2PA(*pte));
            *pte = 0;
        }
    }
    sfence_vma();
    return newsz;
}

/* Copy every user page of old into new (fork), text included, so the copies are
 * ordered before instruction fetch (fence.i).  -1 if memory runs out; the caller
 * frees new. */
int uvmcopy(pagetable_t old, pagetable_t new)
{
    for (uint32 i = 0; i < VPN1(USER_TOP); i++) {
        if (!(old[i] & PTE_V))
            continue;
        pagetable_t t = (pagetable_t)PTE2PA(old[i]);
        for (uint32 j = 0; j < 1024; j++) {
            if (!(t[j] & PTE_V))
                continue;
            uint32 va = i << 22 | j << PGSHIFT;
            pte_t *pte = walk(new, va, 1);
            void *mem = pte ? kalloc() : 0;
            if (!mem)
                return -1;
            memmove(mem, (void *)PTE2PA(t[j]), PGSIZE);
            *pte = PA2PTE(mem) | PTE_FLAGS(t[j]);
        }
    }
    fence_i();
    return 0;
}

/* Free an address space: every user page, the user leaf tables, the root. */
void uvmfree(pagetable_t pt)
{
    for (uint32 i = 0; i < VPN1(USER_TOP); i++) {
        if (!(pt[i] & PTE_V))
            continue;
        pagetable_t t = (pagetable_t)PTE2PA(pt[i]);
        for (uint32 j = 0; j < 1024; j++)
            if (t[j] & PTE_V)
                kfree((void *)PTE2PA(t[j]));
        kfree(t);
    }
    kfree(pt);
}

/* Physical pages an address space holds: user pages plus its tables. */
uint32 uvmpages(pagetable_t pt)
{
    uint32 n = 1;
    for (uint32 i = 0; i < VPN1(USER_TOP); i++) {
        if (!(pt[i] & PTE_V))
            continue;
        pagetable_t t = (pagetable_t)PTE2PA(pt[i]);
        n++;
        for (uint32 j = 0; j < 1024; j++)
            n += t[j] & PTE_V;
    }
    return n;
}

/* The physical address of the user page at va if U-mode may access it with perm
 * (PTE_R and/or PTE_W), else 0. */
uint32 walkaddr(pagetable_t pt, uint32 va, uint32 perm)
{
    pte_t *pte = walk(pt, va, 0);
    if (!pte || (*pte & (PTE_V | PTE_U)) != (PTE_V | PTE_U) || (*pte & perm) != perm)
        return 0;
    return PTE2PA(*pte);
}

/* Copy len bytes from the kernel to user address dstva: 0, or -1 on a bad pointer. */
int copyout(pagetable_t pt, uint32 dstva, char *src, uint32 len)
{
    while (len > 0) {
        uint32 va0 = PGROUNDDOWN(dstva);
        uint32 pa0 = walkaddr(pt, va0, PTE_W);
        if (!pa0)
            return -1;
        uint32 n = PGSIZE - (dstva - va0);
        if (n > len)
            n = len;
        memmove((void *)(pa0 + (dstva - va0)), src, n);
        len -= n;
        src += n;
        dstva = va0 + PGSIZE;
    }
    return 0;
}

/* Copy len bytes from user address srcva to the kernel: 0, or -1 on a bad pointer. */
int copyin(pagetable_t pt, char *dst, uint32 srcva, uint32 len)
{
    while (len > 0) {
        uint32 va0 = PGROUNDDOWN(srcva);
        uint32 pa0 = walkaddr(pt, va0, PTE_R);
        if (!pa0)
            return -1;
        uint32 n = PGSIZE - (srcva - va0);
        if (n > len)
            n = len;
        memmove(dst, (void *)(pa0 + (srcva - va0)), n);
        len -= n;
        dst += n;
        srcva = va0 + PGSIZE;
    }
    return 0;
}

/* Copy a NUL-terminated string of at most max bytes (NUL included) from the user:
 * 0, or -1 on a bad pointer or a string that does not fit. */
int copyinstr(pagetable_t pt, char *dst, uint32 srcva, uint32 max)
{
    while (max > 0) {
        uint32 va0 = PGROUNDDOWN(srcva);
        uint32 pa0 = walkaddr(pt, va0, PTE_R);
        if (!pa0)
            return -1;
        const char *p = (const char *)(pa0 + (srcva - va0));
        uint32 n = PGSIZE - (srcva - va0);
        for (; n > 0 && max > 0; n--, max--, p++) {
            *dst++ = *p;
            if (!*p)
                return 0;
        }
        srcva = va0 + PGSIZE;
    }
    return -1;
}
