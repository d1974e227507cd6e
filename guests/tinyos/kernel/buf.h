/* buf.h: one block of the buffer cache (bio.c).  The sleep-lock gives its holder
 * the data; bcache.lock guards refcnt and the LRU links. */
#ifndef TINYOS_BUF_H
#define TINYOS_BUF_H

#include "fs.h"

struct buf {
    int valid;              /* data holds the block's contents */
    uint dev;
    uint blockno;           /* file-system block number */
    struct sleeplock lock;
    uint refcnt;            /* holders plus log pins */
    struct buf *prev;       /* LRU list: head.next most recent */
    struct buf *next;
    uchar data[BSIZE] __attribute__((aligned(16)));
};

#endif
