/* trap.c: what a RISC-V hart does on a trap and Unicorn does not (engine facts §1,
 * docs/engine-facts.md): entry into mtvec/stvec with delegation for every synchronous
 * exception, M-level interrupts kept in a virtual mip, rdtime emulation.
 * Privileged spec 3.1.6.1 (privilege stack), 3.1.7 (mtvec), 3.1.8 (medeleg and
 * mideleg), 3.1.9 (mip/mie), 3.3.1 (trap entry).  Readable twin: pyhv/trap.py.
 */
#include "core.h"

/* ---- interrupts the engine delivers itself ---------------------------------
 *
 * S-level lines sit in the engine's mip (Unicorn refuses M-level ones, engine facts §4),
 * and the engine enters their handler on its own, without any hook (Unicorn's
 * riscv_cpu_exec_interrupt).  Such an entry is seen afterwards, at the first
 * block of the handler: its address is the trap vector (xtvec, + 4 * cause when
 * vectored), xcause holds an interrupt and no trap_enter put the hart there.
 * Every xtvec value seen (at each run, trap entry, block translation and
 * block-hook event) sets a bit for its vector addresses in vec_bloom, so the
 * block hook pays one bit test per block.  A handler's first block is translated
 * by its first trap, after the guest wrote xtvec, so that value is always seen.
 * Limits: a guest that points xtvec at code it already ran as something else and
 * takes an engine interrupt there before pyhv next reads xtvec is not counted;
 * one that jumps into its own vector by hand while xcause still holds an
 * interrupt is counted once more. */

static void vec_bloom_set(struct pyhv_vcpu *v, uint32_t pc)
{
    uint32_t i = (pc >> 2) & 2047;
    v->vec_bloom[i >> 5] |= 1u << (i & 31);
}

/* Note xtvec value `tvec`: the engine delivers only SSI, STI and SEI (codes 1, 5, 9). */
static void vec_add_bits(struct pyhv_vcpu *v, uint32_t tvec)
{
    uint32_t base = tvec & ~3u;
    if ((tvec & 3) != 1) {
        vec_bloom_set(v, base);
        return;
    }
    for (uint32_t code = 1; code < 10; code += 4)
        vec_bloom_set(v, base + 4 * code);
}

static void vec_add(struct pyhv_vcpu *v, uint32_t tvec)
{
    uint32_t n = v->nvecs < 8 ? v->nvecs : 8;
    for (uint32_t i = 0; i < n; i++)
        if (v->vecs[i] == tvec)
            return;
    if (v->nvecs >= 8) { /* forget the oldest: rebuild the bits from the other seven */
        memmove(v->vecs, v->vecs + 1, 7 * sizeof *v->vecs);
        memset(v->vec_bloom, 0, sizeof v->vec_bloom);
        for (uint32_t i = 0; i < 7; i++)
            vec_add_bits(v, v->vecs[i]);
        v->nvecs = 7;
    }
    v->vecs[v->nvecs++] = tvec;
    vec_add_bits(v, tvec);
}

void vec_refresh(struct pyhv_vcpu *v)
{
    uc_engine *u = v->uc;
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV), stvec = 0, mtvec = 0;
    if (priv != 3)
        reg_set(u, UC_RISCV_REG_PRIV, 3);
    uc.reg_read(u, UC_RISCV_REG_STVEC, &stvec);
    uc.reg_read(u, UC_RISCV_REG_MTVEC, &mtvec);
    if (priv != 3)
        reg_set(u, UC_RISCV_REG_PRIV, priv);
    vec_add(v, stvec);
    vec_add(v, mtvec);
}

/* The block at `pc` may be the first of a handler the engine entered by itself:
 * count and trace the interrupt as trap_enter does for the ones pyhv enters. */
void engine_irq_check(struct pyhv_vcpu *v, uint32_t pc)
{
    uc_engine *u = v->uc;
    bool ours = pc == v->trap_pc;
    v->trap_pc = 1;
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV);
    if (ours || priv == 0)
        return;
    bool s = priv == 1;
    uint32_t cause = csr_get(u, s ? UC_RISCV_REG_SCAUSE : UC_RISCV_REG_MCAUSE), code = cause & 0x7fffffffu;
    if (!(cause >> 31) || code >= 32 || !((1u << code) & MIP_S_BITS))
        return;
    uint32_t tvec = csr_get(u, s ? UC_RISCV_REG_STVEC : UC_RISCV_REG_MTVEC);
    if (pc != (tvec & ~3u) + ((tvec & 3) == 1 ? 4 * code : 0))
        return;
    uint32_t epc = csr_get(u, s ? UC_RISCV_REG_SEPC : UC_RISCV_REG_MEPC);
    if (v->irq_seen[0] == cause && v->irq_seen[1] == epc && v->irq_seen[2] == pc && v->irq_seen_insns == v->insns)
        return; /* the same entry: its first block was skipped by an exit and runs again */
    v->irq_seen[0] = cause;
    v->irq_seen[1] = epc;
    v->irq_seen[2] = pc;
    v->irq_seen_insns = v->insns;
    uint32_t mstatus = csr_get(u, UC_RISCV_REG_MSTATUS);
    uint32_t from = s ? (mstatus & MSTATUS_SPP ? 1 : 0) : (mstatus & MSTATUS_MPP) >> 11;
    v->counters[PYHV_CNT_IRQ + (code & 15)]++;
    trace_event(v, PYHV_TRACE_INT, cause, epc, 0, from, priv);
}

/* Enter the trap handler for `cause` (bit 31 set for an interrupt), as the
 * privileged spec describes: choose M or S by delegation, save epc/cause/tval,
 * push the interrupt-enable and privilege stack, jump to the (vectored) tvec. */
void trap_enter(struct pyhv_vcpu *v, uint32_t cause, uint32_t epc, uint32_t tval)
{
    uc_engine *u = v->uc;
    bool irq = cause >> 31;
    uint32_t code = cause & 0x7fffffffu;
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV);
    uint32_t deleg = csr_get(u, irq ? UC_RISCV_REG_MIDELEG : UC_RISCV_REG_MEDELEG);
    uint32_t mstatus = csr_get(u, UC_RISCV_REG_MSTATUS);
    uint32_t tvec, from = priv;
    v->counters[(irq ? PYHV_CNT_IRQ : PYHV_CNT_EXC) + (code & 15)]++;
    if (priv <= 1 && code < 32 && ((deleg >> code) & 1)) {
        tvec = csr_get(u, UC_RISCV_REG_STVEC);
        csr_set(u, UC_RISCV_REG_SEPC, epc);
        csr_set(u, UC_RISCV_REG_SCAUSE, cause);
        csr_set(u, UC_RISCV_REG_STVAL, tval);
        mstatus &= ~(MSTATUS_SPP | MSTATUS_SPIE);
        mstatus |= (priv ? MSTATUS_SPP : 0) | ((mstatus & MSTATUS_SIE) ? MSTATUS_SPIE : 0);
        mstatus &= ~MSTATUS_SIE;
        priv = 1;
    } else {
        tvec = csr_get(u, UC_RISCV_REG_MTVEC);
        csr_set(u, UC_RISCV_REG_MEPC, epc);
        csr_set(u, UC_RISCV_REG_MCAUSE, cause);
        csr_set(u, UC_RISCV_REG_MTVAL, tval);
        mstatus &= ~(MSTATUS_MPP | MSTATUS_MPIE);
        mstatus |= (priv << 11) | ((mstatus & MSTATUS_MIE) ? MSTATUS_MPIE : 0);
        mstatus &= ~MSTATUS_MIE;
        priv = 3;
    }
    csr_set(u, UC_RISCV_REG_MSTATUS, mstatus);
    reg_set(u, UC_RISCV_REG_PRIV, priv);
    trace_event(v, PYHV_TRACE_INT, cause, epc, tval, from, priv);
    uint32_t pc = tvec & ~3u;
    if (irq && (tvec & 3) == 1)
        pc += 4 * code;
    reg_set(u, UC_RISCV_REG_PC, pc);
    v->trap_pc = pc; /* counted here: engine_irq_check must not count it again */
    vec_add(v, tvec);
}

int pyhv_vcpu_take_trap(struct pyhv_vcpu *v, uint32_t cause, uint32_t epc, uint32_t tval)
{
    trap_enter(v, cause, epc, tval);
    return 0;
}

/* Fetch the 32-bit instruction at vaddr as the hart sees it now. */
int read_insn(struct pyhv_vcpu *v, uint32_t vaddr, uint32_t *insn)
{
    if (v->mmu_mode == PYHV_MMU_UNICORN)
        return uc.vmem_read(v->uc, vaddr, UC_PROT_EXEC, insn, 4) == UC_ERR_OK ? 0 : -1;
    uint32_t lo = 0, hi = 0;
    for (int half = 0; half < 2; half++) {
        uint32_t va = vaddr + 2 * half;
        uint64_t gpa;
        if (pyhv_vcpu_translate(v, va, PYHV_ACC_FETCH, &gpa) < 0) {
            if (half == 1 && (lo & 3) != 3)
                break; /* a compressed instruction needs no second half */
            return -1;
        }
        uint8_t *p = guest_ptr(v->vm, gpa, 2);
        uint16_t h = 0;
        if (p)
            memcpy(&h, p, 2);
        else if (uc.vmem_read(v->uc, va, UC_PROT_EXEC, &h, 2) != UC_ERR_OK)
            return -1; /* ROM is identity-mapped engine memory */
        if (half == 0)
            lo = h;
        else
            hi = h;
    }
    *insn = lo | (hi << 16);
    return 0;
}

static void gpr_set(uc_engine *u, uint32_t rd, uint32_t value)
{
    if (rd)
        reg_set(u, UC_RISCV_REG_X0 + (int)rd, value);
}

static uint32_t gpr_get(uc_engine *u, uint32_t rs)
{
    return rs ? reg_get(u, UC_RISCV_REG_X0 + (int)rs) : 0;
}

/* Counter CSRs that Unicorn cannot serve deterministically (engine facts §3): time and
 * timeh trap as illegal, so we answer them from the virtual clock; cycle and
 * instret we answer from the instruction count when they do trap.  Honours
 * mcounteren/scounteren (3.1.11).  Returns true if the instruction was emulated. */
static bool emulate_counter(struct pyhv_vcpu *v, uint32_t insn, uint32_t priv)
{
    uint32_t funct3 = (insn >> 12) & 7, rs1 = (insn >> 15) & 31, csr = insn >> 20;
    if ((insn & 0x7f) != 0x73 || !(funct3 == 2 || funct3 == 3 || funct3 == 6 || funct3 == 7) || rs1 != 0)
        return false;
    if ((csr & ~0x80u) < 0xc00 || (csr & ~0x80u) > 0xc02)
        return false;
    uint32_t idx = csr & 3;
    if (priv < 3 && !((csr_get(v->uc, UC_RISCV_REG_MCOUNTEREN) >> idx) & 1))
        return false;
    if (priv == 0 && !((csr_get(v->uc, UC_RISCV_REG_SCOUNTEREN) >> idx) & 1))
        return false;
    uint64_t value = idx == 1 ? pyhv_vcpu_mtime(v) : v->insns;
    gpr_set(v->uc, (insn >> 7) & 31, (uint32_t)(csr & 0x80 ? value >> 32 : value));
    v->counters[PYHV_CNT_RDTIME]++;
    return true;
}

/* An AMO (not LR) that faults on its read half is a store/AMO fault (spec table
 * 3.6 lists only store/AMO causes for AMOs); Unicorn's AMO loads first and
 * reports the load cause, so map 13 -> 15 and 5 -> 7. */
static uint32_t amo_cause(uint32_t insn, uint32_t cause)
{
    if ((insn & 0x7f) == 0x2f && (insn >> 27) != 2)
        return cause == 13 ? 15 : cause == 5 ? 7 : cause;
    return cause;
}

/* The data address and width of a load, store or AMO (RV32 I/A/F/D, and the C
 * extension's c.lw/c.sw/c.lwsp/c.swsp/c.flw/c.fsw), from the registers as they
 * are now.  Returns false for anything else. */
bool insn_mem_access(struct pyhv_vcpu *v, uint32_t insn, uint32_t *addr, uint32_t *len)
{
    uc_engine *u = v->uc;
    uint32_t op = insn & 0x7f, f3 = (insn >> 12) & 7, base = gpr_get(u, (insn >> 15) & 31);
    static const uint8_t width[8] = { 1, 2, 4, 8, 1, 2, 0, 0 };
    if ((insn & 3) != 3) {
        uint32_t q = insn & 3, f = (insn >> 13) & 7;
        if (q == 0 && (f == 2 || f == 3 || f == 6 || f == 7)) { /* c.lw c.flw c.sw c.fsw: rs1' = 8 + bits 9..7 */
            *addr = gpr_get(u, 8 + ((insn >> 7) & 7)) + (((insn >> 6) & 1) << 2) + (((insn >> 10) & 7) << 3) +
                    (((insn >> 5) & 1) << 6);
        } else if (q == 2 && (f == 2 || f == 3)) { /* c.lwsp c.flwsp */
            *addr = gpr_get(u, 2) + (((insn >> 4) & 7) << 2) + (((insn >> 12) & 1) << 5) + (((insn >> 2) & 3) << 6);
        } else if (q == 2 && (f == 6 || f == 7)) { /* c.swsp c.fswsp */
            *addr = gpr_get(u, 2) + (((insn >> 9) & 15) << 2) + (((insn >> 7) & 3) << 6);
        } else {
            return false;
        }
        *len = 4;
        return true;
    }
    if (op == 0x03 || op == 0x07) { /* loads: I-immediate */
        *addr = base + (uint32_t)((int32_t)insn >> 20);
    } else if (op == 0x23 || op == 0x27) { /* stores: S-immediate */
        *addr = base + (uint32_t)((((int32_t)insn >> 25) << 5) | ((insn >> 7) & 31));
    } else if (op == 0x2f && f3 == 2) { /* AMO, LR, SC: the word at rs1 */
        *addr = base;
    } else {
        return false;
    }
    *len = width[f3];
    return *len != 0;
}

/* UC_HOOK_INTR: Unicorn reports a synchronous exception.  PC is already past the
 * instruction (epc = PC - 4 for every intno, engine facts §2). */
void hook_intr(uc_engine *u, uint32_t intno, void *data)
{
    struct pyhv_vcpu *v = data;
    uint32_t pc = reg_get(u, UC_RISCV_REG_PC), epc = pc - 4;
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV);
    uint32_t cause = intno, tval = 0, insn = 0;
    switch (intno) {
    case 8: /* ecall: Unicorn says 8 from every mode */
        cause = priv == 0 ? 8 : priv == 1 ? 9 : 11;
        break;
    case 2: /* illegal instruction; mtval = the instruction bits (3.1.16) */
        if (read_insn(v, epc, &insn) == 0) {
            if (emulate_counter(v, insn, priv))
                return;
            tval = (insn & 3) == 3 ? insn : insn & 0xffff;
        }
        break;
    case 4: /* misaligned AMO/LR: Unicorn says 4 for all; SC and AMOs are stores (6) */
        if (read_insn(v, epc, &insn) == 0) {
            cause = ((insn >> 27) == 2) ? 4 : 6;
            tval = gpr_get(u, (insn >> 15) & 31);
        }
        break;
    case 12:
    case 13:
    case 15:
    case 0:
    case 1:
    case 5:
    case 6:
    case 7:
        /* only in Unicorn-MMU mode: the address sits in env->badaddr (engine facts §2) */
        if (v->ctx && uc.context_save(u, v->ctx) == UC_ERR_OK)
            memcpy(&tval, (uint8_t *)v->ctx + v->badaddr_off, 4);
        if ((intno == 13 || intno == 5) && read_insn(v, epc, &insn) == 0)
            cause = amo_cause(insn, cause);
        break;
    default:
        break;
    }
    trap_enter(v, cause, epc, tval);
}

/* UC_HOOK_INSN_INVALID: ebreak and c.ebreak arrive here (engine facts §2), PC = the insn. */
bool hook_insn_invalid(uc_engine *u, void *data)
{
    struct pyhv_vcpu *v = data;
    uint32_t pc = reg_get(u, UC_RISCV_REG_PC), insn = 0;
    bool ok = read_insn(v, pc, &insn) == 0;
    bool ebreak = ok && (insn == 0x00100073 || (insn & 0xffff) == 0x9002);
    if (ebreak && v->ebreak_exits) {
        v->exit_reason = PYHV_EXIT_BREAKPOINT;
        v->exit_pc = pc;
        uc.emu_stop(u);
        return true;
    }
    if (ebreak)
        trap_enter(v, 3, pc, pc);
    else
        trap_enter(v, 2, pc, ok ? ((insn & 3) == 3 ? insn : insn & 0xffff) : 0);
    v->resume_ok = 1;
    return true;
}

/* The address a load, store or AMO accesses (its rs1 + immediate); false for other instructions. */
static bool data_addr(uc_engine *u, uint32_t insn, uint32_t *addr)
{
    uint32_t op = insn & 0x7f, base = gpr_get(u, (insn >> 15) & 31);
    if (op == 0x03 || op == 0x07) /* loads: I-immediate */
        *addr = base + (uint32_t)((int32_t)insn >> 20);
    else if (op == 0x23 || op == 0x27) /* stores: S-immediate */
        *addr = base + (uint32_t)((((int32_t)insn >> 25) << 5) | ((insn >> 7) & 31));
    else if (op == 0x2f) /* AMO, LR, SC */
        *addr = base;
    else
        return false;
    return true;
}

/* After a refused TLB fill: PC is the faulting instruction; compute the exact
 * faulting address (Unicorn only gives the page) by decoding it. */
void deliver_fault(struct pyhv_vcpu *v)
{
    uc_engine *u = v->uc;
    uint32_t pc = reg_get(u, UC_RISCV_REG_PC), page = v->fault_page, tval = page, insn, addr;
    int32_t cause = v->fault_cause;
    v->fault_cause = -1;
    if (cause == 12 || cause == 1) {
        tval = (pc & ~0xfffu) == page ? pc : page; /* an instruction straddling into `page` */
    } else if (read_insn(v, pc, &insn) == 0 && data_addr(u, insn, &addr)) {
        if ((insn & 0x7f) == 0x2f)
            cause = (int32_t)amo_cause(insn, (uint32_t)cause);
        if ((addr & ~0xfffu) == page || ((addr + 3) & ~0xfffu) == page)
            tval = (addr & ~0xfffu) == page ? addr : page;
    }
    trap_enter(v, (uint32_t)cause, pc, tval);
}

/* UC_HOOK_MEM_UNMAPPED and UC_HOOK_MEM_PROT, Unicorn-MMU mode only: an access to a
 * guest-physical address with no memory behind it, or without the permission (a
 * store to ROM, a fetch from a device), is an access fault (privileged spec 3.6.1,
 * PMAs), as pyhv's stage 2 makes it.  Refusing stops the engine with PC at the
 * faulting instruction (the engine syncs PC before the hook; a fetch fault leaves
 * PC at the target) and the run loop delivers the fault.  `address` is physical:
 * the page deliver_fault matches is the virtual one, from the instruction. */
bool hook_mem_invalid(uc_engine *u, uc_mem_type type, uint64_t address, int size, int64_t value, void *data)
{
    struct pyhv_vcpu *v = data;
    uint32_t pc = reg_get(u, UC_RISCV_REG_PC), insn, va;
    bool fetch = type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT;
    bool write = type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT;
    v->fault_cause = (int32_t)fault_cause(fetch ? PYHV_ACC_FETCH : write ? PYHV_ACC_WRITE : PYHV_ACC_READ, false);
    v->fault_page = fetch ? pc & ~0xfffu : (uint32_t)address & ~0xfffu;
    if (!fetch && read_insn(v, pc, &insn) == 0 && data_addr(u, insn, &va))
        /* the access's second page, if it straddles: its offset is below the first byte's */
        v->fault_page = (va & ~0xfffu) + (((uint32_t)address & 0xfff) < (va & 0xfff) ? PAGE_SIZE : 0);
    return false;
}

/* Apply S-level line changes to the engine's mip, which delivers S interrupts itself. */
bool apply_slines(struct pyhv_vcpu *v)
{
    uint32_t mip = csr_get(v->uc, UC_RISCV_REG_MIP);
    uint32_t want = (mip & ~v->slines_dirty) | (v->slines & v->slines_dirty);
    v->slines_dirty = 0;
    if (want == mip)
        return false;
    csr_set(v->uc, UC_RISCV_REG_MIP, want);
    return (want & ~mip) != 0;
}

/* Take a pending, enabled M-level interrupt at instruction boundary `pc` (spec
 * 3.1.9: an M interrupt is enabled if priv < M, or priv = M and MIE; priority
 * MEI > MSI > MTI).  Returns true if the hart entered the handler. */
bool m_interrupt_take(struct pyhv_vcpu *v, uint32_t pc)
{
    uc_engine *u = v->uc;
    uint32_t pending = v->vmip & csr_get(u, UC_RISCV_REG_MIE);
    if (!pending)
        return false;
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV);
    if (priv == 3 && !(csr_get(u, UC_RISCV_REG_MSTATUS) & MSTATUS_MIE))
        return false;
    uint32_t code = (pending & MIP_MEIP) ? 11 : (pending & MIP_MSIP) ? 3 : 7;
    trap_enter(v, 0x80000000u | code, pc, 0);
    return true;
}

/* At a block boundary `pc` inside the engine: take an M-level interrupt, or make
 * the engine notice newly raised S-level lines.  Returns true if PC moved. */
bool interrupts_check(struct pyhv_vcpu *v, uint32_t pc)
{
    bool kick = v->slines_dirty && apply_slines(v);
    if (v->vmip && m_interrupt_take(v, pc))
        return true;
    if (kick) {
        /* The engine takes an S interrupt only when its TB loop exits; rewriting
         * PC to this block's start forces that exit right here (engine facts §4). */
        reg_set(v->uc, UC_RISCV_REG_PC, pc);
        return true;
    }
    return false;
}

/* wfi resumes when any interrupt is pending and enabled in mie, whatever the
 * global enables (3.3.3). */
bool wfi_should_wake(struct pyhv_vcpu *v)
{
    if (v->slines_dirty)
        apply_slines(v);
    uint32_t mip = csr_get(v->uc, UC_RISCV_REG_MIP) | v->vmip;
    return (mip & csr_get(v->uc, UC_RISCV_REG_MIE)) != 0;
}
