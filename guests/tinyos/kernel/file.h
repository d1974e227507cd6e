/* file.h: open files (file.c) and pipes (pipe.c).  A process's fd table holds
 * struct file pointers; dup and fork share one struct file (ref counts them). */
#ifndef TINYOS_FILE_H
#define TINYOS_FILE_H

#include "fs.h"

#define NFILE    100    /* open files in the whole system */
#define PIPESIZE 512

struct file {
    enum { FD_NONE, FD_PIPE, FD_INODE, FD_DEVICE } type;
    int ref;                /* fd table slots naming it; ftable.lock */
    char readable;
    char writable;
    char append;            /* O_APPEND: every write goes to the end */
    struct pipe *pipe;      /* FD_PIPE */
    struct inode *ip;       /* FD_INODE and FD_DEVICE */
    uint off;               /* FD_INODE; guarded by ip->lock */
    short major;            /* FD_DEVICE: index into devsw */
};

struct pipe {
    struct spinlock lock;
    char data[PIPESIZE];
    uint nread;             /* bytes read, ever; data[nread % PIPESIZE] is next */
    uint nwrite;            /* bytes written, ever */
    int readopen;           /* the read end is still open */
    int writeopen;
};

#endif
