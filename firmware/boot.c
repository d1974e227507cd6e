/* boot.c: the boot protocol of csrc/abi.h, from sector 0 to a kernel in RAM.
 *
 * Reads and checks the boot header (magics, header CRC-32, version, sane
 * fields), checks that the kernel fits between the firmware region and the
 * device tree, reads it with multi-sector requests and checks its CRC-32.
 * Every failure ends the machine with its PYHV_BIOS_ERR_* code (main.c: fail).
 */
#include "defs.h"

#define SECTOR          512
#define MAX_REQ_SECTORS 128     /* 64 KiB per virtio-blk request */

static uint8_t sector[SECTOR] __attribute__((aligned(4)));

/* Little-endian u32 field of the header (the hart is little-endian too). */
static uint32_t field(uint32_t off)
{
    return *(const uint32_t *)(sector + off);
}

static void read_or_fail(uint64_t lba, void *buf, uint32_t n)
{
    if (vblk_read(lba, buf, n) < 0)
        fail(PYHV_BIOS_ERR_DISK_IO, "disk read error");
}

/* The kernel must sit in [lowest, limit): above the firmware region, below the
 * DTB pyhv placed near the top of RAM (or below RAM's end if it is elsewhere). */
static void check_room(uint32_t load, uint32_t size, uint32_t dtb)
{
    uint64_t lowest = ram_base + PYHV_FW_RESERVED;
    uint64_t limit = (dtb >= ram_base && dtb < ram_end) ? dtb : ram_end;
    if (lowest < PYHV_KERNEL_BASE)
        lowest = PYHV_KERNEL_BASE;
    if (load < lowest || (uint64_t)load + size > limit) {
        printf("BIOS: kernel 0x%x..0x%llx, room 0x%llx..0x%llx\n", load, (uint64_t)load + size, lowest, limit);
        fail(PYHV_BIOS_ERR_TOO_BIG, "kernel too large for RAM");
    }
}

uint32_t boot_load(uint32_t dtb)
{
    read_or_fail(0, sector, 1);
    if (field(0) != PYHV_BOOT_MAGIC0 || field(4) != PYHV_BOOT_MAGIC1)
        fail(PYHV_BIOS_ERR_BAD_MAGIC, "bad boot header magic");
    if (crc32(sector, PYHV_BOOT_OFF_HCRC) != field(PYHV_BOOT_OFF_HCRC))
        fail(PYHV_BIOS_ERR_BAD_CRC, "bad boot header checksum");
    if (field(8) != PYHV_BOOT_VERSION)
        fail(PYHV_BIOS_ERR_BAD_CRC, "unsupported boot header version");

    uint32_t koff = field(PYHV_BOOT_OFF_KOFF), size = field(PYHV_BOOT_OFF_KSIZE);
    uint32_t load = field(PYHV_BOOT_OFF_LOAD), entry = field(PYHV_BOOT_OFF_ENTRY);
    uint32_t kcrc = field(PYHV_BOOT_OFF_KCRC);      /* before the buffer is reused */
    if (koff % SECTOR != 0)
        fail(PYHV_BIOS_ERR_BAD_CRC, "bad boot header: kernel offset is not sector-aligned");
    if (entry < load || entry - load >= (size ? size : 1))
        fail(PYHV_BIOS_ERR_BAD_CRC, "bad boot header: entry point outside the kernel");
    check_room(load, size, dtb);
    uint64_t lba = koff / SECTOR;
    if (lba + (size + SECTOR - 1) / SECTOR > vblk_capacity())
        fail(PYHV_BIOS_ERR_DISK_IO, "kernel extends past the end of the disk");

    /* Whole sectors straight into place; a partial last sector through the
     * buffer, so nothing past load + size is written (the DTB may follow). */
    uint8_t *dst = (uint8_t *)load;
    uint32_t left = size;
    while (left >= SECTOR) {
        uint32_t n = left / SECTOR;
        if (n > MAX_REQ_SECTORS)
            n = MAX_REQ_SECTORS;
        read_or_fail(lba, dst, n);
        lba += n;
        dst += n * SECTOR;
        left -= n * SECTOR;
    }
    if (left) {
        read_or_fail(lba, sector, 1);
        for (uint32_t i = 0; i < left; i++)
            dst[i] = sector[i];
    }
    if (crc32((const void *)load, size) != kcrc)
        fail(PYHV_BIOS_ERR_BAD_CRC, "kernel checksum mismatch");
    printf("loaded kernel: %u bytes at 0x%x, entry 0x%x\n", size, load, entry);
    return entry;
}
