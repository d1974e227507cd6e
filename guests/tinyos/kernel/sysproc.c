/* sysproc.c: the system calls about processes, memory, time and the machine
 * (the file ones are sysfile.c's).  Arguments come through syscall.c's
 * argint/argaddr/argstr; a result < 0 is an error (uabi.h). */
#include "abi.h"
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

uint32 sys_fork(void)
{
    return fork();
}

uint32 sys_exit(void)
{
    int status;
    argint(0, &status);
    exit(status);
}

uint32 sys_wait(void)
{
    uint32 addr;
    argaddr(0, &addr);
    return wait(addr);
}

uint32 sys_kill(void)
{
    int pid;
    argint(0, &pid);
    return kill(pid);
}

uint32 sys_setpgid(void)
{
    int pid, pgid;
    argint(0, &pid);
    argint(1, &pgid);
    return setpgid(pid, pgid);
}

uint32 sys_getpid(void)
{
    return myproc()->pid;
}

/* Move the break by n bytes; the old break, or -1 when memory (or address space
 * below the stack) runs out or the heap would shrink below the program. */
uint32 sys_sbrk(void)
{
    int n;
    struct proc *p = myproc();
    argint(0, &n);
    uint32 old = p->sz, new = old + (uint32)n;
    if (n > 0) {
        if (new < old || new > USER_HEAP_MAX || !uvmalloc(p->pagetable, old, new))
            return -1;
    } else if (n < 0) {
        if (new > old || new < p->heap_base)
            return -1;
        uvmdealloc(p->pagetable, old, new);
    }
    p->sz = new;
    p->pages = uvmpages(p->pagetable);
    return old;
}

/* Sleep for ms milliseconds (to the next tick at least); -1 if killed meanwhile. */
uint32 sys_sleep(void)
{
    int ms;
    argint(0, &ms);
    if (ms < 0)
        return -1;
    uint64 until = rdtime64() + (uint64)ms * (PYHV_TIMEBASE_HZ / 1000);
    acquire(&tickslock);
    while (rdtime64() < until) {
        if (killed(myproc())) {
            release(&tickslock);
            return -1;
        }
        sleep(&ticks, &tickslock);
    }
    release(&tickslock);
    return 0;
}

/* Milliseconds since the machine started (the time CSR starts at reset). */
uint32 sys_uptime(void)
{
    return (uint32)(rdtime64() / (PYHV_TIMEBASE_HZ / 1000));
}

uint32 sys_ps(void)
{
    uint32 addr;
    int max;
    argaddr(0, &addr);
    argint(1, &max);
    return proc_ps(addr, max);
}

/* Copy the hostname, NUL-terminated, into a buffer of len bytes; -1 if it does
 * not fit or the buffer is bad. */
uint32 sys_gethostname(void)
{
    uint32 addr;
    int len;
    argaddr(0, &addr);
    argint(1, &len);
    int n = strlen(hostname) + 1;
    if (len < n || copyout(myproc()->pagetable, addr, hostname, n) < 0)
        return -1;
    return 0;
}

/* Set the hostname from len bytes (1 .. UTS_LEN - 1, no NUL needed). */
uint32 sys_sethostname(void)
{
    uint32 addr;
    int len;
    char buf[UTS_LEN];
    argaddr(0, &addr);
    argint(1, &len);
    if (len <= 0 || len >= UTS_LEN || copyin(myproc()->pagetable, buf, addr, len) < 0)
        return -1;
    buf[len] = 0;
    if (strlen(buf) == 0)
        return -1;
    safestrcpy(hostname, buf, sizeof hostname);
    return 0;
}

uint32 sys_uname(void)
{
    uint32 addr;
    struct utsname u;
    argaddr(0, &addr);
    memset(&u, 0, sizeof u);
    safestrcpy(u.sysname, "tinyos", sizeof u.sysname);
    safestrcpy(u.nodename, hostname, sizeof u.nodename);
    safestrcpy(u.release, "0.1", sizeof u.release);
    safestrcpy(u.version, "tinyos 0.1 (pyhv virt, Sv32)", sizeof u.version);
    safestrcpy(u.machine, "riscv32", sizeof u.machine);
    return copyout(myproc()->pagetable, addr, (char *)&u, sizeof u);
}

uint32 sys_meminfo(void)
{
    uint32 addr;
    struct meminfo m;
    argaddr(0, &addr);
    m.total_pages = kalloc_total_pages();
    m.free_pages = kalloc_free_pages();
    m.page_size = PGSIZE;
    return copyout(myproc()->pagetable, addr, (char *)&m, sizeof m);
}

/* Every file-system operation commits at its end_op, so the disk is consistent
 * whenever no system call is inside one: this one is not. */
uint32 sys_poweroff(void)
{
    printf("tinyos: power off\n");
    sbi_shutdown(0);
}

uint32 sys_reboot(void)
{
    printf("tinyos: reboot\n");
    sbi_reboot();
}

/* exec(path, argv): copy the path and the argument strings into kernel pages,
 * then replace the process image (exec.c).  argc on success, -1 otherwise. */
uint32 sys_exec(void)
{
    char path[MAXPATH];
    char *argv[MAXARG + 1];
    uint32 uargv;
    int ret = -1, i;

    if (argstr(0, path, MAXPATH) < 0)
        return -1;
    argaddr(1, &uargv);
    memset(argv, 0, sizeof argv);
    for (i = 0;; i++) {
        uint32 uarg;
        if (i > MAXARG || fetchaddr(uargv + 4 * i, &uarg) < 0)
            goto out;
        if (uarg == 0)
            break;
        if (i == MAXARG || !(argv[i] = kalloc()) || fetchstr(uarg, argv[i], PGSIZE) < 0)
            goto out;
    }
    ret = kexec(path, argv);
out:
    for (i = 0; i <= MAXARG && argv[i]; i++)
        kfree(argv[i]);
    return ret;
}
