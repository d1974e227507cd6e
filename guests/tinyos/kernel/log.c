/* log.c: the write-ahead (redo) log that makes each file-system operation atomic
 * on the disk.  Format and commit protocol: fs.h.
 *
 * A system call brackets its file-system updates with begin_op()/end_op() and
 * marks every block it changed with log_write() instead of bwrite(); the buffers
 * stay pinned in the cache.  When the last operation in flight ends, the group
 * commits: copies to the log area, header (the commit point), blocks in place,
 * header cleared.  begin_op() waits if the operations in flight might together
 * overflow the log (each reserves MAXOPBLOCKS).  initlog() replays a committed
 * transaction left by a crash before anything else reads the disk.
 */
#include "defs.h"
#include "buf.h"

static struct {
    struct spinlock lock;
    uint start;             /* block of the header */
    uint size;              /* log blocks, header included */
    int outstanding;        /* operations between begin_op and end_op */
    int committing;         /* commit() running: begin_op waits */
    uint dev;
    struct logheader lh;    /* the transaction being built (in memory) */
} log;

static void read_head(void)
{
    struct buf *b = bread(log.dev, log.start);
    memmove(&log.lh, b->data, sizeof(log.lh));
    brelse(b);
}

/* The commit point when lh.n > 0, the end of a transaction when lh.n == 0.
 * struct logheader fits in the first 512 bytes of the block, so the one sector
 * that matters is written whole or not at all. */
static void write_head(void)
{
    struct buf *b = bread(log.dev, log.start);
    memset(b->data, 0, BSIZE);
    memmove(b->data, &log.lh, sizeof(log.lh));
    bwrite(b);
    brelse(b);
}

/* Copy each logged block from the log area to its home.  At recovery the blocks
 * come from the disk; after a commit from the pinned cache buffers. */
static void install_trans(int recovering)
{
    for (uint i = 0; i < log.lh.n; i++) {
        struct buf *from = bread(log.dev, log.start + 1 + i);
        struct buf *to = bread(log.dev, log.lh.block[i]);
        memmove(to->data, from->data, BSIZE);
        bwrite(to);
        if (!recovering)
            bunpin(to);
        brelse(from);
        brelse(to);
    }
}

/* Replay a committed transaction; a clean log is left alone (mounting a clean
 * file system writes nothing).  Why the header is unusable, or 0. */
static const char *recover_from_log(struct superblock *sb)
{
    read_head();
    if (log.lh.n > log.size - 1) {
        log.lh.n = 0;
        return "corrupt log header (more blocks than the log holds)";
    }
    for (uint i = 0; i < log.lh.n; i++) {
        if (log.lh.block[i] < sb->inodestart || log.lh.block[i] >= sb->size) {
            log.lh.n = 0;
            return "corrupt log header (a block outside the inodes, bitmap and data)";
        }
    }
    if (log.lh.n == 0)
        return 0;
    printf("fs: replaying %d logged blocks\n", (int)log.lh.n);
    install_trans(1);
    log.lh.n = 0;
    write_head();
    return 0;
}

/* Set up the log of a checked superblock and replay it: 0, or why the log
 * header cannot be trusted (nothing was written then). */
const char *initlog(uint dev, struct superblock *sb)
{
    _Static_assert(sizeof(struct logheader) <= 512, "log header larger than a sector");
    initlock(&log.lock, "log");
    log.start = sb->logstart;
    log.size = sb->nlog;
    log.dev = dev;
    return recover_from_log(sb);
}

void begin_op(void)
{
    acquire(&log.lock);
    for (;;) {
        if (log.committing) {
            sleep(&log, &log.lock);
        } else if (log.lh.n + (log.outstanding + 1) * MAXOPBLOCKS > log.size - 1) {
            sleep(&log, &log.lock);     /* might not fit: wait for a commit */
        } else {
            log.outstanding++;
            release(&log.lock);
            return;
        }
    }
}

/* Copy the transaction's blocks from the cache into the log area. */
static void write_log(void)
{
    for (uint i = 0; i < log.lh.n; i++) {
        struct buf *to = bread(log.dev, log.start + 1 + i);
        struct buf *from = bread(log.dev, log.lh.block[i]);
        memmove(to->data, from->data, BSIZE);
        bwrite(to);
        brelse(from);
        brelse(to);
    }
}

static void commit(void)
{
    if (log.lh.n == 0)
        return;
    write_log();
    write_head();           /* committed */
    install_trans(0);
    log.lh.n = 0;
    write_head();           /* done: the log area is free again */
}

void end_op(void)
{
    int do_commit = 0;

    acquire(&log.lock);
    if (log.committing)
        panic("end_op: commit in progress");
    log.outstanding--;
    if (log.outstanding == 0) {
        do_commit = 1;
        log.committing = 1;
    } else {
        wakeup(&log);       /* our reservation is back */
    }
    release(&log.lock);

    if (do_commit) {
        commit();           /* sleeps on the disk: not under log.lock */
        acquire(&log.lock);
        log.committing = 0;
        wakeup(&log);
        release(&log.lock);
    }
}

/* Record that the locked buffer b belongs to the current transaction; it is
 * written at commit.  Replaces bwrite() inside begin_op/end_op. */
void log_write(struct buf *b)
{
    acquire(&log.lock);
    if (log.outstanding < 1)
        panic("log_write: outside begin_op/end_op");
    uint i;
    for (i = 0; i < log.lh.n; i++)
        if (log.lh.block[i] == b->blockno)
            break;          /* already logged: absorbed */
    if (i == log.lh.n) {
        if (log.lh.n >= LOGSIZE || log.lh.n >= log.size - 1)
            panic("log_write: transaction too big for the log");
        log.lh.block[i] = b->blockno;
        log.lh.n++;
        bpin(b);
    }
    release(&log.lock);
}
