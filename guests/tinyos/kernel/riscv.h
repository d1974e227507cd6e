/* riscv.h: S-mode CSR access and the bit layouts the kernel uses.
 *
 * Bit positions from the RISC-V privileged specification v1.12: sstatus 4.1.1,
 * sip/sie 4.1.3, scause 4.1.9 (table 4.2), satp 4.1.11, Sv32 PTEs 4.3.1.
 * Board addresses live in csrc/abi.h, the kernel's own map in memlayout.h.
 */
#ifndef TINYOS_RISCV_H
#define TINYOS_RISCV_H

#include "types.h"

/* sstatus */
#define SSTATUS_SIE   (1u << 1)   /* S-mode interrupts enabled */
#define SSTATUS_SPIE  (1u << 5)   /* SIE before the trap */
#define SSTATUS_SPP   (1u << 8)   /* privilege before the trap: 1 = S, 0 = U */
#define SSTATUS_SUM   (1u << 18)  /* S may touch U pages (never set: vm.c copies by walking) */

/* sie / sip: bit n enables / shows interrupt cause n */
#define IRQ_S_SOFT    1
#define IRQ_S_TIMER   5
#define IRQ_S_EXT     9
#define SIE_STIE      (1u << IRQ_S_TIMER)
#define SIE_SEIE      (1u << IRQ_S_EXT)

/* scause: bit 31 set for interrupts; exception codes (table 4.2) */
#define SCAUSE_INTR          0x80000000u
#define CAUSE_FETCH_MISALIGNED 0
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_ECALL_U          8
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15

/* satp (Sv32):  31 MODE | 30..22 ASID | 21..0 PPN of the root table */
#define SATP_SV32      (1u << 31)
#define MAKE_SATP(pt)  (SATP_SV32 | ((uint32)(pt) >> 12))

/* Sv32 PTE:  31..20 PPN[1] | 19..10 PPN[0] | 9..8 RSW | D A G U X W R V
 * A leaf has one of R/W/X set; V alone points to the next level. */
#define PTE_V  (1u << 0)
#define PTE_R  (1u << 1)
#define PTE_W  (1u << 2)
#define PTE_X  (1u << 3)
#define PTE_U  (1u << 4)
#define PTE_A  (1u << 6)
#define PTE_D  (1u << 7)
#define PTE_LEAF      (PTE_R | PTE_W | PTE_X)
#define PTE_FLAGS(pte) ((pte) & 0x3ffu)
#define PA2PTE(pa)    (((uint32)(pa) >> 12) << 10)
#define PTE2PA(pte)   (((uint32)(pte) >> 10) << 12)

#define PGSIZE        4096u
#define PGSHIFT       12
#define MEGAPAGE_SIZE (1u << 22)  /* one level-1 PTE maps 4 MiB */
#define PGROUNDUP(a)  (((uint32)(a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PGROUNDDOWN(a) ((uint32)(a) & ~(PGSIZE - 1))
#define VPN1(va)      ((uint32)(va) >> 22)
#define VPN0(va)      (((uint32)(va) >> 12) & 0x3ff)

#define csr_read(csr)                                        \
    ({                                                       \
        uint32 v_;                                           \
        __asm__ volatile("csrr %0, " #csr : "=r"(v_));       \
        v_;                                                  \
    })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" : : "r"((uint32)(v)) : "memory")
#define csr_set(csr, v)   __asm__ volatile("csrs " #csr ", %0" : : "r"((uint32)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" : : "r"((uint32)(v)) : "memory")

static inline void intr_on(void) { csr_set(sstatus, SSTATUS_SIE); }
static inline void intr_off(void) { csr_clear(sstatus, SSTATUS_SIE); }
static inline int intr_get(void) { return (csr_read(sstatus) & SSTATUS_SIE) != 0; }
static inline void wfi(void) { __asm__ volatile("wfi" : : : "memory"); }
static inline void sfence_vma(void) { __asm__ volatile("sfence.vma zero, zero" : : : "memory"); }
static inline void fence(void) { __asm__ volatile("fence rw, rw" : : : "memory"); }
/* Zifencei (unprivileged spec, chapter "Zifencei"): stores to instruction memory
 * become visible to this hart's instruction fetches only after a fence.i. */
static inline void fence_i(void) { __asm__ volatile("fence.i" : : : "memory"); }

/* The 64-bit time counter (10 MHz, csrc/abi.h PYHV_TIMEBASE_HZ): read the high
 * half twice so a carry between the two reads is never seen. */
static inline uint64 rdtime64(void)
{
    uint32 hi, lo, hi2;
    do {
        __asm__ volatile("rdtimeh %0" : "=r"(hi));
        __asm__ volatile("rdtime %0" : "=r"(lo));
        __asm__ volatile("rdtimeh %0" : "=r"(hi2));
    } while (hi != hi2);
    return (uint64)hi << 32 | lo;
}

#endif
