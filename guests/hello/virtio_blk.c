/* virtio_blk.c: an interrupt-driven virtio-blk driver: one queue, one request in
 * flight, completion signalled by the device's interrupt.
 *
 * vblk_probe finds the first virtio-mmio slot in the device tree whose
 * DeviceID is 2, initialises it (virtio_mmio.c), and routes its PLIC source
 * to this hart.
 * vblk_read posts a three-descriptor chain (header, data, status), notifies,
 * and sleeps in intr_wait() until vblk_intr has seen the request come back
 * in the used ring.  Addresses given to the device are kernel pointers: the
 * kernel maps itself 1:1 (vm.c).
 */
#include "defs.h"
#include "riscv.h"
#include "virtio.h"

#define VBLK_QSIZE 8  /* a power of two; one request uses 3 descriptors */

static struct {
    struct virtq_desc desc[VBLK_QSIZE];           /* offset 0, 16-byte aligned */
    struct {
        uint16 flags, idx, ring[VBLK_QSIZE], used_event;
    } avail;
    struct {
        uint16 flags, idx;
        struct virtq_used_elem ring[VBLK_QSIZE];
        uint16 avail_event;
    } used __attribute__((aligned(4)));
} vblk_vq __attribute__((aligned(4096)));

static struct {
    uint32 base;      /* MMIO window */
    uint32 irq;       /* PLIC source */
    uint64 capacity;  /* in 512-byte sectors */
    uint16 used_seen; /* used ring entries already consumed */
    volatile int busy;  /* a request is with the device */
    struct virtio_blk_req req;
    volatile uint8 status;
} vblk;

static uint32 vblk_r(uint32 off)
{
    return *(volatile uint32 *)(vblk.base + off);
}

static void vblk_w(uint32 off, uint32 v)
{
    *(volatile uint32 *)(vblk.base + off) = v;
}

/* Find and start the first block device; 0 on success, -1 if there is none. */
int vblk_probe(void)
{
    if (virtio_find(VIRTIO_ID_BLOCK, &vblk.base, &vblk.irq) < 0)
        return -1;
    virtio_begin(vblk.base);
    virtio_queue(vblk.base, 0, VBLK_QSIZE, vblk_vq.desc, &vblk_vq.avail, &vblk_vq.used);
    virtio_ready(vblk.base);
    /* Configuration space (5.2.4): capacity, a 64-bit count of sectors. */
    vblk.capacity = vblk_r(VIRTIO_MMIO_CONFIG) | (uint64)vblk_r(VIRTIO_MMIO_CONFIG + 4) << 32;
    printf("hello: virtio-blk at 0x%x, irq %u, %u sectors\n", vblk.base, vblk.irq, (uint32)vblk.capacity);
    plic_enable(vblk.irq);
    csr_set(sie, SIE_SEIE);
    return 0;
}

uint32 vblk_irq(void)
{
    return vblk.irq;
}

uint64 vblk_capacity(void)
{
    return vblk.capacity;
}

/* Move len bytes (a multiple of 512) between buf and the disk at sector, and sleep
 * until the device is done.  Call with sstatus.SIE clear. */
static void vblk_rw(int write, uint32 sector, void *buf, uint32 len)
{
    if (len == 0 || len % VIRTIO_BLK_SECTOR || sector + (uint64)(len / VIRTIO_BLK_SECTOR) > vblk.capacity)
        panic("virtio-blk: request outside the disk");
    vblk.req = (struct virtio_blk_req){.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, .sector = sector};
    vblk.status = 0xff;
    vblk_vq.desc[0] = (struct virtq_desc){(uint32)&vblk.req, sizeof vblk.req, VIRTQ_DESC_F_NEXT, 1};
    vblk_vq.desc[1] = (struct virtq_desc){(uint32)buf, len, (write ? 0 : VIRTQ_DESC_F_WRITE) | VIRTQ_DESC_F_NEXT, 2};
    vblk_vq.desc[2] = (struct virtq_desc){(uint32)&vblk.status, 1, VIRTQ_DESC_F_WRITE, 0};

    vblk.busy = 1;
    vblk_vq.avail.ring[vblk_vq.avail.idx % VBLK_QSIZE] = 0;  /* chain head */
    fence();  /* the ring entry before the index that publishes it (2.7.13) */
    vblk_vq.avail.idx++;
    fence();
    vblk_w(VIRTIO_MMIO_QUEUE_NOTIFY, 0);

    while (vblk.busy)
        intr_wait();
    if (vblk.status != VIRTIO_BLK_S_OK)
        panic(write ? "virtio-blk: write failed" : "virtio-blk: read failed");
}

void vblk_read(uint32 sector, void *buf, uint32 len)
{
    vblk_rw(0, sector, buf, len);
}

void vblk_write(uint32 sector, const void *buf, uint32 len)
{
    vblk_rw(1, sector, (void *)buf, len);
}

/* The device's interrupt: acknowledge it, then retire what the used ring returned. */
void vblk_intr(void)
{
    uint32 why = vblk_r(VIRTIO_MMIO_INTERRUPT_STATUS);
    vblk_w(VIRTIO_MMIO_INTERRUPT_ACK, why);
    if (why & VIRTIO_INT_CONFIG_CHANGE)
        panic("virtio-blk: device needs reset");
    fence();
    while (vblk.used_seen != *(volatile uint16 *)&vblk_vq.used.idx) {
        if (vblk_vq.used.ring[vblk.used_seen % VBLK_QSIZE].id != 0)
            panic("virtio-blk: unknown request completed");
        vblk.used_seen++;
        vblk.busy = 0;
    }
}
