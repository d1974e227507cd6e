/* proc.c: processes and the scheduler.
 *
 * One lock, proc_lock, guards every process's state, chan, killed, xstate, pid
 * and parent (one hart, so one lock costs nothing in parallelism).  A process
 * gives up the hart only through sched(), holding proc_lock and nothing else;
 * the scheduler loop picks the next PS_RUNNABLE process round-robin and swtch()es
 * to it with proc_lock still held, and the process releases it (after sched()
 * returns, or in forkret for a new one).  Timer ticks preempt (trap.c yield).
 * When nothing can run the loop waits in wfi, with the periodic tick switched
 * off unless someone sleeps on the clock: an idle guest costs its host nothing.
 */
#include "defs.h"
#include "riscv.h"

#define KSTACK_MAGIC 0x7e57ac4bu  /* lowest word of every kernel stack: overflow canary */

struct cpu cpus[NCPU];
static struct proc procs[NPROC];
static uint8 kstacks[NPROC][KSTACK_SIZE] __attribute__((aligned(16)));
static struct spinlock proc_lock;
static struct proc *initproc;
static int nextpid = 1;
static char init_path[MAXPATH];

struct cpu *mycpu(void)
{
    return &cpus[0];
}

struct proc *myproc(void)
{
    return mycpu()->proc;
}

void procinit(void)
{
    initlock(&proc_lock, "proc");
    for (int i = 0; i < NPROC; i++) {
        struct proc *p = &procs[i];
        p->state = PS_UNUSED;
        p->kstack = (uint32)kstacks[i];
        p->trapframe = (struct trapframe *)(p->kstack + KSTACK_SIZE - TF_SIZE);
    }
}

/* Return a slot to PS_UNUSED, freeing its memory.  proc_lock held. */
static void freeproc(struct proc *p)
{
    if (p->pagetable)
        uvmfree(p->pagetable);
    p->pagetable = 0;
    p->sz = p->heap_base = 0;
    p->pid = 0;
    p->parent = 0;
    p->name[0] = 0;
    p->chan = 0;
    p->killed = 0;
    p->kill_status = 0;
    p->pgid = 0;
    p->xstate = 0;
    p->ticks = 0;
    p->pages = 0;
    p->ns = 0;
    p->rgroup = 0;
    p->state = PS_UNUSED;
}

static void forkret(void);

/* A fresh PS_USED process with an empty address space whose first run starts in
 * forkret; 0 if the table is full or memory runs out. */
static struct proc *allocproc(void)
{
    struct proc *p = 0;
    acquire(&proc_lock);
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].state == PS_UNUSED) {
            p = &procs[i];
            p->pid = nextpid++;
            p->state = PS_USED;
            break;
        }
    }
    release(&proc_lock);
    if (!p)
        return 0;
    p->pagetable = uvmcreate();
    if (!p->pagetable) {
        acquire(&proc_lock);
        freeproc(p);
        release(&proc_lock);
        return 0;
    }
    *(uint32 *)p->kstack = KSTACK_MAGIC;
    memset(&p->context, 0, sizeof p->context);
    p->context.ra = (uint32)forkret;
    p->context.sp = (uint32)p->trapframe;
    memset(p->trapframe, 0, sizeof *p->trapframe);
    for (int fd = 0; fd < NOFILE; fd++)
        p->ofile[fd] = 0;
    p->cwd = 0;
    return p;
}

/* A new process's first instructions, entered from the scheduler's swtch with
 * proc_lock held: return to U-mode through its trap frame. */
static void forkret(void)
{
    struct proc *p = myproc();
    release(&proc_lock);
    prepare_user_return(p->trapframe);
    usertrapret(p->trapframe);
}

/* The first process: mount the file system (it sleeps on the disk, so it needs
 * a process), then become init_path. */
static void first_start(void)
{
    struct proc *p = myproc();
    release(&proc_lock);
    intr_on();
    if (fsinit() < 0) {
        printf("tinyos: power off\n");
        sbi_shutdown(1);
    }
    p->cwd = namei("/");
    if (!p->cwd)
        panic("no root directory on the file system");
    char *argv[] = {"init", 0};
    int argc = kexec(init_path, argv);
    if (argc < 0) {
        printf("tinyos: cannot run %s\n", init_path);
        panic("no init");
    }
    p->trapframe->a0 = argc;
    prepare_user_return(p->trapframe);
    usertrapret(p->trapframe);
}

void userinit(char *path)
{
    safestrcpy(init_path, path, sizeof init_path);
    struct proc *p = allocproc();
    if (!p)
        panic("userinit: no memory");
    initproc = p;
    p->pgid = p->pid;
    safestrcpy(p->name, "init", sizeof p->name);
    p->context.ra = (uint32)first_start;
    acquire(&proc_lock);
    p->state = PS_RUNNABLE;
    release(&proc_lock);
}

/* Copy the calling process; the child returns 0 from the same system call. */
int fork(void)
{
    struct proc *p = myproc(), *np = allocproc();
    if (!np)
        return -1;
    if (uvmcopy(p->pagetable, np->pagetable) < 0) {
        acquire(&proc_lock);
        freeproc(np);
        release(&proc_lock);
        return -1;
    }
    np->sz = p->sz;
    np->heap_base = p->heap_base;
    np->pages = uvmpages(np->pagetable);
    *np->trapframe = *p->trapframe;
    np->trapframe->a0 = 0;
    for (int fd = 0; fd < NOFILE; fd++)
        if (p->ofile[fd])
            np->ofile[fd] = filedup(p->ofile[fd]);
    np->cwd = p->cwd ? idup(p->cwd) : 0;
    safestrcpy(np->name, p->name, sizeof np->name);
    np->ns = p->ns;
    np->rgroup = p->rgroup;
    int pid = np->pid;
    acquire(&proc_lock);
    np->parent = p;
    np->pgid = p->pgid;
    np->state = PS_RUNNABLE;
    release(&proc_lock);
    return pid;
}

/* Wake every process sleeping on chan.  proc_lock held. */
static void wakeup_locked(void *chan)
{
    for (struct proc *p = procs; p < &procs[NPROC]; p++)
        if (p->state == PS_SLEEPING && p->chan == chan)
            p->state = PS_RUNNABLE;
}

void wakeup(void *chan)
{
    acquire(&proc_lock);
    wakeup_locked(chan);
    release(&proc_lock);
}

/* End the calling process: close its files, hand its children to init, and stay
 * a zombie until the parent's wait() collects the status and the memory. */
void exit(int status)
{
    struct proc *p = myproc();
    if (p == initproc)
        panic("init exited");
    for (int fd = 0; fd < NOFILE; fd++) {
        if (p->ofile[fd]) {
            fileclose(p->ofile[fd]);
            p->ofile[fd] = 0;
        }
    }
    if (p->cwd) {
        begin_op();
        iput(p->cwd);
        end_op();
        p->cwd = 0;
    }
    acquire(&proc_lock);
    for (struct proc *c = procs; c < &procs[NPROC]; c++) {
        if (c->parent == p && c->state != PS_UNUSED) {
            c->parent = initproc;
            if (c->state == PS_ZOMBIE)
                wakeup_locked(initproc);
        }
    }
    wakeup_locked(p->parent);
    p->xstate = status;
    p->state = PS_ZOMBIE;
    sched();
    panic("exit: a zombie ran");
}

/* Wait for a child to exit; its pid, its status stored at user address addr
 * (unless 0).  -1 without children, when killed, or for a bad addr. */
int wait(uint32 addr)
{
    struct proc *p = myproc();
    acquire(&proc_lock);
    for (;;) {
        int havekids = 0;
        for (struct proc *c = procs; c < &procs[NPROC]; c++) {
            if (c->parent != p || c->state == PS_UNUSED)
                continue;
            havekids = 1;
            if (c->state != PS_ZOMBIE)
                continue;
            int pid = c->pid;
            if (addr && copyout(p->pagetable, addr, (char *)&c->xstate, sizeof c->xstate) < 0) {
                release(&proc_lock);
                return -1;
            }
            freeproc(c);
            release(&proc_lock);
            return pid;
        }
        if (!havekids || p->killed) {
            release(&proc_lock);
            return -1;
        }
        sleep(p, &proc_lock);
    }
}

/* Give the hart back to the scheduler.  proc_lock held and no other lock,
 * p->state already changed. */
void sched(void)
{
    struct proc *p = myproc();
    struct cpu *c = mycpu();
    if (!holding(&proc_lock))
        panic("sched: proc_lock not held");
    if (c->noff != 1)
        panic("sched: other locks held");
    if (p->state == PS_RUNNING)
        panic("sched: still running");
    if (intr_get())
        panic("sched: interruptible");
    if (*(uint32 *)p->kstack != KSTACK_MAGIC)
        panic("sched: kernel stack overflow");
    int intena = c->intena;
    swtch(&p->context, &c->context);
    c->intena = intena;
}

void yield(void)
{
    struct proc *p = myproc();
    acquire(&proc_lock);
    p->state = PS_RUNNABLE;
    sched();
    release(&proc_lock);
}

/* Release lk and sleep on chan; lk is held again on return.  Nothing is lost
 * between the two: a wakeup needs proc_lock, held from before lk is released
 * until the process is marked sleeping. */
void sleep(void *chan, struct spinlock *lk)
{
    struct proc *p = myproc();
    if (!p)
        panic("sleep: no process");
    if (lk != &proc_lock) {
        acquire(&proc_lock);
        release(lk);
    }
    p->chan = chan;
    p->state = PS_SLEEPING;
    sched();
    p->chan = 0;
    if (lk != &proc_lock) {
        release(&proc_lock);
        acquire(lk);
    }
}

/* The hart's loop, on the boot stack and the kernel's page table: run each
 * runnable process in turn until it yields, sleeps or exits. */
void scheduler(void)
{
    struct cpu *c = mycpu();
    int last = NPROC - 1;  /* slot that ran last: the search starts after it */
    c->proc = 0;
    for (;;) {
        intr_on();  /* take what is pending: a wakeup may make someone runnable */
        intr_off();
        acquire(&proc_lock);
        struct proc *p = 0;
        int timed = 0;
        for (int k = 1; k <= NPROC; k++) {
            struct proc *q = &procs[(last + k) % NPROC];
            if (q->state == PS_RUNNABLE && !p)
                p = q;
            timed |= q->state == PS_SLEEPING && q->chan == &ticks;
        }
        if (p) {
            last = p - procs;
            p->state = PS_RUNNING;
            c->proc = p;
            timer_arm();
            /* Always switch, even to an equal satp: a root table freed by an exited
             * process and reused by a new one has the same satp value, and only the
             * sfence.vma in uvmswitch drops the old process's TLB entries. */
            uvmswitch(p->pagetable);
            swtch(&c->context, &p->context);
            c->proc = 0;
            release(&proc_lock);
        } else {
            release(&proc_lock);
            timer_idle(timed);
            /* With sstatus.SIE clear, wfi still wakes for an interrupt pending and
             * enabled in sie (privileged spec 3.3.3), so one arriving after the
             * scan above is not lost; it is taken by intr_on() at the top. */
            wfi();
        }
    }
}

/* Mark p killed: it exits with `status` at its next return towards U-mode
 * (the first reason given wins); a sleeping p is woken so it can notice.
 * proc_lock held. */
static void kill_locked(struct proc *p, int status)
{
    if (!p->killed) {
        p->killed = 1;
        p->kill_status = status;
    }
    if (p->state == PS_SLEEPING)
        p->state = PS_RUNNABLE;
}

void setkilled(struct proc *p)
{
    acquire(&proc_lock);
    kill_locked(p, -1);
    release(&proc_lock);
}

/* ^C on the console: every live process of group pgid exits with EXIT_INTERRUPTED. */
void proc_interrupt(int pgid)
{
    acquire(&proc_lock);
    for (struct proc *p = procs; p < &procs[NPROC]; p++)
        if (p->pgid == pgid && p->state != PS_UNUSED && p->state != PS_ZOMBIE)
            kill_locked(p, EXIT_INTERRUPTED);
    release(&proc_lock);
}

/* Put process pid (0: the caller; else the caller or one of its children) in
 * group pgid (0: its own, numbered by its pid).  0, or -1 for another process. */
int setpgid(int pid, int pgid)
{
    struct proc *me = myproc(), *t = 0;
    if (pid < 0 || pgid < 0)
        return -1;
    acquire(&proc_lock);
    for (struct proc *p = procs; p < &procs[NPROC]; p++)
        if ((p == me && (pid == 0 || pid == me->pid)) ||
            (p->pid == pid && p->parent == me && p->state != PS_UNUSED && p->state != PS_ZOMBIE))
            t = p;
    if (t)
        t->pgid = pgid ? pgid : t->pid;
    release(&proc_lock);
    return t ? 0 : -1;
}

int killed(struct proc *p)
{
    return p->killed;
}

int kill(int pid)
{
    for (struct proc *p = procs; p < &procs[NPROC]; p++) {
        if (p->pid == pid && p->state != PS_UNUSED && p->state != PS_ZOMBIE) {
            setkilled(p);
            return 0;
        }
    }
    return -1;
}

/* Fill up to max struct procinfo records at user address addr, one per process
 * in use; the count, or -1 for a bad addr. */
int proc_ps(uint32 addr, int max)
{
    struct proc *me = myproc();
    int n = 0;
    for (struct proc *p = procs; p < &procs[NPROC] && n < max; p++) {
        struct procinfo pi;
        acquire(&proc_lock);
        if (p->state == PS_UNUSED) {
            release(&proc_lock);
            continue;
        }
        memset(&pi, 0, sizeof pi);
        pi.pid = p->pid;
        pi.ppid = p->parent ? p->parent->pid : 0;
        pi.state = p->state;
        safestrcpy(pi.name, p->name, sizeof pi.name);
        pi.pages = p->pages;
        pi.ticks = p->ticks;
        release(&proc_lock);
        if (copyout(me->pagetable, addr + n * sizeof pi, (char *)&pi, sizeof pi) < 0)
            return -1;
        n++;
    }
    return n;
}

/* ^P on the console: a process list, for debugging a hung system. */
void procdump(void)
{
    static const char *names[] = {"unused", "used", "sleep", "runnable", "run", "zombie"};
    printf("\n");
    for (struct proc *p = procs; p < &procs[NPROC]; p++)
        if (p->state != PS_UNUSED)
            printf("%d %s %s\n", p->pid, names[p->state], p->name);
}

/* Copy to a user address (user_dst) or a kernel one: 0, or -1 on a bad pointer. */
int either_copyout(int user_dst, uint32 dst, void *src, uint32 len)
{
    if (user_dst)
        return copyout(myproc()->pagetable, dst, src, len);
    memmove((void *)dst, src, len);
    return 0;
}

/* Copy from a user address (user_src) or a kernel one: 0, or -1 on a bad pointer. */
int either_copyin(void *dst, int user_src, uint32 src, uint32 len)
{
    if (user_src)
        return copyin(myproc()->pagetable, dst, src, len);
    memmove(dst, (void *)src, len);
    return 0;
}
