/* sleeplock.h: a long-term lock whose waiters sleep (sleeplock.c): held across
 * disk I/O by the buffer cache and the inode layer. */
#ifndef TINYOS_SLEEPLOCK_H
#define TINYOS_SLEEPLOCK_H

#include "spinlock.h"

struct sleeplock {
    uint locked;         /* held */
    struct spinlock lk;  /* guards this structure */
    char *name;
    int pid;             /* the holder */
};

#endif
