/* trap.h: the trap frame that trapvec.S saves and trap.c, syscall.c read.
 * The layout is shared with assembly: registers x0..x31 at 4 * n, then sepc. */
#ifndef HELLO_TRAP_H
#define HELLO_TRAP_H

#define TF_SEPC  128
#define TF_SIZE  144  /* 33 words rounded up to keep sp 16-byte aligned */

#ifndef __ASSEMBLER__
#include "types.h"

struct trapframe {
    uint32 zero, ra, sp, gp, tp;      /* x0..x4 (zero is never restored) */
    uint32 t0, t1, t2;                /* x5..x7 */
    uint32 s0, s1;                    /* x8, x9 */
    uint32 a0, a1, a2, a3, a4, a5, a6, a7;  /* x10..x17 */
    uint32 s2, s3, s4, s5, s6, s7, s8, s9, s10, s11;  /* x18..x27 */
    uint32 t3, t4, t5, t6;            /* x28..x31 */
    uint32 sepc;                      /* TF_SEPC */
    uint32 pad[3];
};

_Static_assert(__builtin_offsetof(struct trapframe, sepc) == TF_SEPC, "TF_SEPC");
_Static_assert(sizeof(struct trapframe) == TF_SIZE, "TF_SIZE");
#endif

#endif
