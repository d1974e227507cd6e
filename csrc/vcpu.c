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
    if ((v->vmip & MIP_M_BITS) || v->pmp_step)
        v->next_event = 0; /* pmp_step: the hook ends the step at the next block */
    /* pyhv_vm_s2_changed and pyhv_vcpu_invalidate on another thread set their flag,
     * then zero next_event: a store above may have hidden that zero, so look for ourselves. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (s2_stale(v) || __atomic_load_n(&v->nstale, __ATOMIC_SEQ_CST))
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
 * them in mip, engine facts §4); S-level bits are handed to the engine's mip at the next
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

/* The wall-clock backstop (--timeout, signals, Host.run's deadline), from any
 * thread: ask for an exit at the next block boundary, and also stop the engine
 * itself (uc_emu_stop sets a flag and cpu_exit()s, QEMU's cross-thread kick), so
 * the run ends even where no block hook gets to run.  Callers repeat it until
 * the run returns: a kick that lands before emu_start begins is forgotten by it.
 * A run that ends by itself never sees it, so its instruction counts are untouched. */
void pyhv_vcpu_stop(struct pyhv_vcpu *v, int reason)
{
    pyhv_vcpu_request_exit(v, reason);
    if (__atomic_load_n(&v->running, __ATOMIC_SEQ_CST))
        uc.emu_stop(v->uc);
}

/* The vCPU is gone (VCpu's finalizer): free the table of translated blocks. */
void pyhv_vcpu_release(struct pyhv_vcpu *v)
{
    free(v->tbs);
    v->tbs = NULL;
    v->tbs_mask = v->tbs_used = 0;
    v->tbs_rvc = v->tbs_first = 1; /* no table: every block is decoded */
}

/* ---- instruction counting ------------------------------------------------ */

/* The block hook is told a block's address and size in bytes, not how many
 * instructions it holds: with compressed instructions (the vCPU model is
 * IMAFDC) a 4-byte block may be one instruction or two.  The engine does know
 * (tb->icount) and reports it for every block it translates through
 * UC_HOOK_EDGE_GENERATED (Unicorn cpu-exec.c tb_find), once one block has left
 * the engine's loop normally (uc->last_tb is set after cpu_tb_exec returns, so
 * not while the first blocks only trap or chain into each other).  Until that
 * first report every block is decoded from memory; at it, the blocks translated
 * before are flushed.  So the table below holds every block translated since
 * the engine's code cache was last emptied, keyed by (pc, size); a key seen
 * with two different counts (one address in two address spaces, rewritten
 * code) is marked ambiguous, and its instructions are decoded from memory each
 * time it runs.  While no block holds a compressed instruction (pyhv's own
 * guests) the count is size / 4 and the hook never looks at the table. */
#define TBS_MIN_SLOTS 512u
#define TBS_MAX_SLOTS (1u << 18) /* 2 MiB; when half full, the code cache is flushed */

/* Instructions in `size` bytes of RISC-V code: a halfword whose low two bits are
 * 11 starts a 32-bit instruction, anything else is a 16-bit one (unprivileged
 * spec 1.5, base instruction-length encoding; rv32 has no longer formats). */
uint32_t pyhv_count_insns(const uint8_t *code, uint32_t size)
{
    uint32_t n = 0;
    for (uint32_t off = 0; off < size; n++)
        off += (code[off] & 3) == 3 ? 4 : 2;
    return n;
}

static uint32_t tb_hash(uint32_t pc, uint32_t size)
{
    uint32_t h = (pc ^ (size << 21)) * 0x9e3779b1u;
    return h ^ (h >> 16);
}

static struct pyhv_tb_entry *tb_slot(struct pyhv_vcpu *v, uint32_t pc, uint32_t size)
{
    for (uint32_t i = tb_hash(pc, size);; i++) {
        struct pyhv_tb_entry *e = &v->tbs[i & v->tbs_mask];
        if (e->size == 0 || (e->pc == pc && e->size == size))
            return e;
    }
}

static void tb_forget_all(struct pyhv_vcpu *v)
{
    if (v->tbs)
        memset(v->tbs, 0, (v->tbs_mask + 1) * sizeof *v->tbs);
    v->tbs_used = v->tbs_rvc = 0;
}

static bool tb_grow(struct pyhv_vcpu *v)
{
    uint32_t old = v->tbs ? v->tbs_mask + 1 : 0, slots = old ? 2 * old : TBS_MIN_SLOTS;
    if (slots > TBS_MAX_SLOTS)
        return false;
    struct pyhv_tb_entry *t = calloc(slots, sizeof *t), *from = v->tbs;
    if (!t)
        return false;
    v->tbs = t;
    v->tbs_mask = slots - 1;
    for (uint32_t i = 0; i < old; i++)
        if (from[i].size)
            *tb_slot(v, from[i].pc, from[i].size) = from[i];
    free(from);
    return true;
}

/* Remember that the block (pc, size) holds `insns` instructions. */
static void tb_record(struct pyhv_vcpu *v, uint32_t pc, uint32_t size, uint32_t insns)
{
    if (size == 0 || size > 0xffff || insns == 0 || insns > 0xffff)
        return;
    if (2 * (v->tbs_used + 1) > (v->tbs ? v->tbs_mask + 1 : 0) && !tb_grow(v)) {
        /* Full: flush the engine's code cache at the next stop (nothing translated
         * before is left to be ambiguous with), and meanwhile decode unknown blocks. */
        v->tbs_flush = 1;
        v->tbs_rvc++;
        uc.emu_stop(v->uc);
        return;
    }
    struct pyhv_tb_entry *e = tb_slot(v, pc, size);
    bool was_rvc = e->size && e->insns != size >> 2;
    if (e->size == 0) {
        e->pc = pc;
        e->size = (uint16_t)size;
        e->insns = (uint16_t)insns;
        v->tbs_used++;
    } else if (e->insns != insns) {
        e->insns = 0; /* ambiguous */
    }
    v->tbs_rvc += (e->insns != size >> 2) - was_rvc;
}

/* UC_HOOK_EDGE_GENERATED: the engine translated a block (cur) and is about to
 * run it.  Also the moment to look at xtvec again: a handler's first block is
 * translated when the first trap enters it (trap.c, engine-delivered interrupts). */
static void hook_tb_new(uc_engine *u, uc_tb *cur, uc_tb *prev, void *data)
{
    struct pyhv_vcpu *v = data;
    if (v->tbs_first) {
        /* The first report: from now on every translation is reported.  Blocks
         * translated before are unknown to the table: flush them (once per engine). */
        v->tbs_first = 0;
        v->tbs_flush = 1;
        v->tbs_rvc++; /* until the flush, look up (and decode) every block */
        uc.emu_stop(u);
    }
    tb_record(v, (uint32_t)cur->pc, cur->size, cur->icount);
    vec_refresh(v);
}

/* Copy `len` bytes of code at `vaddr` as the hart fetches them now. */
int read_code(struct pyhv_vcpu *v, uint32_t vaddr, uint8_t *buf, uint32_t len)
{
    if (v->mmu_mode == PYHV_MMU_UNICORN)
        return uc.vmem_read(v->uc, vaddr, UC_PROT_EXEC, buf, len) == UC_ERR_OK ? 0 : -1;
    while (len) {
        uint32_t chunk = PAGE_SIZE - (vaddr & (PAGE_SIZE - 1));
        uint64_t gpa;
        if (chunk > len)
            chunk = len;
        if (pyhv_vcpu_translate(v, vaddr, PYHV_ACC_FETCH, &gpa) < 0)
            return -1;
        uint8_t *p = guest_ptr(v->vm, gpa, chunk);
        if (p)
            memcpy(buf, p, chunk);
        else if (uc.vmem_read(v->uc, vaddr, UC_PROT_EXEC, buf, chunk) != UC_ERR_OK)
            return -1; /* ROM is identity-mapped engine memory */
        vaddr += chunk;
        buf += chunk;
        len -= chunk;
    }
    return 0;
}

/* Instructions in the block about to run, when some block holds compressed code
 * or the engine has not reported any translation yet. */
static uint32_t block_insns(struct pyhv_vcpu *v, uint32_t pc, uint32_t size)
{
    struct pyhv_tb_entry *e = v->tbs && !v->tbs_first ? tb_slot(v, pc, size) : NULL;
    if (e && e->size && e->insns)
        return e->insns;
    uint8_t code[2 * PAGE_SIZE];
    uint32_t n = size >> 2; /* unreadable code cannot happen for a block that runs */
    if (size <= sizeof code && read_code(v, pc, code, size) == 0)
        n = pyhv_count_insns(code, size);
    return n ? n : 1;
}

/* ---- the block hook ------------------------------------------------------ */

/* UC_HOOK_BLOCK, called before each translated block runs.  Counting here costs
 * 7-10 % of raw speed on compiled code (engine facts, costs). */
static void hook_block(uc_engine *u, uint64_t address, uint32_t size, void *data)
{
    struct pyhv_vcpu *v = data;
    uint32_t pc = (uint32_t)address;
    uint64_t n = (v->tbs_rvc | v->tbs_first) ? block_insns(v, pc, size) : size >> 2;
    v->progress = 1;
    if (vec_candidate(v, pc))
        engine_irq_check(v, pc);
    if (v->insns + n < v->next_event) {
        v->insns += n;
        return;
    }
    if (v->pmp_step && v->pmp_step++ > 1) {
        /* The stepped instruction is done (it jumped, or trapped to a handler). */
        reg_set(u, UC_RISCV_REG_PC, pc);
        uc.emu_stop(u);
        return;
    }
    int32_t req = __atomic_exchange_n(&v->exit_request, 0, __ATOMIC_SEQ_CST);
    if (req || v->insns >= v->stop_at) {
        /* Rewriting PC skips this block (engine facts §10): it runs, and is counted, on resume. */
        v->exit_reason = req ? req : PYHV_EXIT_BUDGET;
        v->exit_pc = pc;
        reg_set(u, UC_RISCV_REG_PC, pc);
        uc.emu_stop(u);
        return;
    }
    if ((v->flush_pending || v->nstale) && code_sync(v)) {
        /* This block may be translated code just dropped: writing PC skips it (engine
         * facts §10), so the engine looks it up again, and translates it anew if it was. */
        reg_set(u, UC_RISCV_REG_PC, pc);
        return;
    }
    timer_rearm(v);
    vec_refresh(v);
    if (s2_stale(v)) {
        /* Stage 2 changed under a running vCPU (another thread): drop the TLB, then
         * rewrite PC so this block, looked up through the old TLB, is looked up again
         * (engine facts §10; not honoured in the first block after emu_start, which the run
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
    v->tbs_first = 1;
    v->trap_pc = 1; /* no instruction starts at an odd address */
    timer_rearm(v);
    if (uc.hook_add(u, &h, UC_HOOK_BLOCK, (void *)hook_block, v, 1, 0) != UC_ERR_OK)
        return -1;
    if (uc.hook_add(u, &h, UC_HOOK_EDGE_GENERATED, (void *)hook_tb_new, v, 1, 0) != UC_ERR_OK)
        return -6;
    if (uc.hook_add(u, &h, UC_HOOK_INTR, (void *)hook_intr, v, 1, 0) != UC_ERR_OK)
        return -2;
    if (uc.hook_add(u, &h, UC_HOOK_INSN_INVALID, (void *)hook_insn_invalid, v, 1, 0) != UC_ERR_OK)
        return -3;
    if (v->mmu_mode == PYHV_MMU_PYHV && uc.hook_add(u, &h, UC_HOOK_TLB_FILL, (void *)tlb_fill, v, 1, 0) != UC_ERR_OK)
        return -4;
    if (v->mmu_mode != PYHV_MMU_PYHV &&
        uc.hook_add(u, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, (void *)hook_mem_invalid, v, 1, 0) != UC_ERR_OK)
        return -7;
    uc_context *ctx; /* badaddr (Unicorn-MMU faults) and the PMP registers are read from it */
    if (uc.context_alloc(u, &ctx) != UC_ERR_OK)
        return -5;
    v->ctx = ctx;
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

/* Drop the translated code of the page holding vaddr (for a PMP step). */
static void drop_code_at(struct pyhv_vcpu *v, uint32_t vaddr)
{
    uint64_t gpa;
    uint32_t hfn, perms;
    if (pyhv_vcpu_translate(v, vaddr, PYHV_ACC_FETCH, &gpa) < 0)
        return; /* nothing to run there: the fetch faults */
    if (gpa - v->vm->ram_base < (uint64_t)v->vm->ram_frames << PAGE_SHIFT) {
        if (pyhv_vm_s2_lookup(v->vm, (uint32_t)gpa, PYHV_ACC_FETCH, 0, &hfn, &perms) == 0)
            pyhv_vcpu_invalidate(v, hfn, 1);
    } else { /* ROM: identity-mapped engine memory outside the pool */
        uc.ctl(v->uc, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0));
    }
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
        code_sync(v);
        if (v->tbs_flush) {
            v->tbs_flush = 0;
            uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0));
            tb_forget_all(v);
        }
        timer_rearm(v);
        vec_refresh(v);
        if (v->slines_dirty)
            apply_slines(v);
        if (v->vmip && m_interrupt_take(v, pc))
            pc = reg_get(u, UC_RISCV_REG_PC);
        v->exit_reason = PYHV_EXIT_NONE;
        v->resume_ok = 0;
        v->fault_cause = -1;
        v->counters[PYHV_CNT_EMU_START]++;
        uint64_t until = 1; /* never a PC: run until stopped */
        uint32_t insn = 0;
        bool stepped = v->pmp_step;
        if (stepped) {
            /* One instruction: stop at the next one, or at the next block (hook_block).
             * An exit address only ends blocks translated after it is set, so the
             * code already translated from pc goes first. */
            until = pc + (read_insn(v, pc, &insn) == 0 && (insn & 3) != 3 ? 2 : 4);
            drop_code_at(v, pc);
        }
        /* running, then the generation (pyhv_vm_s2_changed does the opposite): either
         * it waits for our flush, or we see its change here and flush first.  running
         * also tells pyhv_vcpu_stop that the engine may be kicked. */
        __atomic_store_n(&v->running, 1, __ATOMIC_SEQ_CST);
        if (s2_stale(v))
            s2_sync(v);
        set_current_vcpu(v);
        uc_err err = uc.emu_start(u, pc, until, 0, 0);
        set_current_vcpu(NULL);
        __atomic_store_n(&v->running, 0, __ATOMIC_SEQ_CST);
        pc = reg_get(u, UC_RISCV_REG_PC);
        if (stepped) {
            v->pmp_step = 0;
            pyhv_vcpu_flush_tlb(v); /* the entry filled for one access goes */
            update_next_event(v);
        }
        if (v->exit_reason != PYHV_EXIT_NONE)
            return finish(v, v->exit_reason, v->exit_pc);
        /* pyhv_vcpu_stop kicked the engine from another thread between two blocks:
         * PC is the next block, not yet counted. */
        req = __atomic_exchange_n(&v->exit_request, 0, __ATOMIC_SEQ_CST);
        if (req)
            return finish(v, req, pc);
        if (v->tbs_flush)
            continue; /* the table of blocks is full (tb_record): flush, then go on */
        if (err == UC_ERR_EXCEPTION && v->fault_cause == PMP_STEP) {
            v->fault_cause = -1;
            v->pmp_step = 1;
            pyhv_vcpu_flush_tlb(v);
            continue;
        }
        if (stepped && (err == UC_ERR_OK || (err == UC_ERR_EXCEPTION && v->resume_ok)))
            continue;
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
        /* emu_start returned by itself after a wfi (engine facts §3: PC past it; the
         * status is UC_ERR_OK, or UC_ERR_EXCEPTION in UC_TLB_VIRTUAL mode). */
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

/* What mmu.c's fill hook found stale: drop translated code of the frames in
 * stale_hfn (flushing the TLB on the way), else flush the TLB if asked.  Returns
 * true if code was dropped. */
bool code_sync(struct pyhv_vcpu *v)
{
    uc_engine *u = v->uc;
    uint32_t n = __atomic_exchange_n(&v->nstale, 0, __ATOMIC_SEQ_CST); /* pyhv_vcpu_invalidate may set it */
    if (n == 0) {
        if (v->flush_pending) {
            v->flush_pending = 0;
            pyhv_vcpu_flush_tlb(v);
        }
        return false;
    }
    v->flush_pending = 0;
    v->counters[PYHV_CNT_TB_INVAL] += n;
    if (n > PYHV_MAX_STALE) {
        pyhv_vcpu_flush_tlb(v);
        uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0));
        return true;
    }
    pyhv_vcpu_flush_tlb(v);
    v->identity_fill = 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t start = v->vm->pool->uc_base + ((uint64_t)v->stale_hfn[i] << PAGE_SHIFT);
        uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), start, start + PAGE_SIZE);
    }
    v->identity_fill = 0;
    pyhv_vcpu_flush_tlb(v);
    return true;
}

/* Drop translated code for host frames [hfn, hfn + n) after a host-side write.
 * Unicorn's cache removal takes a *virtual* address and translates it through the
 * TLB (uc_invalidate_tb), so for the duration the fill hook maps the frames'
 * engine addresses onto themselves (identity_fill); the TLB is flushed before and
 * after, so no such mapping is ever visible to the guest. */
int pyhv_vcpu_invalidate(struct pyhv_vcpu *v, uint32_t hfn, uint32_t nframes)
{
    uc_engine *u = v->uc;
    if (__atomic_load_n(&v->running, __ATOMIC_SEQ_CST) && current_vcpu() != v) {
        /* The vCPU is inside its engine on another thread, and an engine may only be
         * touched from its own thread: it drops all of its translated code itself
         * before its next block (code_sync; a TLB shootdown that follows waits for it). */
        __atomic_store_n(&v->nstale, PYHV_MAX_STALE + 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&v->next_event, 0, __ATOMIC_SEQ_CST);
        return 0;
    }
    v->counters[PYHV_CNT_TB_INVAL] += nframes;
    if (v->mmu_mode == PYHV_MMU_UNICORN || nframes > 64) {
        tb_forget_all(v); /* no block translated before is left */
        return uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0)) == UC_ERR_OK ? 0 : -1;
    }
    uint64_t start = v->vm->pool->uc_base + ((uint64_t)hfn << PAGE_SHIFT);
    uint64_t end = start + ((uint64_t)nframes << PAGE_SHIFT);
    pyhv_vcpu_flush_tlb(v);
    v->identity_fill = 1;
    uc_err err = uc.ctl(u, UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), start, end);
    v->identity_fill = 0;
    pyhv_vcpu_flush_tlb(v);
    return err == UC_ERR_OK ? 0 : -1;
}
