/* spinlock.h: a short mutual-exclusion lock (spinlock.c).  On this single-hart
 * kernel holding one means interrupts are off; the lock word catches a holder
 * that tries to take it again (which would deadlock on a multi-hart machine). */
#ifndef TINYOS_SPINLOCK_H
#define TINYOS_SPINLOCK_H

#include "types.h"

struct spinlock {
    uint locked;     /* held */
    char *name;      /* for panics */
};

#endif
