"""Isolation part 3, live hostile code: generated instruction sequences (pyhv.isolation.hostile_code)
run in U-mode and in S-mode under the small supervisor tests/guests/hostile.S, next to a neighbour
VM that holds a secret and shares two pages with the hostile one.  The run never raises and ends
in budget/breakpoint/fatal; the only pages that change are pages the code may write (plus A/D
bits in the page tables and the supervisor's trap log); the neighbour and the free frames do not
change; every trap the supervisor saw is a guest-level exception the page map explains."""

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv.memory import PAGE_SIZE, FramePool
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
RAM = iso.RAM_BASE
RESULTS, CODE, DATA, PT_ROOT = 0x80010000, 0x80020000, 0x80100000, 0x80200000
P_REGS, P_COUNT, P_TRAILER, P_SSTATUS, P_MCAUSE = 0x400, 0x480, 0x484, 0x488, 0x494
MARK_U, MARK_ROOT = 0x100, 0x200
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U = 1, 2, 4, 8, 16
SUM, MXR = 1 << 18, 1 << 19
GUEST_EXCEPTIONS = {0, 1, 2, 4, 5, 6, 7, 8, 9, 12, 13, 15}
BUDGET = 20_000


def _labels(programs):
    return programs.labels("hostile", "page_map setup_done s_trap m_trap")


def page_map(programs, user_run):
    """{va page: (ppn, flags)} of the level-0 entries, as hostile.S builds them for this run."""
    image, at = programs.image("hostile"), _labels(programs)["page_map"] - RAM
    out = {}
    while True:
        (va,) = struct.unpack_from("<I", image, at)
        if va == 0xFFFFFFFF:
            return out
        ppn, flags = struct.unpack_from("<2I", image, at + 4)
        if flags & MARK_U:
            flags = flags & ~MARK_U | (PTE_U if user_run else 0)
        if not flags & MARK_ROOT:
            out[va] = (ppn, flags)
        at += 12


def writable_gfns(entries, user_run):
    """Guest frames a U (or S) program may store to: valid R+W leaves (U ones only for U; S may set SUM)."""
    out = set()
    for ppn, flags in entries.values():
        leaf_rw = flags & (PTE_V | PTE_R | PTE_W) == PTE_V | PTE_R | PTE_W
        if leaf_rw and (flags & PTE_U or not user_run) and 0 <= (ppn << 12) - RAM < (4 << 20):
            out.add(((ppn << 12) - RAM) >> 12)
    return out


INTERESTING = [0x40000000 + k * 0x1000 + off for k in range(16) for off in (0, 0x7F8)] + [
    RAM, RESULTS, CODE, DATA, PT_ROOT, 0x20000000, 0x10000000, 0x02000000, 0xC0000000, 0xFFC00000,
    0x00400000, 0, 0xFFFFFFFF, 0x80000000 - 4, 0x40000FFE, 0x40001001,
]  # fmt: skip
registers = st.lists(st.one_of(st.sampled_from(INTERESTING), st.integers(0, 0xFFFFFFFF)), min_size=31, max_size=31)


def _setup(programs, user_run):
    pool = FramePool(size_mib=8)
    vm, neighbour = VM(pool, mem_size_mib=4), VM(pool, mem_size_mib=1)
    neighbour.write_phys(RAM, bytes(range(256)) * 16 * 32)  # 32 pages of the neighbour's secret
    vm.load(RAM, programs.image("hostile"))
    cpu = vm.cpu
    cpu.pc, cpu.priv, cpu["a0"], cpu.ebreak_exits = RAM, 3, 0 if user_run else 1, True
    ex = cpu.run(1_000_000)
    assert (ex.reason, ex.pc) == ("breakpoint", _labels(programs)["setup_done"])
    # page sharing: the U RW page and the U read-only page become the neighbour's pages 100 and 101
    vm.memory.share_into(neighbour.memory, (DATA - RAM) >> 12, 100)
    vm.memory.share_into(neighbour.memory, (DATA - RAM + 0x1000) >> 12, 101)
    return pool, vm, neighbour


@pytest.mark.parametrize("user_run", [True, False], ids=["U", "S"])
@given(data=st.data())
def test_hostile_code_stays_in_its_pages(programs, user_run, data):
    code = data.draw(iso.hostile_code(supervisor=not user_run), label="code")
    regs = data.draw(registers, label="regs")
    sstatus = data.draw(st.sampled_from([0, SUM, MXR, SUM | MXR]), label="sstatus")
    pool, vm, neighbour = _setup(programs, user_run)
    entries = page_map(programs, user_run)
    trailer = CODE + 4 * len(code)
    vm.write_phys(CODE, struct.pack(f"<{len(code) + 1}I", *code, iso.EBREAK))
    vm.write_phys(RESULTS + P_REGS, struct.pack("<31I", *regs))
    vm.write_phys(RESULTS + P_COUNT, struct.pack("<3I", 0, trailer, sstatus))
    before, before_nb = iso.ram_image(vm), iso.ram_image(neighbour)
    free_before = pool.frames_free

    vm.cpu.pc = _labels(programs)["setup_done"] + 4
    ex = vm.cpu.run(BUDGET)

    assert ex.reason in ("budget", "breakpoint", "fatal"), ex
    iso.check_isolation(pool, [vm, neighbour])
    assert not iso.changed_pages(before_nb, iso.ram_image(neighbour)), "the neighbour's RAM changed"
    after = iso.ram_image(vm)
    allowed = writable_gfns(entries, user_run) | {(RESULTS - RAM) >> 12}
    tables = {(PT_ROOT - RAM) >> 12, ((PT_ROOT - RAM) >> 12) + 1, ((PT_ROOT - RAM) >> 12) + 2}
    for gfn in iso.changed_pages(before, after):
        if gfn in tables:  # the walker may only have set A and D
            old, new = before[gfn].view("<u4"), after[gfn].view("<u4")
            assert np.array_equal(old, new & ~np.uint32(0xC0)) or np.array_equal(old | (new & 0xC0), new), gfn
            assert np.array_equal(new & ~np.uint32(0xC0), old & ~np.uint32(0xC0)), f"PTE bits other than A/D in {gfn}"
        else:
            assert gfn in allowed, f"page 0x{RAM + gfn * PAGE_SIZE:x} changed but is not writable by the code"
    assert pool.frames_free >= free_before - len(allowed)  # copies for COW breaks at most

    (count,) = struct.unpack("<I", vm.read_phys(RESULTS + P_COUNT, 4))
    (mcause,) = struct.unpack("<I", vm.read_phys(RESULTS + P_MCAUSE, 4))
    assert mcause == 0 or not user_run, "a U-mode trap reached M"
    if not user_run:
        return  # S-mode code may write the results page itself: its records prove nothing
    for k in range(min(count, 60)):
        cause, epc, tval, _ = struct.unpack("<4I", vm.read_phys(RESULTS + 16 * k, 16))
        assert cause in GUEST_EXCEPTIONS, (cause, epc, tval)
        if user_run and cause in (13, 15) and (tval & ~0xFFF) in entries:  # U faults the page map explains
            _ppn, flags = entries[tval & ~0xFFF]
            usable = flags & PTE_V and flags & PTE_U and (flags & PTE_R or not flags & PTE_W)
            if cause == 15:
                assert not (usable and flags & PTE_W and flags & PTE_R), f"U store to 0x{tval:x} refused"
            else:
                assert not (usable and (flags & PTE_R or (sstatus & MXR and flags & PTE_X))), f"U load 0x{tval:x}"


def test_the_harness_sees_stores_and_faults(programs):
    """A known program through the same harness: a U store to the U RW page (shared with the
    neighbour) lands in a private copy, a U store to the U read-only page faults with cause 15."""
    pool, vm, neighbour = _setup(programs, user_run=True)
    code = [iso.store("sw", 5, 6, 0), iso.store("sw", 5, 7, 8), iso.load("lw", 8, 6, 0)]
    vm.write_phys(CODE, struct.pack("<4I", *code, iso.EBREAK))
    regs = [0] * 31
    regs[4], regs[5], regs[6] = 0x12345678, 0x40000000, 0x40001000  # x5, x6, x7
    vm.write_phys(RESULTS + P_REGS, struct.pack("<31I", *regs))
    vm.write_phys(RESULTS + P_COUNT, struct.pack("<3I", 0, CODE + 12, 0))
    vm.cpu.pc = _labels(programs)["setup_done"] + 4
    ex = vm.cpu.run(BUDGET)
    assert (ex.reason, ex.pc) == ("breakpoint", CODE + 12)
    assert vm.cpu["s0"] == 0x12345678 and vm.cpu.priv == 0
    assert vm.read_phys(DATA, 4) == struct.pack("<I", 0x12345678)
    assert neighbour.read_phys(RAM + 100 * PAGE_SIZE, 4) == struct.pack("<I", 0xD0000000)
    assert struct.unpack("<4I", vm.read_phys(RESULTS, 16))[:3] == (15, CODE + 4, 0x40001008)
    iso.check_isolation(pool, [vm, neighbour])
