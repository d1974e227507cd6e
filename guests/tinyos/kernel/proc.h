/* proc.h: processes, the hart's scheduler state, and the trap frame.
 *
 * Every process has a kernel stack of KSTACK_SIZE bytes (proc.c); while it runs
 * in U-mode the stack is empty except for the trap frame at its very top, where
 * trapvec.S saves the user registers (sscratch holds the stack top meanwhile).
 * A trap from S-mode pushes the same frame on the current kernel stack.
 * The frame layout is shared with assembly: x0..x31 at 4 * n, then sepc, sstatus.
 */
#ifndef TINYOS_PROC_H
#define TINYOS_PROC_H

#define TF_SEPC     128
#define TF_SSTATUS  132
#define TF_SIZE     144  /* 34 words rounded up so sp stays 16-byte aligned */

#ifndef __ASSEMBLER__
#include "param.h"
#include "types.h"

struct trapframe {
    uint32 zero, ra, sp, gp, tp;      /* x0..x4 (x0 is never restored) */
    uint32 t0, t1, t2;                /* x5..x7 */
    uint32 s0, s1;                    /* x8, x9 */
    uint32 a0, a1, a2, a3, a4, a5, a6, a7;            /* x10..x17 */
    uint32 s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;  /* x18..x27 */
    uint32 t3, t4, t5, t6;            /* x28..x31 */
    uint32 sepc;                      /* TF_SEPC: where sret returns */
    uint32 sstatus;                   /* TF_SSTATUS: SPP says where the trap came from */
    uint32 pad[2];
};

_Static_assert(__builtin_offsetof(struct trapframe, sepc) == TF_SEPC, "TF_SEPC");
_Static_assert(__builtin_offsetof(struct trapframe, sstatus) == TF_SSTATUS, "TF_SSTATUS");
_Static_assert(sizeof(struct trapframe) == TF_SIZE, "TF_SIZE");

/* Callee-saved registers of a kernel thread, saved and restored by swtch.S. */
struct context {
    uint32 ra, sp;
    uint32 s[12];  /* s0..s11 */
};

/* The hart's state (one: NCPU = 1). */
struct cpu {
    struct proc *proc;       /* running process, or 0 in the scheduler */
    struct context context;  /* swtch() here to enter the scheduler */
    int noff;                /* depth of push_off() nesting */
    int intena;              /* were interrupts on before the first push_off()? */
};

struct ns;      /* namespace: a later issue (containers); NULL until then */
struct rgroup;  /* resource group (cgroup-like limits): a later issue; NULL until then */
struct file;
struct inode;

/* One process.  proc_lock (proc.c) guards state, chan, killed, kill_status,
 * xstate, pid, pgid and parent; the rest belongs to the process itself while it runs. */
struct proc {
    enum procstate state;        /* uabi.h PS_*: what ps reports */
    void *chan;                  /* PS_SLEEPING: what it waits for */
    int killed;                  /* exit(kill_status) at the next return to U-mode */
    int kill_status;             /* -1 for kill(), EXIT_INTERRUPTED for ^C */
    int xstate;                  /* exit status, for the parent's wait */
    int pid;
    int pgid;                    /* process group: ^C on the console interrupts the foreground one */
    struct proc *parent;

    uint32 kstack;               /* bottom of the kernel stack (KSTACK_SIZE bytes) */
    struct trapframe *trapframe; /* at the top of the kernel stack */
    struct context context;      /* swtch() here to run the process */
    pagetable_t pagetable;       /* user half + the shared kernel half */
    uint32 sz;                   /* the break: user memory ends here (heap top) */
    uint32 heap_base;            /* end of the program's segments: sbrk never goes below */

    struct file *ofile[NOFILE];  /* open files */
    struct inode *cwd;           /* current directory */
    char name[PROC_NAME_LEN];    /* for ps and messages */
    uint32 ticks;                /* timer ticks it has run for */
    uint32 pages;                /* physical pages it holds: user memory + page tables */

    struct ns *ns;               /* namespace; NULL for now */
    struct rgroup *rgroup;       /* resource group; NULL for now */
};
#endif

#endif
