/* virtio_disk.c: the boot disk, a virtio-blk device on virtio-mmio version 2
 * (Virtio 1.1: 3.1.1 driver initialisation, 4.2 MMIO transport, 2.7 split
 * virtqueues, 5.2 block device; layouts in virtio.h).
 *
 * The first virtio-mmio node of the device tree whose DeviceID is 2 is the disk.
 * One queue, one request in flight: a three-descriptor chain (header, data,
 * status); the caller sleeps until the device's interrupt reports the chain in
 * the used ring (before the first process exists, it waits in wfi instead).
 * Sector 0 holds the boot header (csrc/abi.h), which says where the file system
 * is.  Buffers are kernel addresses, which are physical (identity map, vm.c).
 */
#include "abi.h"
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"
#include "virtio.h"

#define QSIZE 8  /* a power of two; one request uses 3 descriptors */

static struct {
    struct virtq_desc desc[QSIZE];           /* offset 0, 16-byte aligned */
    struct {
        uint16 flags, idx, ring[QSIZE], used_event;
    } avail;
    struct {
        uint16 flags, idx;
        struct virtq_used_elem ring[QSIZE];
        uint16 avail_event;
    } used __attribute__((aligned(4)));
} vq __attribute__((aligned(4096)));

static struct {
    struct spinlock lock;
    uint32 base;            /* MMIO window, virtual */
    uint32 irq;             /* PLIC source */
    uint64 capacity;        /* 512-byte sectors */
    uint32 fs_sector, fs_sectors;  /* the file-system area, from the boot header */
    uint16 used_seen;       /* used ring entries already consumed */
    volatile int busy;      /* a request is with the device */
    volatile int done;      /* ... and it has come back */
    struct virtio_blk_req req;
    volatile uint8 status;
} disk;

static uint8 bootsector[512] __attribute__((aligned(16)));

static uint32 rd(uint32 off)
{
    return *(volatile uint32 *)(disk.base + off);
}

static void wr(uint32 off, uint32 v)
{
    *(volatile uint32 *)(disk.base + off) = v;
}

static void disk_start(void)
{
    uint32 status = 0;
    wr(VIRTIO_MMIO_STATUS, 0);  /* reset */
    status |= VIRTIO_STATUS_ACKNOWLEDGE;
    wr(VIRTIO_MMIO_STATUS, status);
    status |= VIRTIO_STATUS_DRIVER;
    wr(VIRTIO_MMIO_STATUS, status);

    /* Accept VIRTIO_F_VERSION_1 and nothing else. */
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_F_VERSION_1 / 32);
    if (!(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_VERSION_1 % 32))))
        panic("virtio-blk: device does not offer VIRTIO_F_VERSION_1");
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_F_VERSION_1 / 32);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 % 32));
    status |= VIRTIO_STATUS_FEATURES_OK;
    wr(VIRTIO_MMIO_STATUS, status);
    if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        panic("virtio-blk: features not accepted");

    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    if (rd(VIRTIO_MMIO_QUEUE_READY) != 0)
        panic("virtio-blk: queue 0 already in use");
    if (rd(VIRTIO_MMIO_QUEUE_NUM_MAX) < QSIZE)
        panic("virtio-blk: queue 0 too small");
    wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32)vq.desc);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32)&vq.avail);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32)&vq.used);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);

    status |= VIRTIO_STATUS_DRIVER_OK;
    wr(VIRTIO_MMIO_STATUS, status);

    /* Configuration space (5.2.4): capacity, a 64-bit count of sectors. */
    disk.capacity = rd(VIRTIO_MMIO_CONFIG) | (uint64)rd(VIRTIO_MMIO_CONFIG + 4) << 32;
}

static uint32 le32(const uint8 *p)
{
    return p[0] | (uint32)p[1] << 8 | (uint32)p[2] << 16 | (uint32)p[3] << 24;
}

/* Find and start the disk, then read the boot header; -1 if there is no disk. */
int virtio_disk_init(void)
{
    initlock(&disk.lock, "disk");
    int soc = fdt_path("/soc");
    for (int node = soc < 0 ? -1 : fdt_first_child(soc); node >= 0; node = fdt_next_sibling(node)) {
        uint32 pa, size;
        if (!fdt_compatible(node, "virtio,mmio") || fdt_reg(soc, node, &pa, &size) < 0)
            continue;
        disk.base = kdevmap(pa);
        if (rd(VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MAGIC || rd(VIRTIO_MMIO_VERSION) != 2 ||
            rd(VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
            continue;
        disk.irq = fdt_u32(node, "interrupts", 0);
        disk_start();
        plic_enable(disk.irq);
        printf("tinyos: virtio-blk at 0x%x, irq %u, %u sectors\n", pa, disk.irq, (uint32)disk.capacity);

        virtio_disk_rw(0, bootsector, sizeof bootsector, 0);
        if (le32(bootsector) != PYHV_BOOT_MAGIC0 || le32(bootsector + 4) != PYHV_BOOT_MAGIC1)
            panic("virtio-blk: no boot header in sector 0");
        uint32 fs_offset = le32(bootsector + PYHV_BOOT_OFF_FSOFF);
        uint32 fs_size = le32(bootsector + PYHV_BOOT_OFF_FSSIZE);
        if (fs_offset % VIRTIO_BLK_SECTOR || fs_offset / VIRTIO_BLK_SECTOR + (uint64)(fs_size / VIRTIO_BLK_SECTOR) >
                                                 disk.capacity)
            panic("virtio-blk: the boot header's file-system area is not on the disk");
        disk.fs_sector = fs_offset / VIRTIO_BLK_SECTOR;
        disk.fs_sectors = fs_size / VIRTIO_BLK_SECTOR;
        return 0;
    }
    return -1;
}

uint32 virtio_disk_irq(void)
{
    return disk.irq;
}

uint32 disk_fs_sector(void)
{
    return disk.fs_sector;
}

uint32 disk_fs_sectors(void)
{
    return disk.fs_sectors;
}

/* Move nbytes (a multiple of 512, at most a page) between data and the disk at
 * sector; returns when the device is done. */
void virtio_disk_rw(uint32 sector, void *data, uint32 nbytes, int write)
{
    if (nbytes == 0 || nbytes % VIRTIO_BLK_SECTOR || nbytes > PGSIZE ||
        sector + (uint64)(nbytes / VIRTIO_BLK_SECTOR) > disk.capacity)
        panic("virtio-blk: request outside the disk");
    if ((uint32)data < KERNEL_LOAD)
        panic("virtio-blk: buffer is not in RAM");

    acquire(&disk.lock);
    while (disk.busy)
        sleep((void *)&disk.busy, &disk.lock);
    disk.busy = 1;
    disk.done = 0;
    disk.req = (struct virtio_blk_req){.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, .sector = sector};
    disk.status = 0xff;
    vq.desc[0] = (struct virtq_desc){(uint32)&disk.req, sizeof disk.req, VIRTQ_DESC_F_NEXT, 1};
    vq.desc[1] = (struct virtq_desc){(uint32)data, nbytes, (write ? 0 : VIRTQ_DESC_F_WRITE) | VIRTQ_DESC_F_NEXT, 2};
    vq.desc[2] = (struct virtq_desc){(uint32)&disk.status, 1, VIRTQ_DESC_F_WRITE, 0};
    vq.avail.ring[vq.avail.idx % QSIZE] = 0;  /* chain head */
    fence();  /* the ring entry before the index that publishes it (2.7.13) */
    vq.avail.idx++;
    fence();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);

    while (!disk.done) {
        if (myproc()) {
            sleep((void *)&disk.done, &disk.lock);
        } else {  /* boot: no process to put to sleep */
            release(&disk.lock);
            wfi();
            intr_on();
            intr_off();
            acquire(&disk.lock);
        }
    }
    if (disk.status != VIRTIO_BLK_S_OK)
        panic(write ? "virtio-blk: write failed" : "virtio-blk: read failed");
    disk.busy = 0;
    wakeup((void *)&disk.busy);
    release(&disk.lock);
}

/* The device's interrupt: acknowledge it, then retire what the used ring returned. */
void virtio_disk_intr(void)
{
    acquire(&disk.lock);
    uint32 why = rd(VIRTIO_MMIO_INTERRUPT_STATUS);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, why);
    if (why & VIRTIO_INT_CONFIG_CHANGE)
        panic("virtio-blk: device needs reset");
    fence();
    while (disk.used_seen != *(volatile uint16 *)&vq.used.idx) {
        if (vq.used.ring[disk.used_seen % QSIZE].id != 0)
            panic("virtio-blk: unknown request completed");
        disk.used_seen++;
        disk.done = 1;
        wakeup((void *)&disk.done);
    }
    release(&disk.lock);
}
