"""The pure-Python MMU twin (pyhv/mmu.py) against the Sv32 rules of Privileged Spec v1.12, 4.3.

Hand-built page tables with known outcomes first, then hypothesis properties over random
two-level tables. The C walker is compared with this model elsewhere.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.mmu import (
    ACC_FETCH,
    ACC_READ,
    ACC_WRITE,
    MSTATUS_MPRV,
    MSTATUS_MXR,
    MSTATUS_SUM,
    PROT_R,
    PROT_RWX,
    PROT_W,
    PROT_X,
    PTE_A,
    PTE_D,
    PTE_G,
    PTE_R,
    PTE_U,
    PTE_V,
    PTE_W,
    PTE_X,
    S2_R,
    S2_V,
    S2_W,
    S2_X,
    Stage2,
    Translation,
    translate,
    translate_2stage,
)

CI = settings(max_examples=200, deadline=None)

U, S, M = 0, 1, 3
ACCESSES = (ACC_READ, ACC_WRITE, ACC_FETCH)
PROT_OF = {ACC_READ: PROT_R, ACC_WRITE: PROT_W, ACC_FETCH: PROT_X}
PAGE_FAULT = {ACC_FETCH: 12, ACC_READ: 13, ACC_WRITE: 15}
ACCESS_FAULT = {ACC_FETCH: 1, ACC_READ: 5, ACC_WRITE: 7}

RAM_BASE = 0x8000_0000
RAM_END = RAM_BASE + (16 << 20)
ROOT_PPN = RAM_BASE >> 12  # root table in the first RAM page
L0_PPN = ROOT_PPN + 1  # one level-0 table right after it
SATP = (1 << 31) | ROOT_PPN
RWX = PTE_R | PTE_W | PTE_X
AD = PTE_A | PTE_D


class Mem:
    """Guest-physical memory: RAM is [RAM_BASE, RAM_END), reads elsewhere return None."""

    def __init__(self, words=None):
        self.words = dict(words or {})
        self.writes = []

    def read32(self, gpa):
        if not RAM_BASE <= gpa < RAM_END:
            return None
        return self.words.get(gpa, 0)

    def write32(self, gpa, value):
        assert RAM_BASE <= gpa < RAM_END and 0 <= value <= 0xFFFFFFFF
        self.words[gpa] = value
        self.writes.append((gpa, value))


def pte(ppn, flags):
    return (ppn << 10) | flags


def l1_addr(vaddr, root_ppn=ROOT_PPN):
    return (root_ppn << 12) + (vaddr >> 22) * 4


def l0_addr(vaddr, l0_ppn=L0_PPN):
    return (l0_ppn << 12) + ((vaddr >> 12) & 0x3FF) * 4


def map4k(vaddr, ppn, flags):
    """A memory with vaddr mapped by a 4 KiB leaf through the level-0 table."""
    return Mem({l1_addr(vaddr): pte(L0_PPN, PTE_V), l0_addr(vaddr): pte(ppn, flags)})


def walk(mem, vaddr, access, priv=S, mstatus=0, satp=SATP):
    return translate(mem.read32, mem.write32, satp, mstatus, priv, vaddr, access)


def ok(gpa, perms):
    return Translation(True, gpa, perms, -1)


def fault(cause):
    return Translation(False, 0, 0, cause)


# ---- bare and M-mode: no translation ------------------------------------------


@pytest.mark.parametrize("access", ACCESSES)
def test_bare_mode_is_identity(access):
    mem = Mem()
    assert walk(mem, 0x1234_5678, access, priv=U, satp=ROOT_PPN) == ok(0x1234_5000, PROT_RWX)
    assert mem.writes == []


@pytest.mark.parametrize("access", ACCESSES)
def test_m_mode_ignores_satp(access):
    assert walk(Mem(), 0xFFFF_FFFF, access, priv=M) == ok(0xFFFF_F000, PROT_RWX)


def test_mprv_translates_loads_and_stores_with_mpp():
    mem = map4k(0x0040_0000, 0x80123, PTE_V | PTE_U | PTE_R | PTE_W | AD)
    as_u = MSTATUS_MPRV | (U << 11)
    as_s = MSTATUS_MPRV | (S << 11)
    assert walk(mem, 0x0040_0010, ACC_READ, priv=M, mstatus=as_u) == ok(0x80123000, PROT_R | PROT_W)
    assert walk(mem, 0x0040_0010, ACC_WRITE, priv=M, mstatus=as_s) == fault(15)  # U page, SUM=0
    assert walk(mem, 0x0040_0010, ACC_READ, priv=M, mstatus=as_s | MSTATUS_SUM).ok
    # MPP=M under MPRV, and fetches whatever MPP says, stay untranslated.
    assert walk(mem, 0x0040_0010, ACC_READ, priv=M, mstatus=MSTATUS_MPRV | (M << 11)) == ok(0x0040_0000, PROT_RWX)
    assert walk(mem, 0x0040_0010, ACC_FETCH, priv=M, mstatus=as_u) == ok(0x0040_0000, PROT_RWX)


def test_mprv_is_ignored_below_m():
    mem = map4k(0x0040_0000, 0x80123, PTE_V | PTE_R | PTE_W | AD)  # an S page
    assert walk(mem, 0x0040_0000, ACC_READ, priv=S, mstatus=MSTATUS_MPRV | (U << 11)).ok


# ---- successful walks ---------------------------------------------------------


def test_4k_page():
    mem = map4k(0x0040_1000, 0x80123, PTE_V | PTE_U | RWX | AD)
    assert walk(mem, 0x0040_1ABC, ACC_FETCH, priv=U) == ok(0x8012_3000, PROT_RWX)
    assert mem.writes == []


def test_megapage_takes_ppn0_from_vaddr():
    mem = Mem({l1_addr(0xC012_3456): pte(0x80400, PTE_V | PTE_R | PTE_W | AD)})
    assert walk(mem, 0xC012_3456, ACC_WRITE) == ok(0x8052_3000, PROT_R | PROT_W)


def test_physical_addresses_have_34_bits():
    mem = map4k(0x0000_2000, 0x3FFFFF, PTE_V | PTE_R | AD)
    assert walk(mem, 0x0000_2000, ACC_READ) == ok(0x3_FFFF_F000, PROT_R)
    mem = Mem({l1_addr(0x0040_5000): pte(0x3FFC00, PTE_V | PTE_X | AD)})
    assert walk(mem, 0x0040_5000, ACC_FETCH) == ok(0x3_FFC0_5000, PROT_X)


def test_root_and_pointers_may_live_above_4gib():
    root, l0 = 0x3FF000, 0x3FF001
    mem = Mem({(root << 12) + 4: pte(l0, PTE_V), (l0 << 12) + 8: pte(0x80000, PTE_V | PTE_R | AD)})
    mem.read32 = lambda gpa: mem.words.get(gpa)  # RAM up there in this test
    assert walk(mem, 0x0040_2000, ACC_READ, satp=(1 << 31) | root) == ok(0x8000_0000, PROT_R)


def test_pointer_with_reserved_d_a_u_bits_is_still_a_pointer():
    mem = map4k(0x0040_0000, 0x80200, PTE_V | PTE_R | AD)
    mem.words[l1_addr(0x0040_0000)] |= PTE_D | PTE_A | PTE_U | PTE_G
    assert walk(mem, 0x0040_0000, ACC_READ) == ok(0x8020_0000, PROT_R)


def test_sum_lets_s_load_and_store_but_never_fetch_u_pages():
    mem = map4k(0x1000, 0x80200, PTE_V | PTE_U | RWX | AD)
    assert walk(mem, 0x1000, ACC_READ, mstatus=MSTATUS_SUM) == ok(0x8020_0000, PROT_R | PROT_W)
    assert walk(mem, 0x1000, ACC_WRITE, mstatus=MSTATUS_SUM) == ok(0x8020_0000, PROT_R | PROT_W)
    assert walk(mem, 0x1000, ACC_FETCH, mstatus=MSTATUS_SUM) == fault(12)
    for access in ACCESSES:
        assert walk(mem, 0x1000, access) == fault(PAGE_FAULT[access])


def test_mxr_makes_execute_only_pages_readable():
    mem = map4k(0x1000, 0x80200, PTE_V | PTE_X | AD)
    assert walk(mem, 0x1000, ACC_READ) == fault(13)
    assert walk(mem, 0x1000, ACC_FETCH) == ok(0x8020_0000, PROT_X)
    assert walk(mem, 0x1000, ACC_READ, mstatus=MSTATUS_MXR) == ok(0x8020_0000, PROT_R | PROT_X)
    assert walk(mem, 0x1000, ACC_WRITE, mstatus=MSTATUS_MXR) == fault(15)


# ---- faults -------------------------------------------------------------------


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize(
    "l1, l0",
    [
        (0, None),  # invalid root entry
        (pte(L0_PPN, PTE_V), 0),  # invalid leaf
        (pte(L0_PPN, PTE_V), pte(0x80200, PTE_V | PTE_W | AD)),  # W without R
        (pte(L0_PPN, PTE_V), pte(0x80200, PTE_V | PTE_W | PTE_X | AD)),  # W without R, with X
        (pte(L0_PPN, PTE_V | PTE_W), None),  # W without R at level 1
        (pte(L0_PPN, PTE_V), pte(L0_PPN, PTE_V)),  # a pointer at level 0
        (pte(0x80201, PTE_V | RWX | AD), None),  # misaligned megapage
        (pte(0x803FF, PTE_V | RWX | AD), None),  # misaligned megapage
    ],
)
def test_page_faults(l1, l0, access):
    mem = Mem({l1_addr(0): l1})
    if l0 is not None:
        mem.words[l0_addr(0)] = l0
    assert walk(mem, 0, access) == fault(PAGE_FAULT[access])
    assert mem.writes == []


@pytest.mark.parametrize("access", ACCESSES)
def test_u_mode_faults_on_s_pages(access):
    mem = map4k(0x1000, 0x80200, PTE_V | RWX | AD)
    assert walk(mem, 0x1000, access, priv=U, mstatus=MSTATUS_SUM | MSTATUS_MXR) == fault(PAGE_FAULT[access])


@pytest.mark.parametrize("access", ACCESSES)
def test_missing_permission_faults(access):
    flags = {ACC_READ: PTE_X, ACC_WRITE: PTE_R | PTE_X, ACC_FETCH: PTE_R | PTE_W}[access]
    mem = map4k(0x1000, 0x80200, PTE_V | flags | AD)
    assert walk(mem, 0x1000, access) == fault(PAGE_FAULT[access])


@pytest.mark.parametrize("access", ACCESSES)
def test_page_table_outside_ram_is_an_access_fault(access):
    assert walk(Mem(), 0, access, satp=(1 << 31) | 0x10000) == fault(ACCESS_FAULT[access])
    mem = Mem({l1_addr(0): pte(0x10000, PTE_V)})  # level-0 table in the UART window
    assert walk(mem, 0, access) == fault(ACCESS_FAULT[access])


# ---- accessed and dirty bits --------------------------------------------------


def test_load_sets_a_and_withholds_w_until_d():
    flags = PTE_V | PTE_R | PTE_W
    mem = map4k(0x1000, 0x80200, flags)
    assert walk(mem, 0x1000, ACC_READ) == ok(0x8020_0000, PROT_R)
    assert mem.writes == [(l0_addr(0x1000), pte(0x80200, flags | PTE_A))]
    assert walk(mem, 0x1000, ACC_WRITE) == ok(0x8020_0000, PROT_R | PROT_W)
    assert mem.writes[1:] == [(l0_addr(0x1000), pte(0x80200, flags | PTE_A | PTE_D))]
    assert walk(mem, 0x1000, ACC_WRITE).ok and len(mem.writes) == 2


def test_store_sets_a_and_d_in_one_write():
    mem = Mem({l1_addr(0x40_0000): pte(0x80400, PTE_V | PTE_R | PTE_W)})
    assert walk(mem, 0x40_0000, ACC_WRITE) == ok(0x8040_0000, PROT_R | PROT_W)
    assert mem.writes == [(l1_addr(0x40_0000), pte(0x80400, PTE_V | PTE_R | PTE_W | AD))]


def test_read_only_page_needs_no_d():
    mem = map4k(0x1000, 0x80200, PTE_V | PTE_R | PTE_A)
    assert walk(mem, 0x1000, ACC_READ) == ok(0x8020_0000, PROT_R)
    assert mem.writes == []


# ---- properties over random tables ----------------------------------------------

flags8 = st.integers(0, 0xFF)
leaf_flags = st.one_of(  # half arbitrary bits, half well-formed leaves that may still be denied
    flags8,
    st.tuples(st.sampled_from([PTE_R, PTE_R | PTE_W, PTE_X, PTE_R | PTE_X, RWX]), st.integers(0, 0xF)).map(
        lambda t: PTE_V | t[0] | (t[1] << 4)
    ),
)
ppn22 = st.one_of(st.integers(0, 0x3FFFFF), st.integers(0x80000, 0x80FFF))  # anywhere, or in RAM
mega_ppn = st.one_of(st.integers(0, 0xFFF).map(lambda hi: hi << 10), ppn22)  # mostly 4 MiB aligned


@st.composite
def walks(draw):
    """A random one- or two-level walk for one access: (mem, satp, mstatus, priv, vaddr, access)."""
    vaddr = draw(st.integers(0, 0xFFFFFFFF))
    access = draw(st.sampled_from(ACCESSES))
    priv = draw(st.sampled_from([U, S, S, M]))
    mstatus = draw(st.sampled_from([0, MSTATUS_SUM, MSTATUS_MXR, MSTATUS_SUM | MSTATUS_MXR]))
    if draw(st.integers(0, 7)) == 0:
        mstatus |= MSTATUS_MPRV | (draw(st.sampled_from([U, S, M])) << 11)
    satp = draw(st.sampled_from([SATP] * 7 + [ROOT_PPN]))

    leaf = draw(leaf_flags)
    if draw(st.booleans()):  # half the time the U bit suits the privilege, so more walks succeed
        leaf = leaf | PTE_U if effective_priv((None, satp, mstatus, priv, vaddr, access)) == U else leaf & ~PTE_U
    if draw(st.integers(0, 2)):  # a pointer, mostly to the level-0 table in RAM
        l0_ppn = draw(st.sampled_from([L0_PPN] * 6 + [0x10000, draw(ppn22)]))
        l1 = pte(l0_ppn, draw(st.sampled_from([PTE_V] * 3 + [draw(flags8)])) & ~RWX)
        l0 = pte(draw(ppn22), leaf)
    else:
        l0_ppn = L0_PPN
        l1 = pte(draw(mega_ppn), leaf)
        l0 = pte(draw(ppn22), draw(leaf_flags))
    mem = Mem({l1_addr(vaddr): l1, l0_addr(vaddr, l0_ppn): l0})
    return mem, satp, mstatus, priv, vaddr, access


def run(case):
    mem, satp, mstatus, priv, vaddr, access = case
    return translate(mem.read32, mem.write32, satp, mstatus, priv, vaddr, access)


def leaf_of(case):
    """(leaf PTE as read before the walk, level) or None if the walk finds no leaf."""
    mem, satp, _, _, vaddr, _ = case
    l1 = mem.read32(l1_addr(vaddr, satp & 0x3FFFFF))
    if l1 & RWX:
        return l1, 1
    l0 = mem.read32(l0_addr(vaddr, l1 >> 10))
    return (l0, 0) if l0 is not None and l0 & RWX else None


def effective_priv(case):
    _, satp, mstatus, priv, _, access = case
    if access != ACC_FETCH and priv == M and mstatus & MSTATUS_MPRV:
        priv = (mstatus >> 11) & 3
    return priv if satp >> 31 else M


@CI
@given(walks())
def test_result_shape(case):
    t = run(case)
    if t.ok:
        assert t.cause == -1 and t.gpa % 4096 == 0 and 0 <= t.gpa < 1 << 34 and 0 < t.perms <= PROT_RWX
        assert t.perms & PROT_OF[case[5]]  # the access that asked is always granted
    else:
        assert t.gpa == 0 and t.perms == 0
        assert t.cause in (PAGE_FAULT[case[5]], ACCESS_FAULT[case[5]])


@CI
@given(walks())
def test_u_mode_never_uses_a_page_without_u(case):
    leaf = leaf_of(case)
    if effective_priv(case) == U and leaf and not leaf[0] & PTE_U:
        assert run(case) == fault(PAGE_FAULT[case[5]])


@CI
@given(walks())
def test_s_mode_uses_u_pages_only_with_sum_and_never_fetches_them(case):
    leaf, mstatus, access = leaf_of(case), case[2], case[5]
    if effective_priv(case) == S and leaf and leaf[0] & PTE_U and (access == ACC_FETCH or not mstatus & MSTATUS_SUM):
        assert run(case) == fault(PAGE_FAULT[access])


@CI
@given(walks())
def test_mxr_lets_loads_read_execute_only_pages(case):
    mem, satp, mstatus, priv, vaddr, _ = case
    leaf = leaf_of(case)
    assume_xonly = leaf and leaf[0] & PTE_V and leaf[0] & RWX == PTE_X
    without = translate(mem.read32, lambda *a: None, satp, mstatus & ~MSTATUS_MXR, priv, vaddr, ACC_READ)
    with_mxr = translate(mem.read32, lambda *a: None, satp, mstatus | MSTATUS_MXR, priv, vaddr, ACC_READ)
    if assume_xonly and effective_priv((mem, satp, mstatus, priv, vaddr, ACC_READ)) != M:
        assert without == fault(13)
    if without.ok:  # MXR only ever adds
        assert with_mxr.ok and with_mxr.perms & without.perms == without.perms
    if with_mxr.ok and not without.ok:  # only an execute-only leaf can make the difference
        assert leaf[0] & (PTE_R | PTE_X) == PTE_X and with_mxr.perms & PROT_R


@CI
@given(walks())
def test_misaligned_megapage_faults(case):
    leaf = leaf_of(case)
    if effective_priv(case) != M and leaf and leaf[1] == 1 and (leaf[0] >> 10) & 0x3FF:
        assert not run(case).ok


@CI
@given(walks())
def test_w_without_r_faults(case):
    leaf = leaf_of(case)
    if effective_priv(case) != M and leaf and leaf[0] & (PTE_R | PTE_W) == PTE_W:
        assert run(case) == fault(PAGE_FAULT[case[5]])


@CI
@given(walks())
def test_granted_perms_never_exceed_pte_perms(case):
    t, leaf, mstatus = run(case), leaf_of(case), case[2]
    if not t.ok or effective_priv(case) == M:
        return
    p = leaf[0]
    allowed = (PROT_R if p & PTE_R or (mstatus & MSTATUS_MXR and p & PTE_X) else 0) | (PROT_W if p & PTE_W else 0)
    allowed |= PROT_X if p & PTE_X else 0
    assert t.perms & ~allowed == 0


@CI
@given(walks())
def test_only_a_and_d_are_ever_written_and_only_on_success(case):
    mem = case[0]
    before = dict(mem.words)
    t = run(case)
    if not t.ok:
        assert mem.writes == []
        return
    assert len(mem.writes) <= 1
    for addr, value in mem.writes:
        assert value & ~(PTE_A | PTE_D) == before[addr] & ~(PTE_A | PTE_D)
        assert value & PTE_A and (value & PTE_D or case[5] != ACC_WRITE)


@CI
@given(walks())
def test_perms_are_exactly_what_a_refill_would_allow_without_writing(case):
    """The TLB may cache a permission only if a new walk would grant it with no A/D update,
    and should cache every such permission (so nothing comes back needlessly)."""
    mem, satp, mstatus, priv, vaddr, _ = case
    if priv == M:  # MPRV makes fetches and data use different privileges; not one TLB entry
        return
    t = run(case)
    if not t.ok:
        return
    for other in ACCESSES:
        probe = Mem(mem.words)
        again = translate(probe.read32, probe.write32, satp, mstatus, priv, vaddr, other)
        clean = again.ok and not probe.writes
        assert bool(t.perms & PROT_OF[other]) == clean
        if again.ok:
            assert again.gpa == t.gpa


# ---- stage 2 --------------------------------------------------------------------


def stage2(entries, n=16):
    table = np.zeros(n, dtype=np.uint32)
    for gfn, entry in entries.items():
        table[gfn] = entry
    return Stage2(table, RAM_BASE)


def test_stage2_lookup():
    s2 = stage2({0: (7 << 12) | S2_V | S2_R | S2_W | S2_X, 1: (9 << 12) | S2_V | S2_R, 2: 5 << 12 | S2_R})
    assert s2.lookup(RAM_BASE + 0x123, ACC_READ) == (7, PROT_RWX)
    assert s2.lookup(RAM_BASE + 0x1FFF, ACC_WRITE) == (9, PROT_R)
    assert s2.lookup(RAM_BASE + 0x2000, ACC_READ) == (None, 0)  # V clear: not present
    assert s2.lookup(RAM_BASE + 0x3000, ACC_READ) == (None, 0)  # 0: not present
    assert s2.lookup(RAM_BASE - 4, ACC_READ) == (None, 0)  # below RAM
    assert s2.lookup(RAM_BASE + 16 * 4096, ACC_READ) == (None, 0)  # past the end
    assert s2.lookup(0x1_0000_0000 + RAM_BASE, ACC_READ) == (None, 0)  # 34-bit gpa
    assert s2.lookup(0x1000_0000, ACC_READ) == (None, 0)  # UART window


def test_translate_2stage_cases():
    s2 = stage2({0x200: (42 << 12) | S2_V | S2_R | S2_X}, n=0x400)
    mem = map4k(0x1000, 0x80200, PTE_V | RWX | AD)
    mem.words[l0_addr(0x2000)] = pte(0x80201, PTE_V | RWX | AD)  # present in stage 1 only
    mem.words[l0_addr(0x3000)] = pte(0x10000, PTE_V | PTE_R | PTE_W | AD)  # the UART
    args = (mem.read32, mem.write32, SATP, 0, S)
    assert translate_2stage(*args, 0x1000, ACC_WRITE, s2) == (ok(0x8020_0000, PROT_RWX), 42, PROT_R | PROT_X)
    assert translate_2stage(*args, 0x2000, ACC_READ, s2) == (ok(0x8020_1000, PROT_RWX), None, 0)
    assert translate_2stage(*args, 0x3000, ACC_WRITE, s2) == (ok(0x1000_0000, PROT_R | PROT_W), None, PROT_R | PROT_W)
    assert translate_2stage(*args, 0x4000, ACC_READ, s2) == (fault(13), None, 0)


@CI
@given(walks(), st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=64))
def test_stage2_never_yields_a_frame_outside_the_table(case, entries):
    mem, satp, mstatus, priv, vaddr, access = case
    s2 = Stage2(np.array(entries, dtype=np.uint32), RAM_BASE)
    owned = {e >> 12 for e in entries if e & S2_V}
    t, hfn, perms = translate_2stage(mem.read32, mem.write32, satp, mstatus, priv, vaddr, access, s2)
    assert perms & ~t.perms == 0
    if hfn is not None:
        assert hfn in owned and s2.in_ram(t.gpa)
        assert perms == t.perms & (s2.table[(t.gpa - RAM_BASE) >> 12] >> 1) & PROT_RWX
