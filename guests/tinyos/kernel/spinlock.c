/* spinlock.c: mutual exclusion on a single hart.
 *
 * With one hart the only other party is an interrupt handler, so acquire() turns
 * interrupts off (push_off) and the lock word only exists to catch mistakes: taking
 * a lock twice, releasing one not held, sleeping with one held (proc.c sched()).
 * push_off/pop_off nest; interrupts come back on when the outermost pop_off
 * finds they were on before the first push_off.
 */
#include "defs.h"
#include "riscv.h"

void initlock(struct spinlock *lk, char *name)
{
    lk->name = name;
    lk->locked = 0;
}

void acquire(struct spinlock *lk)
{
    push_off();
    if (lk->locked)
        panic(lk->name ? lk->name : "acquire: lock already held");
    lk->locked = 1;
}

void release(struct spinlock *lk)
{
    if (!lk->locked)
        panic("release: lock not held");
    lk->locked = 0;
    pop_off();
}

/* Interrupts are off whenever a lock is held, so nobody else can hold it now. */
int holding(struct spinlock *lk)
{
    return lk->locked;
}

void push_off(void)
{
    int old = intr_get();
    intr_off();
    struct cpu *c = mycpu();
    if (c->noff == 0)
        c->intena = old;
    c->noff++;
}

void pop_off(void)
{
    struct cpu *c = mycpu();
    if (intr_get())
        panic("pop_off: interruptible");
    if (c->noff < 1)
        panic("pop_off: unbalanced");
    c->noff--;
    if (c->noff == 0 && c->intena)
        intr_on();
}
