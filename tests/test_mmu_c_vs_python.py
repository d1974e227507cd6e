"""The C Sv32 walker (csrc/mmu.c) and its Python twin (pyhv/mmu.py) agree on random,
often malformed, page tables: translation, granted permissions, fault cause, and the
A/D bits written back."""

from hypothesis import event, given, settings
from hypothesis import strategies as st

from pyhv import mmu
from pyhv._native import ffi, lib
from pyhv.memory import FramePool, GuestMemory

RAM = 0x8000_0000
RAM_FRAMES = 256  # 1 MiB guest


def c_translate(mem, satp, mstatus, priv, vaddr, access):
    out = ffi.new("struct pyhv_translation *")
    lib.pyhv_sv32_translate(mem.c, satp, mstatus, priv, vaddr, access, 1, out)
    return mmu.Translation(bool(out.ok), int(out.gpa), int(out.perms), int(out.cause))


ppns_in_ram = st.integers(0, RAM_FRAMES - 1).map(lambda i: (RAM >> 12) + i)
ppns_any = st.one_of(ppns_in_ram, ppns_in_ram, st.integers(0, (1 << 22) - 1))
flags = st.one_of(
    st.integers(0, 255),
    st.sampled_from([0x01, 0xCF, 0xC7, 0xC3, 0xCB, 0xD7, 0xDF, 0xDB, 0x0F, 0x07, 0x03, 0x09, 0x17, 0x05]),
)
ptes = st.builds(lambda ppn, f: ((ppn << 10) | f) & 0xFFFFFFFF, ppns_any, flags)
# A megapage PTE aligned or not: PPN[0] often zero.
mega = st.builds(lambda hi, lo, f: ((((hi << 10) | lo) << 10) | f) & 0xFFFFFFFF,
                 st.sampled_from([RAM >> 22, 0, 0xFFF, 0x201]), st.sampled_from([0, 0, 1, 0x3FF]), flags)


@settings(max_examples=300, deadline=None)
@given(
    root=st.integers(0, RAM_FRAMES - 1),
    l1=st.one_of(ptes, mega),
    l0=ptes,
    vaddr=st.integers(0, 0xFFFFFFFF),
    access=st.sampled_from([mmu.ACC_READ, mmu.ACC_WRITE, mmu.ACC_FETCH]),
    priv=st.sampled_from([0, 1, 3]),
    mstatus=st.builds(lambda sum_, mxr, mprv, mpp: sum_ << 18 | mxr << 19 | mprv << 17 | mpp << 11,
                      st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), st.sampled_from([0, 1, 3])),
    l0_in_ram=st.booleans(),
)
def test_c_walker_matches_python_twin(root, l1, l0, vaddr, access, priv, mstatus, l0_in_ram):
    pool = FramePool(size_mib=4)
    results, memories = [], []
    for walker in ("c", "python"):
        mem = GuestMemory(pool, RAM_FRAMES * 4096 / (1 << 20))
        root_pa = RAM + root * 4096
        l1_addr = root_pa + (vaddr >> 22) * 4
        mem.write32(l1_addr, l1)
        if l0_in_ram and (l1 & 0xF) == 0x1:  # pointer: put a level-0 PTE where the walk will look
            l0_addr = ((l1 >> 10) << 12) + ((vaddr >> 12) & 0x3FF) * 4
            if mem.read32(l0_addr) is not None and l0_addr != l1_addr:
                mem.write32(l0_addr, l0)
        satp = (1 << 31) | (root_pa >> 12)
        if walker == "c":
            results.append(c_translate(mem, satp, mstatus, priv, vaddr, access))
        else:
            results.append(mmu.translate(mem.read32, mem.write32, satp, mstatus, priv, vaddr, access))
        memories.append(mem.read(RAM, RAM_FRAMES * 4096))
        mem.release_all()
    event(f"ok={results[0].ok} cause={results[0].cause}")
    assert results[0] == results[1]
    assert memories[0] == memories[1]  # the same A/D bits were written back


def test_bare_and_machine_mode_are_identity():
    mem = GuestMemory(FramePool(size_mib=1), 1)
    for satp, priv in ((0, 1), (0, 0), (0x80080000, 3)):
        t = c_translate(mem, satp, 0, priv, 0x1234_5678, mmu.ACC_WRITE)
        assert t == mmu.Translation(True, 0x1234_5000, 7, -1)
