/* syscall.c: the system calls the U-mode task may make (numbers in syscall.h).
 * Arguments arrive in the trap frame's a0..a2; the result goes back in a0. */
#include "defs.h"
#include "syscall.h"
#include "trap.h"

static int32 sys_write(struct trapframe *tf)
{
    char buf[64];
    uint32 va = tf->a0, len = tf->a1;
    for (uint32 done = 0; done < len;) {
        uint32 n = len - done < sizeof buf ? len - done : sizeof buf;
        if (copyin(buf, va + done, n) < 0)
            return -1;
        console_write(buf, n);
        done += n;
    }
    return (int32)len;
}

static int32 sys_getpid(struct trapframe *tf)
{
    (void)tf;
    return proc_pid();
}

static int32 sys_exit(struct trapframe *tf)
{
    proc_exit((int)tf->a0);
}

static int32 (*const syscalls[])(struct trapframe *) = {
    [SYS_write] = sys_write,
    [SYS_getpid] = sys_getpid,
    [SYS_exit] = sys_exit,
};

void syscall(struct trapframe *tf)
{
    uint32 num = tf->a7;
    if (num < NELEM(syscalls) && syscalls[num]) {
        tf->a0 = (uint32)syscalls[num](tf);
    } else {
        printf("hello: unknown system call %u\n", num);
        tf->a0 = (uint32)-1;
    }
}
