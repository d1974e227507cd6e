/* bench.c: `bench=blk`: virtio-blk read throughput in virtual time.
 *
 * Reads BENCH_TOTAL bytes from the start of the disk, one request at a time,
 * each as large as BENCH_REQ or the whole disk if that is smaller (the test
 * image is small, so the same sectors are read again and again).  Every
 * request takes the full path: notify, device, PLIC, interrupt, wakeup.
 */
#include "defs.h"
#include "riscv.h"
#include "virtio.h"

#define BENCH_TOTAL (16u << 20)
#define BENCH_REQ   (64u << 10)

static uint8 bench_buf[BENCH_REQ] __attribute__((aligned(4096)));

void bench_blk(void)
{
    uint64 disk = vblk_capacity() * VIRTIO_BLK_SECTOR;
    uint32 req = disk < BENCH_REQ ? (uint32)disk : BENCH_REQ;
    if (req == 0)
        panic("bench: empty disk");
    uint32 n = (BENCH_TOTAL + req - 1) / req;
    printf("blk: %u requests of %u bytes\n", n, req);

    uint64 t0 = rdtime64();
    for (uint32 i = 0; i < n; i++)
        vblk_read(0, bench_buf, req);
    uint64 dt = rdtime64() - t0;
    printf("blk: read %u bytes in %u ticks\n", n * req, dt >> 32 ? 0xffffffffu : (uint32)dt);
}
