/* defs.h: what each BIOS file offers the others, one block per file, plus the
 * MMIO accessors every driver uses.  Devices are reached only through these
 * accessors, so each access has the width its register requires (the UART
 * decodes byte accesses only, the CLINT and virtio-mmio 32-bit ones).
 */
#ifndef FW_DEFS_H
#define FW_DEFS_H

#include <stdint.h>

#include "abi.h"

#define NORETURN __attribute__((noreturn))

static inline uint8_t mmio_read8(uint32_t addr) { return *(volatile uint8_t *)addr; }
static inline void mmio_write8(uint32_t addr, uint8_t v) { *(volatile uint8_t *)addr = v; }
static inline uint32_t mmio_read32(uint32_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uint32_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }

/* M trap frame, built by trapvec.S on the M trap stack: x[n] is register xn as
 * the interrupted code left it (x[0] holds nothing). */
struct trapframe {
    uint32_t x[32];
};
#define REG_SP 2
#define REG_A0 10
#define REG_A1 11
#define REG_A2 12
#define REG_A6 16
#define REG_A7 17

/* main.c: what the boot found, kept for the resident SBI */
#define BIOS_VERSION_MAJOR 0
#define BIOS_VERSION_MINOR 2
extern uint64_t ram_base, ram_end;   /* [ram_base, ram_end) from the DTB's /memory */
NORETURN void fail(uint32_t code, const char *msg);  /* "BIOS: msg", finisher fail code */

/* entry.S */
NORETURN void enter_kernel(uint32_t hartid, uint32_t arg, uint32_t entry);
NORETURN void halt(void);

/* uart.c */
void uart_init(void);
void uart_putc(int c);
int uart_getc(void);                 /* a received byte, or -1 if none is waiting */

/* printf.c */
void printf(const char *fmt, ...);

/* power.c: the sifive_test finisher */
NORETURN void power_off(void);
NORETURN void power_reboot(void);
NORETURN void power_fail(uint32_t code);

/* clint.c */
uint64_t clint_mtime(void);
void clint_set_mtimecmp(uint32_t hart, uint64_t when);
void clint_set_msip(uint32_t hart, int level);

/* fdt.c */
int fdt_memory(uint32_t dtb, uint64_t *base, uint64_t *size);
uint32_t fdt_harts(uint32_t dtb);    /* cpu@N nodes under /cpus */

/* crc32.c */
void crc32_init(void);
uint32_t crc32(const void *data, uint32_t n);

/* virtio.c: the boot disk, a virtio-blk device on a virtio-mmio slot */
int vblk_probe(void);                /* slot of the first block device, or -1 */
uint64_t vblk_capacity(void);        /* in 512-byte sectors */
int vblk_read(uint64_t sector, void *buf, uint32_t nsectors);   /* 0 or -1 */
void vblk_reset(void);

/* boot.c */
uint32_t boot_load(uint32_t dtb);    /* load the kernel, return its entry point */

/* trap.c */
void mtrap(struct trapframe *tf);

/* hsm.c: the harts (HSM states, S-mode entry, messages between harts) */
#define HSM_MSG_SSIP     1u          /* raise the S software interrupt (sbi_send_ipi) */
#define HSM_MSG_FENCE_I  2u          /* fence.i (remote_fence_i) */
#define HSM_MSG_SFENCE   4u          /* sfence.vma of the whole TLB: covers any range or ASID */
extern uint32_t nharts;
uint32_t this_hart(void);
void hsm_init(uint32_t boot, uint32_t n);
NORETURN void hsm_enter(uint32_t hart, uint32_t entry, uint32_t arg);
NORETURN void hsm_park(uint32_t hart);
NORETURN void hsm_stop(void);
void hsm_messages(uint32_t hart);
int hsm_start(uint32_t hart, uint32_t entry, uint32_t arg);
int hsm_status(uint32_t hart, uint32_t *state);
int hsm_suspend(uint32_t type, uint32_t resume_addr, uint32_t opaque);
int hsm_send(uint32_t mask, uint32_t base, uint32_t msg, int wait);

/* sbi.c */
void sbi_ecall(struct trapframe *tf);

#endif
