/* pyhv_core.h: the interface of the C core, the only header cffi parses.
 *
 * Plain structs shared with Python (read and written through cffi/numpy views),
 * exit reasons, counter indices and the exported pyhv_* functions.  No #include,
 * no function-like macros: csrc/build.py feeds this file to cffi as is.
 */

/* Exit reasons written to vcpu->exit_reason when pyhv_vcpu_run returns. */
#define PYHV_EXIT_NONE        0
#define PYHV_EXIT_BUDGET      1  /* the instruction budget ran out */
#define PYHV_EXIT_IDLE        2  /* wfi with no interrupt pending */
#define PYHV_EXIT_BREAKPOINT  3  /* ebreak with ebreak_exits set */
#define PYHV_EXIT_SHUTDOWN    4  /* a device asked for power-off/reset (pyhv_vcpu_request_exit) */
#define PYHV_EXIT_FATAL       5  /* the guest cannot go on: see vcpu->message */
#define PYHV_EXIT_HOST        6  /* the host asked the vCPU to stop (another thread, a device) */
#define PYHV_EXIT_OOM         7  /* a guest access needs a frame the host cannot give now; PC retries it */
#define PYHV_EXIT_KINDS       8

/* Access types, as in pyhv/mmu.py. */
#define PYHV_ACC_READ   0
#define PYHV_ACC_WRITE  1
#define PYHV_ACC_FETCH  2

/* Stage-2 entry: hfn << 12 | flags.  0 = not present (demand-zero on first touch). */
#define PYHV_S2_V  1
#define PYHV_S2_R  2
#define PYHV_S2_W  4
#define PYHV_S2_X  8
#define PYHV_S2_COW 16  /* a shared frame, mapped read-only: a write copies it (KSM semantics) */

/* pool->owner[] values besides a VM id. */
#define PYHV_OWNER_FREE   -1
#define PYHV_OWNER_SHARED -2     /* referenced read-only (COW) by refs[] stage-2 entries */

/* Counter indices into vcpu->counters (uint64). */
#define PYHV_CNT_EXIT        0   /* + exit reason, PYHV_EXIT_KINDS slots */
#define PYHV_CNT_EXC         8   /* + exception cause 0..15 */
#define PYHV_CNT_IRQ         24  /* + interrupt cause 0..15 */
#define PYHV_CNT_TLB_FILL    40
#define PYHV_CNT_TLB_FAULT   41
#define PYHV_CNT_DEMAND_ZERO 42  /* frames handed out on first touch */
#define PYHV_CNT_RDTIME      43  /* emulated time/cycle/instret reads */
#define PYHV_CNT_WFI         44
#define PYHV_CNT_EMU_START   45  /* engine entries */
#define PYHV_CNT_TLB_FLUSH   46
#define PYHV_CNT_TB_INVAL    47  /* pages of translated code invalidated */
#define PYHV_NCOUNTERS       64

/* MMU modes. */
#define PYHV_MMU_PYHV     0  /* UC_TLB_VIRTUAL, our Sv32 walk + stage 2 */
#define PYHV_MMU_UNICORN  1  /* Unicorn's own Sv32 walk, RAM mapped at its guest-physical address */

/* The host frame pool: one page-aligned buffer of 4 KiB frames shared by all VMs.
 * Python owns the memory of every array; C allocates and frees under `lock`. */
struct pyhv_pool {
    uint8_t *mem;          /* host address of frame 0 */
    uint32_t nframes;
    uint32_t uc_base;      /* engine-physical address of frame 0 in every engine */
    uint32_t *free_stack;  /* free frame numbers, nfree of them valid */
    uint32_t nfree;
    int32_t *owner;        /* per frame: owning VM id, PYHV_OWNER_FREE or PYHV_OWNER_SHARED */
    uint32_t *refs;        /* per frame: stage-2 entries naming it (1 private, >= 1 shared) */
    int32_t lock;
};

/* An identity-mapped window of a VM's guest-physical space (ROM, MMIO). */
struct pyhv_window {
    uint32_t base;
    uint32_t size;
    uint32_t perms;        /* PROT bits: 1 R, 2 W, 4 X */
};

#define PYHV_MAX_WINDOWS 24

#define PYHV_MAX_HARTS 8
struct pyhv_vcpu;

/* One VM's guest-physical memory: stage-2 table over RAM + identity windows.
 * s2_gen counts the stage-2 changes that take a frame or a permission away (a
 * copy-on-write break, a release, a remap, a share); every vCPU of the VM drops
 * its TLB before it runs another instruction after one (pyhv_vm_s2_changed). */
struct pyhv_vm {
    struct pyhv_pool *pool;
    int32_t id;
    uint32_t ram_base;     /* guest-physical */
    uint32_t ram_frames;
    uint32_t *s2;          /* ram_frames entries, hfn << 12 | PYHV_S2_* */
    uint32_t frames_owned; /* present stage-2 entries (private or shared frames) */
    uint32_t frame_limit;  /* demand-zero refused beyond this */
    uint32_t cow_breaks;
    /* Translated-code coherence (csrc/mmu.c code_coherence), per RAM frame, bit h for
     * hart h: it may hold translated code from the frame (code_harts), a writable TLB
     * entry for it (write_harts), or a writable entry without X (alias_harts). */
    uint8_t *code_harts;
    uint8_t *write_harts;
    uint8_t *alias_harts;
    struct pyhv_vcpu *harts[8]; /* PYHV_MAX_HARTS; NULL for a hart not attached */
    uint32_t nwindows;
    struct pyhv_window windows[24];
    uint32_t s2_gen;
    uint32_t nvcpus;
    struct pyhv_vcpu *vcpus[8];  /* the engines that cache translations of this stage 2 */
};

/* A hart's physical memory protection registers (privileged spec 3.7), as the
 * engine holds them: the guest's csrw pmpcfg/pmpaddr land in the engine, and
 * tlb_fill copies them from a saved context (csrc/mmu.c pmp_load).
 *   pmpcfg byte:  7 L | 6..5 0 | 4..3 A (0 OFF, 1 TOR, 2 NA4, 3 NAPOT) | 2 X | 1 W | 0 R
 *   pmpaddr:      bits 33..2 of a physical address */
#define PYHV_PMP_ENTRIES 16
struct pyhv_pmp {
    uint32_t nentries;     /* implemented entries: 0 (no PMP) or PYHV_PMP_ENTRIES */
    uint32_t addr[16];
    uint8_t cfg[16];
};

/* One translated block the engine reported (csrc/vcpu.c, instruction counting). */
struct pyhv_tb_entry {
    uint32_t pc;
    uint16_t size;          /* bytes; 0 = an empty slot */
    uint16_t insns;         /* instructions; 0 = two blocks with this pc and size differ (decode each run) */
};

/* One vCPU: the engine handle plus everything the hooks need. */
#define PYHV_MAX_STALE 16
struct pyhv_vcpu {
    void *uc;
    struct pyhv_vm *vm;
    int32_t mmu_mode;
    int32_t hart_id;
    uint64_t insns;         /* executed instructions, 2-byte (compressed) and 4-byte alike */
    uint64_t stop_at;       /* budget end, in insns */
    uint64_t timer_at;      /* insns at which mtime reaches mtimecmp */
    uint64_t next_event;    /* min(stop_at, timer_at): the block hook's only compare */
    uint64_t idle_ticks;    /* mtime advanced while idle */
    uint64_t mtimecmp;
    uint32_t vmip;          /* M-level pending bits Unicorn cannot hold: MSIP, MTIP, MEIP */
    uint32_t slines;        /* requested levels of S-level lines (SSIP, STIP, SEIP) */
    uint32_t slines_dirty;
    int32_t exit_request;   /* set by devices or other threads; read by the block hook */
    int32_t exit_reason;
    uint32_t exit_pc;
    uint32_t ebreak_exits;
    uint32_t progress;      /* a block started since the last fault */
    uint32_t stuck;         /* faults in a row without progress */
    int32_t fault_cause;    /* pending fault from a refused TLB fill, -1 none */
    uint32_t fault_page;
    uint32_t identity_fill; /* tlb_fill maps engine addresses onto themselves (TB invalidation) */
    uint32_t nstale;        /* frames in stale_hfn; PYHV_MAX_STALE + 1: drop all translated code */
    uint32_t stale_hfn[16]; /* PYHV_MAX_STALE frames whose translated code goes at the next block */
    uint32_t page0_ok;      /* a real fetch from page 0 is under way (see tlb_fill) */
    uint32_t flush_pending; /* flush the TLB at the next block boundary (translated-code coherence) */
    uint32_t s2_seen;       /* vm->s2_gen when this vCPU last flushed its TLB */
    int32_t running;        /* inside emu_start: a stage-2 change waits for its flush */
    uint32_t resume_ok;     /* UC_ERR_EXCEPTION expected (trap entered from INSN_INVALID) */
    uint32_t badaddr_off;   /* offset of env->badaddr in a saved context (Unicorn-mode faults) */
    void *ctx;              /* uc_context for badaddr reads */
    uint64_t counters[64];
    char message[160];
    uint32_t trace_mask;    /* PYHV_TRACE_* kinds to record */
    uint32_t trace_len;     /* events in the ring */
    uint32_t trace_cap;
    struct pyhv_trace_event *trace;
    struct pyhv_pmp pmp;    /* this hart's PMP, refreshed from the engine on every fill */
    uint32_t pmp_off;       /* offset of the engine's pmp_state in a saved context, 0: no PMP */
    uint32_t pmp_step;      /* running one instruction so a sub-page PMP region is checked per access */
    /* Instruction counting: every block the engine translated, (pc, size) -> instructions. */
    struct pyhv_tb_entry *tbs;
    uint32_t tbs_mask;      /* slots - 1 (a power of two), 0 before the first block */
    uint32_t tbs_used;
    uint32_t tbs_rvc;       /* entries whose count is not size / 4: the block hook must look up */
    uint32_t tbs_first;     /* no translation reported yet: decode every block (hook_tb_new) */
    uint32_t tbs_flush;     /* the table is full: flush the engine's code cache, then start afresh */
    /* Interrupts the engine delivers itself (S-level lines in mip): seen at their vector. */
    uint32_t vec_bloom[64]; /* bit (vaddr >> 2) & 2047: a trap vector entry may start here */
    uint32_t vecs[8];       /* the xtvec values seen (candidates for vec_bloom) */
    uint32_t nvecs;
    uint32_t trap_pc;       /* where trap_enter just sent the hart (its own entries are counted there) */
    uint32_t irq_seen[3];   /* the last engine entry counted: cause, epc, pc */
    uint64_t irq_seen_insns;
};

/* Trace events for `pyhv boot -d int,mmu`: a ring the hooks append to and Python
 * drains after each run (csrc/vcpu.c trace_event). */
#define PYHV_TRACE_INT  1   /* a trap entered: cause, epc, tval, priv -> new priv */
#define PYHV_TRACE_MMU  2   /* a TLB fill: vaddr, result address, perms or fault; or a TLB flush */
#define PYHV_TRACE_MMU_FLUSH 0x200  /* MMU cause: the whole TLB dropped (value: stage-2 generation) */
struct pyhv_trace_event {
    uint32_t kind;
    uint32_t cause;        /* INT: xcause; MMU: access type, 0x100 | fault cause, or PYHV_TRACE_MMU_FLUSH */
    uint32_t pc;           /* INT: epc; MMU: vaddr */
    uint32_t value;        /* INT: tval; MMU: engine address of the page */
    uint32_t priv_from;
    uint32_t priv_to;      /* INT: the handler's privilege; MMU: perms */
};

/* The CLINT, served in C (csrc/clint.c). */
struct pyhv_clint {
    struct pyhv_vcpu *harts[8];
    uint32_t nharts;
    uint64_t reads;
    uint64_t writes;
};

/* A Python device's MMIO window, with one cached status register (csrc/mmio.c). */
struct pyhv_mmio_py {
    void *handle;          /* the Python device (ffi.new_handle) */
    uint32_t fast_valid;
    uint32_t fast_offset;  /* byte register served from fast_value */
    uint32_t fast_value;
    uint32_t fast_slow_bits; /* while any is set, reads go to Python (read side effects) */
    uint64_t fast_reads;
    uint64_t slow_reads;
    uint64_t writes;
};

int pyhv_mmio_map_py(struct pyhv_vcpu *v, uint32_t base, uint32_t size, struct pyhv_mmio_py *m);

int pyhv_api_init(void **fns, int n);
int pyhv_clint_map(struct pyhv_clint *c, struct pyhv_vcpu *v);
int pyhv_pool_init(struct pyhv_pool *pool);
int64_t pyhv_pool_alloc(struct pyhv_pool *pool, int32_t owner);
int pyhv_pool_free(struct pyhv_pool *pool, uint32_t hfn);
int pyhv_pool_share(struct pyhv_pool *pool, uint32_t hfn);

void pyhv_vm_s2_changed(struct pyhv_vm *vm);
int pyhv_vm_s2_lookup(struct pyhv_vm *vm, uint32_t gpa, int access, int demand, uint32_t *hfn, uint32_t *perms);

int pyhv_vcpu_attach(struct pyhv_vcpu *vcpu);
int pyhv_vcpu_run(struct pyhv_vcpu *vcpu, uint64_t budget);
void pyhv_vcpu_request_exit(struct pyhv_vcpu *vcpu, int reason);
void pyhv_vcpu_stop(struct pyhv_vcpu *vcpu, int reason);
void pyhv_vcpu_release(struct pyhv_vcpu *vcpu);
uint32_t pyhv_count_insns(const uint8_t *code, uint32_t size);
uint64_t pyhv_vcpu_mtime(struct pyhv_vcpu *vcpu);
void pyhv_vcpu_set_mtimecmp(struct pyhv_vcpu *vcpu, uint64_t value);
void pyhv_vcpu_advance_idle(struct pyhv_vcpu *vcpu, uint64_t ticks);
void pyhv_vcpu_set_irq(struct pyhv_vcpu *vcpu, int bit, int level);
int pyhv_vcpu_irq_pending(struct pyhv_vcpu *vcpu);
int pyhv_vcpu_csr_read(struct pyhv_vcpu *vcpu, int regid, uint32_t *value);
int pyhv_vcpu_csr_write(struct pyhv_vcpu *vcpu, int regid, uint32_t value);
int pyhv_vcpu_translate(struct pyhv_vcpu *vcpu, uint32_t vaddr, int access, uint64_t *gpa);
int pyhv_vcpu_invalidate(struct pyhv_vcpu *vcpu, uint32_t hfn, uint32_t nframes);
int pyhv_vcpu_flush_tlb(struct pyhv_vcpu *vcpu);
int pyhv_vcpu_take_trap(struct pyhv_vcpu *vcpu, uint32_t cause, uint32_t epc, uint32_t tval);

/* Pure functions, mirrored by pyhv/mmu.py and pyhv/trap.py (hypothesis oracles). */
struct pyhv_translation {
    int32_t ok;
    int32_t cause;
    uint64_t gpa;
    uint32_t perms;
};
int pyhv_sv32_translate(struct pyhv_vm *vm, uint32_t satp, uint32_t mstatus, int priv,
                        uint32_t vaddr, int access, int update_ad, struct pyhv_translation *out);
int pyhv_sv32_translate_pmp(struct pyhv_vm *vm, const struct pyhv_pmp *pmp, uint32_t satp, uint32_t mstatus,
                            int priv, uint32_t vaddr, int access, int update_ad, struct pyhv_translation *out);
uint32_t pyhv_pmp_perms(const struct pyhv_pmp *pmp, int priv, uint64_t addr, uint32_t len);
int pyhv_pmp_page(const struct pyhv_pmp *pmp, int priv, uint64_t page, uint32_t *perms);
