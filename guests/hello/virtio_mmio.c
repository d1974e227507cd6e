/* virtio_mmio.c: what the hello kernel's virtio drivers (virtio_blk.c,
 * virtio_balloon.c) share: finding a device in the device tree and the
 * driver initialisation of Virtio 1.1 3.1.1 with the MMIO specifics of
 * 4.2.3, accepting VIRTIO_F_VERSION_1 and nothing else.  The request
 * formats and interrupts are each driver's own.
 */
#include "defs.h"
#include "virtio.h"

#define R(base, off) (*(volatile uint32 *)((base) + (off)))

/* The first virtio-mmio slot in /soc whose DeviceID is device_id: its window
 * in *base and PLIC source in *irq.  0 on success, -1 if there is none. */
int virtio_find(uint32 device_id, uint32 *base, uint32 *irq)
{
    int soc = fdt_path("/soc");
    for (int node = soc < 0 ? -1 : fdt_first_child(soc); node >= 0; node = fdt_next_sibling(node)) {
        uint32 size;
        if (strncmp(fdt_name(node), "virtio_mmio@", 12) != 0 || fdt_reg(soc, node, base, &size) < 0)
            continue;
        if (R(*base, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MAGIC && R(*base, VIRTIO_MMIO_VERSION) == 2 &&
            R(*base, VIRTIO_MMIO_DEVICE_ID) == device_id) {
            *irq = fdt_u32(node, "interrupts", 0);
            return 0;
        }
    }
    return -1;
}

/* Reset the device, then ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
void virtio_begin(uint32 base)
{
    R(base, VIRTIO_MMIO_STATUS) = 0;
    R(base, VIRTIO_MMIO_STATUS) = VIRTIO_STATUS_ACKNOWLEDGE;
    R(base, VIRTIO_MMIO_STATUS) = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    R(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL) = VIRTIO_F_VERSION_1 / 32;
    if (!(R(base, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_VERSION_1 % 32))))
        panic("virtio: device does not offer VIRTIO_F_VERSION_1");
    R(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL) = 0;
    R(base, VIRTIO_MMIO_DRIVER_FEATURES) = 0;
    R(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL) = VIRTIO_F_VERSION_1 / 32;
    R(base, VIRTIO_MMIO_DRIVER_FEATURES) = 1u << (VIRTIO_F_VERSION_1 % 32);
    R(base, VIRTIO_MMIO_STATUS) = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    if (!(R(base, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        panic("virtio: features not accepted");
}

/* Give queue q its size and the guest-physical addresses of its three parts,
 * then make it ready. */
void virtio_queue(uint32 base, uint32 q, uint32 size, void *desc, void *avail, void *used)
{
    R(base, VIRTIO_MMIO_QUEUE_SEL) = q;
    if (R(base, VIRTIO_MMIO_QUEUE_READY) != 0)
        panic("virtio: queue already in use");
    if (R(base, VIRTIO_MMIO_QUEUE_NUM_MAX) < size)
        panic("virtio: queue too small");
    R(base, VIRTIO_MMIO_QUEUE_NUM) = size;
    R(base, VIRTIO_MMIO_QUEUE_DESC_LOW) = (uint32)desc;
    R(base, VIRTIO_MMIO_QUEUE_DESC_HIGH) = 0;
    R(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW) = (uint32)avail;
    R(base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH) = 0;
    R(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW) = (uint32)used;
    R(base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH) = 0;
    R(base, VIRTIO_MMIO_QUEUE_READY) = 1;
}

/* The driver is ready: the device may use its queues (DRIVER_OK). */
void virtio_ready(uint32 base)
{
    R(base, VIRTIO_MMIO_STATUS) |= VIRTIO_STATUS_DRIVER_OK;
}
