"""Frame pool and stage-2 table: demand-zero, ownership, scrubbing, limits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhv.errors import ConfigError, OutOfMemory
from pyhv.memory import S2_V, DmaError, FramePool, GuestMemory
from pyhv.vm import VM

RAM = 0x8000_0000


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
