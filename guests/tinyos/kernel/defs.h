/* defs.h: every function one kernel file offers another, grouped by the file
 * that defines it.  The file system's own list is fsdefs.h, included at the end. */
#ifndef TINYOS_DEFS_H
#define TINYOS_DEFS_H

#include "types.h"
#include "param.h"
#include "spinlock.h"
#include "sleeplock.h"
#include "proc.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* printf.c */
int printf(const char *fmt, ...);
void panic(const char *msg) __attribute__((noreturn));
void printf_use_uart(void);

/* string.c */
void *memset(void *dst, int c, uint n);
void *memcpy(void *dst, const void *src, uint n);
void *memmove(void *dst, const void *src, uint n);
int memcmp(const void *a, const void *b, uint n);
int strlen(const char *s);
int strncmp(const char *a, const char *b, uint n);
char *strncpy(char *dst, const char *src, int n);
char *safestrcpy(char *dst, const char *src, int n);

/* sbi.c */
int sbi_console_write(const void *buf, uint32 n);
void sbi_set_timer(uint64 stime_value);
void sbi_shutdown(int failure) __attribute__((noreturn));
void sbi_reboot(void) __attribute__((noreturn));

/* fdt.c */
int fdt_init(uint32 pa);
int fdt_path(const char *path);
int fdt_first_child(int node);
int fdt_next_sibling(int node);
const char *fdt_name(int node);
const void *fdt_getprop(int node, const char *name, uint32 *lenp);
uint32 fdt_u32(int node, const char *name, uint32 dflt);
int fdt_reg(int parent, int node, uint32 *base, uint32 *size);
int fdt_compatible(int node, const char *compat);
int fdt_find_compatible(int parent, const char *compat);

/* kalloc.c */
void kinit(uint32 start, uint32 end);
void *kalloc(void);
void kfree(void *pa);
uint32 kalloc_total_pages(void);
uint32 kalloc_free_pages(void);

/* vm.c */
void kvminit(uint32 ram_base, uint32 ram_end);
void kvminithart(void);
uint32 kdevmap(uint32 pa);
pagetable_t uvmcreate(void);
void uvmswitch(pagetable_t pt);
int uvmmap(pagetable_t pt, uint32 va, uint32 end, uint32 perm);
uint32 uvmalloc(pagetable_t pt, uint32 oldsz, uint32 newsz);
uint32 uvmdealloc(pagetable_t pt, uint32 oldsz, uint32 newsz);
int uvmcopy(pagetable_t old, pagetable_t new);
void uvmfree(pagetable_t pt);
uint32 uvmpages(pagetable_t pt);
uint32 walkaddr(pagetable_t pt, uint32 va, uint32 perm);
int copyout(pagetable_t pt, uint32 dstva, char *src, uint32 len);
int copyin(pagetable_t pt, char *dst, uint32 srcva, uint32 len);
int copyinstr(pagetable_t pt, char *dst, uint32 srcva, uint32 max);

/* spinlock.c */
void initlock(struct spinlock *lk, char *name);
void acquire(struct spinlock *lk);
void release(struct spinlock *lk);
int holding(struct spinlock *lk);
void push_off(void);
void pop_off(void);

/* sleeplock.c */
void initsleeplock(struct sleeplock *lk, char *name);
void acquiresleep(struct sleeplock *lk);
void releasesleep(struct sleeplock *lk);
int holdingsleep(struct sleeplock *lk);

/* proc.c */
struct cpu *mycpu(void);
struct proc *myproc(void);
void procinit(void);
void userinit(char *init_path);
void scheduler(void) __attribute__((noreturn));
void sched(void);
void yield(void);
void sleep(void *chan, struct spinlock *lk);
void wakeup(void *chan);
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(uint32 addr);
int kill(int pid);
void setkilled(struct proc *p);
int killed(struct proc *p);
void proc_interrupt(int pgid);
int setpgid(int pid, int pgid);
int proc_ps(uint32 user_addr, int max);
void procdump(void);
int either_copyout(int user_dst, uint32 dst, void *src, uint32 len);
int either_copyin(void *dst, int user_src, uint32 src, uint32 len);

/* swtch.S */
void swtch(struct context *old, struct context *new);

/* trapvec.S */
void trapvec(void);
void usertrapret(struct trapframe *tf) __attribute__((noreturn));

/* trap.c */
extern struct spinlock tickslock;
extern uint32 ticks;
void trapinit(void);
void trap(struct trapframe *tf);
void timer_arm(void);
void timer_idle(int any_timed_sleeper);
void prepare_user_return(struct trapframe *tf);

/* exec.c */
int kexec(char *path, char **argv);

/* syscall.c */
int argint(int n, int *ip);
int argaddr(int n, uint32 *ap);
int argstr(int n, char *buf, int max);
int fetchaddr(uint32 addr, uint32 *ip);
int fetchstr(uint32 addr, char *buf, int max);
void syscall(void);

/* sysproc.c */
uint32 sys_fork(void);
uint32 sys_exit(void);
uint32 sys_wait(void);
uint32 sys_kill(void);
uint32 sys_exec(void);
uint32 sys_getpid(void);
uint32 sys_sbrk(void);
uint32 sys_sleep(void);
uint32 sys_uptime(void);
uint32 sys_ps(void);
uint32 sys_gethostname(void);
uint32 sys_sethostname(void);
uint32 sys_uname(void);
uint32 sys_meminfo(void);
uint32 sys_poweroff(void);
uint32 sys_reboot(void);
uint32 sys_setpgid(void);

/* plic.c */
void plic_init(uint32 pa, uint32 hartid);
void plic_enable(uint32 src);
uint32 plic_claim(void);
void plic_complete(uint32 src);

/* uart.c */
void uart_init(uint32 pa, uint32 irq);
uint32 uart_irq(void);
void uart_putc(int c);
void uart_intr(void);
void uart_rx_resume(void);

/* console.c: devsw[] is indexed by a device inode's major (uabi.h CONSOLE_MAJOR) */
struct devsw {
    int (*read)(int user_dst, uint32 addr, int n);
    int (*write)(int user_src, uint32 addr, int n);
};
extern struct devsw devsw[];
void console_init(void);
void console_intr(int c);
void console_putc(int c);
int console_has_room(void);
int console_setmode(int mode);
void console_setfg(int pgid);

/* virtio_disk.c */
int virtio_disk_init(void);
uint32 virtio_disk_irq(void);
void virtio_disk_intr(void);
void virtio_disk_rw(uint32 sector, void *data, uint32 nbytes, int write);
uint32 disk_fs_sector(void);
uint32 disk_fs_sectors(void);

/* main.c */
extern char hostname[UTS_LEN];

#include "fsdefs.h"

#endif
