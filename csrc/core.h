/* core.h: private declarations shared by the C core's files (never parsed by cffi).
 *
 * The engine is Unicorn's libunicorn, reached only through the function table
 * pyhv_api_init() fills with the addresses the `unicorn` Python package already
 * resolved, so the process holds exactly one copy of the library.
 */
#ifndef PYHV_CORE_H
#define PYHV_CORE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unicorn/unicorn.h>
#include "abi.h"
#include "pyhv_core.h"

/* Python callbacks (cffi extern "Python"), defined by the generated module. */
uint64_t pyhv_py_mmio_read(void *handle, uint64_t offset, unsigned size);
void pyhv_py_mmio_write(void *handle, uint64_t offset, unsigned size, uint64_t value);

struct uc_api {
    uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
    uc_err (*emu_stop)(uc_engine *);
    uc_err (*reg_read)(uc_engine *, int, void *);
    uc_err (*reg_write)(uc_engine *, int, const void *);
    uc_err (*hook_add)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
    uc_err (*ctl)(uc_engine *, uc_control_type, ...);
    uc_err (*context_alloc)(uc_engine *, uc_context **);
    uc_err (*context_save)(uc_engine *, uc_context *);
    uc_err (*vmem_read)(uc_engine *, uint64_t, uc_prot, void *, size_t);
    const char *(*strerror)(uc_err);
    uc_err (*mmio_map)(uc_engine *, uint64_t, uint64_t, uc_cb_mmio_read_t, void *, uc_cb_mmio_write_t, void *);
};
extern struct uc_api uc;

/* mstatus fields (privileged spec 3.1.6) */
#define MSTATUS_SIE   (1u << 1)
#define MSTATUS_MIE   (1u << 3)
#define MSTATUS_SPIE  (1u << 5)
#define MSTATUS_MPIE  (1u << 7)
#define MSTATUS_SPP   (1u << 8)
#define MSTATUS_MPP   (3u << 11)
#define MSTATUS_MPRV  (1u << 17)
#define MSTATUS_SUM   (1u << 18)
#define MSTATUS_MXR   (1u << 19)

/* mip/mie bits (3.1.9) */
#define MIP_SSIP (1u << 1)
#define MIP_MSIP (1u << 3)
#define MIP_STIP (1u << 5)
#define MIP_MTIP (1u << 7)
#define MIP_SEIP (1u << 9)
#define MIP_MEIP (1u << 11)
#define MIP_S_BITS (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define MIP_M_BITS (MIP_MSIP | MIP_MTIP | MIP_MEIP)

#define PROT_R 1u
#define PROT_W 2u
#define PROT_X 4u

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096u

/* Host access to CSRs.  Unicorn checks the vCPU's *current* privilege on every
 * CSR access from the host and silently drops (or garbles) it below the CSR's
 * level (docs/engine-facts.md §0), so every access runs at PRIV = 3. */
uint32_t csr_get(uc_engine *u, int regid);
void csr_set(uc_engine *u, int regid, uint32_t value);
uint32_t reg_get(uc_engine *u, int regid);
void reg_set(uc_engine *u, int regid, uint32_t value);

/* vcpu.c */
bool code_sync(struct pyhv_vcpu *v);
int read_code(struct pyhv_vcpu *v, uint32_t vaddr, uint8_t *buf, uint32_t len);
void trace_event(struct pyhv_vcpu *v, uint32_t kind, uint32_t cause, uint32_t pc, uint32_t value, uint32_t from,
                 uint32_t to);

/* mmu.c */
#define PAGE0_RETRY (-2) /* fault_cause: a page-0 fetch refused as a probe; retry for real */
#define OOM_RETRY (-3)   /* fault_cause: no frame for the access; exit to the host, then retry */
#define STAGE2_OOM (-2)  /* stage2(): a frame was needed and the pool or the VM's limit said no */
#define PMP_STEP (-4)    /* fault_cause: a page cut by a PMP boundary; run one instruction, checked alone */
bool tlb_fill(uc_engine *u, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *e, void *data);
int stage2(struct pyhv_vm *vm, uint64_t gpa, int access, int demand, uint32_t *engine_pa, uint32_t *perms);
uint8_t *guest_ptr(struct pyhv_vm *vm, uint64_t gpa, uint32_t len);
uint32_t fault_cause(int access, bool page_fault);
void set_current_vcpu(struct pyhv_vcpu *v);
struct pyhv_vcpu *current_vcpu(void);
bool s2_stale(struct pyhv_vcpu *v);
void s2_sync(struct pyhv_vcpu *v);

/* trap.c */
void trap_enter(struct pyhv_vcpu *v, uint32_t cause, uint32_t epc, uint32_t tval);
void hook_intr(uc_engine *u, uint32_t intno, void *data);
bool hook_insn_invalid(uc_engine *u, void *data);
void deliver_fault(struct pyhv_vcpu *v);
bool hook_mem_invalid(uc_engine *u, uc_mem_type type, uint64_t address, int size, int64_t value, void *data);
bool interrupts_check(struct pyhv_vcpu *v, uint32_t pc);
bool m_interrupt_take(struct pyhv_vcpu *v, uint32_t pc);
bool apply_slines(struct pyhv_vcpu *v);
bool wfi_should_wake(struct pyhv_vcpu *v);
int read_insn(struct pyhv_vcpu *v, uint32_t vaddr, uint32_t *insn);
bool insn_mem_access(struct pyhv_vcpu *v, uint32_t insn, uint32_t *addr, uint32_t *len);
void vec_refresh(struct pyhv_vcpu *v);
void engine_irq_check(struct pyhv_vcpu *v, uint32_t pc);

/* May a trap vector entry start at pc?  (One bit test per block: see trap.c.) */
static inline bool vec_candidate(const struct pyhv_vcpu *v, uint32_t pc)
{
    uint32_t i = (pc >> 2) & 2047;
    return (v->vec_bloom[i >> 5] >> (i & 31)) & 1;
}

#endif
