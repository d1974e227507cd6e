/* riscv.h: the M-mode CSRs the BIOS uses, their bits, and accessors.
 *
 * Bit positions from the RISC-V privileged specification v1.12: 3.1.6 mstatus,
 * 3.1.8 medeleg/mideleg, 3.1.9 mip/mie, 3.1.15 mcause.  Only what the BIOS
 * touches is here.
 */
#ifndef FW_RISCV_H
#define FW_RISCV_H

/* mstatus
 *   31 ... 13 12 11 10 9 8   7    6 5    4 3   2 1   0
 *  +---------+-----+----+---+----+-+----+-+---+-+---+-+
 *  |   ...   | MPP | .. |SPP|MPIE| |SPIE| |MIE| |SIE| |
 *  +---------+-----+----+---+----+-+----+-+---+-+---+-+
 * (TW/TSR are not used: Unicorn keeps them at bits 29/30, not 21/22.) */
#define MSTATUS_SIE          (1u << 1)
#define MSTATUS_MIE          (1u << 3)
#define MSTATUS_SPIE         (1u << 5)
#define MSTATUS_MPIE         (1u << 7)
#define MSTATUS_SPP          (1u << 8)
#define MSTATUS_MPP_MASK     (3u << 11)
#define MSTATUS_MPP_S        (1u << 11)
#define MSTATUS_MPP_M        (3u << 11)

/* Interrupt numbers; bit n of mip/mie/mideleg is interrupt n. */
#define IRQ_S_SOFT           1
#define IRQ_M_SOFT           3
#define IRQ_S_TIMER          5
#define IRQ_M_TIMER          7
#define IRQ_S_EXT            9
#define MIP_SSIP             (1u << IRQ_S_SOFT)
#define MIP_MSIP             (1u << IRQ_M_SOFT)
#define MIP_STIP             (1u << IRQ_S_TIMER)
#define MIP_MTIP             (1u << IRQ_M_TIMER)
#define MIP_SEIP             (1u << IRQ_S_EXT)

/* mcause: bit 31 = interrupt, low bits = code (table 3.6). */
#define MCAUSE_IRQ           0x80000000u
#define EXC_INSN_MISALIGNED  0
#define EXC_ILLEGAL_INSN     2
#define EXC_BREAKPOINT       3
#define EXC_LOAD_MISALIGNED  4
#define EXC_STORE_MISALIGNED 6
#define EXC_ECALL_U          8
#define EXC_ECALL_S          9
#define EXC_INSN_PAGE_FAULT  12
#define EXC_LOAD_PAGE_FAULT  13
#define EXC_STORE_PAGE_FAULT 15

/* mcounteren: let S (and, through scounteren, U) read cycle, time, instret. */
#define MCOUNTEREN_CY_TM_IR  0x7

#ifndef __ASSEMBLER__
#include <stdint.h>

#define csr_read(csr) ({ uint32_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" : : "r"((uint32_t)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" : : "r"((uint32_t)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" : : "r"((uint32_t)(v)))

static inline void fence(void) { __asm__ volatile("fence rw, rw" : : : "memory"); }
#endif

#endif
