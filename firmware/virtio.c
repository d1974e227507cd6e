/* virtio.c: a polled virtio-blk driver over virtio-mmio version 2, read only.
 *
 * Virtio 1.1: 4.2.2 (MMIO registers), 3.1.1 (driver initialisation), 2.7
 * (split virtqueues), 5.2 (block device).  One request at a time: a chain of
 * three descriptors (header, data, status) on a QUEUE_SIZE-entry queue in .bss;
 * the device completes it inside the QueueNotify store and the used ring is
 * polled with a timeout.  Only VIRTIO_F_VERSION_1 is negotiated.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

/* virtio-mmio register offsets (4.2.2, table 4.1), all 32-bit */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000   /* "virt" */
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG              0x100   /* virtio-blk: u64 capacity first */

#define VIRTIO_MAGIC                    0x74726976
#define VIRTIO_ID_BLOCK                 2

/* device status bits (2.1) */
#define STATUS_ACKNOWLEDGE              1
#define STATUS_DRIVER                   2
#define STATUS_DRIVER_OK                4
#define STATUS_FEATURES_OK              8
#define STATUS_NEEDS_RESET              0x40

#define VIRTIO_F_VERSION_1_HI           (1u << 0)   /* feature bit 32: word 1, bit 0 */

/* split virtqueue (2.7) */
#define QUEUE_SIZE                      4
#define VIRTQ_DESC_F_NEXT               1
#define VIRTQ_DESC_F_WRITE              2           /* device writes this buffer */

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[QUEUE_SIZE];
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[QUEUE_SIZE];
};

/* virtio-blk request header (5.2.6) and status */
#define VIRTIO_BLK_T_IN                 0
#define VIRTIO_BLK_S_OK                 0

struct virtio_blk_req {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

#define TIMEOUT_TICKS (PYHV_TIMEBASE_HZ / 10)    /* 100 ms of virtual time per request */

static struct {
    struct virtq_desc desc[QUEUE_SIZE] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
    struct virtio_blk_req req;
    uint8_t status;
} vq;

static uint32_t regs;           /* MMIO base of the disk's slot, 0 if none */
static uint16_t used_seen;      /* used.idx we have consumed up to */

static uint32_t rd(uint32_t off) { return mmio_read32(regs + off); }
static void wr(uint32_t off, uint32_t v) { mmio_write32(regs + off, v); }

/* Driver initialisation of 3.1.1; returns 0 once the device is DRIVER_OK. */
static int vblk_init(void)
{
    uint32_t status = 0;
    wr(VIRTIO_MMIO_STATUS, 0);                              /* reset */
    wr(VIRTIO_MMIO_STATUS, status |= STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, status |= STATUS_DRIVER);

    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    if (!(rd(VIRTIO_MMIO_DEVICE_FEATURES) & VIRTIO_F_VERSION_1_HI))
        return -1;                                          /* a legacy-only device */
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_F_VERSION_1_HI);
    wr(VIRTIO_MMIO_STATUS, status |= STATUS_FEATURES_OK);
    if (!(rd(VIRTIO_MMIO_STATUS) & STATUS_FEATURES_OK))
        return -1;

    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    if (rd(VIRTIO_MMIO_QUEUE_READY) || rd(VIRTIO_MMIO_QUEUE_NUM_MAX) < QUEUE_SIZE)
        return -1;
    wr(VIRTIO_MMIO_QUEUE_NUM, QUEUE_SIZE);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)&vq.desc);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)&vq.avail);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)&vq.used);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);

    wr(VIRTIO_MMIO_STATUS, status |= STATUS_DRIVER_OK);
    return (rd(VIRTIO_MMIO_STATUS) & STATUS_NEEDS_RESET) ? -1 : 0;
}

int vblk_probe(void)
{
    for (int slot = 0; slot < PYHV_VIRTIO_SLOTS; slot++) {
        regs = PYHV_VIRTIO0_BASE + slot * PYHV_VIRTIO_STRIDE;
        if (rd(VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MAGIC && rd(VIRTIO_MMIO_VERSION) == 2
            && rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK && vblk_init() == 0)
            return slot;
    }
    regs = 0;
    return -1;
}

uint64_t vblk_capacity(void)
{
    uint32_t lo = rd(VIRTIO_MMIO_CONFIG), hi = rd(VIRTIO_MMIO_CONFIG + 4);
    return ((uint64_t)hi << 32) | lo;
}

/* Read nsectors (> 0) 512-byte sectors into buf with one request. */
int vblk_read(uint64_t sector, void *buf, uint32_t nsectors)
{
    vq.req = (struct virtio_blk_req){ .type = VIRTIO_BLK_T_IN, .reserved = 0, .sector = sector };
    vq.status = 0xff;
    vq.desc[0] = (struct virtq_desc){ (uint32_t)&vq.req, sizeof vq.req, VIRTQ_DESC_F_NEXT, 1 };
    vq.desc[1] = (struct virtq_desc){ (uint32_t)buf, nsectors * 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
    vq.desc[2] = (struct virtq_desc){ (uint32_t)&vq.status, 1, VIRTQ_DESC_F_WRITE, 0 };
    vq.avail.ring[vq.avail.idx % QUEUE_SIZE] = 0;
    fence();                                /* the chain is in memory before idx moves */
    vq.avail.idx++;
    fence();                                /* idx is in memory before the notify */
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);

    uint64_t deadline = clint_mtime() + TIMEOUT_TICKS;
    while (*(volatile uint16_t *)&vq.used.idx == used_seen) {
        if ((rd(VIRTIO_MMIO_STATUS) & STATUS_NEEDS_RESET) || clint_mtime() > deadline)
            return -1;
    }
    fence();
    used_seen++;
    return *(volatile uint8_t *)&vq.status == VIRTIO_BLK_S_OK ? 0 : -1;
}

/* Hand the device back in its reset state, so the kernel starts it afresh. */
void vblk_reset(void)
{
    if (regs)
        wr(VIRTIO_MMIO_STATUS, 0);
}
