/* sleeplock.c: locks held for a long time (across disk I/O): a process that
 * finds one taken sleeps until the holder releases it, instead of spinning. */
#include "defs.h"

void initsleeplock(struct sleeplock *lk, char *name)
{
    initlock(&lk->lk, "sleep lock");
    lk->name = name;
    lk->locked = 0;
    lk->pid = 0;
}

void acquiresleep(struct sleeplock *lk)
{
    acquire(&lk->lk);
    while (lk->locked)
        sleep(lk, &lk->lk);
    lk->locked = 1;
    lk->pid = myproc() ? myproc()->pid : 0;
    release(&lk->lk);
}

void releasesleep(struct sleeplock *lk)
{
    acquire(&lk->lk);
    lk->locked = 0;
    lk->pid = 0;
    wakeup(lk);
    release(&lk->lk);
}

int holdingsleep(struct sleeplock *lk)
{
    acquire(&lk->lk);
    int r = lk->locked && lk->pid == (myproc() ? myproc()->pid : 0);
    release(&lk->lk);
    return r;
}
