/* virtio.h: the virtio-mmio transport and split virtqueue layouts, the
 * block device's request format and the balloon's configuration (Virtio 1.1:
 * 4.2.2 MMIO registers, 2.1 status, 2.7 split virtqueues, 5.2.6 block
 * requests, 5.5 traditional memory balloon).  Shared by the guests (hello,
 * tinyos); types.h comes from the including guest's own folder. */
#ifndef GUESTS_VIRTIO_H
#define GUESTS_VIRTIO_H

#include "types.h"

/* virtio-mmio version 2 registers (4.2.2, table 4.1), offsets in the slot. */
#define VIRTIO_MMIO_MAGIC_VALUE        0x000  /* 0x74726976, "virt" */
#define VIRTIO_MMIO_VERSION            0x004  /* 2 */
#define VIRTIO_MMIO_DEVICE_ID          0x008  /* 2 = block, 0 = empty slot */
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL          0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034
#define VIRTIO_MMIO_QUEUE_NUM          0x038
#define VIRTIO_MMIO_QUEUE_READY        0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS             0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION  0x0fc  /* changes with the device's config space */
#define VIRTIO_MMIO_CONFIG             0x100  /* device-specific configuration */

#define VIRTIO_MAGIC          0x74726976
#define VIRTIO_ID_BLOCK       2
#define VIRTIO_ID_BALLOON     5

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE  1
#define VIRTIO_STATUS_DRIVER       2
#define VIRTIO_STATUS_DRIVER_OK    4
#define VIRTIO_STATUS_FEATURES_OK  8
#define VIRTIO_STATUS_NEEDS_RESET  0x40  /* DEVICE_NEEDS_RESET, set by the device */

/* Feature bits: VIRTIO_F_VERSION_1 (6) is bit 0 of feature word 1. */
#define VIRTIO_F_VERSION_1    32

/* InterruptStatus bits (4.2.2). */
#define VIRTIO_INT_USED_BUFFER     1
#define VIRTIO_INT_CONFIG_CHANGE   2

/* Split virtqueue (2.7): descriptor table (16-byte aligned), available ring
 * (2-byte aligned), used ring (4-byte aligned).  No VIRTIO_F_EVENT_IDX, so
 * used_event / avail_event are never read. */
#define VIRTQ_DESC_F_NEXT   1
#define VIRTQ_DESC_F_WRITE  2

struct virtq_desc {
    uint64 addr;   /* guest-physical */
    uint32 len;
    uint16 flags;
    uint16 next;
};

struct virtq_used_elem {
    uint32 id;     /* head of the completed chain */
    uint32 len;    /* bytes the device wrote */
};

/* virtio-blk (5.2.6): a request is a 16-byte header (device-readable), the
 * data, and one status byte (both device-writable for a read). */
#define VIRTIO_BLK_T_IN   0
#define VIRTIO_BLK_T_OUT  1
#define VIRTIO_BLK_S_OK   0
#define VIRTIO_BLK_SECTOR 512

struct virtio_blk_req {
    uint32 type;
    uint32 reserved;
    uint64 sector;
};

/* virtio-balloon (5.5): queue 0 inflateq, queue 1 deflateq; each buffer is an
 * array of le32 page frame numbers, guest-physical address = pfn << 12.
 * Configuration space (5.5.4): le32 num_pages at +0 (the device's target, in
 * 4 KiB pages), le32 actual at +4 (written by the driver). */
#define VIRTIO_BALLOON_INFLATEQ    0
#define VIRTIO_BALLOON_DEFLATEQ    1
#define VIRTIO_BALLOON_PFN_SHIFT   12
#define VIRTIO_BALLOON_NUM_PAGES   (VIRTIO_MMIO_CONFIG + 0)
#define VIRTIO_BALLOON_ACTUAL      (VIRTIO_MMIO_CONFIG + 4)

#endif
