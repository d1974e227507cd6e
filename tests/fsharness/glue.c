/* glue.c: the kernel services the tinyos file system uses (defs.h), provided on
 * a host so bio.c, log.c, fs.c, file.c, pipe.c and sysfile.c run unmodified as a
 * 32-bit host program: one process, no concurrency (a sleep is a deadlock and
 * panics), "user" addresses are host pointers, the disk is a file (host.c).
 * Compiled with the kernel files' names renamed (-Dprintf=kprintf ...) so none
 * collides with the C library's.
 */
#include <stdarg.h>
#include "defs.h"
#include "file.h"

/* host.c: the C-library side */
void host_vprintf(const char *fmt, va_list ap);
void host_panic(const char *msg) __attribute__((noreturn));
void host_disk_rw(uint32 sector, void *data, uint32 nbytes, int write);
uint32 host_disk_sectors(void);
void *host_page_alloc(void);
void host_page_free(void *p);
void host_console_write(const char *s, int n);
void host_unmountable(void) __attribute__((noreturn));

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vprintf(fmt, ap);
    va_end(ap);
    return 0;
}

void panic(const char *msg) { host_panic(msg); }

void *memset(void *dst, int c, uint n)
{
    for (uint i = 0; i < n; i++)
        ((char *)dst)[i] = c;
    return dst;
}

void *memmove(void *dst, const void *src, uint n)
{
    const char *s = src;
    char *d = dst;
    if (s < d && s + n > d)
        while (n-- > 0)
            d[n] = s[n];
    else
        for (uint i = 0; i < n; i++)
            d[i] = s[i];
    return dst;
}

int strlen(const char *s)
{
    int n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, uint n)
{
    for (; n > 0; n--, a++, b++) {
        if (*a != *b)
            return (uchar)*a - (uchar)*b;
        if (*a == 0)
            return 0;
    }
    return 0;
}

void initlock(struct spinlock *lk, char *name) { lk->locked = 0; lk->name = name; }
void acquire(struct spinlock *lk) { if (lk->locked) panic("acquire: held"); lk->locked = 1; }
void release(struct spinlock *lk) { if (!lk->locked) panic("release: not held"); lk->locked = 0; }
int holding(struct spinlock *lk) { return lk->locked; }
void initsleeplock(struct sleeplock *lk, char *name) { lk->locked = 0; lk->name = name; }
void acquiresleep(struct sleeplock *lk) { if (lk->locked) panic("acquiresleep: would sleep forever"); lk->locked = 1; }
void releasesleep(struct sleeplock *lk) { lk->locked = 0; }
int holdingsleep(struct sleeplock *lk) { return lk->locked; }

void *kalloc(void) { return host_page_alloc(); }
void kfree(void *pa) { host_page_free(pa); }

static struct proc theproc;
struct proc *myproc(void) { return &theproc; }
void sleep(void *chan, struct spinlock *lk) { (void)chan; (void)lk; panic("sleep: nothing else can run"); }
void wakeup(void *chan) { (void)chan; }
int killed(struct proc *p) { (void)p; return 0; }

int either_copyout(int user_dst, uint32 dst, void *src, uint32 len)
{
    (void)user_dst;
    if (dst == 0)
        return -1;
    memmove((void *)dst, src, len);
    return 0;
}

int either_copyin(void *dst, int user_src, uint32 src, uint32 len)
{
    (void)user_src;
    if (src == 0)
        return -1;
    memmove(dst, (void *)src, len);
    return 0;
}

int copyout(pagetable_t pt, uint32 dst, char *src, uint32 len) { (void)pt; return either_copyout(1, dst, src, len); }
int copyin(pagetable_t pt, char *dst, uint32 src, uint32 len) { (void)pt; return either_copyin(dst, 1, src, len); }

/* System-call arguments: set by the sys() wrapper below. */
static uint32 args[6];
int argint(int n, int *ip) { *ip = (int)args[n]; return 0; }
int argaddr(int n, uint32 *ap) { *ap = args[n]; return 0; }

int argstr(int n, char *buf, int max)
{
    const char *s = (const char *)args[n];
    if (s == 0)
        return -1;
    for (int i = 0; i < max; i++)
        if ((buf[i] = s[i]) == 0)
            return i;
    return -1;
}

void virtio_disk_rw(uint32 sector, void *data, uint32 nbytes, int write)
{
    host_disk_rw(sector, data, nbytes, write);
}
uint32 disk_fs_sector(void) { return 0; }
uint32 disk_fs_sectors(void) { return host_disk_sectors(); }

static int console_write(int user_src, uint32 addr, int n)
{
    (void)user_src;
    host_console_write((const char *)addr, n);
    return n;
}
struct devsw devsw[NDEV] = {[CONSOLE_MAJOR] = {0, console_write}};

/* The line discipline (console.c) is not linked: the harness has no terminal. */
void console_setfg(int pgid) { (void)pgid; }
int console_setmode(int mode) { (void)mode; return TTY_COOKED; }

/* The harness's entry points (host.c) */
void fs_boot(void)
{
    binit();
    fileinit();
    if (fsinit() < 0)
        host_unmountable();
    theproc.cwd = namei("/");
}

int fs_call(int num, uint32 a0, uint32 a1, uint32 a2)
{
    args[0] = a0;
    args[1] = a1;
    args[2] = a2;
    switch (num) {
    case SYS_open: return sys_open();
    case SYS_read: return sys_read();
    case SYS_write: return sys_write();
    case SYS_close: return sys_close();
    case SYS_dup: return sys_dup();
    case SYS_pipe: return sys_pipe();
    case SYS_fstat: return sys_fstat();
    case SYS_stat: return sys_stat();
    case SYS_mknod: return sys_mknod();
    case SYS_unlink: return sys_unlink();
    case SYS_link: return sys_link();
    case SYS_mkdir: return sys_mkdir();
    case SYS_chdir: return sys_chdir();
    }
    panic("fs_call: unknown system call");
}
