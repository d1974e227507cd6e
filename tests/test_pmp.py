"""Physical memory protection (privileged spec 3.7): the C MMU (csrc/mmu.c) against its Python
twin (pyhv/mmu.py PMP) on random PMP configurations, and a guest program (tests/guests/pmp.S) that
programs PMP in M-mode and touches protected bytes from S and M."""

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv import mmu
from pyhv.memory import FramePool, GuestMemory

RAM = iso.RAM_BASE
RAM_FRAMES = 64
DATA = 0x8002_0000
PAGE = 4096

pmps = iso.pmp_configs(ram_frames=RAM_FRAMES)
addresses = st.one_of(
    st.integers(0, RAM_FRAMES * PAGE - 1).map(lambda off: RAM + off),
    st.integers(0, (1 << 34) - 1),
    st.sampled_from([0, RAM - 4, RAM, 0xFFFF_FFFC, (1 << 34) - 4]),
)


@given(pmp=pmps, priv=iso.privileges, addr=addresses, length=st.sampled_from([1, 2, 4, 8]))
def test_c_access_check_matches_the_twin(pmp, priv, addr, length):
    c = iso.c_pmp_perms(pmp, priv, addr, length)
    event(f"perms={c}")
    assert c == pmp.perms(priv, addr, length)


@given(pmp=pmps, priv=iso.privileges, page=addresses.map(lambda a: a & ~(PAGE - 1)))
def test_c_page_check_matches_the_twin(pmp, priv, page):
    c = iso.c_pmp_page(pmp, priv, page)
    event("uniform" if c is not None else "cut by an entry")
    assert c == pmp.page(priv, page)


@given(pmp=pmps, priv=iso.privileges, page=st.integers(0, RAM_FRAMES - 1).map(lambda f: RAM + f * PAGE))
def test_a_cacheable_page_answers_the_same_for_every_word(pmp, priv, page):
    """What makes caching a page in the TLB sound: the page answer holds for each 4-byte access."""
    perms = pmp.page(priv, page)
    if perms is None:
        # cut by an entry: the fill decides per access, never for the page
        return
    assert all(pmp.perms(priv, page + off, 4) == perms for off in range(0, PAGE, 4))


@given(table=iso.page_tables(ram_frames=RAM_FRAMES), pmp=pmps, priv=iso.privileges,
       mstatus=iso.mstatus_values(), access=iso.accesses)
def test_walk_under_pmp_matches_the_twin(table, pmp, priv, mstatus, access):
    """The walk's PTE reads and A/D stores are S-mode accesses for PMP (3.7.1, 4.3.2)."""
    pool = FramePool(size_mib=2)
    results, images = [], []
    for translate in (iso.c_translate, iso.py_translate):
        mem = GuestMemory(pool, RAM_FRAMES * PAGE / (1 << 20))
        table.install(mem)
        results.append([translate(mem, table.satp, mstatus, priv, v, access, pmp=pmp) for v in table.vaddrs])
        images.append(mem.read(RAM, RAM_FRAMES * PAGE))
        mem.release_all()
    event(f"faults={sum(not t.ok for t in results[0])}")
    assert results[0] == results[1]
    assert images[0] == images[1]


def test_no_pmp_and_an_empty_pmp():
    """A hart without PMP lets everything through; with entries but none matching, S and U get
    nothing and M everything (3.7.1)."""
    empty = mmu.PMP((0,) * 16, (0,) * 16)
    for priv, want_none, want_empty in ((0, 7, 0), (1, 7, 0), (3, 7, 7)):
        assert iso.c_pmp_perms(mmu.NO_PMP, priv, RAM, 4) == want_none
        assert iso.c_pmp_perms(empty, priv, RAM, 4) == want_empty == empty.perms(priv, RAM, 4)


def test_pmp_guest_faults_exactly(boot, programs):
    vm, cpu = boot("pmp")
    labels = programs.labels("pmp", "s_hole s_ro s_lock s_fetch m_lock m_mprv done")
    ex = cpu.run(100_000)
    assert ex.reason == "breakpoint" and ex.pc == labels["done"], ex
    raw = vm.read_phys(0x8001_0000, 16 * 7)
    rec = [tuple(int.from_bytes(raw[i + 4 * k: i + 4 * k + 4], "little") for k in range(3)) for i in range(0, 16 * 7, 16)]
    assert rec == [
        (5, labels["s_hole"], DATA + 0x8),       # load access fault, the exact byte
        (7, labels["s_ro"], DATA + 0x800),
        (7, labels["s_lock"], DATA + 0x10),
        (1, DATA + 0x800, DATA + 0x800),         # fetch access fault at the jump target
        (7, labels["m_lock"], DATA + 0x10),      # a locked entry binds M-mode
        (5, labels["m_mprv"], DATA + 0x8),       # MPRV: M loads checked as S
        (0, 0, 0),
    ]
    assert cpu["s1"] == 5 and cpu["s2"] == 2     # every allowed access went through


def test_pmp_off_is_a_hart_without_pmp(programs):
    """VM(pmp=False): the same program's S-mode accesses all go through; its first trap is the
    jump into the zeros at DATA + 0x800 (an illegal instruction there, not a fetch access fault)."""
    from pyhv.vm import VM

    vm = VM(FramePool(size_mib=8), mem_size_mib=1, pmp=False)
    try:
        vm.load(RAM, programs.image("pmp"))
        cpu = vm.cpu
        cpu.pc, cpu.priv, cpu.ebreak_exits = RAM, 3, True
        cpu.run(10_000)
        first = vm.read_phys(0x8001_0000, 12)
        assert first == (2).to_bytes(4, "little") + (DATA + 0x800).to_bytes(4, "little") + bytes(4)
    finally:
        vm.close()


def test_a_vm_is_never_built_without_the_pmp_it_was_promised(monkeypatch):
    """If the engine kept its PMP registers where pyhv cannot find them (another Unicorn build),
    a VM with PMP is refused in one line instead of running with no PMP at all."""
    from pyhv import vcpu as vcpu_mod
    from pyhv.errors import PyhvError
    from pyhv.memory import FramePool
    from pyhv.vm import VM

    pool = FramePool(size_mib=8)
    monkeypatch.setattr(vcpu_mod, "_pmp_off", 0)
    with pytest.raises(PyhvError, match="PMP"):
        VM(pool, mem_size_mib=1)
    VM(pool, mem_size_mib=1, pmp=False).close()
