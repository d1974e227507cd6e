/* bio.c: the buffer cache: at most one copy of each disk block in memory, handed
 * to one holder at a time (a sleep-lock per buffer), recycled least recently used
 * first.  Only log.c writes buffers to the disk on behalf of the file system;
 * disk I/O itself is the virtio driver's (virtio_disk_rw).
 *
 *   bread   -> locked buffer with the block's data      brelse  -> unlock, recycle later
 *   bwrite  -> write a locked buffer to its block       bpin/bunpin: keep it cached for the log
 */
#include "defs.h"
#include "buf.h"

static struct {
    struct spinlock lock;
    struct buf buf[NBUF];
    struct buf head;        /* circular LRU list through prev/next */
} bcache;

void binit(void)
{
    initlock(&bcache.lock, "bcache");
    bcache.head.prev = &bcache.head;
    bcache.head.next = &bcache.head;
    for (struct buf *b = bcache.buf; b < bcache.buf + NBUF; b++) {
        initsleeplock(&b->lock, "buffer");
        b->next = bcache.head.next;
        b->prev = &bcache.head;
        bcache.head.next->prev = b;
        bcache.head.next = b;
    }
}

/* The disk sector of a block, refusing blocks past the file-system area. */
static uint32 block_sector(uint blockno)
{
    if (blockno >= disk_fs_sectors() / (BSIZE / 512))
        panic("bio: block number past the end of the file system");
    return disk_fs_sector() + blockno * (BSIZE / 512);
}

/* The cached buffer for (dev, blockno), or a recycled one; returned locked. */
static struct buf *bget(uint dev, uint blockno)
{
    struct buf *b;

    acquire(&bcache.lock);
    for (b = bcache.head.next; b != &bcache.head; b = b->next) {
        if (b->dev == dev && b->blockno == blockno) {
            b->refcnt++;
            release(&bcache.lock);
            acquiresleep(&b->lock);
            return b;
        }
    }
    for (b = bcache.head.prev; b != &bcache.head; b = b->prev) {
        if (b->refcnt == 0) {
            b->dev = dev;
            b->blockno = blockno;
            b->valid = 0;
            b->refcnt = 1;
            release(&bcache.lock);
            acquiresleep(&b->lock);
            return b;
        }
    }
    panic("bget: no free buffers");
}

struct buf *bread(uint dev, uint blockno)
{
    struct buf *b = bget(dev, blockno);
    if (!b->valid) {
        virtio_disk_rw(block_sector(blockno), b->data, BSIZE, 0);
        b->valid = 1;
    }
    return b;
}

void bwrite(struct buf *b)
{
    if (!holdingsleep(&b->lock))
        panic("bwrite: buffer not locked");
    virtio_disk_rw(block_sector(b->blockno), b->data, BSIZE, 1);
}

void brelse(struct buf *b)
{
    if (!holdingsleep(&b->lock))
        panic("brelse: buffer not locked");
    releasesleep(&b->lock);

    acquire(&bcache.lock);
    b->refcnt--;
    if (b->refcnt == 0) {   /* most recently used: move to the front */
        b->next->prev = b->prev;
        b->prev->next = b->next;
        b->next = bcache.head.next;
        b->prev = &bcache.head;
        bcache.head.next->prev = b;
        bcache.head.next = b;
    }
    release(&bcache.lock);
}

void bpin(struct buf *b)
{
    acquire(&bcache.lock);
    b->refcnt++;
    release(&bcache.lock);
}

void bunpin(struct buf *b)
{
    acquire(&bcache.lock);
    b->refcnt--;
    release(&bcache.lock);
}
