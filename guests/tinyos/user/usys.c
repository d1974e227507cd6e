/* usys.c: one stub per tinyos system call: a7 = SYS_<name>, ecall, result in a0.
 *
 * Arguments are already in a0..a5 by the calling convention, so each stub is
 * three instructions.  The stubs are file-scope assembly in a C file rather than
 * a .S file because the numbers come from uabi.h, which also declares C structs
 * an assembler cannot read.
 */
#include "uabi.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define SYSCALL(name)                                \
    __asm__(".text\n"                                \
            ".globl " #name "\n"                     \
            ".type " #name ", @function\n"           \
            #name ":\n"                              \
            "    li a7, " XSTR(SYS_##name) "\n"      \
            "    ecall\n"                            \
            "    ret\n"                              \
            ".size " #name ", . - " #name "\n");

SYSCALL(fork)
SYSCALL(exit)
SYSCALL(wait)
SYSCALL(pipe)
SYSCALL(read)
SYSCALL(kill)
SYSCALL(exec)
SYSCALL(fstat)
SYSCALL(chdir)
SYSCALL(dup)
SYSCALL(getpid)
SYSCALL(sbrk)
SYSCALL(sleep)
SYSCALL(uptime)
SYSCALL(open)
SYSCALL(write)
SYSCALL(mknod)
SYSCALL(unlink)
SYSCALL(link)
SYSCALL(mkdir)
SYSCALL(close)
SYSCALL(ps)
SYSCALL(gethostname)
SYSCALL(sethostname)
SYSCALL(uname)
SYSCALL(meminfo)
SYSCALL(poweroff)
SYSCALL(reboot)
SYSCALL(stat)
SYSCALL(setpgid)
SYSCALL(tcsetpgrp)
SYSCALL(ttymode)

/* Every call in uabi.h has a stub above: SYS_ttymode is the last of them. */
_Static_assert(SYS_NCALLS == SYS_ttymode + 1, "uabi.h gained a system call: add its stub");
