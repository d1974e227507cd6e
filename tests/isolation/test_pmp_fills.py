"""Isolation inside a VM, physical memory protection (privileged spec 3.7): whatever PMP
configuration M-mode writes (random entries, sub-page regions, locked or not) and whatever page
table S or U walks, a TLB entry the C fill hands the engine never grants an access that PMP
refuses to any 4-byte word of the page it covers; a page cut by a PMP boundary is never cached
(checked per access); and on a running hart, hostile S-mode stores never land in a region PMP
closed, even right after an allowed store to the same page."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyhv import isolation as iso
from pyhv import mmu
from pyhv.memory import FramePool, GuestMemory

pytestmark = pytest.mark.isolation
RAM, RAM_FRAMES, PAGE = iso.RAM_BASE, 64, 4096


@given(table=iso.page_tables(ram_frames=RAM_FRAMES), pmp=iso.pmp_configs(ram_frames=RAM_FRAMES),
       priv=iso.privileges, mstatus=iso.mstatus_values(), access=iso.accesses)
def test_a_fill_never_outgrows_pmp(table, pmp, priv, mstatus, access):
    pool = FramePool(size_mib=2)
    mem = GuestMemory(pool, RAM_FRAMES * PAGE / (1 << 20))
    table.install(mem)
    eff = priv
    if access != iso.ACC_FETCH and priv == 3 and mstatus & mmu.MSTATUS_MPRV:
        eff = (mstatus >> mmu.MSTATUS_MPP_SHIFT) & 3
    for vaddr in table.vaddrs:
        fill = iso.c_fill(mem, table.satp, mstatus, priv, vaddr, access, pmp=pmp)
        iso.check_fill(mem, fill)
        if not fill.ok:
            continue
        words = [pmp.perms(eff, fill.gpa + off, 4) for off in range(0, PAGE, 4)]
        if fill.cached:
            assert all(w & fill.perms == fill.perms for w in words), "a cached entry outgrows PMP"
        else:
            assert pmp.page(eff, fill.gpa) is None  # only a page cut by an entry is decided per access
            assert pmp.perms(eff, fill.gpa | (vaddr & (PAGE - 4)), 4) & iso.NEED[access]
    mem.release_all()


@given(offsets=st.lists(st.integers(0, PAGE // 4 - 1), min_size=1, max_size=12), hole=st.integers(0, PAGE // 4 - 1))
def test_stores_never_reach_a_sub_page_hole(offsets, hole):
    """The pmp.S machinery with random offsets: S-mode stores into one page around a 4-byte hole
    closed by PMP (checked per access); the hole keeps its bytes, every other word is written."""
    from pyhv.vm import VM

    vm = VM(FramePool(size_mib=8), mem_size_mib=1)
    try:
        page = RAM + 0x20000
        cpu = vm.cpu
        vm.load(RAM, _pmp_hole_program(page + 4 * hole, [page + 4 * o for o in offsets]))
        vm.write_phys(page, b"\x11" * PAGE)
        cpu.pc, cpu.priv, cpu.ebreak_exits = RAM, 3, True
        assert cpu.run(200_000).reason == "breakpoint"
        data = vm.read_phys(page, PAGE)
        for o in set(offsets):
            want = b"\x11" * 4 if o == hole else b"\x5a" * 4
            assert data[4 * o: 4 * o + 4] == want
        assert cpu.counters["exceptions"].get(7, 0) == offsets.count(hole)  # one store access fault each
    finally:
        vm.close()


def _pmp_hole_program(hole: int, stores: list[int]) -> bytes:
    """M-mode: PMP entry 0 NA4 over `hole` (no access), entry 1 NAPOT over everything (RWX); mret
    into S, which stores 0x5A5A5A5A at each address in one straight block and ecalls.  The M
    handler skips a faulting store and ends the run (ebreak) at the ecall."""
    e = iso
    csrw = lambda csr, rs: e.enc_i(0x73, 0, 1, rs, csr)  # noqa: E731
    prologue = (_li(5, hole >> 2) + [csrw(0x3B0, 5)]                        # pmpaddr0
                + _li(5, 0xFFFFFFFF) + [csrw(0x3B1, 5)]                     # pmpaddr1
                + _li(5, 0x10 | (0x1F << 8)) + [csrw(0x3A0, 5)]             # pmpcfg0: NA4 ---, NAPOT RWX
                + _li(5, 0x5A5A5A5A))
    body = [w for addr in stores for w in _li(6, addr) + [e.enc_s(0x23, 2, 6, 5, 0)]] + [0x00000073]
    n_setup = 13
    s_body = RAM + 4 * (len(prologue) + n_setup)
    handler_at = s_body + 4 * len(body)
    setup = (_li(7, handler_at) + [csrw(0x305, 7)]                          # mtvec
             + _li(7, s_body) + [csrw(0x341, 7)]                            # mepc
             + _li(7, 0x1800) + [e.enc_i(0x73, 0, 3, 7, 0x300)]             # csrc mstatus, MPP
             + _li(7, 0x0800) + [e.enc_i(0x73, 0, 2, 7, 0x300)]             # csrs mstatus, MPP = S
             + [0x30200073])                                                # mret
    assert len(setup) == n_setup
    handler = [e.enc_i(0x73, 28, 2, 0, 0x342),                              # csrr t3, mcause
               e.enc_i(0x13, 29, 0, 0, 9),                                  # li t4, 9 (ecall from S)
               e.enc_b(1, 28, 29, 8),                                       # bne t3, t4, +8
               0x00100073,                                                  # ebreak: done
               e.enc_i(0x73, 28, 2, 0, 0x341),                              # csrr t3, mepc
               e.enc_i(0x13, 28, 0, 28, 4),                                 # addi t3, t3, 4
               csrw(0x341, 28),                                             # csrw mepc, t3
               0x30200073]                                                  # mret
    return b"".join((w & 0xFFFFFFFF).to_bytes(4, "little") for w in prologue + setup + body + handler)


def _li(rd: int, value: int) -> list[int]:
    """lui + addi: any 32-bit constant in two instructions."""
    value &= 0xFFFFFFFF
    lo = value & 0xFFF
    lo = lo - 0x1000 if lo >= 0x800 else lo
    hi = ((value - lo) >> 12) & 0xFFFFF
    return [iso.enc_u(0x37, rd, hi), iso.enc_i(0x13, rd, 0, rd, lo)]
