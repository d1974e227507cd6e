/* virtio_balloon.c: a virtio-balloon driver (Virtio 1.1 5.5) for the
 * `balloon` bootarg mode: the host sets a target size, the driver gives it
 * pages on the inflateq or takes them back on the deflateq, then reports the
 * balloon's size in `actual`.  Only VIRTIO_F_VERSION_1 is negotiated
 * (virtio_mmio.c), not VIRTIO_BALLOON_F_MUST_TELL_HOST, so a page may be
 * reused as soon as its deflate request is made (5.5.6.1).
 *
 * The balloon pool is the RAM the kernel never uses otherwise:
 *
 *   0x80000000   firmware (BIOS, SBI)          never given
 *   0x80200000   the kernel's megapage          never given
 *   0x80400000   VB_POOL_BASE: pool page 0
 *     ...        pool page i at VB_POOL_BASE + i * 4 KiB
 *   RAM end - 4 MiB   the megapage holding the DTB: never given
 *
 * Pool pages enter the balloon from the bottom: page i is in the balloon iff
 * i < actual, so inflating gives pages [actual, target) and deflating takes
 * back [target, actual).  At probe time every pool page is touched, as the
 * memory of a guest that has used all its RAM, so that inflating visibly
 * returns host frames; a page taken back is touched again.
 */
#include "abi.h"
#include "defs.h"
#include "riscv.h"
#include "virtio.h"

#define VB_QSIZE      8            /* a power of two; one request uses 1 descriptor */
#define VB_BATCH      64           /* PFNs per request */
#define VB_POOL_BASE  ((PYHV_KERNEL_BASE & ~(MEGAPAGE_SIZE - 1)) + MEGAPAGE_SIZE)
#define VB_POWEROFF   0xffffffffu  /* num_pages sentinel: the host asks the guest to power off */

/* One split virtqueue; descriptor table first, 16-byte aligned. */
struct vb_queue {
    struct virtq_desc desc[VB_QSIZE];
    struct {
        uint16 flags, idx, ring[VB_QSIZE], used_event;
    } avail;
    struct {
        uint16 flags, idx;
        struct virtq_used_elem ring[VB_QSIZE];
        uint16 avail_event;
    } used __attribute__((aligned(4)));
} __attribute__((aligned(16)));

static struct vb_queue vb_vq[2] __attribute__((aligned(4096)));  /* inflateq, deflateq */

static struct {
    uint32 base;        /* MMIO window */
    uint32 irq;         /* PLIC source; 0 until probed (no source is 0) */
    uint32 pool_pfn;    /* PFN of pool page 0 */
    uint32 pool_pages;
    uint32 actual;      /* pool pages in the balloon */
    uint16 used_seen[2];
    volatile int busy;            /* a request is with the device */
    volatile int config_changed;  /* a configuration change interrupt came */
    uint32 pfns[VB_BATCH];
} vb;

static uint32 vb_r(uint32 off)
{
    return *(volatile uint32 *)(vb.base + off);
}

static void vb_w(uint32 off, uint32 v)
{
    *(volatile uint32 *)(vb.base + off) = v;
}

static void vb_touch(uint32 first, uint32 n)
{
    for (uint32 i = first; i < first + n; i++)
        *(volatile uint32 *)((vb.pool_pfn + i) << VIRTIO_BALLOON_PFN_SHIFT) = vb.pool_pfn + i;
}

/* Find and start the first balloon; 0 on success, -1 if there is none. */
int vballoon_probe(uint32 ram_base, uint32 ram_size)
{
    if (virtio_find(VIRTIO_ID_BALLOON, &vb.base, &vb.irq) < 0)
        return -1;
    virtio_begin(vb.base);
    for (uint32 q = 0; q < 2; q++)
        virtio_queue(vb.base, q, VB_QSIZE, vb_vq[q].desc, &vb_vq[q].avail, &vb_vq[q].used);
    virtio_ready(vb.base);
    uint32 pool_end = ((ram_base + ram_size) & ~(MEGAPAGE_SIZE - 1)) - MEGAPAGE_SIZE;
    vb.pool_pfn = VB_POOL_BASE >> VIRTIO_BALLOON_PFN_SHIFT;
    vb.pool_pages = pool_end > VB_POOL_BASE ? (pool_end - VB_POOL_BASE) / PAGE_SIZE : 0;
    vb_touch(0, vb.pool_pages);
    printf("hello: virtio-balloon at 0x%x, irq %u, pool of %u pages at 0x%x\n", vb.base, vb.irq, vb.pool_pages,
           VB_POOL_BASE);
    plic_enable(vb.irq);
    csr_set(sie, SIE_SEIE);
    return 0;
}

uint32 vballoon_irq(void)
{
    return vb.irq;
}

/* Hand pool pages [first, first + n) to the device on queue q, and sleep until
 * it has them.  Call with sstatus.SIE clear. */
static void vb_send(uint32 q, uint32 first, uint32 n)
{
    struct vb_queue *vq = &vb_vq[q];
    for (uint32 i = 0; i < n; i++)
        vb.pfns[i] = vb.pool_pfn + first + i;
    vq->desc[0] = (struct virtq_desc){(uint32)vb.pfns, n * sizeof vb.pfns[0], 0, 0};
    vb.busy = 1;
    vq->avail.ring[vq->avail.idx % VB_QSIZE] = 0;  /* chain head */
    fence();  /* the ring entry before the index that publishes it (2.7.13) */
    vq->avail.idx++;
    fence();
    vb_w(VIRTIO_MMIO_QUEUE_NOTIFY, q);
    while (vb.busy)
        intr_wait();
}

/* num_pages, read again until ConfigGeneration says no change came in between (4.2.2). */
static uint32 vb_target(void)
{
    uint32 gen, n;
    do {
        gen = vb_r(VIRTIO_MMIO_CONFIG_GENERATION);
        n = vb_r(VIRTIO_BALLOON_NUM_PAGES);
    } while (gen != vb_r(VIRTIO_MMIO_CONFIG_GENERATION));
    return n;
}

/* Follow num_pages (at most the pool) until it is VB_POWEROFF, then return.
 * One request moves at most VB_BATCH pages and is followed by a write of
 * actual, and num_pages is read again before the next one, so a new target
 * takes effect within a batch.  The balloon's size is printed whenever it
 * settles at a new value; then the driver sleeps until the configuration
 * changes. */
void vballoon_run(void)
{
    uint32 shown = ~0u;
    for (;;) {
        vb.config_changed = 0;
        uint32 target = vb_target();
        if (target == VB_POWEROFF)
            return;
        if (target > vb.pool_pages)
            target = vb.pool_pages;
        if (vb.actual < target) {
            uint32 n = target - vb.actual < VB_BATCH ? target - vb.actual : VB_BATCH;
            vb_send(VIRTIO_BALLOON_INFLATEQ, vb.actual, n);
            vb.actual += n;
        } else if (vb.actual > target) {
            uint32 n = vb.actual - target < VB_BATCH ? vb.actual - target : VB_BATCH;
            vb.actual -= n;
            vb_send(VIRTIO_BALLOON_DEFLATEQ, vb.actual, n);
            vb_touch(vb.actual, n);  /* the guest's own memory again */
        } else {
            if (vb.actual != shown)
                printf("balloon: %u pages\n", shown = vb.actual);
            while (!vb.config_changed)
                intr_wait();
            continue;
        }
        vb_w(VIRTIO_BALLOON_ACTUAL, vb.actual);
    }
}

/* The device's interrupt: acknowledge it, retire completed requests, note
 * configuration changes. */
void vballoon_intr(void)
{
    uint32 why = vb_r(VIRTIO_MMIO_INTERRUPT_STATUS);
    vb_w(VIRTIO_MMIO_INTERRUPT_ACK, why);
    if (why & VIRTIO_INT_CONFIG_CHANGE) {
        if (vb_r(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET)
            panic("virtio-balloon: device needs reset");
        vb.config_changed = 1;
    }
    fence();
    for (uint32 q = 0; q < 2; q++) {
        while (vb.used_seen[q] != *(volatile uint16 *)&vb_vq[q].used.idx) {
            if (vb_vq[q].used.ring[vb.used_seen[q] % VB_QSIZE].id != 0)
                panic("virtio-balloon: unknown request completed");
            vb.used_seen[q]++;
            vb.busy = 0;
        }
    }
}
