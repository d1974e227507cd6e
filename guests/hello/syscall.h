/* syscall.h: system call numbers, shared by the kernel (syscall.c) and the
 * U-mode task (user.c).  ABI: a7 = number, a0..a2 = arguments, ecall,
 * result in a0 (negative on error). */
#ifndef HELLO_SYSCALL_H
#define HELLO_SYSCALL_H

#define SYS_write   1   /* write(buf, len): print len bytes, returns len */
#define SYS_getpid  2   /* getpid(): the task's process id */
#define SYS_exit    3   /* exit(code): end the task, never returns */

#endif
