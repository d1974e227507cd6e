/* pipe.c: pipes: a PIPESIZE-byte ring in one kalloc'd page shared by a read end
 * and a write end (two struct files).  Readers sleep on &nread while it is empty
 * and the write end is open; writers sleep on &nwrite while it is full and the
 * read end is open.  Writing with no reader left fails.
 */
#include "defs.h"
#include "file.h"

/* Two files for a new pipe in *f0 (read end) and *f1 (write end); -1 if out of
 * memory or files, with nothing left allocated. */
int pipealloc(struct file **f0, struct file **f1)
{
    struct pipe *pi = 0;

    *f0 = *f1 = 0;
    if ((*f0 = filealloc()) == 0 || (*f1 = filealloc()) == 0)
        goto bad;
    if ((pi = (struct pipe *)kalloc()) == 0)
        goto bad;
    initlock(&pi->lock, "pipe");
    pi->nread = pi->nwrite = 0;
    pi->readopen = pi->writeopen = 1;
    (*f0)->type = FD_PIPE;
    (*f0)->readable = 1;
    (*f0)->pipe = pi;
    (*f1)->type = FD_PIPE;
    (*f1)->writable = 1;
    (*f1)->pipe = pi;
    return 0;

bad:
    if (*f0)
        fileclose(*f0);
    if (*f1)
        fileclose(*f1);
    *f0 = *f1 = 0;
    return -1;
}

void pipeclose(struct pipe *pi, int writable)
{
    acquire(&pi->lock);
    if (writable) {
        pi->writeopen = 0;
        wakeup(&pi->nread);     /* readers see end of file */
    } else {
        pi->readopen = 0;
        wakeup(&pi->nwrite);    /* writers see the error */
    }
    if (!pi->readopen && !pi->writeopen) {
        release(&pi->lock);
        kfree((char *)pi);
    } else {
        release(&pi->lock);
    }
}

/* Copy n bytes from user address addr into the pipe, in contiguous runs of the
 * ring; returns n, the bytes written before a bad address, or -1. */
int pipewrite(struct pipe *pi, uint32 addr, int n)
{
    struct proc *pr = myproc();
    int done = 0;

    acquire(&pi->lock);
    while (done < n) {
        if (!pi->readopen || killed(pr)) {
            release(&pi->lock);
            return done > 0 ? done : -1;
        }
        if (pi->nwrite == pi->nread + PIPESIZE) {
            wakeup(&pi->nread);
            sleep(&pi->nwrite, &pi->lock);
            continue;
        }
        uint at = pi->nwrite % PIPESIZE;
        uint room = PIPESIZE - (pi->nwrite - pi->nread);
        uint m = n - done;
        if (m > room)
            m = room;
        if (m > PIPESIZE - at)
            m = PIPESIZE - at;
        if (copyin(pr->pagetable, &pi->data[at], addr + done, m) == -1)
            break;
        pi->nwrite += m;
        done += m;
    }
    wakeup(&pi->nread);
    release(&pi->lock);
    return done > 0 ? done : -1;
}

/* Up to n bytes once there are some (0 at end of file: empty, no writer left). */
int piperead(struct pipe *pi, uint32 addr, int n)
{
    struct proc *pr = myproc();
    int done = 0;

    acquire(&pi->lock);
    while (pi->nread == pi->nwrite && pi->writeopen) {
        if (killed(pr)) {
            release(&pi->lock);
            return -1;
        }
        sleep(&pi->nread, &pi->lock);
    }
    while (done < n && pi->nread != pi->nwrite) {
        uint at = pi->nread % PIPESIZE;
        uint m = n - done;
        if (m > pi->nwrite - pi->nread)
            m = pi->nwrite - pi->nread;
        if (m > PIPESIZE - at)
            m = PIPESIZE - at;
        if (copyout(pr->pagetable, addr + done, &pi->data[at], m) == -1) {
            if (done == 0)
                done = -1;
            break;
        }
        pi->nread += m;
        done += m;
    }
    wakeup(&pi->nwrite);
    release(&pi->lock);
    return done;
}
