/* file.c: open files: the system-wide table of struct file and the operations
 * behind read/write/fstat/close on a file descriptor, dispatched to an inode
 * (fs.c), a pipe (pipe.c) or a device driver (devsw[], owned by the drivers).
 * File descriptor tables and the system calls are sysfile.c's.
 */
#include "defs.h"
#include "file.h"

static struct {
    struct spinlock lock;
    struct file file[NFILE];
} ftable;

void fileinit(void)
{
    initlock(&ftable.lock, "ftable");
}

/* A free struct file with ref 1, or 0 if the table is full. */
struct file *filealloc(void)
{
    acquire(&ftable.lock);
    for (struct file *f = ftable.file; f < ftable.file + NFILE; f++) {
        if (f->ref == 0) {
            memset(f, 0, sizeof(*f));
            f->ref = 1;
            release(&ftable.lock);
            return f;
        }
    }
    release(&ftable.lock);
    return 0;
}

struct file *filedup(struct file *f)
{
    acquire(&ftable.lock);
    if (f->ref < 1)
        panic("filedup: file not open");
    f->ref++;
    release(&ftable.lock);
    return f;
}

void fileclose(struct file *f)
{
    acquire(&ftable.lock);
    if (f->ref < 1)
        panic("fileclose: file not open");
    if (--f->ref > 0) {
        release(&ftable.lock);
        return;
    }
    struct file ff = *f;
    f->ref = 0;
    f->type = FD_NONE;
    release(&ftable.lock);

    if (ff.type == FD_PIPE) {
        pipeclose(ff.pipe, ff.writable);
    } else if (ff.type == FD_INODE || ff.type == FD_DEVICE) {
        begin_op();     /* the last reference may free an unlinked inode */
        iput(ff.ip);
        end_op();
    }
}

/* Copy the file's struct stat to user address addr. */
int filestat(struct file *f, uint32 addr)
{
    struct stat st;

    if (f->type != FD_INODE && f->type != FD_DEVICE)
        return -1;
    if (ilock(f->ip) < 0)
        return -1;
    stati(f->ip, &st);
    iunlock(f->ip);
    if (copyout(myproc()->pagetable, addr, (char *)&st, sizeof(st)) < 0)
        return -1;
    return 0;
}

int fileread(struct file *f, uint32 addr, int n)
{
    int r;

    if (!f->readable || n < 0)
        return -1;
    switch (f->type) {
    case FD_PIPE:
        return piperead(f->pipe, addr, n);
    case FD_DEVICE:
        if (f->major < 0 || f->major >= NDEV || !devsw[f->major].read)
            return -1;
        return devsw[f->major].read(1, addr, n);
    case FD_INODE:
        if (ilock(f->ip) < 0)
            return -1;
        if ((r = readi(f->ip, 1, addr, f->off, n)) > 0)
            f->off += r;
        iunlock(f->ip);
        return r;
    default:
        panic("fileread: bad file type");
    }
}

/* Write in pieces small enough for one transaction each: the inode, the
 * indirect block, two bitmap blocks and the data blocks must fit MAXOPBLOCKS
 * (a block may be counted twice when the write is not block-aligned). */
#define WRITE_CHUNK (((MAXOPBLOCKS - 1 - 1 - 2) / 2) * BSIZE)

int filewrite(struct file *f, uint32 addr, int n)
{
    if (!f->writable || n < 0)
        return -1;
    switch (f->type) {
    case FD_PIPE:
        return pipewrite(f->pipe, addr, n);
    case FD_DEVICE:
        if (f->major < 0 || f->major >= NDEV || !devsw[f->major].write)
            return -1;
        return devsw[f->major].write(1, addr, n);
    case FD_INODE: {
        int done = 0;
        while (done < n) {
            int m = n - done;
            if (m > WRITE_CHUNK)
                m = WRITE_CHUNK;
            begin_op();
            if (ilock(f->ip) < 0) {
                end_op();
                return done > 0 ? done : -1;
            }
            if (f->append)
                f->off = f->ip->size;
            int r = writei(f->ip, 1, addr + done, f->off, m);
            if (r > 0)
                f->off += r;
            iunlock(f->ip);
            end_op();
            if (r > 0)
                done += r;
            if (r != m)     /* error, full disk or bad buffer: stop here */
                return done > 0 ? done : -1;
        }
        return n;
    }
    default:
        panic("filewrite: bad file type");
    }
}
