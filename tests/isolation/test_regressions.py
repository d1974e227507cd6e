"""Minimal failing examples the isolation suite found, kept as explicit regression tests.

Each is xfail(strict=True) while the bug is open, so fixing it turns the test into an XPASS
failure: then drop the mark (and the workaround named in the reason)."""

import pytest

from pyhv import isolation as iso
from pyhv.memory import FramePool, GuestMemory
from pyhv.vm import VM

pytestmark = pytest.mark.isolation
RAM = iso.RAM_BASE


def test_walk_does_not_set_ad_bits_in_a_shared_frame():
    pool = FramePool(size_mib=1)
    a, b = GuestMemory(pool, 0.0625), GuestMemory(pool, 0.0625)
    b.write32(RAM + 0x1000 + 0x200 * 4, (RAM >> 12) << 10 | 0x0F)  # b's data: reads as a V|R|W|X leaf, A clear
    b.share_into(a, 1, 3)  # page sharing merges it into a
    before = b.read(RAM + 0x1000, 4096)
    iso.c_fill(a, 1 << 31 | (RAM + 0x3000) >> 12, 0, 1, RAM, iso.ACC_READ)  # a walks its copy as a page table
    assert b.read(RAM + 0x1000, 4096) == before
    iso.check_isolation(pool, [a, b])


def test_walk_through_a_shared_frame_matches_the_python_twin():
    """The Python twin breaks COW before writing A/D back (GuestMemory.write32): the reference behaviour."""
    pool = FramePool(size_mib=1)
    a, b = GuestMemory(pool, 0.0625), GuestMemory(pool, 0.0625)
    b.write32(RAM + 0x1000 + 0x200 * 4, (RAM >> 12) << 10 | 0x0F)
    b.share_into(a, 1, 3)
    before = b.read(RAM + 0x1000, 4096)
    t = iso.py_translate(a, 1 << 31 | (RAM + 0x3000) >> 12, 0, 1, RAM, iso.ACC_READ)
    assert t.ok and b.read(RAM + 0x1000, 4096) == before
    assert a.read32(RAM + 0x3000 + 0x200 * 4) & 0x40  # a's own (now private) copy got the A bit
    iso.check_isolation(pool, [a, b])


def test_device_window_cannot_cover_the_frame_pool():
    from pyhv.devices.virtio_mmio import EmptySlot
    from pyhv.errors import PyhvError

    pool = FramePool(size_mib=1)
    victim, vm = VM(pool, mem_size_mib=0.0625), VM(pool, mem_size_mib=0.0625)
    victim.write_phys(RAM, b"SECRET!!")
    with pytest.raises(PyhvError):
        vm.add_device(pool.engine_base, EmptySlot())
    fill = iso.c_fill(vm, 0, 0, 3, pool.engine_base, iso.ACC_READ)  # M-mode load, bare
    iso.check_fill(vm, fill)
    iso.check_isolation(pool, [victim, vm])


def test_unicorn_mmu_vm_frames_are_pinned():
    """Found by the suite: a VM(mmu="unicorn") maps its frames into its engine once, so
    releasing, sharing or moving one would leave the guest a frame another VM then owns.
    Such frames are pinned: those operations refuse, and close() unmaps before freeing."""
    from pyhv.errors import ConfigError

    pool = FramePool(size_mib=1)
    vm, other = VM(pool, mem_size_mib=0.0625, mmu="unicorn"), VM(pool, mem_size_mib=0.0625)
    other.write_phys(RAM, b"x")
    for attempt in (lambda: vm.memory.release(5), lambda: vm.memory.remap(5, 6),
                    lambda: vm.memory.share_into(other.memory, 1, 1), lambda: other.memory.share_into(vm.memory, 0, 1)):
        with pytest.raises(ConfigError, match="pinned"):
            attempt()
    free = pool.frames_free
    vm.close()
    assert pool.frames_free == free + 16
    iso.check_isolation(pool, [other])


def test_mprv_load_does_not_reuse_a_fetch_tlb_entry(programs):
    pool = FramePool(size_mib=2)
    vm = VM(pool, mem_size_mib=1)
    vm.load(RAM, programs.image("scan"))
    root = RAM + 0x8000
    vm.write_phys(root + 4 * 0x200, ((1 << 20 | 0x200 << 10) << 10 | 0x53).to_bytes(4, "little"))  # VA 2 GiB -> 6 GiB
    cpu = vm.cpu
    cpu.pc, cpu.priv, cpu.ebreak_exits = RAM, 3, True
    for reg, value in zip(("a0", "a1", "a2", "a3", "a4"), (RAM + 0x7F8, 1, 0x5EC2E7A5, 4096, 1 << 31 | root >> 12)):
        cpu[reg] = value
    assert cpu.run(10_000).reason == "breakpoint"
    assert cpu["s2"] == 1  # the probe of VA 0x800007f8 -> guest-physical 0x1_8000_07f8 (no RAM) faults
