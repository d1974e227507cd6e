/* syscall.c: system-call dispatch (numbers in uabi.h) and argument fetching.
 *
 * a7 holds the number, a0..a5 the arguments, and the handler's result goes back
 * in a0.  Arguments that are user pointers are only ever used through copyin,
 * copyout and copyinstr (vm.c), which check them against the page table.
 */
#include "defs.h"

/* The raw n-th argument register. */
static uint32 argraw(int n)
{
    struct trapframe *tf = myproc()->trapframe;
    switch (n) {
    case 0: return tf->a0;
    case 1: return tf->a1;
    case 2: return tf->a2;
    case 3: return tf->a3;
    case 4: return tf->a4;
    case 5: return tf->a5;
    }
    panic("argraw: no such argument");
}

int argint(int n, int *ip)
{
    *ip = (int)argraw(n);
    return 0;
}

/* A pointer argument: not checked here; copyin/copyout check it when used. */
int argaddr(int n, uint32 *ap)
{
    *ap = argraw(n);
    return 0;
}

/* A string argument copied into buf (at most max bytes with the NUL): its length,
 * or -1 for a bad pointer or a string too long. */
int argstr(int n, char *buf, int max)
{
    return fetchstr(argraw(n), buf, max);
}

/* The 32-bit word at user address addr. */
int fetchaddr(uint32 addr, uint32 *ip)
{
    return copyin(myproc()->pagetable, (char *)ip, addr, sizeof *ip);
}

/* The NUL-terminated string at user address addr: its length, or -1. */
int fetchstr(uint32 addr, char *buf, int max)
{
    if (max <= 0 || copyinstr(myproc()->pagetable, buf, addr, max) < 0)
        return -1;
    return strlen(buf);
}

static uint32 (*const syscalls[SYS_NCALLS])(void) = {
    [SYS_fork] = sys_fork,         [SYS_exit] = sys_exit,       [SYS_wait] = sys_wait,
    [SYS_pipe] = sys_pipe,         [SYS_read] = sys_read,       [SYS_kill] = sys_kill,
    [SYS_exec] = sys_exec,         [SYS_fstat] = sys_fstat,     [SYS_chdir] = sys_chdir,
    [SYS_dup] = sys_dup,           [SYS_getpid] = sys_getpid,   [SYS_sbrk] = sys_sbrk,
    [SYS_sleep] = sys_sleep,       [SYS_uptime] = sys_uptime,   [SYS_open] = sys_open,
    [SYS_write] = sys_write,       [SYS_mknod] = sys_mknod,     [SYS_unlink] = sys_unlink,
    [SYS_link] = sys_link,         [SYS_mkdir] = sys_mkdir,     [SYS_close] = sys_close,
    [SYS_ps] = sys_ps,             [SYS_gethostname] = sys_gethostname,
    [SYS_sethostname] = sys_sethostname,  [SYS_uname] = sys_uname,
    [SYS_meminfo] = sys_meminfo,   [SYS_poweroff] = sys_poweroff,
    [SYS_reboot] = sys_reboot,     [SYS_stat] = sys_stat,       [SYS_setpgid] = sys_setpgid,
    [SYS_tcsetpgrp] = sys_tcsetpgrp,  [SYS_ttymode] = sys_ttymode,
};

void syscall(void)
{
    struct proc *p = myproc();
    uint32 num = p->trapframe->a7;
    if (num < SYS_NCALLS && syscalls[num]) {
        p->trapframe->a0 = syscalls[num]();
    } else {
        printf("tinyos: pid %d (%s): unknown system call %d\n", p->pid, p->name, (int)num);
        p->trapframe->a0 = (uint32)-1;
    }
}
