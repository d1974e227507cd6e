"""Property-based isolation testing: hypothesis strategies, C MMU probes and invariant checks.

What pyhv promises (docs/architecture.md §3, docs/threat-model.md): nothing a guest does, through any page
table, any access and any privilege, reaches a host frame its VM does not own,
and frames are scrubbed before they change owner.  This module is the toolkit the
`isolation` test suite is built from, and it is meant to be imported by users who
write their own properties:

* C MMU probes: ``c_fill`` does what the TLB-fill hook does for one access (the
  guest's Sv32 walk in csrc/mmu.c, PMP, then stage 2) and says which host frame
  the engine would be given; ``c_translate``/``py_translate`` run the C walker and
  its Python twin (pyhv/mmu.py) alone; ``c_pmp_perms``/``c_pmp_page`` the C PMP
  check (twin: mmu.PMP).
* ``check_isolation(pool, vms)``: the ownership invariant over the frame pool's
  owner[]/refs[] arrays, the free stack and every VM's stage-2 table.
* ``TlbShadow``/``check_tlb``: what a vCPU's TLB may hold (the fills since its last
  flush, from its trace ring), checked against the owner table.
* Strategies: Sv32 PTEs and two-level page tables, valid and malformed
  (``ptes``, ``page_tables``, ``mstatus_values``); PMP configurations
  (``pmp_configs``); hostile rv32 instruction
  sequences, encoded here from the ISA's instruction formats (``hostile_code``);
  VM operations (``vm_operations``); split virtqueues that reuse what a driver
  must not reuse (``virtqueue_rings``: loops, shared tails, one head named by
  every avail entry, one buffer behind every descriptor, lengths up to 4 GiB).
* ``MeteredMemory``: a device's view of guest RAM that counts the bytes it
  moves, so a property can bound the host work one guest access causes.
* ``IsolationMachine``: a hypothesis state machine that creates and destroys VMs
  with one or more vCPUs, touches, frees, shares (copy-on-write, KSM) and remaps
  their pages, hands frames from VM to VM, makes them walk random page tables and
  runs loads and stores on their vCPUs, and checks the invariants after every step.  Subclass it to
  add rules (a device, a scheduler) and run ``YourMachine.TestCase``.

Example (a property of your own, run by pytest):

    >>> from hypothesis import given, settings
    >>> from pyhv import isolation as iso
    >>> from pyhv.memory import FramePool
    >>> from pyhv.vm import VM
    >>> @settings(max_examples=20, deadline=None)
    ... @given(table=iso.page_tables(ram_frames=64), access=iso.accesses, priv=iso.privileges,
    ...        mstatus=iso.mstatus_values())
    ... def test_every_fill_stays_in_the_vm(table, access, priv, mstatus):
    ...     pool = FramePool(size_mib=2)
    ...     vm, other = VM(pool, mem_size_mib=0.25), VM(pool, mem_size_mib=0.25)
    ...     other.write_phys(iso.RAM_BASE, b"secret" * 100)
    ...     table.install(vm)
    ...     for vaddr in table.vaddrs:
    ...         fill = iso.c_fill(vm, table.satp, mstatus, priv, vaddr, access)
    ...         iso.check_fill(vm, fill)
    ...     iso.check_isolation(pool, [vm, other])
    >>> test_every_fill_stays_in_the_vm()
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

from pyhv import mmu
from pyhv._native import ffi, lib
from pyhv.memory import PAGE_SHIFT, PAGE_SIZE, S2_COW, S2_V, S2_W, FramePool, GuestMemory

RAM_BASE = lib.PYHV_RAM_BASE
OWNER_FREE, OWNER_SHARED = lib.PYHV_OWNER_FREE, lib.PYHV_OWNER_SHARED
ACC_READ, ACC_WRITE, ACC_FETCH = mmu.ACC_READ, mmu.ACC_WRITE, mmu.ACC_FETCH
NEED = {ACC_READ: mmu.PROT_R, ACC_WRITE: mmu.PROT_W, ACC_FETCH: mmu.PROT_X}  # PROT bit an access needs


class IsolationError(AssertionError):
    """The isolation invariant does not hold; the message says where."""


def _mem(vm) -> GuestMemory:
    return getattr(vm, "memory", vm)


# ---- the C MMU, asked one access at a time ---------------------------------------------


def c_pmp(pmp: mmu.PMP):
    """The C core's struct pyhv_pmp holding `pmp` (None: no PMP)."""
    c = ffi.new("struct pyhv_pmp *")
    c.nentries = len(pmp.cfg)
    for i, (cfg, addr) in enumerate(zip(pmp.cfg, pmp.addr)):
        c.cfg[i], c.addr[i] = cfg, addr
    return c


def c_pmp_perms(pmp: mmu.PMP, priv: int, addr: int, length: int) -> int:
    """csrc/mmu.c pyhv_pmp_perms: what twin method mmu.PMP.perms answers."""
    return int(lib.pyhv_pmp_perms(c_pmp(pmp), priv, addr, length))


def c_pmp_page(pmp: mmu.PMP, priv: int, page: int) -> int | None:
    """csrc/mmu.c pyhv_pmp_page: what twin method mmu.PMP.page answers."""
    perms = ffi.new("uint32_t *")
    return int(perms[0]) if lib.pyhv_pmp_page(c_pmp(pmp), priv, page, perms) else None


def c_translate(vm, satp: int, mstatus: int, priv: int, vaddr: int, access: int, update_ad: bool = True,
                pmp: mmu.PMP = mmu.NO_PMP):
    """Stage 1 only, by csrc/mmu.c (pyhv_sv32_translate_pmp): an mmu.Translation."""
    out = ffi.new("struct pyhv_translation *")
    lib.pyhv_sv32_translate_pmp(_mem(vm).c, c_pmp(pmp), satp, mstatus, priv, vaddr & 0xFFFFFFFF, access,
                                int(update_ad), out)
    return mmu.Translation(bool(out.ok), int(out.gpa), int(out.perms), int(out.cause))


def py_translate(vm, satp: int, mstatus: int, priv: int, vaddr: int, access: int, pmp: mmu.PMP = mmu.NO_PMP):
    """Stage 1 only, by the Python twin (pyhv/mmu.py), reading and writing the VM's RAM."""
    mem = _mem(vm)
    return mmu.translate(mem.read32, mem.write32, satp, mstatus, priv, vaddr & 0xFFFFFFFF, access, pmp)


def walk_addresses(vm, satp: int, mstatus: int, priv: int, vaddr: int, access: int) -> list[int]:
    """Guest-physical addresses of the PTEs a walk reads (no side effects)."""
    mem, seen = _mem(vm), []

    def read32(gpa):
        seen.append(gpa)
        return mem.read32(gpa)

    mmu.translate(read32, lambda gpa, value: None, satp, mstatus, priv, vaddr & 0xFFFFFFFF, access)
    return seen


@dataclass(frozen=True)
class Fill:
    """What the TLB-fill hook would hand the engine for one access.

    ok: the access may proceed; cause: the exception otherwise (page fault from
    stage 1, access fault from stage 2).  gpa: guest-physical page.  hfn: the host
    frame for RAM, None for a ROM/MMIO window.  engine_pa: the engine-physical page
    the engine would map.  perms: PROT_* bits of the TLB entry."""

    ok: bool
    cause: int
    gpa: int = 0
    hfn: int | None = None
    engine_pa: int = 0
    perms: int = 0
    cached: bool = True  # False: a page cut by a PMP boundary, decided for this access only


def c_stage2(vm, gpa: int, access: int, demand: bool = True):
    """Stage 2 by the C core (pyhv_vm_s2_lookup): (hfn or None for a window, engine page, PROT perms),
    or None for "no memory here".  With demand, a first touch allocates and a write breaks COW."""
    mem = _mem(vm)
    if gpa >> 32:
        return None  # Sv32 reaches 34 bits; RAM and windows lie below 4 GiB (stage2() in mmu.c agrees)
    hfn, perms = ffi.new("uint32_t *"), ffi.new("uint32_t *")
    if lib.pyhv_vm_s2_lookup(mem.c, gpa, access, int(demand), hfn, perms) != 0:
        return None
    engine_pa = ((int(hfn[0]) << PAGE_SHIFT) + mem.pool.engine_base) & 0xFFFFFFFF
    in_ram = 0 <= gpa - mem.ram_base < mem.size_bytes
    return (int(hfn[0]) if in_ram else None), engine_pa, int(perms[0])


def c_fill(vm, satp: int, mstatus: int, priv: int, vaddr: int, access: int, pmp: mmu.PMP = mmu.NO_PMP) -> Fill:
    """One TLB fill as csrc/mmu.c tlb_fill does it: walk (A/D written back), PMP on the physical page,
    stage 2, permission check.  A page cut by a PMP boundary is decided for the 4 bytes at vaddr, as
    the fill of a stepped instruction is (cached=False)."""
    t = c_translate(vm, satp, mstatus, priv, vaddr, access, pmp=pmp)
    if not t.ok:
        return Fill(False, t.cause)
    if access != ACC_FETCH and priv == mmu.PRIV_M and mstatus & mmu.MSTATUS_MPRV:
        priv = (mstatus >> mmu.MSTATUS_MPP_SHIFT) & 3  # PMP checks data at the effective privilege
    pmp_perms = c_pmp_page(pmp, priv, t.gpa)
    cached = pmp_perms is not None
    if not cached:
        pmp_perms = c_pmp_perms(pmp, priv, t.gpa | (vaddr & (PAGE_SIZE - 4)), 4)
    if not pmp_perms & NEED[access]:
        return Fill(False, mmu.ACCESS_FAULT[access], t.gpa)
    s2 = c_stage2(vm, t.gpa, access)
    if s2 is None:
        return Fill(False, mmu.ACCESS_FAULT[access], t.gpa)
    hfn, engine_pa, s2perms = s2
    perms = t.perms & s2perms & pmp_perms
    if not perms & NEED[access]:
        return Fill(False, mmu.ACCESS_FAULT[access], t.gpa, hfn, engine_pa, perms)
    return Fill(True, -1, t.gpa, hfn, engine_pa, perms, cached)


def check_fill(vm, fill: Fill) -> None:
    """A fill may only name a frame of this VM's stage-2 table (and write only a private one),
    or an engine page outside the frame pool (a ROM/MMIO window)."""
    if not fill.ok:
        return
    mem = _mem(vm)
    pool = mem.pool
    in_pool = 0 <= fill.engine_pa - pool.engine_base < pool.size_bytes
    if fill.hfn is None:
        if in_pool:
            raise IsolationError(f"VM {mem.id}: window page 0x{fill.gpa:x} maps pool frame at 0x{fill.engine_pa:x}")
        return
    gfn = (fill.gpa - mem.ram_base) >> PAGE_SHIFT
    entry = int(mem.s2[gfn])
    if not entry & S2_V or entry >> PAGE_SHIFT != fill.hfn:
        raise IsolationError(f"VM {mem.id}: fill of gfn {gfn} gave frame {fill.hfn}, stage 2 says 0x{entry:x}")
    if fill.perms & mmu.PROT_W and (pool.owner[fill.hfn] != mem.id or entry & S2_COW or not entry & S2_W):
        raise IsolationError(f"VM {mem.id}: writable fill of frame {fill.hfn} owned by {pool.owner[fill.hfn]}")


# ---- the ownership invariant --------------------------------------------------------------


def check_isolation(pool: FramePool, vms, complete: bool = True) -> None:
    """Raise IsolationError unless the pool and the VMs' stage-2 tables are consistent:

    * a private stage-2 entry (no COW) names a frame owned by its VM, with refs 1,
      and no other entry anywhere names that frame;
    * a COW entry names a shared frame (owner -2), without write permission; refs
      equals the number of entries naming it;
    * free frames are on the free stack once, unreferenced and zero (scrubbed);
    * no ROM/MMIO window of a VM overlaps the pool's engine addresses;
    * with complete (vms is every VM of the pool): no allocated frame is unreferenced.
    """
    mems = [_mem(v) for v in vms]
    nfree = int(pool.c.nfree)
    stack = pool.free_stack[:nfree]
    if len(np.unique(stack)) != nfree:
        raise IsolationError("a frame is on the free stack twice")
    free = np.flatnonzero(pool.owner == OWNER_FREE)
    if len(free) != nfree or not np.array_equal(np.sort(stack), free):
        raise IsolationError(f"free stack ({nfree}) and owner[] == FREE ({len(free)}) disagree")
    if pool.refs[free].any():
        raise IsolationError(f"free frames with references: {free[pool.refs[free] != 0][:8].tolist()}")
    dirty = free[pool.frames[free].any(axis=1)]
    if len(dirty):
        raise IsolationError(f"free frames not scrubbed: {dirty[:8].tolist()}")
    named = np.zeros(pool.nframes, dtype=np.int64)
    for mem in mems:
        present = np.flatnonzero(mem.s2 & S2_V)
        entries = mem.s2[present]
        hfns = (entries >> PAGE_SHIFT).astype(np.int64)
        if len(hfns) and hfns.max() >= pool.nframes:
            raise IsolationError(f"VM {mem.id}: stage 2 names a frame past the pool")
        if mem.frames_owned != len(present):
            raise IsolationError(f"VM {mem.id}: frames_owned {mem.frames_owned} != {len(present)} present entries")
        cow = (entries & S2_COW) != 0
        private = hfns[~cow]
        bad = private[(pool.owner[private] != mem.id) | (pool.refs[private] != 1)]
        if len(bad):
            h = int(bad[0])
            raise IsolationError(f"VM {mem.id}: private frame {h} has owner {pool.owner[h]} refs {pool.refs[h]}")
        shared = hfns[cow]
        if (entries[cow] & S2_W).any():
            raise IsolationError(f"VM {mem.id}: a copy-on-write entry is writable")
        bad = shared[pool.owner[shared] != OWNER_SHARED]
        if len(bad):
            raise IsolationError(f"VM {mem.id}: COW entry names frame {int(bad[0])} owned by {pool.owner[bad[0]]}")
        np.add.at(named, hfns, 1)
        lo, hi = pool.engine_base, pool.engine_base + pool.size_bytes
        for i in range(mem.c.nwindows):
            w = mem.c.windows[i]
            if w.base < hi and lo < w.base + w.size:
                raise IsolationError(f"VM {mem.id}: window 0x{w.base:x}+0x{w.size:x} overlaps the frame pool")
    private_twice = np.flatnonzero((named > 1) & (pool.owner >= 0))
    if len(private_twice):
        raise IsolationError(f"private frame {int(private_twice[0])} is named by {named[private_twice[0]]} entries")
    if complete:
        used = np.flatnonzero(pool.owner != OWNER_FREE)
        wrong = used[named[used] != pool.refs[used]]
        if len(wrong):
            h = int(wrong[0])
            raise IsolationError(
                f"frame {h}: refs {pool.refs[h]} but {named[h]} stage-2 entries (owner {pool.owner[h]})"
            )


def ram_image(vm) -> np.ndarray:
    """The VM's RAM as (nframes, 4096) bytes, as the guest sees it (untouched frames read zero)."""
    mem = _mem(vm)
    image = np.zeros((mem.nframes, PAGE_SIZE), dtype=np.uint8)
    present = np.flatnonzero(mem.s2 & S2_V)
    image[present] = mem.pool.frames[mem.s2[present] >> PAGE_SHIFT]
    return image


def changed_pages(before: np.ndarray, after: np.ndarray) -> list[int]:
    """Indices of the pages (rows) that differ."""
    return np.flatnonzero((before != after).any(axis=1)).tolist()


# ---- Sv32 page tables (privileged spec 4.3.1) ---------------------------------------------

privileges = st.sampled_from([0, 1, 3])
accesses = st.sampled_from([ACC_READ, ACC_WRITE, ACC_FETCH])
flag_bytes = st.one_of(
    st.integers(0, 255),  # anything, reserved encodings included
    st.sampled_from([0x01, 0xCF, 0xC7, 0xC3, 0xCB, 0xD7, 0xDF, 0xDB, 0xD3, 0xD9, 0x0F, 0x17, 0x05, 0x07, 0x45, 0xC5]),
)


@st.composite
def pmp_configs(draw, ram_frames: int, ram_base: int = RAM_BASE) -> mmu.PMP:
    """A hart's 16 PMP entries as M-mode could program them: OFF, TOR, NA4 and NAPOT entries,
    locked or not, with any R/W/X (the reserved W-without-R too), over RAM and its edges at page
    and sub-page granularity, plus whole-space and malformed (empty TOR) ranges."""
    ram_words = ram_base >> 2
    word = st.one_of(
        st.integers(0, ram_frames * 1024).map(lambda w: ram_words + w),  # anywhere in RAM, 4-byte grain
        st.integers(0, ram_frames).map(lambda f: ram_words + f * 1024),  # page boundaries
        st.sampled_from([0, ram_words, 0x3FFFFFFF, 0x40000000, 0xFFFFFFFF]),
        st.integers(0, 0xFFFFFFFF),
    )
    napot = st.builds(lambda base, k: (base & ~((1 << (k + 1)) - 1)) | ((1 << k) - 1), word, st.integers(0, 32))
    cfg = st.builds(lambda lock, a, rwx: lock << 7 | a << 3 | rwx, st.integers(0, 1), st.integers(0, 3),
                    st.integers(0, 7))
    n = draw(st.integers(0, mmu.PMP_ENTRIES))
    cfgs = draw(st.lists(cfg, min_size=n, max_size=n)) + [0] * (mmu.PMP_ENTRIES - n)
    addrs = [draw(napot) if (c >> 3) & 3 == mmu.PMP_NAPOT else draw(word) for c in cfgs]
    return mmu.PMP(tuple(cfgs), tuple(addrs))


def mstatus_values():
    """mstatus with random SUM, MXR, MPRV and MPP (the bits the walk reads)."""
    return st.builds(
        lambda sum_, mxr, mprv, mpp: sum_ << 18 | mxr << 19 | mprv << 17 | mpp << 11,
        st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), st.sampled_from([0, 1, 3]),
    )  # fmt: skip


def ppns(ram_frames: int, ram_base: int = RAM_BASE):
    """PPNs: mostly RAM, sometimes MMIO, the pool's engine range, past RAM or past 4 GiB (34-bit)."""
    ram = st.integers(0, ram_frames - 1).map(lambda i: (ram_base >> PAGE_SHIFT) + i)
    odd = st.sampled_from([0x0, 0x1, 0x2000, 0x10000, 0x10001, 0x20000, 0x20001, 0x7FFFF,
                           (ram_base >> PAGE_SHIFT) + ram_frames, 0x100000, 0x180000, 0x3FFFFF])  # fmt: skip
    return st.one_of(ram, ram, ram, odd, st.integers(0, (1 << 22) - 1))


def ptes(ram_frames: int, ram_base: int = RAM_BASE):
    """One Sv32 PTE: any flags (W without R, V clear, pointer flags...) over ppns()."""
    return st.builds(lambda ppn, f, rsw: (ppn << 10 | rsw << 8 | f) & 0xFFFFFFFF,
                     ppns(ram_frames, ram_base), flag_bytes, st.integers(0, 3))  # fmt: skip


def megapage_ptes(ram_base: int = RAM_BASE):
    """A level-1 leaf, aligned (PPN[0] = 0) or not, over RAM, MMIO, the pool, or past 4 GiB."""
    return st.builds(lambda hi, lo, f: ((hi << 10 | lo) << 10 | f) & 0xFFFFFFFF,
                     st.sampled_from([ram_base >> 22, 0, 0x4, 0x40, 0x80, 0x100, 0xFFF]),
                     st.sampled_from([0, 0, 0, 1, 0x3FF]), flag_bytes)  # fmt: skip


@dataclass
class PageTable:
    """A two-level Sv32 table as words to write into guest RAM ({gpa: word}), its satp, and the
    virtual addresses worth probing (the ones the table's entries govern, plus a few others)."""

    satp: int
    words: dict = field(default_factory=dict)
    vaddrs: list = field(default_factory=list)

    def install(self, vm) -> None:
        """Host writes of the table into the VM's RAM (entries outside RAM are skipped)."""
        mem = _mem(vm)
        for gpa, word in self.words.items():
            if mem.ram_base <= gpa and gpa + 4 <= mem.ram_base + mem.size_bytes:
                mem.write32(gpa, word)


@st.composite
def page_tables(draw, ram_frames: int, ram_base: int = RAM_BASE, max_entries: int = 6) -> PageTable:
    """A root table in RAM with up to max_entries root PTEs (pointers, megapages, junk), each pointer
    followed by up to max_entries level-0 PTEs where the walk will read them."""
    root = ram_base + draw(st.integers(0, ram_frames - 1)) * PAGE_SIZE
    asid = draw(st.integers(0, 0x1FF))
    table = PageTable(satp=1 << 31 | asid << 22 | root >> PAGE_SHIFT)
    l1_pointer = st.integers(0, ram_frames - 1).map(lambda i: ((ram_base >> PAGE_SHIFT) + i) << 10 | 1)
    for vpn1 in draw(st.lists(st.integers(0, 1023), min_size=1, max_size=max_entries, unique=True)):
        pte = draw(st.one_of(l1_pointer, l1_pointer, megapage_ptes(ram_base), ptes(ram_frames, ram_base)))
        table.words[root + vpn1 * 4] = pte
        vpn0s = draw(st.lists(st.integers(0, 1023), max_size=max_entries, unique=True))
        if pte & 0xF == 1:  # a pointer: fill the level-0 table it names
            for vpn0 in vpn0s:
                table.words.setdefault(((pte >> 10) << PAGE_SHIFT) + vpn0 * 4, draw(ptes(ram_frames, ram_base)))
        for vpn0 in vpn0s or [draw(st.integers(0, 1023))]:
            table.vaddrs.append(vpn1 << 22 | vpn0 << 12 | draw(st.sampled_from([0, 4, 0xFFC, 0x800])))
    table.vaddrs.append(draw(st.integers(0, 0xFFFFFFFF)))
    return table


# ---- rv32 instructions (unprivileged spec chapter 2 formats, chapter 8 "A", privileged 3.3/4.2.1) ----


def enc_r(opcode, rd, funct3, rs1, rs2, funct7):
    return funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def enc_i(opcode, rd, funct3, rs1, imm):
    return (imm & 0xFFF) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def enc_s(opcode, funct3, rs1, rs2, imm):
    return (imm >> 5 & 0x7F) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (imm & 0x1F) << 7 | opcode


def enc_b(funct3, rs1, rs2, offset):
    o = offset & 0x1FFF
    return ((o >> 12 & 1) << 31 | (o >> 5 & 0x3F) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12
            | (o >> 1 & 0xF) << 8 | (o >> 11 & 1) << 7 | 0x63)  # fmt: skip


def enc_u(opcode, rd, imm20):
    return (imm20 & 0xFFFFF) << 12 | rd << 7 | opcode


def enc_j(rd, offset):
    o = offset & 0x1FFFFF
    return (o >> 20 & 1) << 31 | (o >> 1 & 0x3FF) << 21 | (o >> 11 & 1) << 20 | (o >> 12 & 0xFF) << 12 | rd << 7 | 0x6F


LOADS = {"lb": 0, "lh": 1, "lw": 2, "lbu": 4, "lhu": 5}
STORES = {"sb": 0, "sh": 1, "sw": 2}
AMOS = {"amoadd": 0x00, "amoswap": 0x01, "amoxor": 0x04, "amoor": 0x08, "amoand": 0x0C,
        "amomin": 0x10, "amomax": 0x14, "amominu": 0x18, "amomaxu": 0x1C}  # fmt: skip
BRANCHES = (0, 1, 4, 5, 6, 7)  # beq bne blt bge bltu bgeu
ECALL, EBREAK, SRET, MRET, WFI = 0x00000073, 0x00100073, 0x10200073, 0x30200073, 0x10500073
FENCE, FENCE_I = 0x0FF0000F, 0x0000100F


def load(name, rd, rs1, imm):
    return enc_i(0x03, rd, LOADS[name], rs1, imm)


def store(name, rs2, rs1, imm):
    return enc_s(0x23, STORES[name], rs1, rs2, imm)


def amo(name, rd, rs1, rs2, aq=0, rl=0):
    funct5 = {"lr": 0x02, "sc": 0x03, **AMOS}[name]
    return enc_r(0x2F, rd, 2, rs1, 0 if name == "lr" else rs2, funct5 << 2 | aq << 1 | rl)


def csr(funct3, rd, csr_number, rs1_or_uimm):
    """csrrw 1, csrrs 2, csrrc 3, csrrwi 5, csrrsi 6, csrrci 7."""
    return (csr_number & 0xFFF) << 20 | (rs1_or_uimm & 31) << 15 | funct3 << 12 | rd << 7 | 0x73


def sfence_vma(rs1, rs2):
    return enc_r(0x73, 0, 0, rs1, rs2, 0x09)


def addi(rd, rs1, imm):
    return enc_i(0x13, rd, 0, rs1, imm)


def lui(rd, imm20):
    return enc_u(0x37, rd, imm20)


def jal(rd, offset):
    return enc_j(rd, offset)


def jalr(rd, rs1, imm):
    return enc_i(0x67, rd, 0, rs1, imm)


def branch(funct3, rs1, rs2, offset):
    return enc_b(funct3, rs1, rs2, offset)


# CSRs a generated S-mode program may write without taking the machine from its supervisor
# (satp, stvec and sscratch stay the supervisor's); any CSR may be read, and U-mode may try all.
CSRS_S_WRITABLE = (0x100, 0x104, 0x106, 0x141, 0x142, 0x143, 0x144)  # sstatus sie scounteren sepc scause stval sip
CSRS_OTHER = (0x105, 0x140, 0x180, 0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x340, 0x341, 0x342, 0x343, 0x344,
              0x3A0, 0x3B0, 0x7B0, 0xB00, 0xC00, 0xC01, 0xC02, 0xC80, 0xF14, 0x001, 0x5C0, 0xFFF)  # fmt: skip
IMMEDIATES = st.one_of(st.sampled_from([0, 4, -4, 8, 1, 2, 3, 0x7FC, 0x7FF, -0x800, 0x400, -0x400]),
                       st.integers(-2048, 2047))  # fmt: skip
regs = st.integers(0, 31)
base_regs = st.integers(1, 31)


def hostile_code(supervisor: bool, max_insns: int = 40, min_insns: int = 1):
    """A list of rv32 instruction words for U-mode (supervisor=False) or S-mode code: loads, stores,
    AMOs, LR/SC, register set-up, jal/jalr/branches, CSR accesses, ecall, fence, fence.i,
    sfence.vma, xRET and random words.  Base registers are whatever the caller put in x1..x31.

    In S-mode the program may not write satp, stvec or sscratch (nor execute random SYSTEM words),
    so the supervisor it runs under stays in charge; ebreak and wfi are left out (they end a run)."""
    mem_ops = st.one_of(
        st.builds(load, st.sampled_from(sorted(LOADS)), regs, base_regs, IMMEDIATES),
        st.builds(store, st.sampled_from(sorted(STORES)), regs, base_regs, IMMEDIATES),
        st.builds(amo, st.sampled_from(["lr", "sc", *sorted(AMOS)]), regs, base_regs, regs,
                  st.integers(0, 1), st.integers(0, 1)),
    )  # fmt: skip
    set_ops = st.one_of(
        st.builds(lui, regs, st.one_of(st.sampled_from([0x80000, 0x40000, 0x20000, 0x10000, 0x80020, 0x80010,
                                                        0x80200, 0xC0000, 0xFFC00, 0x00400, 0x02000]),
                                       st.integers(0, 0xFFFFF))),
        st.builds(addi, regs, regs, IMMEDIATES),
    )  # fmt: skip
    offsets = st.integers(-16, 16).map(lambda n: 4 * n)
    jumps = st.one_of(
        st.builds(jal, regs, st.one_of(offsets, st.integers(-(1 << 20), (1 << 20) - 1).map(lambda x: x & ~1))),
        st.builds(jalr, regs, base_regs, IMMEDIATES),
        st.builds(branch, st.sampled_from(BRANCHES), regs, regs, offsets),
    )
    writable = CSRS_S_WRITABLE if supervisor else CSRS_S_WRITABLE + CSRS_OTHER
    csr_ops = st.one_of(
        st.builds(csr, st.sampled_from([1, 2, 3, 5, 6, 7]), regs, st.sampled_from(writable), regs),
        st.builds(csr, st.sampled_from([2, 3, 6, 7]), regs, st.sampled_from(CSRS_S_WRITABLE + CSRS_OTHER),
                  st.just(0)),  # reads: rs1/uimm = 0 writes nothing
    )  # fmt: skip
    system = st.one_of(st.sampled_from([ECALL, FENCE, FENCE_I, SRET, MRET]), st.builds(sfence_vma, regs, regs))
    random_words = st.integers(0, 0xFFFFFFFF).filter(lambda w: w & 0x7F != 0x73)
    one = st.one_of(mem_ops, mem_ops, mem_ops, set_ops, jumps, csr_ops, system, random_words)
    return st.lists(one, min_size=min_insns, max_size=max_insns)


# ---- hostile virtqueues and the work a device does for them ---------------------------------------


class MeteredMemory:
    """Guest RAM as a device sees it (read/write by guest-physical address), counting the bytes that move;
    everything else (ram_base, nframes, s2, release, ...) is the wrapped GuestMemory's."""

    def __init__(self, memory) -> None:
        self._memory = memory
        self.bytes_moved = 0

    def read(self, gpa: int, n: int) -> bytes:
        data = self._memory.read(gpa, n)
        self.bytes_moved += len(data)
        return data

    def write(self, gpa: int, data: bytes) -> None:
        self._memory.write(gpa, data)
        self.bytes_moved += len(data)

    def __getattr__(self, name):
        return getattr(self._memory, name)


@dataclass
class VirtqueueRings:
    """A descriptor table (addr, len, flags, next) and an avail ring (idx, heads) to put in guest RAM."""

    table: list
    avail_idx: int
    heads: list
    indirect: list = field(default_factory=list)  # a second table that INDIRECT descriptors may name

    def install(self, write, desc: int, avail: int, indirect_at: int) -> None:
        """Write them with ``write(gpa, data)``; the used ring is the device's to write."""
        import struct

        pack = struct.Struct("<QIHH").pack
        write(desc, b"".join(pack(a, n, f, x) for a, n, f, x in self.table))
        if self.indirect:
            write(indirect_at, b"".join(pack(a, n, f, x) for a, n, f, x in self.indirect))
        write(avail, struct.pack(f"<HH{len(self.heads)}H", 0, self.avail_idx, *self.heads))


VIRTQ_NEXT, VIRTQ_WRITE, VIRTQ_INDIRECT = 1, 2, 4
REUSE_PATTERNS = ("aliased_chain", "loop", "shared_tail", "same_head", "same_buffer", "huge", "indirect_reuse",
                  "random")  # fmt: skip


@st.composite
def virtqueue_rings(draw, num: int, buffers, indirect_at: int | None = None, pattern=None) -> VirtqueueRings:
    """Rings for a queue of ``num`` entries whose chains reuse what a well-behaved driver never reuses.

    ``buffers`` draws buffer addresses (the caller decides how many are in RAM).  Patterns: a well-formed chain
    (one readable descriptor, then up to queue size - 2 naming one buffer, writable or not, then a writable byte)
    that every avail entry names ("aliased_chain": the most work a device can be asked for); a chain whose next
    leads back into itself ("loop"); chains from different heads that merge ("shared_tail"); every avail entry
    naming the same head ("same_head"); every descriptor naming one buffer ("same_buffer"); lengths near 2^32
    ("huge"); several descriptors naming one indirect table ("indirect_reuse"); or anything ("random").  Each
    pattern is mixed with the others' ingredients, so a property sees combinations too."""
    pattern = pattern or draw(st.sampled_from(REUSE_PATTERNS), label="reuse pattern")
    big = st.sampled_from([0xFFFFFFFF, 0x80000000, 0x10000000, 1 << 20, 0x10000])
    length = big if pattern == "huge" else st.one_of(st.integers(0, 0x4000), big)
    one_buffer = draw(buffers)
    buf = st.just(one_buffer) if pattern == "same_buffer" else st.one_of(buffers, st.just(one_buffer))
    flags = st.sampled_from([VIRTQ_NEXT, VIRTQ_NEXT, VIRTQ_NEXT | VIRTQ_WRITE, 0, VIRTQ_WRITE, VIRTQ_INDIRECT])
    table = [list(t) for t in draw(st.lists(st.tuples(buf, length, flags, st.integers(0, num - 1)),
                                            min_size=num, max_size=num))]  # fmt: skip
    if pattern == "loop":  # 0 -> 1 -> ... -> k -> j (j <= k)
        k = draw(st.integers(0, num - 1))
        for i in range(k + 1):
            table[i][2] |= VIRTQ_NEXT
            table[i][2] &= ~VIRTQ_INDIRECT
            table[i][3] = i + 1 if i < k else draw(st.integers(0, k))
    elif pattern == "shared_tail":  # every descriptor's next is one common tail
        tail = draw(st.integers(0, num - 1))
        for i in range(num):
            if i != tail:
                table[i][2] = (table[i][2] | VIRTQ_NEXT) & ~VIRTQ_INDIRECT
                table[i][3] = tail
    if pattern == "aliased_chain":
        k = draw(st.integers(0, num - 3).map(lambda x: num - 2 - x))  # shrinks towards the longest chain
        seg = draw(st.sampled_from([0x10000, 0x8000, 0x1000, 0x200, 0xFFFFFFFF]))
        data_flags = draw(st.sampled_from([VIRTQ_NEXT | VIRTQ_WRITE, VIRTQ_NEXT]))
        table[0] = [one_buffer, 16, VIRTQ_NEXT, 1]
        data = draw(buffers)  # one data buffer behind (nearly) every data descriptor
        for i in range(1, k + 1):
            table[i] = [draw(st.just(data) | buffers), seg, data_flags, i + 1]
        table[k + 1] = [draw(buffers), 1, VIRTQ_WRITE, 0]
        return VirtqueueRings([tuple(t) for t in table], num, [0] * num)
    indirect = []
    if indirect_at is not None and (pattern == "indirect_reuse" or draw(st.booleans())):
        n = draw(st.integers(1, num))
        indirect = [list(t) for t in draw(st.lists(st.tuples(buf, length, flags, st.integers(0, n - 1)),
                                                   min_size=n, max_size=n))]  # fmt: skip
        for i in draw(st.lists(st.integers(0, num - 1), min_size=1, max_size=num)):
            table[i] = [indirect_at, 16 * n, VIRTQ_INDIRECT, 0]
    same = pattern in ("same_head", "same_buffer", "huge", "indirect_reuse") or draw(st.booleans())
    heads = [draw(st.integers(0, num - 1))] * num if same else draw(st.lists(st.integers(0, num - 1),
                                                                               min_size=num, max_size=num))
    avail_idx = draw(st.one_of(st.just(num), st.integers(0, num), st.integers(0, 0xFFFF)), label="avail idx")
    return VirtqueueRings([tuple(t) for t in table], avail_idx, heads, [tuple(t) for t in indirect])
# ---- compressed code (the "C" extension, unprivileged spec chapter 16: the vCPU model is IMAFDC) ----
#
# A 16-bit instruction is any halfword whose low two bits are not 11.  Hostile code mixes them
# with 32-bit words, loops on them (c.j . is one 2-byte instruction) and points trap vectors at
# them, so a run of them must be counted one instruction each, like any other.


def c_cr(funct4, rd_rs1, rs2):
    return funct4 << 12 | rd_rs1 << 7 | rs2 << 2 | 0b10


def c_ci(funct3, rd, imm6, op=0b01):
    return funct3 << 13 | (imm6 >> 5 & 1) << 12 | rd << 7 | (imm6 & 31) << 2 | op


def c_j(offset, link=False):
    """c.j (c.jal with link=True: rv32 only), CJ format: imm[11|4|9:8|10|6|7|3:1|5]."""
    o = offset & 0xFFF
    imm = ((o >> 11 & 1) << 10 | (o >> 4 & 1) << 9 | (o >> 8 & 3) << 7 | (o >> 10 & 1) << 6 | (o >> 6 & 1) << 5
           | (o >> 7 & 1) << 4 | (o >> 1 & 7) << 1 | (o >> 5 & 1))  # fmt: skip
    return (0b001 if link else 0b101) << 13 | imm << 2 | 0b01


def c_branch(bnez, rs1p, offset):
    """c.beqz / c.bnez on x8..x15, CB format: offset[8|4:3] rs1' offset[7:6|2:1|5]."""
    o = offset & 0x1FF
    return ((0b111 if bnez else 0b110) << 13 | (o >> 8 & 1) << 12 | (o >> 3 & 3) << 10 | (rs1p & 7) << 7
            | (o >> 6 & 3) << 5 | (o >> 1 & 3) << 3 | (o >> 5 & 1) << 2 | 0b01)  # fmt: skip


def c_mem(store, rp, basep, offset):
    """c.lw / c.sw, word offsets 0..124: offset[5:3] in 12:10, offset[2|6] in 6:5."""
    return ((0b110 if store else 0b010) << 13 | (offset >> 3 & 7) << 10 | (basep & 7) << 7
            | (offset >> 2 & 1) << 6 | (offset >> 6 & 1) << 5 | (rp & 7) << 2)  # fmt: skip


C_NOP, C_EBREAK, C_ILLEGAL = 0x0001, 0x9002, 0x0000
C_SELF_LOOP = c_j(0)  # c.j . : 0xa001


def rvc_instructions():
    """One 16-bit instruction (an int < 0x10000): the forms that loop, jump, branch, touch memory
    or trap, the defined-illegal 0x0000, or any halfword outside quadrant 3 (some are reserved)."""
    small = st.integers(-64, 64).map(lambda n: 2 * n)
    return st.one_of(
        st.sampled_from([C_SELF_LOOP, C_NOP, C_ILLEGAL]),
        st.builds(c_j, small, st.booleans()),
        st.builds(c_branch, st.booleans(), st.integers(0, 7), small),
        st.builds(c_cr, st.sampled_from([0b1000, 0b1001]), st.integers(1, 31), st.just(0)),  # c.jr / c.jalr
        st.builds(c_cr, st.sampled_from([0b1000, 0b1001]), st.integers(0, 31), st.integers(1, 31)),  # c.mv / c.add
        st.builds(c_ci, st.sampled_from([0b000, 0b010]), st.integers(1, 31), st.integers(0, 63)),  # c.addi / c.li
        st.builds(c_mem, st.booleans(), st.integers(0, 7), st.integers(0, 7), st.integers(0, 31).map(lambda n: 4 * n)),
        st.integers(0, 0xFFFF).filter(lambda h: h & 3 != 3),
    )


def hostile_rvc_code(max_units: int = 40, min_units: int = 1):
    """Bytes of rv32 code mixing 16-bit instructions (rvc_instructions) with the 32-bit hostile
    instructions of hostile_code (U-mode set), so 32-bit words also land on 2-byte boundaries."""
    word = hostile_code(supervisor=False, max_insns=1, min_insns=1).map(lambda w: w[0].to_bytes(4, "little"))
    half = rvc_instructions().map(lambda h: h.to_bytes(2, "little"))
    return st.lists(st.one_of(half, half, word), min_size=min_units, max_size=max_units).map(b"".join)


def trap_vectors(code_bytes: int):
    """(offset, mode) for an xtvec into a code buffer of code_bytes: BASE is 4-byte aligned (privileged
    spec 3.1.7), and may hold a compressed instruction; mode 0 direct, 1 vectored."""
    return st.tuples(st.integers(0, max(0, code_bytes // 4 - 1)).map(lambda n: 4 * n), st.integers(0, 1))


# ---- VM operations and the stateful machine ----------------------------------------------------

OPS = ("touch", "store", "release", "share", "remap", "walk")


def vm_operations(nvms: int, nframes: int):
    """One operation on VMs numbered 0..nvms-1 with nframes guest frames each, as a tuple:
    ("touch", vm, gfn, byte) host write of a whole page; ("store", vm, gfn, byte) a guest store
    through the C stage 2; ("release", vm, gfn); ("share", vm, gfn, other, other_gfn);
    ("remap", vm, src, dst)."""
    vm, gfn, byte = st.integers(0, nvms - 1), st.integers(0, nframes - 1), st.integers(0, 255)
    return st.one_of(
        st.tuples(st.just("touch"), vm, gfn, byte), st.tuples(st.just("store"), vm, gfn, byte),
        st.tuples(st.just("release"), vm, gfn), st.tuples(st.just("share"), vm, gfn, vm, gfn),
        st.tuples(st.just("remap"), vm, gfn, gfn),
    )  # fmt: skip


def guest_store(vm, gpa: int, data: bytes) -> bool:
    """Store bytes as the guest's engine would: C stage 2 for a write (demand-zero, COW break),
    then into the frame the TLB would map; False (nothing written) if stage 2 refuses."""
    mem = _mem(vm)
    s2 = c_stage2(mem, gpa, ACC_WRITE)
    if s2 is None or s2[0] is None or not s2[2] & mmu.PROT_W:
        return False
    off = gpa & (PAGE_SIZE - 1)
    mem.pool.frames[s2[0], off : off + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
    return True


# ---- vCPUs: the translations they cache, checked against the owner table ----------------------


@dataclass(frozen=True)
class TlbEntry:
    """One translation the C MMU handed a vCPU's engine: vaddr page at privilege priv -> engine page."""

    vaddr: int
    priv: int
    engine_pa: int
    perms: int


class TlbShadow:
    """What a vCPU's TLB may hold: every fill the C MMU gave its engine since the engine's last full
    flush, read from the vCPU's trace ring (csrc/vcpu.c trace_event, PYHV_TRACE_MMU).  Only the fill
    hook puts entries into the engine's TLB (UC_TLB_VIRTUAL), and entries it replaces may live on in
    the victim TLB, so the shadow keeps them all: the engine's TLB is a subset of the shadow (a guest
    sfence.vma drops entries the shadow keeps), and a check of the shadow is a check of the TLB."""

    RING_EVENTS = 4096

    def __init__(self, cpu):
        self.cpu = cpu
        self._ring = ffi.new("struct pyhv_trace_event[]", self.RING_EVENTS)
        cpu.c.trace, cpu.c.trace_cap, cpu.c.trace_len = self._ring, self.RING_EVENTS, 0
        cpu.c.trace_mask |= lib.PYHV_TRACE_MMU
        self.entries: set[TlbEntry] = set()

    @property
    def stale(self) -> bool:
        """Stage 2 changed since the vCPU last flushed: it must flush before it runs again."""
        return self.cpu.c.s2_seen != self.cpu.vm.memory.c.s2_gen

    def drain(self) -> list[str]:
        """Replay the ring into the shadow; returns the events' kinds in order ("fill", "fault", "flush")."""
        kinds = []
        for i in range(int(self.cpu.c.trace_len)):
            e = self._ring[i]
            if e.kind != lib.PYHV_TRACE_MMU:
                continue
            if e.cause == lib.PYHV_TRACE_MMU_FLUSH:
                self.entries.clear()
                kinds.append("flush")
            elif e.cause & 0x100:
                kinds.append("fault")
            else:
                self.entries.add(TlbEntry(int(e.pc), int(e.priv_from), int(e.value), int(e.priv_to)))
                kinds.append("fill")
        self.cpu.c.trace_len = 0
        return kinds


def check_tlb(vm, shadow: TlbShadow) -> None:
    """Every translation a vCPU may still use names a frame its VM's stage 2 names, and a writable one
    a frame the VM owns privately.  A vCPU whose TLB is stale (stage 2 changed since it flushed) is
    exempt: it flushes before its next instruction, which TlbShadow's next drain shows."""
    if shadow.stale:
        return
    mem = _mem(vm)
    pool = mem.pool
    named = {int(e) >> PAGE_SHIFT: int(e) for e in mem.s2[(mem.s2 & S2_V) != 0]}
    for t in shadow.entries:
        off = t.engine_pa - pool.engine_base
        if not 0 <= off < pool.size_bytes:
            continue  # a ROM or MMIO window (check_fill covers those)
        hfn = off >> PAGE_SHIFT
        where = f"vCPU {shadow.cpu.hart_id} of VM {mem.id}: TLB entry va 0x{t.vaddr:x} (priv {t.priv}) -> frame {hfn}"
        if hfn not in named:
            raise IsolationError(f"{where}, which its stage 2 no longer names (owner {pool.owner[hfn]})")
        entry = named[hfn]
        if t.perms & mmu.PROT_W and (pool.owner[hfn] != mem.id or entry & S2_COW or not entry & S2_W):
            raise IsolationError(f"{where} is writable, but the frame is owned by {pool.owner[hfn]} (0x{entry:x})")


def _access_program(slots: int = 8) -> bytes:
    """M-mode code for the vCPUs of the state machine: for i < slots, a_i = x(10+i) is 0 (nothing), a
    word address (load into s(2+i) = x(18+i)) or a word address | 1 (store t1 there); then ebreak."""
    code = []
    for i in range(slots):
        a, s_ = 10 + i, 18 + i
        code += [branch(0, a, 0, 24), enc_i(0x13, 7, 7, a, 1), branch(1, 7, 0, 12),  # beqz; andi t2; bnez
                 load("lw", s_, a, 0), jal(0, 8), store("sw", 6, a, -1)]  # fmt: skip
    return np.array(code + [EBREAK], dtype="<u4").tobytes()


ACCESS_PROGRAM = _access_program()


class IsolationMachine(RuleBasedStateMachine):
    """VMs come and go on one small pool; after every step the ownership invariant holds and no VM's
    RAM changed except by what that VM (or an explicit share into it) did.

    VMs have 1..VCPUS vCPUs that run code between the other rules (loads and stores through their
    TLBs, on any vCPU, interleaved with page sharing and its copy-on-write breaks, releases and
    remaps); each vCPU's cached translations are part of the model (TlbShadow) and are checked
    against the owner table after every step, and every value a vCPU loads must be what its VM's
    RAM holds.  Frames go from VM to VM more than once (hand_over; the pool is small).

    Knobs for subclasses: POOL_MIB, VM_FRAMES, MAX_VMS, VCPUS; WALK_SHARED_FRAMES = False keeps walks
    from setting A/D bits in copy-on-write frames (see test_regressions.py).  Run with
    ``TestMine = MyMachine.TestCase``."""

    POOL_MIB = 1
    VM_FRAMES = 24  # the pages the rules work on; one more page per VM holds the vCPUs' code
    MAX_VMS = 4
    VCPUS = 3
    WALK_SHARED_FRAMES = True

    vms = Bundle("vms")
    frame_numbers = st.integers(0, 255)

    def __init__(self):
        super().__init__()
        self.pool = FramePool(size_mib=self.POOL_MIB)
        self.live = {}  # id -> VM
        self.images = {}  # id -> ram_image after the last step
        self.tlbs = {}  # id -> [TlbShadow per vCPU]
        self.owners = {}  # hfn -> the VMs that owned it privately, in turn

    # every rule goes through _step, which says which VMs' RAM the operation may change
    def _step(self, may_change, operation):
        from pyhv.errors import OutOfMemory

        before = {i: ram_image(v) for i, v in self.live.items()}
        shared = np.flatnonzero(self.pool.owner == OWNER_SHARED)
        shared_data = self.pool.frames[shared].copy()
        try:
            operation()
        except OutOfMemory:
            pass  # the pool or a limit said no: nothing else may have moved
        still = self.pool.owner[shared] == OWNER_SHARED
        written = shared[still & (self.pool.frames[shared] != shared_data).any(axis=1)]
        if len(written):
            raise IsolationError(f"shared (copy-on-write) frames {written[:8].tolist()} were written")
        for i, v in self.live.items():
            if i in may_change or i not in before:
                continue
            pages = changed_pages(before[i], ram_image(v))
            if pages:
                raise IsolationError(f"VM {i} pages {pages[:8]} changed by an operation on VM(s) {may_change}")
        for hfn in np.flatnonzero(self.pool.owner >= 0).tolist():
            history = self.owners.setdefault(hfn, [])
            if not history or history[-1] != self.pool.owner[hfn]:
                history.append(int(self.pool.owner[hfn]))
                if len(history) > 2:
                    event("a frame changed owner more than once")

    @precondition(lambda self: len(self.live) < self.MAX_VMS)
    @rule(target=vms, nvcpus=st.integers(1, 8))
    def create(self, nvcpus):
        from pyhv.vm import VM

        vm = VM(self.pool, mem_size_mib=(self.VM_FRAMES + 1) * PAGE_SIZE / (1 << 20),
                vcpus=1 + (nvcpus - 1) % self.VCPUS)  # fmt: skip
        self.live[vm.memory.id] = vm
        self.tlbs[vm.memory.id] = [TlbShadow(cpu) for cpu in vm.vcpus]
        return vm

    def _alive(self, vm):
        return vm is not None and vm.memory.id in self.live

    @rule(vm=consumes(vms))
    def destroy(self, vm):
        if not self._alive(vm):
            return
        mem = vm.memory
        held = {int(e) >> PAGE_SHIFT: bool(e & S2_COW) for e in mem.s2[(mem.s2 & S2_V) != 0]}
        vm.close()
        del self.live[mem.id]
        del self.tlbs[mem.id]
        for hfn, cow in held.items():
            if not cow and self.pool.owner[hfn] != OWNER_FREE:
                raise IsolationError(f"frame {hfn} of destroyed VM {mem.id} was not freed")

    # Guest frame numbers are drawn below 256 and reduced modulo VM_FRAMES, so subclasses may resize VMs.
    @rule(vm=vms, gfn=frame_numbers, byte=st.integers(0, 255))
    def touch(self, vm, gfn, byte):
        gfn %= self.VM_FRAMES
        if self._alive(vm):
            self._step({vm.memory.id}, lambda: vm.write_phys(RAM_BASE + gfn * PAGE_SIZE, bytes([byte]) * PAGE_SIZE))

    @rule(vm=vms, gfn=frame_numbers, off=st.integers(0, PAGE_SIZE - 4), value=st.binary(min_size=1, max_size=4))
    def store(self, vm, gfn, off, value):
        gfn %= self.VM_FRAMES
        if self._alive(vm):
            self._step({vm.memory.id}, lambda: guest_store(vm, RAM_BASE + gfn * PAGE_SIZE + off, value))

    @rule(vm=vms, gfn=frame_numbers)
    def release(self, vm, gfn):
        gfn %= self.VM_FRAMES
        if self._alive(vm):
            self._step({vm.memory.id}, lambda: vm.memory.release(gfn))

    @rule(src=vms, gfn=frame_numbers, dst=vms, dst_gfn=frame_numbers)
    def share(self, src, gfn, dst, dst_gfn):
        gfn, dst_gfn = gfn % self.VM_FRAMES, dst_gfn % self.VM_FRAMES
        if not (self._alive(src) and self._alive(dst)):
            return
        expected = ram_image(src)[gfn].copy()
        self._step({src.memory.id, dst.memory.id}, lambda: src.memory.share_into(dst.memory, gfn, dst_gfn))
        if not np.array_equal(ram_image(dst)[dst_gfn], expected) or not np.array_equal(ram_image(src)[gfn], expected):
            raise IsolationError("after share_into the two pages differ from the source page")

    @rule(vm=vms, src=frame_numbers, dst=frame_numbers)
    def remap(self, vm, src, dst):
        src, dst = src % self.VM_FRAMES, dst % self.VM_FRAMES
        if not self._alive(vm):
            return
        expected = ram_image(vm)[src].copy()
        self._step({vm.memory.id}, lambda: vm.memory.remap(src, dst))
        image = ram_image(vm)
        if not np.array_equal(image[dst], expected) or (src != dst and image[src].any()):
            raise IsolationError(f"remap {src} -> {dst} lost or kept data")

    @rule(vm=vms, mstatus=mstatus_values(), priv=privileges, access=accesses, write=st.booleans(), data=st.data())
    def walk(self, vm, mstatus, priv, access, write, data):
        """The VM writes a page table into its RAM (or reuses whatever is there: write=False), page
        sharing may merge its root page with another, and the C MMU fills TLB entries from it; a fill
        that grants W is followed by the guest's store."""
        if not self._alive(vm):
            return
        table = data.draw(page_tables(self.VM_FRAMES, max_entries=3))
        if write:
            self._step({vm.memory.id}, lambda: table.install(vm))
            if data.draw(st.booleans()):  # page sharing merges the root table into some VM's page
                other = data.draw(st.sampled_from(sorted(self.live.values(), key=lambda v: v.memory.id)))
                root_gfn = (((table.satp & mmu.SATP_PPN) << PAGE_SHIFT) - RAM_BASE) >> PAGE_SHIFT
                other_gfn = data.draw(st.integers(0, self.VM_FRAMES - 1))
                self._step({vm.memory.id, other.memory.id},
                           lambda: vm.memory.share_into(other.memory, root_gfn, other_gfn))  # fmt: skip

        def go():
            for vaddr in table.vaddrs:
                if not self.WALK_SHARED_FRAMES:
                    cow = [a for a in walk_addresses(vm, table.satp, mstatus, priv, vaddr, access)
                           if 0 <= a - RAM_BASE < vm.memory.size_bytes
                           and vm.memory.s2[(a - RAM_BASE) >> PAGE_SHIFT] & S2_COW]  # fmt: skip
                    if cow:
                        continue
                fill = c_fill(vm, table.satp, mstatus, priv, vaddr, access)
                check_fill(vm, fill)
                if fill.ok and fill.perms & mmu.PROT_W and fill.hfn is not None:  # the guest's store lands
                    self.pool.frames[fill.hfn, data.draw(st.integers(0, PAGE_SIZE - 1))] ^= 0x5A

        self._step({vm.memory.id}, go)

    @rule(vm=vms, which=st.integers(0, 7), value=st.integers(0, 0xFFFFFFFF), data=st.data())
    def run(self, vm, which, value, data):
        """One vCPU of the VM runs M-mode code that loads and stores through its TLB (bare: virtual =
        guest-physical); every load must return what the VM's RAM holds at that point.  Accesses go
        mostly to the pages sharing made copy-on-write and to the pages its other vCPUs used."""
        if self._alive(vm):
            self._run_vcpu(vm, vm.vcpus[which % len(vm.vcpus)], value, data)

    @rule(vm=vms, value=st.integers(0, 0xFFFFFFFF), data=st.data())
    def run_every_vcpu(self, vm, value, data):
        """Each vCPU of the VM in turn (one thread, as Machine.step interleaves harts)."""
        if self._alive(vm):
            for cpu in data.draw(st.permutations(vm.vcpus), label="order"):
                self._run_vcpu(vm, cpu, value, data)

    def _run_vcpu(self, vm, cpu, value, data):
        mem = vm.memory
        hot = sorted(set(np.flatnonzero(mem.s2 & S2_COW).tolist())
                     | {(t.vaddr - RAM_BASE) >> PAGE_SHIFT for sh in self.tlbs[mem.id] for t in sh.entries
                        if 0 <= t.vaddr - RAM_BASE < self.VM_FRAMES * PAGE_SIZE})  # fmt: skip
        gfns = st.one_of(st.sampled_from(hot), self.frame_numbers) if hot else self.frame_numbers
        access = st.tuples(gfns, st.one_of(st.integers(0, 3), st.integers(0, 1023)), st.booleans())
        accesses = data.draw(st.lists(access, min_size=1, max_size=8), label="accesses")
        shadow = self.tlbs[mem.id][cpu.hart_id]
        code = RAM_BASE + self.VM_FRAMES * PAGE_SIZE
        if vm.read_phys(code, len(ACCESS_PROGRAM)) != ACCESS_PROGRAM:  # first run, or a walk wrote over it
            vm.write_phys(code, ACCESS_PROGRAM)
        shadow.drain()
        stale = shadow.stale
        model = ram_image(vm).view("<u4").reshape(-1)
        loads, addrs = [], []
        for i, (gfn, word, is_store) in enumerate(accesses):
            gpa = RAM_BASE + (gfn % self.VM_FRAMES) * PAGE_SIZE + 4 * word
            index = (gpa - RAM_BASE) // 4
            if is_store:
                model[index] = value
            else:
                loads.append((i, gpa, int(model[index])))
            addrs.append(gpa | is_store)
        for i in range(8):
            cpu[f"a{i}"] = addrs[i] if i < len(addrs) else 0
        cpu["t1"], cpu.pc, cpu.priv, cpu.ebreak_exits = value, code, 3, True
        exits = []
        self._step({mem.id}, lambda: exits.append(cpu.run(10_000)))
        kinds = shadow.drain()
        if stale and kinds[:1] != ["flush"]:
            raise IsolationError(f"vCPU {cpu.hart_id} of VM {mem.id} ran on a TLB older than its stage 2: {kinds[:4]}")
        if exits[0].reason == "oom":
            return  # the pool ran dry part way: which accesses ran is unknown
        if exits[0].reason != "breakpoint":
            raise IsolationError(f"vCPU {cpu.hart_id} of VM {mem.id}: {exits[0]}")
        for i, gpa, want in loads:
            got = cpu[f"s{2 + i}"]
            if got != want:
                raise IsolationError(f"vCPU {cpu.hart_id} of VM {mem.id} loaded 0x{got:08x} from 0x{gpa:x}; "
                                     f"its RAM holds 0x{want:08x}")  # fmt: skip
        pages = changed_pages(model.view(np.uint8).reshape(-1, PAGE_SIZE), ram_image(vm))
        if pages:
            raise IsolationError(f"vCPU {cpu.hart_id} of VM {mem.id}: pages {pages[:8]} are not what its stores made")

    @rule()
    def ksm_merge(self):
        """Kernel samepage merging over every VM, as pyhv.host.Host.ksm_scan does: each private page
        whose contents equal an earlier one's becomes a copy-on-write share of it."""

        def go():
            first = {}
            for vm in sorted(self.live.values(), key=lambda v: v.memory.id):
                mem = vm.memory
                for gfn in np.flatnonzero((mem.s2 & S2_V) != 0).tolist():
                    if gfn >= self.VM_FRAMES or mem.s2[gfn] & S2_COW:
                        continue  # the code page stays private: a merge would not change what it reads
                    key = self.pool.frames[int(mem.s2[gfn]) >> PAGE_SHIFT].tobytes()
                    if key in first:
                        kmem, kgfn = first[key]
                        kmem.share_into(mem, kgfn, gfn)
                    else:
                        first[key] = (mem, gfn)

        self._step(set(self.live), go)

    @rule(src=vms, gfn=frame_numbers, dst=vms, dst_gfn=frame_numbers, byte=st.integers(1, 255))
    def hand_over(self, src, gfn, dst, dst_gfn, byte):
        """A frame changes hands: src releases its page, and dst's next first touch takes a frame off
        the free stack (LIFO: the same one).  The new owner sees only zeros and its own store."""
        gfn, dst_gfn = gfn % self.VM_FRAMES, dst_gfn % self.VM_FRAMES
        if not (self._alive(src) and self._alive(dst)):
            return
        self._step({src.memory.id}, lambda: src.memory.release(gfn))
        if dst.memory.s2[dst_gfn] & S2_V:
            return
        self._step({dst.memory.id}, lambda: guest_store(dst, RAM_BASE + dst_gfn * PAGE_SIZE + 8, bytes([byte])))
        page = ram_image(dst)[dst_gfn]
        if dst.memory.s2[dst_gfn] & S2_V and (page[8] != byte or page[:8].any() or page[9:].any()):
            raise IsolationError(f"VM {dst.memory.id} got a frame holding someone else's data")

    @invariant()
    def isolated(self):
        check_isolation(self.pool, list(self.live.values()))
        for i, vm in self.live.items():
            for shadow in self.tlbs[i]:
                check_tlb(vm, shadow)

    def teardown(self):
        for vm in self.live.values():
            vm.close()
