/* user.c: the U-mode task.  Everything it touches lives in the .user.*
 * sections (kernel.ld), the only pages vm.c maps with PTE_U; the system call
 * stubs are forced inline so no kernel-only copy of them is called. */
#include "defs.h"
#include "syscall.h"

#define USER_TEXT   __attribute__((section(".user.text")))
#define USER_RODATA __attribute__((section(".user.rodata")))
#define USER_INLINE static inline __attribute__((always_inline))

USER_INLINE int32 u_syscall(uint32 num, uint32 arg0, uint32 arg1)
{
    register uint32 a0 __asm__("a0") = arg0;
    register uint32 a1 __asm__("a1") = arg1;
    register uint32 a7 __asm__("a7") = num;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
    return (int32)a0;
}

USER_INLINE int32 u_write(const char *buf, uint32 len) { return u_syscall(SYS_write, (uint32)buf, len); }
USER_INLINE int32 u_getpid(void) { return u_syscall(SYS_getpid, 0, 0); }

USER_INLINE __attribute__((noreturn)) void u_exit(int code)
{
    u_syscall(SYS_exit, (uint32)code, 0);
    for (;;)
        ;
}

static const char user_msg[] USER_RODATA = "hello from U-mode\n";

USER_TEXT void user_main(void)
{
    if (u_getpid() != 1)
        u_exit(2);
    if (u_write(user_msg, sizeof user_msg - 1) != sizeof user_msg - 1)
        u_exit(3);
    u_exit(0);
}
