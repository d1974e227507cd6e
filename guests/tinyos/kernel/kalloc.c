/* kalloc.c: the physical page allocator, 4 KiB pages of the RAM between the end
 * of the kernel image and the device tree at the top of RAM (memlayout.h).
 *
 * Pages never handed out yet are taken in address order from `next`; freed pages
 * go on a free list threaded through their first word.  So boot touches no page
 * it does not use, and a VM's idle RAM costs its host nothing.  kalloc returns a
 * zeroed page, or 0 when memory is exhausted.
 */
#include "defs.h"
#include "riscv.h"

struct run {
    struct run *next;
};

static struct {
    struct spinlock lock;
    uint32 start, end;    /* the managed range, page-aligned */
    uint32 next;          /* [next, end) has never been allocated */
    struct run *freelist; /* freed pages */
    uint32 nfree;         /* pages on the free list */
} kmem;

void kinit(uint32 start, uint32 end)
{
    initlock(&kmem.lock, "kmem");
    kmem.start = kmem.next = PGROUNDUP(start);
    kmem.end = PGROUNDDOWN(end);
    if (kmem.end <= kmem.start)
        panic("kinit: no free RAM");
}

void kfree(void *pa)
{
    uint32 a = (uint32)pa;
    if (a % PGSIZE || a < kmem.start || a >= kmem.next)
        panic("kfree: not a page kalloc gave out");
    struct run *r = pa;
    acquire(&kmem.lock);
    r->next = kmem.freelist;
    kmem.freelist = r;
    kmem.nfree++;
    release(&kmem.lock);
}

void *kalloc(void)
{
    void *p = 0;
    acquire(&kmem.lock);
    if (kmem.freelist) {
        p = kmem.freelist;
        kmem.freelist = kmem.freelist->next;
        kmem.nfree--;
    } else if (kmem.next < kmem.end) {
        p = (void *)kmem.next;
        kmem.next += PGSIZE;
    }
    release(&kmem.lock);
    if (p)
        memset(p, 0, PGSIZE);
    return p;
}

uint32 kalloc_total_pages(void)
{
    return (kmem.end - kmem.start) / PGSIZE;
}

uint32 kalloc_free_pages(void)
{
    acquire(&kmem.lock);
    uint32 n = kmem.nfree + (kmem.end - kmem.next) / PGSIZE;
    release(&kmem.lock);
    return n;
}
