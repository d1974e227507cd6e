/* proc.c: the one U-mode task: start it, and come back when it exits.
 *
 * proc_run saves the kernel's context (kctx.S) and drops to U-mode at the
 * task's entry with the stack at _user_end (kernel.ld).  Its traps land on
 * proc_trapstack; exit() resumes the saved context, so proc_run returns the
 * exit code as if the task had been a function call.
 */
#include "defs.h"

extern char _user_end[];

#define PROC_PID 1

static struct {
    struct kctx kctx;
    int exit_code;
} proc;

static uint8 proc_trapstack[4096] __attribute__((aligned(16)));

int proc_run(void (*entry)(void))
{
    if (kctx_save(&proc.kctx) == 0)
        user_enter((uint32)entry, (uint32)_user_end, (uint32)proc_trapstack + sizeof proc_trapstack);
    return proc.exit_code;
}

int proc_pid(void)
{
    return PROC_PID;
}

/* Called by sys_exit on the trap stack; that stack and the task are
 * abandoned.  Back in proc_run we are in S-mode with SIE clear, as in any
 * trap handler, and sscratch is 0 (trapvec cleared it). */
void proc_exit(int code)
{
    proc.exit_code = code;
    kctx_resume(&proc.kctx);
}
