"""Isolation part 2, inside a VM (stage 1): random two-level Sv32 tables, malformed ones included
(W without R, misaligned megapages, PPNs outside RAM, at MMIO or at the pool's engine addresses,
pointers at level 0): the C walker and its Python twin agree, both match the privileged spec
(v1.12 4.3.2, transcribed literally below), a U-mode access never reaches an S-only page, SUM
and MXR are honoured, and the TLB entry a fill produces stays inside the VM."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv import mmu
from pyhv.memory import FramePool, GuestMemory

pytestmark = pytest.mark.isolation
RAM, RAM_FRAMES = iso.RAM_BASE, 64
UART = iso.lib.PYHV_UART0_BASE
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U = 1, 2, 4, 8, 16
SUM, MXR, MPRV = 1 << 18, 1 << 19, 1 << 17


def spec_walk(read32, satp, mstatus, priv, vaddr, access):
    """Spec 4.3.2 step by step, without A/D: (ok, cause, gpa page, leaf PTE, effective privilege)."""
    if access != iso.ACC_FETCH and priv == 3 and mstatus & MPRV:
        priv = mstatus >> 11 & 3
    if priv == 3 or not satp >> 31:
        return True, -1, vaddr & ~0xFFF, None, priv
    vpn = (vaddr >> 12 & 0x3FF, vaddr >> 22)
    a, i = (satp & 0x3FFFFF) * 4096, 1  # step 1: a = satp.ppn * PAGESIZE, i = LEVELS - 1
    while True:
        pte = read32(a + vpn[i] * 4)  # step 2
        if pte is None:
            return False, mmu.ACCESS_FAULT[access], 0, None, priv
        v, r, w, x = pte & PTE_V, pte & PTE_R, pte & PTE_W, pte & PTE_X
        if not v or (not r and w):  # step 3
            return False, mmu.PAGE_FAULT[access], 0, pte, priv
        if r or x:  # step 4: a leaf
            break
        i -= 1
        if i < 0:
            return False, mmu.PAGE_FAULT[access], 0, pte, priv
        a = (pte >> 10) * 4096
    user = pte & PTE_U  # step 5
    if (priv == 0 and not user) or (priv == 1 and user and (access == iso.ACC_FETCH or not mstatus & SUM)):
        return False, mmu.PAGE_FAULT[access], 0, pte, priv
    if not {iso.ACC_READ: r or (mstatus & MXR and x), iso.ACC_WRITE: w, iso.ACC_FETCH: x}[access]:
        return False, mmu.PAGE_FAULT[access], 0, pte, priv
    ppn = pte >> 10
    if i > 0 and ppn & 0x3FF:  # step 6: misaligned superpage
        return False, mmu.PAGE_FAULT[access], 0, pte, priv
    gpa = (ppn >> 10) << 22 | vpn[0] << 12 if i else ppn << 12  # step 8
    return True, -1, gpa, pte, priv


@given(
    table=iso.page_tables(RAM_FRAMES),
    mstatus=iso.mstatus_values(),
    priv=iso.privileges,
    access=iso.accesses,
    extra=st.lists(st.integers(0, 0xFFFFFFFF), max_size=3),
)
def test_walkers_agree_with_each_other_and_the_spec(table, mstatus, priv, access, extra):
    pool = FramePool(size_mib=1)
    mems = {w: GuestMemory(pool, RAM_FRAMES * 4096 / (1 << 20)) for w in ("c", "python")}
    for mem in mems.values():
        mem.add_window(UART, 0x1000, mmu.PROT_R | mmu.PROT_W)  # an MMIO window for PTEs to point at
        table.install(mem)
    for vaddr in table.vaddrs + extra:
        spec = spec_walk(mems["c"].read32, table.satp, mstatus, priv, vaddr, access)
        c = iso.c_translate(mems["c"], table.satp, mstatus, priv, vaddr, access)
        py = iso.py_translate(mems["python"], table.satp, mstatus, priv, vaddr, access)
        assert c == py
        ok, cause, gpa, pte, eff = spec
        assert (c.ok, c.cause, c.gpa) == (ok, cause, gpa)
        if c.ok and pte is not None:
            user = pte & PTE_U
            assert eff != 0 or user, "a U-mode access reached an S-only page"
            assert not (eff == 1 and user) or (mstatus & SUM and access != iso.ACC_FETCH), "SUM not honoured"
            assert not c.perms & mmu.PROT_R or pte & PTE_R or (mstatus & MXR and pte & PTE_X), "MXR not honoured"
            assert not c.perms & mmu.PROT_W or pte & PTE_W
            assert not c.perms & mmu.PROT_X or (pte & PTE_X and not (eff == 1 and user))
            assert c.perms & iso.NEED[access]
        fill = iso.c_fill(mems["c"], table.satp, mstatus, priv, vaddr, access)
        iso.check_fill(mems["c"], fill)
        if fill.ok and fill.hfn is None:
            assert fill.engine_pa == fill.gpa == UART and not fill.perms & mmu.PROT_X
    assert mems["c"].read(RAM, RAM_FRAMES * 4096) == mems["python"].read(RAM, RAM_FRAMES * 4096)  # same A/D
    iso.check_isolation(pool, list(mems.values()))
