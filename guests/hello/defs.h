/* defs.h: every function one file of the hello kernel offers another,
 * grouped by the file that defines it. */
#ifndef HELLO_DEFS_H
#define HELLO_DEFS_H

#include "types.h"

struct trapframe;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* sbi.c */
void sbi_putchar(int c);
int sbi_console_write(const void *buf, uint32 n);
void sbi_set_timer(uint64 stime_value);
void sbi_shutdown(int failure) __attribute__((noreturn));

/* printf.c */
void console_write(const char *s, uint32 n);
void printf(const char *fmt, ...);
void panic(const char *msg) __attribute__((noreturn));

/* string.c */
void *memset(void *dst, int c, uint32 n);
void *memcpy(void *dst, const void *src, uint32 n);
void *memmove(void *dst, const void *src, uint32 n);
int memcmp(const void *a, const void *b, uint32 n);
uint32 strlen(const char *s);
int strncmp(const char *a, const char *b, uint32 n);

/* fdt.c */
int fdt_init(uint32 pa);
int fdt_path(const char *path);
int fdt_first_child(int node);
int fdt_next_sibling(int node);
const char *fdt_name(int node);
const void *fdt_getprop(int node, const char *name, uint32 *lenp);
uint32 fdt_u32(int node, const char *name, uint32 dflt);
int fdt_reg(int parent, int node, uint32 *base, uint32 *size);

/* vm.c */
void kvm_init(uint32 ram_base, uint32 ram_size);
int copyin(void *dst, uint32 user_va, uint32 n);

/* trap.c */
void trap_init(void);
void trap_handler(struct trapframe *tf);
void intr_wait(void);

/* proc.c */
int proc_run(void (*entry)(void));
int proc_pid(void);
void proc_exit(int code) __attribute__((noreturn));

/* syscall.c */
void syscall(struct trapframe *tf);

/* timer.c */
void timer_start(uint32 n_ticks);
void timer_intr(void);
uint32 timer_ticks(void);

/* plic.c */
void plic_init(uint32 hartid);
void plic_enable(uint32 src);
void plic_intr(void);

/* virtio_mmio.c */
int virtio_find(uint32 device_id, uint32 *base, uint32 *irq);
void virtio_begin(uint32 base);
void virtio_queue(uint32 base, uint32 q, uint32 size, void *desc, void *avail, void *used);
void virtio_ready(uint32 base);

/* virtio_blk.c */
int vblk_probe(void);
uint32 vblk_irq(void);
uint64 vblk_capacity(void);
void vblk_read(uint32 sector, void *buf, uint32 len);
void vblk_write(uint32 sector, const void *buf, uint32 len);
void vblk_intr(void);

/* virtio_balloon.c */
int vballoon_probe(uint32 ram_base, uint32 ram_size);
void vballoon_run(void);
uint32 vballoon_irq(void);
void vballoon_intr(void);

/* bench.c */
void bench_blk(void);

/* user.c */
void user_main(void);

/* kctx.S, trapvec.S */
struct kctx {
    uint32 ra, sp, s[12];
};
int kctx_save(struct kctx *k);
void kctx_resume(struct kctx *k) __attribute__((noreturn));
void trapvec(void);
void user_enter(uint32 entry, uint32 user_sp, uint32 trap_sp) __attribute__((noreturn));

#endif
