/* param.h: the kernel's fixed limits.  File-system sizes (NBUF, NINODE, NFILE,
 * LOGSIZE) live with the file system in fs.h and file.h; the limits user space
 * sees (NOFILE, MAXARG, MAXPATH) come from uabi.h. */
#ifndef TINYOS_PARAM_H
#define TINYOS_PARAM_H

#include "uabi.h"

#define NPROC        64       /* process slots: the process-count limit */
#define NCPU         1        /* harts this kernel runs on */
#define NDEV         4        /* device majors in devsw[] */
#define KSTACK_SIZE  8192     /* bytes of kernel stack per process, trap frame at the top */
#define TICK_MS      10       /* scheduler tick: the timer interrupt period */
#define HOSTNAME     "tinyos" /* the hostname until sethostname */

#endif
