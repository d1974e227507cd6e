/* mmu.c: the two-stage MMU.  Stage 1 is the guest's Sv32 page table (privileged
 * spec 4.3), stage 2 maps guest-physical RAM frames to host frames of the pool
 * (the job RISC-V's G-stage or x86 EPT does in hardware).  tlb_fill is Unicorn's
 * UC_HOOK_TLB_FILL in UC_TLB_VIRTUAL mode: every guest TLB miss lands here.
 * The readable twin of this file is pyhv/mmu.py; tests hold them equal.
 */
#include "core.h"
#include <sched.h>

#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_X 0x08u
#define PTE_U 0x10u
#define PTE_A 0x40u
#define PTE_D 0x80u

uint32_t fault_cause(int access, bool page_fault)
{
    /* page faults 12/13/15, access faults 1/5/7 (privileged spec table 3.6) */
    if (access == PYHV_ACC_FETCH)
        return page_fault ? 12 : 1;
    if (access == PYHV_ACC_WRITE)
        return page_fault ? 15 : 7;
    return page_fault ? 13 : 5;
}

static void pool_lock(struct pyhv_pool *p)
{
    while (__atomic_exchange_n(&p->lock, 1, __ATOMIC_ACQUIRE))
        ;
}

static void pool_unlock(struct pyhv_pool *p)
{
    __atomic_store_n(&p->lock, 0, __ATOMIC_RELEASE);
}

int pyhv_pool_init(struct pyhv_pool *p)
{
    p->lock = 0;
    return 0;
}

/* Hand out a frame to `owner`.  Frames are scrubbed when their last reference
 * goes, so a frame off the free stack is already zero.  Returns the frame
 * number, or -1 when the pool is empty. */
int64_t pyhv_pool_alloc(struct pyhv_pool *p, int32_t owner)
{
    int64_t hfn = -1;
    pool_lock(p);
    if (p->nfree > 0) {
        hfn = p->free_stack[--p->nfree];
        p->owner[hfn] = owner;
        p->refs[hfn] = 1;
    }
    pool_unlock(p);
    return hfn;
}

/* Drop one reference; the last one scrubs the frame and gives it back, so no
 * data ever crosses from one owner to the next. */
int pyhv_pool_free(struct pyhv_pool *p, uint32_t hfn)
{
    if (hfn >= p->nframes || p->owner[hfn] == PYHV_OWNER_FREE)
        return -1;
    pool_lock(p);
    bool last = --p->refs[hfn] == 0;
    if (last) {
        memset(p->mem + (uint64_t)hfn * PAGE_SIZE, 0, PAGE_SIZE);
        p->owner[hfn] = PYHV_OWNER_FREE;
        p->free_stack[p->nfree++] = hfn;
    }
    pool_unlock(p);
    return 0;
}

/* One more read-only reference to hfn: from now on it is shared (and never written). */
int pyhv_pool_share(struct pyhv_pool *p, uint32_t hfn)
{
    if (hfn >= p->nframes || p->owner[hfn] == PYHV_OWNER_FREE)
        return -1;
    pool_lock(p);
    p->refs[hfn]++;
    p->owner[hfn] = PYHV_OWNER_SHARED;
    pool_unlock(p);
    return 0;
}

/* A write to a COW entry: the last reference takes the frame back as private;
 * otherwise the VM gets its own copy.  Returns the new entry, 0 if out of frames.
 * The caller drops the VM's reference to the old frame once no vCPU can reach it. */
static uint32_t cow_break(struct pyhv_vm *vm, uint32_t e)
{
    struct pyhv_pool *p = vm->pool;
    uint32_t old = e >> PAGE_SHIFT, rwx = PYHV_S2_V | PYHV_S2_R | PYHV_S2_W | PYHV_S2_X;
    pool_lock(p);
    if (p->refs[old] == 1) {
        p->owner[old] = vm->id;
        pool_unlock(p);
        return (old << PAGE_SHIFT) | rwx;
    }
    pool_unlock(p);
    int64_t hfn = pyhv_pool_alloc(p, vm->id);
    if (hfn < 0)
        return 0;
    memcpy(p->mem + (uint64_t)hfn * PAGE_SIZE, p->mem + (uint64_t)old * PAGE_SIZE, PAGE_SIZE);
    return ((uint32_t)hfn << PAGE_SHIFT) | rwx;
}

/* ---- translated-code coherence ------------------------------------------------
 *
 * The engine keeps translated code per host frame and watches stores for it only
 * through a TLB entry armed for it (TLB_NOTDIRTY).  Unicorn stubs QEMU's dirty
 * bitmap, so a store through an entry *without* X disarms that entry after its first
 * store (cputlb.c notdirty_write), and translating code re-arms only entries at the
 * code's own virtual page (translate-all.c tb_gen_code).  A kernel that writes a
 * process's text through its direct map of RAM (R W, no X) therefore leaves the old
 * translation in place, and a new program in the same frame at the same virtual
 * address runs the old one.  Stores from another hart's engine are never seen at all.
 * Per RAM frame, a bit per hart (struct pyhv_vm) says who may hold code, writable
 * entries and writable non-executable entries; the fill hook keeps two rules:
 *   - a hart holding code from a frame holds no writable entry for it that the
 *     engine would not check (its own entries with X always check), and
 *   - when any hart is granted a store, every other hart's code from the frame goes.
 * Dropped code and flushed TLBs take effect at the next block boundary (vcpu.c
 * code_sync), before any translated block of the frame runs again.  Stores are then
 * coherent with instruction fetch on every hart, which the ISA allows (Zifencei:
 * fence.i orders them; a coherent hart needs no more), so the engine's fence.i,
 * a no-op that ends the block, is right as it is. */

/* Hart h drops the translated code of frame hfn before its next block. */
static void code_stale(struct pyhv_vm *vm, int h, uint32_t hfn)
{
    struct pyhv_vcpu *v = vm->harts[h];
    if (!v)
        return;
    for (uint32_t i = 0; i < v->nstale && i < PYHV_MAX_STALE; i++)
        if (v->stale_hfn[i] == hfn)
            return;
    if (v->nstale < PYHV_MAX_STALE)
        v->stale_hfn[v->nstale] = hfn;
    if (v->nstale <= PYHV_MAX_STALE)
        v->nstale++; /* past the list: all of its translated code goes */
    v->next_event = 0;
}

static void flush_harts(struct pyhv_vm *vm, uint8_t harts)
{
    for (int h = 0; harts; h++, harts >>= 1)
        if ((harts & 1) && vm->harts[h]) {
            vm->harts[h]->flush_pending = 1;
            vm->harts[h]->next_event = 0;
        }
}

/* The frame behind guest frame gfn leaves it (copy-on-write break): its code goes
 * everywhere, or it could run again should the frame come back to this VM. */
static void code_forget(struct pyhv_vm *vm, uint32_t gfn, uint32_t hfn)
{
    for (int h = 0; h < PYHV_MAX_HARTS; h++)
        if (vm->code_harts[gfn] & (1u << h))
            code_stale(vm, h, hfn);
    vm->code_harts[gfn] = 0;
}

/* A fill grants `perms` on RAM frame gfn (host frame hfn) to hart v for `access`;
 * returns the perms to install.  The rules are in the comment above. */
static uint32_t code_coherence(struct pyhv_vcpu *v, uint32_t gfn, uint32_t hfn, uint32_t perms, int access)
{
    struct pyhv_vm *vm = v->vm;
    uint8_t me = (uint8_t)(1u << v->hart_id);
    if (perms & PROT_W) {
        /* whose code a store may change unseen: everyone else's, and ours through an entry without X */
        uint8_t stale = vm->code_harts[gfn] & (perms & PROT_X ? (uint8_t)~me : 0xff);
        if (stale && access != PYHV_ACC_WRITE) {
            perms &= ~PROT_W; /* a read keeps the code; the first store comes back here */
        } else {
            for (int h = 0; h < PYHV_MAX_HARTS; h++)
                if (stale & (1u << h))
                    code_stale(vm, h, hfn); /* for us, that flushes this entry too */
            vm->code_harts[gfn] &= (uint8_t)~stale;
            vm->write_harts[gfn] |= me;
            if (!(perms & PROT_X) && !(stale & me))
                vm->alias_harts[gfn] |= me;
        }
    }
    if (perms & PROT_X) {
        vm->code_harts[gfn] |= me;
        /* writable entries whose stores would not reach this code: flush them */
        uint8_t flush = (uint8_t)((vm->write_harts[gfn] & ~me) | (vm->alias_harts[gfn] & me));
        flush_harts(vm, flush);
        vm->write_harts[gfn] &= (uint8_t)~(flush & ~me);
        vm->alias_harts[gfn] &= (uint8_t)~flush;
    }
    return perms;
}

/* ---- TLB shootdown ------------------------------------------------------------
 * Every vCPU caches translations that end in a host frame.  When a stage-2 entry
 * loses its frame or a permission, each vCPU of the VM must drop its TLB before it
 * executes another instruction, and the old frame may change hands only after
 * that (on real hardware: an IPI to every hart, and the initiator waits for the
 * acknowledgements).  vCPUs that are stopped flush when they next enter the
 * engine; a vCPU inside the engine on another thread is made to look at its next
 * block (next_event = 0; a loop that always hits its TLB still passes the block
 * hook) and the initiator waits until it has flushed.  Unicorn's TLB may only be
 * flushed on the engine's own thread, so each vCPU flushes itself. */

static __thread struct pyhv_vcpu *cur_vcpu; /* the vCPU inside emu_start on this thread */

void set_current_vcpu(struct pyhv_vcpu *v)
{
    cur_vcpu = v;
}

struct pyhv_vcpu *current_vcpu(void)
{
    return cur_vcpu;
}

bool s2_stale(struct pyhv_vcpu *v)
{
    return __atomic_load_n(&v->s2_seen, __ATOMIC_SEQ_CST) != __atomic_load_n(&v->vm->s2_gen, __ATOMIC_SEQ_CST);
}

/* Drop v's TLB and acknowledge the generation it now reflects (on v's thread). */
void s2_sync(struct pyhv_vcpu *v)
{
    uint32_t gen = __atomic_load_n(&v->vm->s2_gen, __ATOMIC_SEQ_CST);
    pyhv_vcpu_flush_tlb(v);
    __atomic_store_n(&v->s2_seen, gen, __ATOMIC_SEQ_CST);
}

/* Called after a change to vm's stage 2 that takes something away, before the
 * frame it took goes to anyone else.  Returns once no vCPU of vm can use a
 * translation made before the change. */
void pyhv_vm_s2_changed(struct pyhv_vm *vm)
{
    uint32_t gen = __atomic_add_fetch(&vm->s2_gen, 1, __ATOMIC_SEQ_CST);
    struct pyhv_vcpu *self = cur_vcpu;
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        __atomic_store_n(&vm->vcpus[i]->next_event, 0, __ATOMIC_SEQ_CST);
    if (self && self->vm == vm)
        s2_sync(self); /* inside our own hook or MMIO callback: the engine allows it */
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct pyhv_vcpu *v = vm->vcpus[i];
        while (v != self && __atomic_load_n(&v->running, __ATOMIC_SEQ_CST) &&
               (int32_t)(__atomic_load_n(&v->s2_seen, __ATOMIC_SEQ_CST) - gen) < 0) {
            if (self && s2_stale(self))
                s2_sync(self); /* two shootdowns crossing: answer theirs while we wait for ours */
            sched_yield();
        }
    }
}

/* Stage 2: guest-physical -> engine-physical.  RAM goes through the s2 table
 * (allocating a zero frame on first touch when `demand`), ROM and MMIO windows
 * are identity-mapped.  Returns 0, -1 for "no memory here" (an access fault), or
 * STAGE2_OOM when a frame was needed and none could be had (the host's problem,
 * not the guest's: the vCPU exits and retries the access once memory is back). */
int stage2(struct pyhv_vm *vm, uint64_t gpa, int access, int demand, uint32_t *engine_pa, uint32_t *perms)
{
    uint64_t off = gpa - vm->ram_base;
    if (gpa >= vm->ram_base && off < (uint64_t)vm->ram_frames << PAGE_SHIFT) {
        uint32_t gfn = (uint32_t)(off >> PAGE_SHIFT);
        uint32_t e = vm->s2[gfn];
        if (!(e & PYHV_S2_V)) {
            if (!demand)
                return -1;
            if (vm->frames_owned >= vm->frame_limit)
                return STAGE2_OOM;
            int64_t hfn = pyhv_pool_alloc(vm->pool, vm->id);
            if (hfn < 0)
                return STAGE2_OOM;
            e = ((uint32_t)hfn << PAGE_SHIFT) | PYHV_S2_V | PYHV_S2_R | PYHV_S2_W | PYHV_S2_X;
            vm->s2[gfn] = e;
            vm->frames_owned++;
        } else if ((e & PYHV_S2_COW) && access == PYHV_ACC_WRITE && demand) {
            uint32_t old = e >> PAGE_SHIFT;
            e = cow_break(vm, e);
            if (!e)
                return STAGE2_OOM;
            if (e >> PAGE_SHIFT != old)
                code_forget(vm, gfn, old);
            vm->s2[gfn] = e;
            vm->cow_breaks++;
            if (e >> PAGE_SHIFT != old) {
                pyhv_vm_s2_changed(vm);
                pyhv_pool_free(vm->pool, old); /* our reference; the other VMs still hold it */
            }
        }
        *engine_pa = vm->pool->uc_base + (e & ~0xfffu) + (uint32_t)(off & 0xfff);
        *perms = (e >> 1) & 7u; /* S2_R/W/X sit one bit above PROT_R/W/X */
        return 0;
    }
    for (uint32_t i = 0; i < vm->nwindows; i++) {
        struct pyhv_window *w = &vm->windows[i];
        if (gpa >= w->base && gpa - w->base < w->size) {
            *engine_pa = (uint32_t)gpa;
            *perms = w->perms;
            return 0;
        }
    }
    return -1;
}

int pyhv_vm_s2_lookup(struct pyhv_vm *vm, uint32_t gpa, int access, int demand, uint32_t *hfn, uint32_t *perms)
{
    uint32_t epa;
    if (stage2(vm, gpa, access, demand, &epa, perms) < 0)
        return -1;
    *hfn = (epa - vm->pool->uc_base) >> PAGE_SHIFT;
    return 0;
}

/* Host pointer to guest RAM at gpa, or NULL if [gpa, gpa+len) is not one present RAM frame. */
uint8_t *guest_ptr(struct pyhv_vm *vm, uint64_t gpa, uint32_t len)
{
    uint64_t off = gpa - vm->ram_base;
    if (gpa < vm->ram_base || off >= (uint64_t)vm->ram_frames << PAGE_SHIFT)
        return NULL;
    if ((off & 0xfff) + len > PAGE_SIZE)
        return NULL;
    uint32_t e = vm->s2[off >> PAGE_SHIFT];
    if (!(e & PYHV_S2_V))
        return NULL;
    return vm->pool->mem + (e & ~0xfffu) + (off & 0xfff);
}

/* ---- physical memory protection (privileged spec 3.7) ----------------------- */

#define PMP_L 0x80u
#define PMP_A_SHIFT 3
#define PMP_TOR 1u
#define PMP_NA4 2u
#define PMP_NAPOT 3u

/* The bytes entry i matches, [*lo, *hi) of the 34-bit physical space (3.7.1.3).
 * Returns 0 for an entry that matches nothing (OFF, or TOR with an empty range). */
static int pmp_range(const struct pyhv_pmp *p, int i, uint64_t *lo, uint64_t *hi)
{
    uint32_t a = (p->cfg[i] >> PMP_A_SHIFT) & 3, y = p->addr[i];
    if (a == PMP_TOR) {
        *lo = i ? (uint64_t)p->addr[i - 1] << 2 : 0;
        *hi = (uint64_t)y << 2;
        return *lo < *hi;
    }
    if (a == PMP_NA4) {
        *lo = (uint64_t)y << 2;
        *hi = *lo + 4;
        return 1;
    }
    if (a == PMP_NAPOT) {
        /* pmpaddr = base/4 with k trailing ones: a 2^(k+3)-byte naturally aligned range */
        int ones = y == 0xffffffffu ? 32 : __builtin_ctz(~y);
        uint64_t size = 1ull << (ones + 3);
        *lo = ((uint64_t)y << 2) & ~(size - 1);
        *hi = *lo + size;
        return 1;
    }
    return 0;
}

/* R/W/X of entry i at privilege priv: its own bits as the engine keeps them (the
 * reserved W-without-R too), except that M-mode ignores an entry whose L bit is
 * clear (3.7.1.2).  PMP's R/W/X are the PROT_* bits. */
static uint32_t pmp_entry_perms(const struct pyhv_pmp *p, int i, int priv)
{
    if (priv == 3 && !(p->cfg[i] & PMP_L))
        return PROT_R | PROT_W | PROT_X;
    return p->cfg[i] & 7u;
}

/* What no entry matches: M-mode may, S and U may not once any entry exists (3.7.1). */
static uint32_t pmp_default(const struct pyhv_pmp *p, int priv)
{
    return priv == 3 || !p->nentries ? PROT_R | PROT_W | PROT_X : 0;
}

/* The PROT bits an access of len bytes at addr may use at privilege priv: the
 * lowest-numbered entry matching any byte decides, and must match every byte. */
uint32_t pyhv_pmp_perms(const struct pyhv_pmp *p, int priv, uint64_t addr, uint32_t len)
{
    for (uint32_t i = 0; i < p->nentries; i++) {
        uint64_t lo, hi;
        if (!pmp_range(p, (int)i, &lo, &hi) || addr + len <= lo || addr >= hi)
            continue;
        return lo <= addr && addr + len <= hi ? pmp_entry_perms(p, (int)i, priv) : 0;
    }
    return pmp_default(p, priv);
}

/* The same decision for a whole 4 KiB page, for a TLB entry: returns 1 with *perms
 * when one answer holds for every byte of it, 0 when the page is cut by an entry
 * boundary (a region finer than a page): then each access must be checked alone. */
int pyhv_pmp_page(const struct pyhv_pmp *p, int priv, uint64_t page, uint32_t *perms)
{
    for (uint32_t i = 0; i < p->nentries; i++) {
        uint64_t lo, hi;
        if (!pmp_range(p, (int)i, &lo, &hi) || page + PAGE_SIZE <= lo || page >= hi)
            continue;
        *perms = pmp_entry_perms(p, (int)i, priv);
        return lo <= page && page + PAGE_SIZE <= hi;
    }
    *perms = pmp_default(p, priv);
    return 1;
}

/* The engine keeps pmpcfg/pmpaddr (the guest writes them with csrw; Unicorn has no
 * register IDs for them), so copy them out of a saved context: pmp_state starts
 * with 16 {uint32 addr_reg; uint8 cfg_reg;} entries, 8 bytes apart (pyhv/vcpu.py
 * finds the offset at start-up).  One memcpy of the CPU state, cheaper than the
 * register reads a fill already makes. */
static void pmp_load(struct pyhv_vcpu *v)
{
    if (uc.context_save(v->uc, v->ctx) != UC_ERR_OK)
        return;
    const uint8_t *s = (const uint8_t *)v->ctx + v->pmp_off;
    for (int i = 0; i < PYHV_PMP_ENTRIES; i++) {
        memcpy(&v->pmp.addr[i], s + 8 * i, 4);
        v->pmp.cfg[i] = s[8 * i + 4];
    }
}

/* Read a PTE: a RAM frame never touched reads as zero; outside RAM -> access fault. */
static int pte_read(struct pyhv_vm *vm, uint64_t gpa, uint32_t *pte)
{
    uint64_t off = gpa - vm->ram_base;
    if (gpa < vm->ram_base || off >= (uint64_t)vm->ram_frames << PAGE_SHIFT)
        return -1;
    uint8_t *p = guest_ptr(vm, gpa, 4);
    if (p)
        memcpy(pte, p, 4);
    else
        *pte = 0;
    return 0;
}

/* Sv32 walk, privileged spec 4.3.2, for one access at privilege `priv`.
 * A/D policy: hardware updates them (spec 4.3.1 allows either) when update_ad.
 * Sv32 virtual address: 31..22 VPN[1] | 21..12 VPN[0] | 11..0 offset.
 * PTE: 31..20 PPN[1] | 19..10 PPN[0] | 9..8 RSW | D A G U X W R V. */
int pyhv_sv32_translate(struct pyhv_vm *vm, uint32_t satp, uint32_t mstatus, int priv, uint32_t vaddr, int access,
                        int update_ad, struct pyhv_translation *out)
{
    return pyhv_sv32_translate_pmp(vm, NULL, satp, mstatus, priv, vaddr, access, update_ad, out);
}

/* The walk's own reads and A/D stores are S-mode accesses for PMP (3.7.1): a PTE
 * the hart may not touch is an access fault of the original access type (4.3.2). */
int pyhv_sv32_translate_pmp(struct pyhv_vm *vm, const struct pyhv_pmp *pmp, uint32_t satp, uint32_t mstatus,
                            int priv, uint32_t vaddr, int access, int update_ad, struct pyhv_translation *out)
{
    out->ok = 0;
    out->gpa = 0;
    out->perms = 0;
    out->cause = -1;
    if (access != PYHV_ACC_FETCH && priv == 3 && (mstatus & MSTATUS_MPRV))
        priv = (mstatus >> 11) & 3;
    if (priv == 3 || !(satp >> 31)) {
        out->ok = 1;
        out->gpa = vaddr & ~0xfffu;
        out->perms = PROT_R | PROT_W | PROT_X;
        return 0;
    }
    uint64_t a = (uint64_t)(satp & 0x3fffff) << PAGE_SHIFT;
    uint64_t pte_addr = 0;
    uint32_t pte = 0;
    int level;
    for (level = 1;; level--) {
        uint32_t vpn = level ? vaddr >> 22 : (vaddr >> 12) & 0x3ff;
        pte_addr = a + vpn * 4;
        if ((pmp && !(pyhv_pmp_perms(pmp, 1, pte_addr, 4) & PROT_R)) || pte_read(vm, pte_addr, &pte) < 0) {
            out->cause = fault_cause(access, false);
            return -1;
        }
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)))
            goto page_fault;
        if (pte & (PTE_R | PTE_X))
            break;
        if (level == 0)
            goto page_fault;
        a = (uint64_t)(pte >> 10) << PAGE_SHIFT;
    }
    bool sum = mstatus & MSTATUS_SUM, mxr = mstatus & MSTATUS_MXR;
    if (pte & PTE_U) {
        if (priv == 1 && (access == PYHV_ACC_FETCH || !sum))
            goto page_fault;
    } else if (priv == 0) {
        goto page_fault;
    }
    bool readable = (pte & PTE_R) || (mxr && (pte & PTE_X));
    if ((access == PYHV_ACC_FETCH && !(pte & PTE_X)) || (access == PYHV_ACC_READ && !readable) ||
        (access == PYHV_ACC_WRITE && !(pte & PTE_W)))
        goto page_fault;
    if (level == 1 && ((pte >> 10) & 0x3ff))
        goto page_fault; /* misaligned superpage */
    uint32_t want = PTE_A | (access == PYHV_ACC_WRITE ? PTE_D : 0);
    if ((pte & want) != want) {
        if (pmp && !(pyhv_pmp_perms(pmp, 1, pte_addr, 4) & PROT_W)) {
            out->cause = fault_cause(access, false);
            return -1;
        }
        pte |= want;
        if (update_ad) {
            /* The A/D store is a write at stage 2 (as in the H extension): a shared
             * (copy-on-write) page-table frame is copied first, never written. */
            uint32_t epa, s2perms;
            int s2 = stage2(vm, pte_addr, PYHV_ACC_WRITE, 1, &epa, &s2perms);
            uint8_t *p = s2 == 0 && (s2perms & PROT_W) ? guest_ptr(vm, pte_addr, 4) : NULL;
            if (p)
                memcpy(p, &pte, 4);
        }
    }
    uint64_t ppn = pte >> 10;
    out->gpa = level ? ((ppn >> 10) << 22) | (vaddr & 0x3ff000u) : ppn << PAGE_SHIFT;
    out->perms = (readable ? PROT_R : 0) | ((pte & PTE_W) && (pte & PTE_D) ? PROT_W : 0) | (pte & PTE_X ? PROT_X : 0);
    if ((pte & PTE_U) && priv == 1)
        out->perms &= ~PROT_X;
    out->ok = 1;
    return 0;
page_fault:
    out->cause = fault_cause(access, true);
    return -1;
}

static int access_of(uc_mem_type type)
{
    if (type == UC_MEM_FETCH || type == UC_MEM_FETCH_PROT || type == UC_MEM_FETCH_UNMAPPED)
        return PYHV_ACC_FETCH;
    if (type == UC_MEM_WRITE || type == UC_MEM_WRITE_PROT || type == UC_MEM_WRITE_UNMAPPED)
        return PYHV_ACC_WRITE;
    return PYHV_ACC_READ;
}

/* PMP for a fill of the guest-physical page gpa (vpage: its virtual page).  A page
 * with one answer for every byte gets a TLB entry with those permissions.  A page
 * cut by a PMP boundary must not be cached whole (3.7.1: each access is checked):
 * the first fill returns 1 and the run loop steps that one instruction (pmp_step),
 * whose fill then decides for its exact bytes, and drops the entry afterwards. */
static int pmp_fill(struct pyhv_vcpu *v, int priv, uint64_t gpa, uint32_t vpage, int access, uint32_t *perms)
{
    if (pyhv_pmp_page(&v->pmp, priv, gpa, perms))
        return 0;
    if (!v->pmp_step)
        return 1;
    uint32_t pc = reg_get(v->uc, UC_RISCV_REG_PC), insn = 0, addr = pc, len = 4;
    bool known = read_insn(v, pc, &insn) == 0;
    if (access == PYHV_ACC_FETCH)
        len = known && (insn & 3) != 3 ? 2 : 4;
    else
        known = known && insn_mem_access(v, insn, &addr, &len);
    uint64_t lo = addr > vpage ? addr : vpage, hi = (uint64_t)addr + len;
    if (hi > (uint64_t)vpage + PAGE_SIZE)
        hi = (uint64_t)vpage + PAGE_SIZE;
    if (!known || lo >= hi) {
        *perms = 0; /* an access the core cannot place on this page: refused */
        return 0;
    }
    *perms = pyhv_pmp_perms(&v->pmp, priv, gpa + (lo - vpage), (uint32_t)(hi - lo));
    return 0;
}

/* UC_HOOK_TLB_FILL: called by Unicorn on every TLB miss, with vaddr page-aligned.
 * Refusing the fill makes emu_start return UC_ERR_EXCEPTION with PC at the faulting
 * instruction (engine facts §5); the run loop then delivers fault_cause. */
bool tlb_fill(uc_engine *u, uint64_t vaddr, uc_mem_type type, uc_tlb_entry *e, void *data)
{
    struct pyhv_vcpu *v = data;
    if (v->identity_fill) {
        e->paddr = vaddr;
        e->perms = UC_PROT_ALL;
        return true;
    }
    int access = access_of(type);
    int update = 1, demand = 1;
    if (vaddr == 0 && access == PYHV_ACC_FETCH && !v->page0_ok) {
        /* uc_emu_start drops any translated code at its stop address (PC 1, page 0)
         * through a fetch translation, before and after running.  Answer such a
         * probe without side effects (no A bit set, no frame allocated); a real
         * fetch that needs them comes back through the run loop (PAGE0_RETRY). */
        update = demand = 0;
    }
    int priv = (int)reg_get(u, UC_RISCV_REG_PRIV);
    uint32_t satp = 0, mstatus = csr_get(u, UC_RISCV_REG_MSTATUS);
    if (priv != 3 || (mstatus & MSTATUS_MPRV))
        satp = csr_get(u, UC_RISCV_REG_SATP);
    struct pyhv_translation t;
    uint32_t epa, s2perms, before, pmp_perms = PROT_R | PROT_W | PROT_X;
    uint32_t need = access == PYHV_ACC_FETCH ? PROT_X : access == PYHV_ACC_WRITE ? PROT_W : PROT_R;
    struct pyhv_pmp *pmp = NULL;
    int s2;
    v->counters[PYHV_CNT_TLB_FILL]++;
    if (v->pmp_off && v->pmp.nentries) {
        pmp_load(v);
        pmp = &v->pmp;
    }
    for (;;) {
        /* A copy-on-write break in the walk's A/D store or in stage 2 flushes this
         * vCPU's TLB (pyhv_vm_s2_changed): an answer computed across a flush may be
         * stale, so it is computed again. */
        uint32_t seen = v->s2_seen;
        int walked = pyhv_sv32_translate_pmp(v->vm, pmp, satp, mstatus, priv, (uint32_t)vaddr, access, update, &t);
        if (v->s2_seen != seen)
            continue;
        if (walked < 0)
            goto refuse;
        if (pmp) {
            /* PMP checks the physical address at the effective privilege (MPRV for data). */
            int ppriv = access != PYHV_ACC_FETCH && priv == 3 && (mstatus & MSTATUS_MPRV) ? (int)(mstatus >> 11) & 3
                                                                                           : priv;
            pmp_perms = PROT_R | PROT_W | PROT_X;
            if (pmp_fill(v, ppriv, t.gpa, (uint32_t)vaddr, access, &pmp_perms)) {
                if (!update)
                    goto refuse; /* a probe: a real fetch comes back and steps */
                v->fault_cause = PMP_STEP;
                v->fault_page = (uint32_t)vaddr;
                return false;
            }
            if (!(pmp_perms & need)) {
                t.cause = (int32_t)fault_cause(access, false);
                goto refuse;
            }
        }
        before = v->vm->frames_owned;
        s2 = stage2(v->vm, t.gpa, access, demand, &epa, &s2perms);
        if (v->s2_seen == seen)
            break;
    }
    if (s2 == STAGE2_OOM) {
        v->fault_cause = OOM_RETRY;
        v->fault_page = (uint32_t)vaddr;
        return false;
    }
    if (s2 < 0) {
        t.cause = (int32_t)fault_cause(access, false);
        goto refuse;
    }
    if (v->vm->frames_owned != before)
        v->counters[PYHV_CNT_DEMAND_ZERO]++;
    uint32_t perms = t.perms & s2perms & pmp_perms;
    if (!(perms & need)) {
        t.cause = (int32_t)fault_cause(access, false);
        goto refuse;
    }
    if (priv == 3 && (mstatus & MSTATUS_MPRV))
        /* Unicorn keys its TLB by privilege only: an M fetch (untranslated) and an MPRV
         * data access (translated at MPP) must not serve each other from one entry. */
        perms &= access == PYHV_ACC_FETCH ? PROT_X : (PROT_R | PROT_W);
    uint64_t ram_off = t.gpa - v->vm->ram_base;
    if (t.gpa >= v->vm->ram_base && ram_off < (uint64_t)v->vm->ram_frames << PAGE_SHIFT)
        perms = code_coherence(v, (uint32_t)(ram_off >> PAGE_SHIFT), (epa - v->vm->pool->uc_base) >> PAGE_SHIFT,
                               perms, access);
    e->paddr = epa;
    e->perms = perms;
    trace_event(v, PYHV_TRACE_MMU, (uint32_t)access, (uint32_t)vaddr, epa, (uint32_t)priv, perms);
    return true;
refuse:
    if (!update) {
        if (v->fault_cause == -1) /* never hide a real fault still to be delivered */
            v->fault_cause = PAGE0_RETRY;
        return false;
    }
    v->counters[PYHV_CNT_TLB_FAULT]++;
    trace_event(v, PYHV_TRACE_MMU, 0x100u | (uint32_t)t.cause, (uint32_t)vaddr, 0, (uint32_t)priv, 0);
    v->fault_cause = t.cause;
    v->fault_page = (uint32_t)vaddr;
    return false;
}
