"""Frame pool and stage-2 table: demand-zero, ownership, scrubbing, limits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.errors import ConfigError, OutOfMemory
from pyhv.memory import S2_V, DmaError, FramePool, GuestMemory
from pyhv.vm import VM

RAM = 0x8000_0000
GUESTS = __import__("pathlib").Path(__file__).parent / "guests"


def test_untouched_ram_costs_nothing():
    pool = FramePool(size_mib=4)
    vm = VM(pool, mem_size_mib=2)
    assert vm.memory.frames_owned == 0
    assert vm.read_phys(RAM + 0x1234, 8) == bytes(8)  # reads of untouched RAM allocate nothing
    assert vm.memory.frames_owned == 0
    vm.write_phys(RAM + 0x1FFE, b"abcd")  # straddles two frames
    assert vm.memory.frames_owned == 2
    assert vm.read_phys(RAM + 0x1FFE, 4) == b"abcd"
    assert pool.frames_free == pool.nframes - 2


def test_freed_frames_are_scrubbed_before_reuse():
    pool = FramePool(size_mib=1)
    a = GuestMemory(pool, 1)
    a.write(RAM, b"secret" * 100)
    hfn = a.frame(0, allocate=False)
    a.release(0)
    assert pool.owner[hfn] == -1
    assert not pool.frames[hfn].any()
    b = GuestMemory(pool, 1)
    b.write(RAM + 4096 * 3, b"x")
    assert b.read(RAM, 4096) == bytes(4096)


def test_pool_exhaustion_is_a_clear_error():
    pool = FramePool(size_mib=1)  # 256 frames
    mem = GuestMemory(pool, 2)
    with pytest.raises(OutOfMemory, match="pool exhausted"):
        mem.write(RAM, bytes(2 * 1024 * 1024))


def test_frame_limit():
    pool = FramePool(size_mib=4)
    mem = GuestMemory(pool, 2, frame_limit=3)
    mem.write(RAM, bytes(3 * 4096))
    with pytest.raises(OutOfMemory, match="limit of 3 frames"):
        mem.write(RAM + 3 * 4096, b"x")


def test_bad_sizes_and_ranges():
    with pytest.raises(ConfigError):
        FramePool(size_mib=0)
    with pytest.raises(ConfigError):
        GuestMemory(FramePool(size_mib=1), 0)
    mem = GuestMemory(FramePool(size_mib=1), 1)
    with pytest.raises(DmaError):
        mem.read(RAM - 4, 8)
    with pytest.raises(DmaError):
        mem.write(RAM + (1 << 20) - 2, b"abcd")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["touch", "release"]), st.integers(0, 2), st.integers(0, 63)), max_size=60))
def test_ownership_invariant(ops):
    """Each host frame has at most one owner, and each VM's table names only frames it owns."""
    pool = FramePool(size_mib=1)
    vms = [GuestMemory(pool, 0.25) for _ in range(3)]
    for op, which, gfn in ops:
        mem = vms[which]
        if op == "touch":
            mem.write(RAM + gfn * 4096, bytes([which + 1]))
        else:
            mem.release(gfn)
        seen = set()
        for m in vms:
            present = m.s2[(m.s2 & S2_V) != 0] >> 12
            assert np.all(pool.owner[present] == m.id)
            assert not (seen & set(present.tolist()))
            seen |= set(present.tolist())
            assert m.frames_owned == len(present)
        assert pool.frames_free + len(seen) == pool.nframes


def test_shared_frames_are_copy_on_write_for_guest_and_host_writes():
    """KSM semantics: after share_into both VMs read the same frame; the first write
    from either side (a guest store through the C MMU, or a host/DMA write) copies it."""
    pool = FramePool(size_mib=4)
    a, b = VM(pool, mem_size_mib=1), VM(pool, mem_size_mib=1)
    a.write_phys(RAM + 0x3000, b"shared page")
    b.write_phys(RAM + 0x5000, b"b's own data")
    a.memory.share_into(b.memory, 3, 5)
    hfn = a.memory.frame(3, allocate=False)
    assert b.memory.frame(5, allocate=False) == hfn
    assert pool.owner[hfn] == -2 and pool.refs[hfn] == 2
    assert b.read_phys(RAM + 0x5000, 11) == b"shared page"
    b.load(RAM, (GUESTS / "poke.bin").read_bytes())  # a guest store: sb a0, 0(a1)
    b.cpu.pc, b.cpu.ebreak_exits = RAM, True
    b.cpu["a0"], b.cpu["a1"] = ord("A"), RAM + 0x5000
    assert b.cpu.run(100).reason == "breakpoint"
    assert b.read_phys(RAM + 0x5000, 11) == b"Ahared page"
    assert a.read_phys(RAM + 0x3000, 11) == b"shared page"  # a never sees b's write
    assert b.memory.frame(5, allocate=False) != hfn and b.memory.c.cow_breaks == 1
    assert pool.refs[hfn] == 1  # a still holds it, read-only
    a.write_phys(RAM + 0x3000, b"S")  # the last holder takes it back as private
    assert a.memory.frame(3, allocate=False) == hfn and pool.owner[hfn] == a.memory.id
    assert a.read_phys(RAM + 0x3000, 11) == b"Shared page"


def test_releasing_a_shared_frame_keeps_it_for_the_other_vm():
    pool = FramePool(size_mib=4)
    a, b = GuestMemory(pool, 1), GuestMemory(pool, 1)
    a.write(RAM, b"x" * 4096)
    a.share_into(b, 0, 7)
    hfn = a.frame(0, allocate=False)
    a.release(0)
    assert pool.refs[hfn] == 1 and pool.frames[hfn].tobytes() == b"x" * 4096
    b.release(7)
    assert pool.owner[hfn] == -1 and not pool.frames[hfn].any()


def test_remap_moves_a_frame():
    pool = FramePool(size_mib=4)
    m = GuestMemory(pool, 1)
    m.write(RAM + 0x2000, b"moving")
    m.remap(2, 9)
    assert m.read(RAM + 0x9000, 6) == b"moving" and m.read(RAM + 0x2000, 6) == bytes(6)
    assert m.frames_owned == 1
