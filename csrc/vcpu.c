/* vcpu.c: the vCPU run loop and its block hook.  pyhv_vcpu_run enters the engine
 * and stays in C through every exit the guest can handle itself (traps, page
 * faults, ebreak traps, wfi with an interrupt pending); it returns to Python only
 * for budget, idle, breakpoint, shutdown and fatal exits, as a VMM handles KVM
 * exits.  The block hook is the only per-block work: one compare in the fast path.
 */
#include "core.h"

struct uc_api uc;

int pyhv_api_init(void **fns, int n)
{
    if (n != (int)(sizeof uc / sizeof(void *)))
        return -1;
    memcpy(&uc, fns, sizeof uc);
    return 0;
}

uint32_t reg_get(uc_engine *u, int regid)
{
    uint32_t value = 0;
    uc.reg_read(u, regid, &value);
    return value;
}

void reg_set(uc_engine *u, int regid, uint32_t value)
{
    uc.reg_write(u, regid, &value);
}

uint32_t csr_get(uc_engine *u, int regid)
{
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV), value = 0;
    if (priv != 3)
        reg_set(u, UC_RISCV_REG_PRIV, 3);
    uc.reg_read(u, regid, &value);
    if (priv != 3)
        reg_set(u, UC_RISCV_REG_PRIV, priv);
    return value;
}

void csr_set(uc_engine *u, int regid, uint32_t value)
{
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV);
    if (priv != 3)
        reg_set(u, UC_RISCV_REG_PRIV, 3);
    uc.reg_write(u, regid, &value);
    if (priv != 3)
        reg_set(u, UC_RISCV_REG_PRIV, priv);
}

int pyhv_vcpu_csr_read(struct pyhv_vcpu *v, int regid, uint32_t *value)
{
    *value = csr_get(v->uc, regid);
    return 0;
}

int pyhv_vcpu_csr_write(struct pyhv_vcpu *v, int regid, uint32_t value)
{
    csr_set(v->uc, regid, value);
    return 0;
}

/* Append a trace event; near full, ask for an exit so Python drains the ring
 * before anything is lost. */
void trace_event(struct pyhv_vcpu *v, uint32_t kind, uint32_t cause, uint32_t pc, uint32_t value, uint32_t from,
                 uint32_t to)
{
    if (!(v->trace_mask & kind) || v->trace_len >= v->trace_cap)
        return;
    struct pyhv_trace_event *e = &v->trace[v->trace_len++];
    e->kind = kind;
    e->cause = cause;
    e->pc = pc;
    e->value = value;
    e->priv_from = from;
    e->priv_to = to;
    if (v->trace_len >= v->trace_cap - v->trace_cap / 4 && !v->exit_request)
        pyhv_vcpu_request_exit(v, PYHV_EXIT_HOST);
}

/* ---- virtual time ------------------------------------------------------ */

uint64_t pyhv_vcpu_mtime(struct pyhv_vcpu *v)
{
    return v->insns / PYHV_INSNS_PER_TICK + v->idle_ticks;
}

static void update_next_event(struct pyhv_vcpu *v)
{
    v->next_event = v->stop_at < v->timer_at ? v->stop_at : v->timer_at;
    /* An M interrupt waiting, masked, can be unmasked by any block (csrw mie,
     * mret...), and only the block hook can take it: look at every block. */
    if (v->vmip & MIP_M_BITS)
        v->next_event = 0;
    /* pyhv_vm_s2_changed on another thread bumps the stage-2 generation, then zeroes
     * next_event: a store above may have hidden that zero, so look for ourselves. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (s2_stale(v))
        v->next_event = 0;
}

/* Recompute the instruction count at which mtime >= mtimecmp (MTIP rises). */
static void timer_rearm(struct pyhv_vcpu *v)
{
    if (v->mtimecmp <= pyhv_vcpu_mtime(v)) {
        v->vmip |= MIP_MTIP;
        v->timer_at = UINT64_MAX;
    } else {
        v->vmip &= ~MIP_MTIP;
        uint64_t ticks = v->mtimecmp - v->idle_ticks;
        v->timer_at = ticks > UINT64_MAX / PYHV_INSNS_PER_TICK ? UINT64_MAX : ticks * PYHV_INSNS_PER_TICK;
    }
    update_next_event(v);
}

void pyhv_vcpu_set_mtimecmp(struct pyhv_vcpu *v, uint64_t value)
{
    v->mtimecmp = value;
    timer_rearm(v);
}

void pyhv_vcpu_advance_idle(struct pyhv_vcpu *v, uint64_t ticks)
{
    v->idle_ticks += ticks;
    timer_rearm(v);
}

/* Raise or lower an interrupt line.  M-level bits live in vmip (Unicorn refuses
 * them in mip, facts Q4); S-level bits are handed to the engine's mip at the next
 * block boundary, because the caller may be inside an MMIO callback. */
void pyhv_vcpu_set_irq(struct pyhv_vcpu *v, int bit, int level)
{
    uint32_t mask = 1u << bit;
    if (mask & MIP_M_BITS) {
        if (level)
            __atomic_or_fetch(&v->vmip, mask, __ATOMIC_SEQ_CST);
        else
            __atomic_and_fetch(&v->vmip, ~mask, __ATOMIC_SEQ_CST);
    } else if (mask & MIP_S_BITS) {
        if (level)
            __atomic_or_fetch(&v->slines, mask, __ATOMIC_SEQ_CST);
        else
            __atomic_and_fetch(&v->slines, ~mask, __ATOMIC_SEQ_CST);
        __atomic_or_fetch(&v->slines_dirty, mask, __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(&v->next_event, 0, __ATOMIC_SEQ_CST); /* make the block hook look */
}

int pyhv_vcpu_irq_pending(struct pyhv_vcpu *v)
{
    return wfi_should_wake(v);
}

void pyhv_vcpu_request_exit(struct pyhv_vcpu *v, int reason)
{
    __atomic_store_n(&v->exit_request, reason, __ATOMIC_SEQ_CST);
    __atomic_store_n(&v->next_event, 0, __ATOMIC_SEQ_CST);
}

/* ---- the block hook ------------------------------------------------------ */

/* UC_HOOK_BLOCK, called before each translated block runs.  Counting here costs
 * 7-10 % of raw speed on compiled code (facts, "Compiled C code"). */
static void hook_block(uc_engine *u, uint64_t address, uint32_t size, void *data)
{
    struct pyhv_vcpu *v = data;
    uint64_t n = size >> 2;
    v->progress = 1;
    if (v->insns + n < v->next_event) {
        v->insns += n;
        return;
    }
    uint32_t pc = (uint32_t)address;
    int32_t req = __atomic_exchange_n(&v->exit_request, 0, __ATOMIC_SEQ_CST);
    if (req || v->insns >= v->stop_at) {
        /* Rewriting PC skips this block (facts Q10): it runs, and is counted, on resume. */
        v->exit_reason = req ? req : PYHV_EXIT_BUDGET;
        v->exit_pc = pc;
        reg_set(u, UC_RISCV_REG_PC, pc);
        uc.emu_stop(u);
        return;
    }
    timer_rearm(v);
    if (s2_stale(v)) {
        /* Stage 2 changed under a running vCPU (another thread): drop the TLB, then
         * rewrite PC so this block, looked up through the old TLB, is looked up again
         * (facts Q10; not honoured in the first block after emu_start, which the run
         * loop enters with a fresh TLB). */
        s2_sync(v);
        reg_set(u, UC_RISCV_REG_PC, pc);
        return;
    }
    if ((v->vmip || v->slines_dirty) && interrupts_check(v, pc))
        return; /* the block is skipped: the handler (or this block again) runs next */
    v->insns += n;
}

/* ---- attach and run ---------------------------------------------------------- */

int pyhv_vcpu_attach(struct pyhv_vcpu *v)
{
    uc_hook h;
    uc_engine *u = v->uc;
    v->fault_cause = -1;
    if (v->vm->nvcpus >= sizeof v->vm->vcpus / sizeof v->vm->vcpus[0])
        return -6;
    v->s2_seen = v->vm->s2_gen;
    v->vm->vcpus[v->vm->nvcpus++] = v;
    v->mtimecmp = UINT64_MAX;
    v->stop_at = UINT64_MAX;
    timer_rearm(v);
    if (uc.hook_add(u, &h, UC_HOOK_BLOCK, (void *)hook_block, v, 1, 0) != UC_ERR_OK)
        return -1;
    if (uc.hook_add(u, &h, UC_HOOK_INTR, (void *)hook_intr, v, 1, 0) != UC_ERR_OK)
        return -2;
    if (uc.hook_add(u, &h, UC_HOOK_INSN_INVALID, (void *)hook_insn_invalid, v, 1, 0) != UC_ERR_OK)
        return -3;
    if (v->mmu_mode == PYHV_MMU_PYHV) {
        if (uc.hook_add(u, &h, UC_HOOK_TLB_FILL, (void *)tlb_fill, v, 1, 0) != UC_ERR_OK)
            return -4;
    } else {
        uc_context *ctx;
        if (uc.context_alloc(u, &ctx) != UC_ERR_OK)
            return -5;
        v->ctx = ctx;
        if (uc.hook_add(u, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, (void *)hook_mem_invalid, v, 1, 0) != UC_ERR_OK)
            return -7;
    }
    return 0;
}

static int finish(struct pyhv_vcpu *v, int reason, uint32_t pc)
{
    v->exit_reason = reason;
    v->exit_pc = pc;
    v->counters[PYHV_CNT_EXIT + reason]++;
    return reason;
}

static int fatal(struct pyhv_vcpu *v, uint32_t pc, const char *what, const char *detail)
{
    snprintf(v->message, sizeof v->message, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    return finish(v, PYHV_EXIT_FATAL, pc);
}

/* Run until an exit the host must see, or about `budget` more instructions. */
int pyhv_vcpu_run(struct pyhv_vcpu *v, uint64_t budget)
{
    uc_engine *u = v->uc;
    v->stop_at = budget > UINT64_MAX - v->insns ? UINT64_MAX : v->insns + budget;
    v->message[0] = 0;
    timer_rearm(v);
    for (;;) {
        uint32_t pc = reg_get(u, UC_RISCV_REG_PC);
        if (v->insns >= v->stop_at)
            return finish(v, PYHV_EXIT_BUDGET, pc);
        int32_t req = __atomic_exchange_n(&v->exit_request, 0, __ATOMIC_SEQ_CST);
        if (req)
            return finish(v, req, pc);
        /* Interrupts due at entry are taken here: a PC write from the block hook
         * of the first block after emu_start is not honoured (measured), and the
         * engine delivers S-level interrupts when it starts. */
        timer_rearm(v);
        if (v->slines_dirty)
            apply_slines(v);
        if (v->vmip && m_interrupt_take(v, pc))
            pc = reg_get(u, UC_RISCV_REG_PC);
        v->exit_reason = PYHV_EXIT_NONE;
        v->resume_ok = 0;
        v->fault_cause = -1;
        v->counters[PYHV_CNT_EMU_START]++;
        /* running, then the generation (pyhv_vm_s2_changed does the opposite): either
         * it waits for our flush, or we see its change here and flush first. */
        __atomic_store_n(&v->running, 1, __ATOMIC_SEQ_CST);
        if (s2_stale(v))
            s2_sync(v);
        set_current_vcpu(v);
        uc_err err = uc.emu_start(u, pc, 1 /* never a PC: run until stopped */, 0, 0);
        set_current_vcpu(NULL);
        __atomic_store_n(&v->running, 0, __ATOMIC_SEQ_CST);
        pc = reg_get(u, UC_RISCV_REG_PC);
        if (v->exit_reason != PYHV_EXIT_NONE)
            return finish(v, v->exit_reason, v->exit_pc);
        bool retry0 = !v->page0_ok && err == UC_ERR_EXCEPTION && v->fault_cause == PAGE0_RETRY && pc < PAGE_SIZE;
        v->page0_ok = retry0;
        if (retry0)
            continue;
        if (err == UC_ERR_EXCEPTION && v->fault_cause == OOM_RETRY) {
            v->fault_cause = -1;
            return finish(v, PYHV_EXIT_OOM, pc);
        }
        /* A refused fill (UC_ERR_EXCEPTION) or, in Unicorn-MMU mode, an access the
         * engine found no memory for (hook_mem_invalid: UC_ERR_*_UNMAPPED, *_PROT). */
        if (err != UC_ERR_OK && v->fault_cause >= 0) {
            v->stuck = v->progress ? 0 : v->stuck + 1;
            v->progress = 0;
            if (v->stuck > 8) {
                char detail[64];
                snprintf(detail, sizeof detail, "cause %d on page 0x%08x", v->fault_cause, v->fault_page);
                v->fault_cause = -1;
                return fatal(v, pc, "guest trap loop (its trap vector faults too)", detail);
            }
            deliver_fault(v);
            continue;
        }
        if (err == UC_ERR_EXCEPTION && v->resume_ok)
            continue;
        /* emu_start returned by itself after a wfi (facts Q3: PC past it; the
         * status is UC_ERR_OK, or UC_ERR_EXCEPTION in UC_TLB_VIRTUAL mode). */
        uint32_t insn = 0;
        bool wfi = read_insn(v, pc - 4, &insn) == 0 && insn == 0x10500073;
        if (!wfi && err != UC_ERR_OK)
            return fatal(v, pc, "engine stopped", uc.strerror(err));
        v->counters[PYHV_CNT_WFI]++;
        if (wfi_should_wake(v)) {
            timer_rearm(v);
            continue;
        }
        return finish(v, PYHV_EXIT_IDLE, pc);
    }
}

/* ---- host-side helpers ------------------------------------------------------ */

int pyhv_vcpu_translate(struct pyhv_vcpu *v, uint32_t vaddr, int access, uint64_t *gpa)
{
    uc_engine *u = v->uc;
    struct pyhv_translation t;
    uint32_t priv = reg_get(u, UC_RISCV_REG_PRIV);
    uint32_t mstatus = csr_get(u, UC_RISCV_REG_MSTATUS), satp = csr_get(u, UC_RISCV_REG_SATP);
    /* The same walk in both MMU modes, without A/D side effects (a host-side look). */
    if (pyhv_sv32_translate(v->vm, satp, mstatus, (int)priv, vaddr, access, 0, &t) < 0)
        return -(int)t.cause - 1;
    *gpa = t.gpa | (vaddr & 0xfff);
    return 0;
}

int pyhv_vcpu_flush_tlb(struct pyhv_vcpu *v)
{
    v->counters[PYHV_CNT_TLB_FLUSH]++;
    trace_event(v, PYHV_TRACE_MMU, PYHV_TRACE_MMU_FLUSH, 0, v->vm->s2_gen, 0, 0);
    return uc.ctl(v->uc, UC_CTL_WRITE(UC_CTL_TLB_FLUSH, 0)) == UC_ERR_OK ? 0 : -1;
}

/* Drop translated code for host frames [hfn, hfn + n) after a host-side write.
 * Unicorn's cache removal takes a *virtual* address and translates it through the
 * TLB (uc_invalidate_tb), so for the duration the fill hook maps the frames'
 * engine addresses onto themselves (identity_fill); the TLB is flushed before and
 * after, so no such mapping is ever visible to the guest. */
int pyhv_vcpu_invalidate(struct pyhv_vcpu *v, uint32_t hfn, uint32_t nframes)
{
    uc_engine *u = v->uc;
    v->counters[PYHV_CNT_TB_INVAL] += nframes;
    if (v->mmu_mode == PYHV_MMU_UNICORN || nframes > 64)
        return uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0)) == UC_ERR_OK ? 0 : -1;
    uint64_t start = v->vm->pool->uc_base + ((uint64_t)hfn << PAGE_SHIFT);
    uint64_t end = start + ((uint64_t)nframes << PAGE_SHIFT);
    pyhv_vcpu_flush_tlb(v);
    v->identity_fill = 1;
    uc_err err = uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), start, end);
    v->identity_fill = 0;
    pyhv_vcpu_flush_tlb(v);
    return err == UC_ERR_OK ? 0 : -1;
}
